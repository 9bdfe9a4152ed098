package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/internal/testmodel"
)

// benchModel writes a model of one site, lines lines and perLine machines per line.
func benchModel(tb testing.TB, lines, perLine int) string {
	return testmodel.Plant{
		Site: "site", Lines: lines, Machines: perLine, PowerOn: true,
		Speed:   testmodel.Signal{Name: "speed_units_per_min", Unit: "units/min", Max: 1000},
		Signals: []testmodel.Signal{{Name: "press1_bar", Unit: "bar", Max: 20}},
	}.Write(tb)
}

// benchGateway wires a gateway on a private Redis (state) with a 1,020-machine
// model whose machines all have state, exactly as `serve` does.
func benchGateway(b *testing.B) (url string, redisURL string, ns string) {
	redisURL, ns = testenv.Redis(b), testenv.RedisNamespace(b)
	m := NewMain(io.Discard, "error")
	if err := m.LoadModel(benchModel(b, 20, 51)); err != nil {
		b.Fatal(err)
	}
	if err := m.OpenStores(context.Background(), redisURL, "", ns, true); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.Close)
	ts := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	var states []*twin.State
	for _, a := range m.Model.Assets() {
		st := twin.NewState(a.ID)
		st.Mode, st.ModeSince, st.UpdatedAt = twin.ModeRunning, ts, ts
		st.Metrics["power_on"] = twin.Metric{Value: twin.Bool(true), TS: ts}
		st.Metrics["speed_units_per_min"] = twin.Metric{Value: twin.Number(218), TS: ts}
		st.Metrics["press1_bar"] = twin.Metric{Value: twin.Number(5.42), TS: ts}
		st.Offsets = map[string]int64{"telemetry@bench/0": 12345}
		states = append(states, st)
	}
	if err := m.States.PutStates(context.Background(), states); err != nil {
		b.Fatal(err)
	}
	h, err := m.Gateway()
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL, redisURL, ns
}

// paced issues n calls of f at a fixed rate (open loop: latency counts from
// each call's scheduled start, so a stall is not hidden by waiting for it) and
// reports p50/p99 in ms.
func paced(b *testing.B, rate float64, n int, f func() error) {
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	b.ResetTimer()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				b.Error(err)
			}
			lat[i] = time.Since(at)
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "req/s")
}

func postQuery(client *http.Client, url, query string) error {
	body := fmt.Sprintf(`{"query":%q}`, query)
	resp, err := client.Post(url+"/graphql", "application/json", strings.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || bytes.Contains(data, []byte(`"errors"`)) {
		return fmt.Errorf("%d %s", resp.StatusCode, data)
	}
	return nil
}

// BenchmarkGateway measures the whole gateway (HTTP + GraphQL + Redis) at
// fixed request rates, beside a single Redis GET measured in the same run:
//
//	go test ./cmd/twingraph -run '^$' -bench Gateway -benchtime 1x
func BenchmarkGateway(b *testing.B) {
	url, redisURL, ns := benchGateway(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

	b.Run("baseline-redis-GET@2k", func(b *testing.B) {
		rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{strings.TrimPrefix(redisURL, "redis://")}, DisableCache: true})
		if err != nil {
			b.Fatal(err)
		}
		defer rc.Close()
		key := "{" + ns + "}:state:site/l3/m7"
		paced(b, 2000, 4000, func() error { return rc.Do(context.Background(), rc.B().Get().Key(key).Build()).Error() })
	})
	b.Run("asset-state@2k", func(b *testing.B) {
		q := `{ asset(id: "site/l3/m7") { state { mode updatedAt metric(name: "press1_bar") { value } } } }`
		paced(b, 2000, 4000, func() error { return postQuery(client, url, q) })
	})
	b.Run("subtree-1000-state@20", func(b *testing.B) {
		q := `{ asset(id: "site") { descendants(type: "machine") { id state { mode } } } }`
		paced(b, 20, 200, func() error { return postQuery(client, url, q) })
	})
}
