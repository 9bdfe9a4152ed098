package resolvers_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
)

// latencies collects per-request durations and reports their percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	pct := func(p float64) float64 {
		i := int(p * float64(len(l.d)-1))
		return float64(l.d[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// doQuery serves one query in process (no network) and fails on errors.
func doQuery(b *testing.B, h http.Handler, body []byte) {
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"errors"`)) {
		b.Fatalf("query failed: %d %s", rec.Code, rec.Body)
	}
}

func queryBody(q string) []byte {
	body, _ := json.Marshal(map[string]any{"query": q})
	return body
}

// BenchmarkAssetState measures `asset { state }` one request after another,
// and paced at a fixed 2,000 requests/s with requests overlapping as they come.
func BenchmarkAssetState(b *testing.B) {
	e := newEnv(b, testmodel.Demo(b))
	e.putState(runningLine3())
	body := queryBody(`{ asset(id: "plant/jkt1/packaging/line3") { id state { mode modeSince updatedAt faultCodes uptimeSecondsToday speed oee metric(name: "press1_bar") { value unit ts } } } }`)
	b.Run("sequential", func(b *testing.B) {
		var l latencies
		b.ReportAllocs()
		for b.Loop() {
			t0 := time.Now()
			doQuery(b, e.h, body)
			l.add(time.Since(t0))
		}
		l.report(b)
	})
	b.Run("2000rps", func(b *testing.B) {
		var l latencies
		var wg sync.WaitGroup
		const every = time.Second / 2000
		start := time.Now()
		i := 0
		for b.Loop() {
			due := start.Add(time.Duration(i) * every)
			i++
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Timed from dispatch: sleeps under a millisecond overshoot, and
				// that lateness is the load generator's, not the server's.
				t0 := time.Now()
				doQuery(b, e.h, body)
				l.add(time.Since(t0))
			}()
		}
		wg.Wait()
		l.report(b)
	})
}

// BenchmarkSubtree1000 measures a 1,000-asset subtree with every state, beside
// the single GetStates call it costs (the baseline, same store, same run).
func BenchmarkSubtree1000(b *testing.B) {
	m := mustModel(b, bigModel(1000))
	e := newEnv(b, m)
	ids := make([]string, 0, 1000)
	for _, a := range m.Assets() {
		st := twin.NewState(a.ID)
		st.Mode = twin.ModeRunning
		st.ModeSince = now.Add(-time.Hour)
		st.UpdatedAt = now
		st.Metrics["speed"] = twin.Metric{Value: twin.Number(100), TS: now}
		e.putState(st)
		ids = append(ids, a.ID)
	}
	body := queryBody(`{ asset(id: "s") { descendants { id state { mode updatedAt metric(name: "speed") { value } } } } }`)
	b.Run("graphql", func(b *testing.B) {
		var l latencies
		b.ReportAllocs()
		before := e.states.calls.Load()
		for b.Loop() {
			t0 := time.Now()
			doQuery(b, e.h, body)
			l.add(time.Since(t0))
		}
		l.report(b)
		b.ReportMetric(float64(e.states.calls.Load()-before)/float64(b.N), "store-calls/op")
	})
	b.Run("store-baseline", func(b *testing.B) {
		var l latencies
		for b.Loop() {
			t0 := time.Now()
			if _, err := e.states.GetStates(b.Context(), ids); err != nil {
				b.Fatal(err)
			}
			l.add(time.Since(t0))
		}
		l.report(b)
	})
}

// BenchmarkHistory24h1m measures a day of one-minute buckets (1,440 points)
// for one series, beside the store call it costs (the baseline, same run):
// what is left is the GraphQL execution and encoding of the points.
func BenchmarkHistory24h1m(b *testing.B) {
	e := newEnv(b, testmodel.Demo(b))
	const asset = "plant/jkt1/packaging/line3"
	from := now.Add(-24 * time.Hour)
	pts := make([]twin.Point, 24*60)
	for i := range pts {
		pts[i] = pt(from.Add(time.Duration(i)*time.Minute), float64(i%60))
	}
	e.appendSamples(b, asset, "temp1_c", pts...)
	body := queryBody(`{ asset(id: "` + asset + `") { history(metric: "temp1_c", from: "` + from.Format(time.RFC3339) +
		`", to: "` + now.Format(time.RFC3339) + `", interval: "1m") { points { ts value } } } }`)
	columns := bytes.Replace(body, []byte("points { ts value }"), []byte("timestamps values"), 1)
	for _, c := range []struct {
		name string
		body []byte
	}{{"points", body}, {"columns", columns}} {
		b.Run(c.name, func(b *testing.B) {
			var l latencies
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				doQuery(b, e.h, c.body)
				l.add(time.Since(t0))
			}
			l.report(b)
		})
	}
	b.Run("store-baseline", func(b *testing.B) {
		var l latencies
		q := twin.HistoryQuery{Asset: asset, Metric: "temp1_c", From: from, To: now, Interval: time.Minute, Agg: twin.AggAvg}
		for b.Loop() {
			t0 := time.Now()
			if _, err := e.history.QueryHistory(b.Context(), []twin.HistoryQuery{q}); err != nil {
				b.Fatal(err)
			}
			l.add(time.Since(t0))
		}
		l.report(b)
	})
}

// BenchmarkModeChangedFanOut measures one mode change reaching
// TWIN_BENCH_SUBSCRIBERS (default 1,000) graphql-transport-ws subscribers
// of the same modeChanged selection, in process over loopback: with the
// subscriptions sharing one execution, and each executing alone. One op
// is one change delivered to every subscriber; the latencies are from the
// publish to each subscriber's receipt.
func BenchmarkModeChangedFanOut(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("TWIN_BENCH_SUBSCRIBERS")); err == nil && v > 0 {
		n = v
	}
	for _, share := range []bool{true, false} {
		name := "shared"
		if !share {
			name = "alone"
		}
		b.Run(name, func(b *testing.B) {
			reg := prometheus.NewRegistry()
			e := newEnv(b, testmodel.Demo(b), sharing(share, reg), func(c *resolvers.Config) {
				c.MaxSubscriptions, c.MaxStreams = -1, -1
			})
			srv := httptest.NewServer(e.h)
			defer srv.Close()
			got := make(chan time.Time, n)
			var wg sync.WaitGroup
			defer wg.Wait()
			for range n {
				c := dialWS(b, srv, "graphql-transport-ws")
				c.subscribe("1", `subscription { modeChanged { cursor asset fromMode toMode ts durationSeconds assetNode { id name } } }`)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						var m wsMsg
						if err := c.conn.ReadJSON(&m); err != nil {
							return
						}
						if m.Type == "next" {
							got <- time.Now()
						}
					}
				}()
				defer c.conn.Close()
			}
			// Every subscription in place: n members of one execution, or n
			// subscriptions each on the hub.
			ready := func() bool {
				if share {
					return metric(b, reg, "twingraph_subscription_group_members", nil) == float64(n)
				}
				return resolvers.HubSubscribersForTest(e.h) == n
			}
			for !ready() {
				time.Sleep(10 * time.Millisecond)
			}
			var l latencies
			i := 0
			for b.Loop() {
				i++
				t0 := time.Now()
				e.appendAndPublish(b, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now.Add(time.Duration(i)*time.Second), 1))
				for range n {
					select {
					case at := <-got:
						l.add(at.Sub(t0))
					case <-time.After(30 * time.Second):
						b.Fatal("a subscriber got nothing in 30 s")
					}
				}
			}
			l.report(b)
		})
	}
}
