package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/gateway"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/store/memory"
)

const line3 = "plant/jkt1/packaging/line3"

// now is the test clock: 2026-11-24 13:00 in Jakarta.
var now = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

// fixture is a gateway over the demo model and memory stores, seeded with
// line3's state, an hour of press1_bar samples and a few events.
type fixture struct {
	srv    *httptest.Server
	cfg    gateway.Config
	states twin.StateStore
	events []twin.Event // as stored, Seq assigned
	ready  error
	reg    *prometheus.Registry
}

func line3State() *twin.State {
	st := twin.NewState(line3)
	st.Mode = twin.ModeRunning
	st.ModeSince = now.Add(-30 * time.Minute)
	st.Product = "SKU-330-COLA"
	st.Batch = "B-20261124-07"
	st.FaultCodes = []string{}
	st.UpdatedAt = now.Add(-time.Second)
	st.UptimeDay = "2026-11-24"
	st.UptimeSeconds = 3600
	st.UptimeAsOf = now.Add(-time.Second)
	st.DayStart = now.Add(-6 * time.Hour)
	for name, v := range map[string]twin.Value{
		"power_on":            twin.Bool(true),
		"speed_units_per_min": twin.Number(218),
		"fault_codes":         twin.NewList(nil),
		"product":             twin.String("SKU-330-COLA"),
		"batch":               twin.String("B-20261124-07"),
		"good_units":          twin.Number(10000),
		"total_units":         twin.Number(10400),
		"press1_bar":          twin.Number(6.2),
		"temp1_c":             twin.Number(71.5),
		"vibration_mms_rms":   twin.Number(2.1),
	} {
		st.Metrics[name] = twin.Metric{Value: v, TS: now.Add(-time.Second)}
	}
	return st
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	ctx := context.Background()
	f := &fixture{reg: prometheus.NewRegistry()}
	states := memory.NewStateStore()
	history := memory.NewHistoryStore()
	events := memory.NewEventStore()
	if err := states.PutStates(ctx, []*twin.State{line3State()}); err != nil {
		tb.Fatal(err)
	}
	// One press1_bar sample a minute over the last hour: value = minute index.
	var samples []twin.Sample
	for i := range 60 {
		samples = append(samples, twin.Sample{
			Asset: line3, Signal: "press1_bar", TS: now.Add(time.Duration(i-60) * time.Minute),
			Value: twin.Number(float64(i)), Quality: twin.QualityGood,
		}, twin.Sample{
			// Line 3's filler feeds the line's rolled-up machine_speed: 100 + minute index.
			Asset: line3 + "/filler", Signal: "speed_units_per_min", TS: now.Add(time.Duration(i-60) * time.Minute),
			Value: twin.Number(100 + float64(i)), Quality: twin.QualityGood,
		})
	}
	if err := history.AppendSamples(ctx, samples); err != nil {
		tb.Fatal(err)
	}
	dur := 1800.0
	evs := []twin.Event{
		{Kind: twin.EventModeChanged, TS: now.Add(-50 * time.Minute), Asset: line3, FromMode: twin.ModeUnknown, ToMode: twin.ModeIdle},
		{Kind: twin.EventBatchStarted, TS: now.Add(-45 * time.Minute), Asset: line3, Batch: "B-20261124-07", Product: "SKU-330-COLA"},
		{Kind: twin.EventFaultRaised, TS: now.Add(-40 * time.Minute), Asset: line3, Code: "E-STOP"},
		{Kind: twin.EventModeChanged, TS: now.Add(-30 * time.Minute), Asset: line3, FromMode: twin.ModeIdle, ToMode: twin.ModeRunning, DurationSeconds: &dur},
		{Kind: twin.EventModeChanged, TS: now.Add(-20 * time.Minute), Asset: "plant/jkt1/packaging/line1", FromMode: twin.ModeUnknown, ToMode: twin.ModeRunning},
	}
	for i := range evs {
		evs[i].ID = twin.EventID(&evs[i])
	}
	if err := events.AppendEvents(ctx, evs); err != nil {
		tb.Fatal(err)
	}
	page, err := events.ListEvents(ctx, twin.EventQuery{Assets: []string{line3}, First: 100})
	if err != nil {
		tb.Fatal(err)
	}
	f.events = page.Events

	f.states = states
	f.cfg = gateway.Config{
		Model:   testmodel.Demo(tb),
		States:  states,
		History: history,
		Events:  events,
		GraphQL: graphqlStub(),
		Ready:   func(context.Context) error { return f.ready },
		Metrics: promhttp.HandlerFor(f.reg, promhttp.HandlerOpts{}),
		Now:     func() time.Time { return now },
		// Registerer shares the registry /metrics serves, to see the histogram there.
		Registerer:  f.reg,
		MaxPageSize: 50,
	}
	f.srv = httptest.NewServer(newGateway(tb, f.cfg))
	tb.Cleanup(f.srv.Close)
	return f
}

// newGateway returns gateway.New(cfg), failing the test on an error.
func newGateway(tb testing.TB, cfg gateway.Config) http.Handler {
	tb.Helper()
	h, err := gateway.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// graphqlStub answers every request with its method, and upgrades WebSockets,
// to show /graphql reaches the configured handler untouched.
func graphqlStub() http.Handler {
	up := websocket.Upgrader{Subprotocols: []string{"graphql-transport-ws"}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			_, msg, err := c.ReadMessage()
			if err == nil {
				c.WriteMessage(websocket.TextMessage, append([]byte("echo:"), msg...))
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"method": r.Method})
	})
}

// get fetches path (already escaped as the client would send it) and decodes a JSON body.
func (f *fixture) get(t *testing.T, path string) (int, map[string]any) {
	t.Helper()
	res, err := http.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %d, not JSON: %v\n%s", path, res.StatusCode, err, b)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	return res.StatusCode, v
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func wantKeys(t *testing.T, what string, v any, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := keys(v); !slices.Equal(got, want) {
		t.Errorf("%s keys = %v, want %v", what, got, want)
	}
}

// wantError checks a REST error body: status, code, and a message naming the parameter.
func wantError(t *testing.T, status int, body map[string]any, wantStatus int, wantCode, mention string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("status %d, want %d (%v)", status, wantStatus, body)
	}
	wantKeys(t, "error body", body, "error")
	e, _ := body["error"].(map[string]any)
	wantKeys(t, "error", e, "code", "message")
	if e["code"] != wantCode {
		t.Errorf("code %v, want %s", e["code"], wantCode)
	}
	if msg, _ := e["message"].(string); !strings.Contains(msg, mention) {
		t.Errorf("message %q does not mention %q", msg, mention)
	}
}

func TestGateway_Twin(t *testing.T) {
	f := newFixture(t)
	for name, path := range map[string]string{
		"escaped":   "/twin/plant%2Fjkt1%2Fpackaging%2Fline3",
		"path tail": "/twin/plant/jkt1/packaging/line3",
		"mixed":     "/twin/plant%2Fjkt1/packaging%2Fline3",
		"slash":     "/twin/plant/jkt1/packaging/line3/",
	} {
		t.Run(name, func(t *testing.T) {
			status, body := f.get(t, path)
			if status != http.StatusOK {
				t.Fatalf("status %d: %v", status, body)
			}
			wantKeys(t, "twin", body, "id", "type", "state", "metrics", "updated_at")
			wantKeys(t, "state", body["state"], "mode", "speed_units_per_min", "current_product",
				"current_batch", "uptime_seconds_today", "fault_codes_active", "oee_estimate",
				// GraphQL's names beside the seed's.
				"mode_since", "product", "batch", "fault_codes", "oee")
			if body["id"] != line3 || body["type"] != "packaging_line" {
				t.Errorf("id, type = %v, %v", body["id"], body["type"])
			}
			st := body["state"].(map[string]any)
			if st["mode"] != "RUNNING" || st["current_product"] != "SKU-330-COLA" || st["current_batch"] != "B-20261124-07" {
				t.Errorf("state = %v", st)
			}
			if st["mode_since"] != "2026-11-24T05:30:00Z" {
				t.Errorf("mode_since = %v, want 2026-11-24T05:30:00Z (UTC)", st["mode_since"])
			}
			for seed, name := range map[string]string{"current_product": "product", "current_batch": "batch", "oee_estimate": "oee"} {
				if st[seed] != st[name] {
					t.Errorf("%s = %v but %s = %v", seed, st[seed], name, st[name])
				}
			}
			if fc, ok := st["fault_codes"].([]any); !ok || len(fc) != 0 {
				t.Errorf("fault_codes = %v, want []", st["fault_codes"])
			}
			if st["speed_units_per_min"] != 218.0 {
				t.Errorf("speed_units_per_min = %v, want 218", st["speed_units_per_min"])
			}
			if _, ok := st["uptime_seconds_today"].(float64); !ok {
				t.Errorf("uptime_seconds_today = %v, want a number", st["uptime_seconds_today"])
			}
			if fc, ok := st["fault_codes_active"].([]any); !ok || len(fc) != 0 {
				t.Errorf("fault_codes_active = %v, want []", st["fault_codes_active"])
			}
			if o := st["oee_estimate"]; o != nil {
				if v, ok := o.(float64); !ok || v < 0 || v > 1 {
					t.Errorf("oee_estimate = %v, want null or within [0, 1]", o)
				}
			}
			m := body["metrics"].(map[string]any)
			if m["press1_bar"] != 6.2 || m["power_on"] != true || m["product"] != "SKU-330-COLA" {
				t.Errorf("metrics = %v", m)
			}
			if fc, ok := m["fault_codes"].([]any); !ok || len(fc) != 0 {
				t.Errorf("metrics.fault_codes = %v, want []", m["fault_codes"])
			}
			if body["updated_at"] != "2026-11-24T05:59:59Z" {
				t.Errorf("updated_at = %v", body["updated_at"])
			}
		})
	}

	t.Run("no state", func(t *testing.T) {
		status, body := f.get(t, "/twin/plant/jkt1/packaging/line1/filler")
		if status != http.StatusOK {
			t.Fatalf("status %d: %v", status, body)
		}
		wantKeys(t, "twin", body, "id", "type", "state", "metrics", "updated_at")
		st := body["state"].(map[string]any)
		if st["mode"] != "UNKNOWN" {
			t.Errorf("mode = %v", st["mode"])
		}
		for _, k := range []string{"speed_units_per_min", "current_product", "current_batch", "uptime_seconds_today", "oee_estimate"} {
			if v, ok := st[k]; !ok || v != nil {
				t.Errorf("%s = %v, want null", k, v)
			}
		}
		if fc, ok := st["fault_codes_active"].([]any); !ok || len(fc) != 0 {
			t.Errorf("fault_codes_active = %v, want []", st["fault_codes_active"])
		}
		if m, ok := body["metrics"].(map[string]any); !ok || len(m) != 0 {
			t.Errorf("metrics = %v, want {}", body["metrics"])
		}
		if body["updated_at"] != nil {
			t.Errorf("updated_at = %v, want null", body["updated_at"])
		}
	})

	t.Run("fault", func(t *testing.T) {
		st := line3State()
		st.Mode = twin.ModeFault
		st.FaultCodes = []string{"E-101", "E-207"}
		st.Metrics["fault_codes"] = twin.Metric{Value: twin.NewList(st.FaultCodes), TS: now}
		if err := f.states.PutStates(context.Background(), []*twin.State{st}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.states.PutStates(context.Background(), []*twin.State{line3State()}) })
		_, body := f.get(t, "/twin/"+line3)
		s := body["state"].(map[string]any)
		if s["mode"] != "FAULT" || !slices.Equal(toStrings(s["fault_codes_active"]), []string{"E-101", "E-207"}) {
			t.Errorf("state = %v", s)
		}
	})
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestGateway_NotFound(t *testing.T) {
	f := newFixture(t)
	for path, mention := range map[string]string{
		"/twin/plant%2Fjkt1%2Fnope":                        `"plant/jkt1/nope"`,
		"/twin/plant/jkt1/nope":                            `"plant/jkt1/nope"`,
		"/twin/plant/jkt1/nope/history?metric=press1_bar":  `"plant/jkt1/nope"`,
		"/twin/plant%2Fjkt1%2Fnope/events":                 `"plant/jkt1/nope"`,
		"/twin/plant/jkt1/packaging/line3/bogus":           `"plant/jkt1/packaging/line3/bogus"`,
		"/twin/plant%2Fjkt1%2Fpackaging%2Fline3%2Fhistory": `"plant/jkt1/packaging/line3/history"`,
	} {
		t.Run(path, func(t *testing.T) {
			status, body := f.get(t, path)
			wantError(t, status, body, http.StatusNotFound, "NOT_FOUND", mention)
		})
	}
	t.Run("missing id", func(t *testing.T) {
		status, body := f.get(t, "/twin/")
		wantError(t, status, body, http.StatusBadRequest, "BAD_INPUT", "id")
	})
	t.Run("read-only", func(t *testing.T) {
		res, err := http.Post(f.srv.URL+"/twin/"+line3, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /twin/{id} = %d", res.StatusCode)
		}
	})
}

func TestGateway_History(t *testing.T) {
	f := newFixture(t)
	from, to := "2026-11-24T05:00:00Z", "2026-11-24T06:00:00Z"

	t.Run("buckets", func(t *testing.T) {
		for name, path := range map[string]string{
			"escaped":   "/twin/plant%2Fjkt1%2Fpackaging%2Fline3/history",
			"path tail": "/twin/plant/jkt1/packaging/line3/history",
		} {
			t.Run(name, func(t *testing.T) {
				status, body := f.get(t, path+"?metric=press1_bar&from="+from+"&to="+to+"&interval=10m&agg=max")
				if status != http.StatusOK {
					t.Fatalf("status %d: %v", status, body)
				}
				wantKeys(t, "history", body, "id", "metric", "unit", "from", "to", "interval", "agg", "points")
				if body["id"] != line3 || body["metric"] != "press1_bar" || body["unit"] != "bar" ||
					body["from"] != from || body["to"] != to || body["interval"] != "10m" || body["agg"] != "MAX" {
					t.Errorf("history = %v", body)
				}
				pts, _ := body["points"].([]any)
				if len(pts) != 6 {
					t.Fatalf("%d points, want 6: %v", len(pts), pts)
				}
				for i, p := range pts {
					wantKeys(t, "point", p, "ts", "value")
					pm := p.(map[string]any)
					ts, err := time.Parse(time.RFC3339, pm["ts"].(string))
					if err != nil {
						t.Fatal(err)
					}
					wantTS := now.Add(-time.Hour + time.Duration(i)*10*time.Minute)
					if !ts.Equal(wantTS) {
						t.Errorf("point %d at %v, want %v", i, ts, wantTS)
					}
					// Minute i of the hour has value i: each 10-minute max is 10i+9.
					if pm["value"] != float64(10*i+9) {
						t.Errorf("point %d value %v, want %d", i, pm["value"], 10*i+9)
					}
				}
				// Every time of the API is UTC.
				if ts := pts[0].(map[string]any)["ts"].(string); !strings.HasSuffix(ts, "Z") {
					t.Errorf("ts %q not in UTC", ts)
				}
			})
		}
	})

	t.Run("epoch ms and default agg", func(t *testing.T) {
		status, body := f.get(t, "/twin/"+line3+"/history?metric=press1_bar&from=1795500000000&to=1795503600000&interval=1h")
		if status != http.StatusOK {
			t.Fatalf("status %d: %v", status, body)
		}
		if body["agg"] != "AVG" {
			t.Errorf("agg = %v, want AVG", body["agg"])
		}
	})

	t.Run("defaults echoed", func(t *testing.T) {
		// Without from and to: the hour up to now, and the body says so.
		status, body := f.get(t, "/twin/"+line3+"/history?metric=press1_bar")
		if status != http.StatusOK {
			t.Fatalf("status %d: %v", status, body)
		}
		if body["from"] != from || body["to"] != to || body["interval"] != nil || body["agg"] != "AVG" {
			t.Errorf("from %v to %v interval %v agg %v; want %s, %s, null, AVG", body["from"], body["to"], body["interval"], body["agg"], from, to)
		}
	})

	t.Run("day buckets start at the site's midnight, in UTC", func(t *testing.T) {
		status, body := f.get(t, "/twin/"+line3+"/history?metric=press1_bar&from=2026-11-23T00:00:00Z&to="+to+"&interval=1d")
		if status != http.StatusOK {
			t.Fatalf("status %d: %v", status, body)
		}
		pts := body["points"].([]any)
		if len(pts) == 0 || pts[len(pts)-1].(map[string]any)["ts"] != "2026-11-23T17:00:00Z" {
			t.Errorf("points = %v, want the last at 2026-11-23T17:00:00Z (Jakarta midnight)", pts)
		}
	})

	t.Run("gap fill", func(t *testing.T) {
		status, body := f.get(t, "/twin/"+line3+"/history?metric=press1_bar&from=2026-11-24T04:00:00Z&to="+to+"&interval=30m&fill=null")
		if status != http.StatusOK {
			t.Fatalf("status %d: %v", status, body)
		}
		pts := body["points"].([]any)
		if len(pts) != 4 || pts[0].(map[string]any)["value"] != nil {
			t.Errorf("points = %v, want 4 with a null first", pts)
		}
	})

	for _, c := range []struct{ query, param string }{
		{"from=" + from + "&to=" + to, "metric"},
		{"metric=nope&from=" + from + "&to=" + to, "metric"},
		{"metric=press1_bar&from=yesterday&to=" + to, "from"},
		{"metric=press1_bar&from=" + from + "&to=soon", "to"},
		{"metric=press1_bar&from=" + to + "&to=" + from, "from"},
		{"metric=press1_bar&from=" + from + "&to=" + to + "&interval=fortnightly", "interval"},
		{"metric=press1_bar&from=" + from + "&to=" + to + "&interval=-1m", "interval"},
		{"metric=press1_bar&from=" + from + "&to=" + to + "&agg=MEDIAN", "agg"},
		{"metric=press1_bar&from=" + from + "&to=" + to + "&fill=zero", "fill"},
	} {
		t.Run("bad "+c.param+" "+c.query, func(t *testing.T) {
			status, body := f.get(t, "/twin/"+line3+"/history?"+c.query)
			wantError(t, status, body, http.StatusBadRequest, "BAD_INPUT", c.param)
		})
	}

	t.Run("rolled-up signal", func(t *testing.T) {
		status, body := f.get(t, "/twin/"+line3+"/history?metric=machine_speed&from="+from+"&to="+to+"&interval=10m")
		if status != http.StatusOK {
			t.Fatalf("status %d: %v", status, body)
		}
		pts, _ := body["points"].([]any)
		if len(pts) != 6 || body["unit"] != "units/min" {
			t.Fatalf("machine_speed = %v", body)
		}
		for i, p := range pts {
			// The filler alone has data: each 10-minute mean of 100 + minute is 104.5 + 10i.
			if v := p.(map[string]any)["value"]; v != 104.5+float64(10*i) {
				t.Errorf("point %d = %v, want %v", i, v, 104.5+float64(10*i))
			}
		}
		status, body = f.get(t, "/twin/"+line3+"/history?metric=machine_speed&from="+from+"&to="+to)
		wantError(t, status, body, http.StatusBadRequest, "BAD_INPUT", "interval")
	})

	t.Run("too many points", func(t *testing.T) {
		status, body := f.get(t, "/twin/"+line3+"/history?metric=press1_bar&from=2016-01-01T00:00:00Z&to="+to+"&interval=1m")
		wantError(t, status, body, http.StatusBadRequest, "LIMIT", "interval")
	})
}

func TestGateway_Events(t *testing.T) {
	f := newFixture(t)
	if len(f.events) != 4 {
		t.Fatalf("fixture stored %d line3 events, want 4", len(f.events))
	}

	t.Run("pages", func(t *testing.T) {
		var got []string
		after := ""
		for page := 0; ; page++ {
			if page > 5 {
				t.Fatal("paging does not end")
			}
			path := "/twin/plant%2Fjkt1%2Fpackaging%2Fline3/events?first=3"
			if after != "" {
				path += "&after=" + after
			}
			status, body := f.get(t, path)
			if status != http.StatusOK {
				t.Fatalf("status %d: %v", status, body)
			}
			wantKeys(t, "events", body, "events", "page_info")
			info := body["page_info"].(map[string]any)
			wantKeys(t, "page_info", info, "has_next_page", "end_cursor")
			evs := body["events"].([]any)
			for _, e := range evs {
				em := e.(map[string]any)
				if em["asset"] != line3 {
					t.Errorf("event of %v", em["asset"])
				}
				got = append(got, em["id"].(string))
			}
			if info["has_next_page"] != true {
				break
			}
			after = info["end_cursor"].(string)
		}
		var want []string
		for _, e := range f.events {
			want = append(want, e.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("paged ids %v, want %v", got, want)
		}
	})

	t.Run("shape", func(t *testing.T) {
		_, body := f.get(t, "/twin/"+line3+"/events?kinds=MODE_CHANGED")
		evs := body["events"].([]any)
		if len(evs) != 2 {
			t.Fatalf("%d MODE_CHANGED events, want 2: %v", len(evs), evs)
		}
		wantKeys(t, "first mode change", evs[0], "cursor", "id", "kind", "ts", "asset", "from_mode", "to_mode")
		wantKeys(t, "second mode change", evs[1], "cursor", "id", "kind", "ts", "asset", "from_mode", "to_mode", "duration_seconds")
		e := evs[1].(map[string]any)
		if e["kind"] != "MODE_CHANGED" || e["from_mode"] != "IDLE" || e["to_mode"] != "RUNNING" ||
			e["duration_seconds"] != 1800.0 || e["ts"] != "2026-11-24T05:30:00Z" {
			t.Errorf("event = %v", e)
		}
		info := body["page_info"].(map[string]any)
		if info["has_next_page"] != false || info["end_cursor"] != e["cursor"] {
			t.Errorf("page_info = %v", info)
		}
	})

	t.Run("filters", func(t *testing.T) {
		_, body := f.get(t, "/twin/"+line3+"/events?kinds=fault_raised,batch_started")
		if n := len(body["events"].([]any)); n != 2 {
			t.Errorf("kinds list: %d events, want 2", n)
		}
		_, body = f.get(t, "/twin/"+line3+"/events?kinds=FAULT_RAISED&kinds=BATCH_STARTED")
		if n := len(body["events"].([]any)); n != 2 {
			t.Errorf("repeated kinds: %d events, want 2", n)
		}
		_, body = f.get(t, "/twin/"+line3+"/events?from=2026-11-24T05:16:00Z&to=2026-11-24T05:25:00Z")
		if n := len(body["events"].([]any)); n != 1 {
			t.Errorf("time range: %d events, want 1", n)
		}
	})

	t.Run("empty page keeps the cursor", func(t *testing.T) {
		last := twin.EventCursor(f.events[len(f.events)-1].Seq)
		_, body := f.get(t, "/twin/"+line3+"/events?after="+last)
		info := body["page_info"].(map[string]any)
		if len(body["events"].([]any)) != 0 || info["has_next_page"] != false || info["end_cursor"] != last {
			t.Errorf("body = %v", body)
		}
	})

	for _, c := range []struct {
		query, code, param string
	}{
		{"first=0", "BAD_INPUT", "first"},
		{"first=ten", "BAD_INPUT", "first"},
		{"first=100000", "LIMIT", "first"},
		{"after=not-a-cursor!", "BAD_INPUT", "after"},
		{"kinds=EXPLODED", "BAD_INPUT", "kinds"},
		{"from=noon", "BAD_INPUT", "from"},
		{"to=2026-13-01", "BAD_INPUT", "to"},
	} {
		t.Run("bad "+c.query, func(t *testing.T) {
			status, body := f.get(t, "/twin/"+line3+"/events?"+c.query)
			wantError(t, status, body, http.StatusBadRequest, c.code, c.param)
		})
	}
}

func TestGateway_Probes(t *testing.T) {
	f := newFixture(t)
	get := func(t *testing.T, path string) (int, string) {
		t.Helper()
		res, err := http.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	if code, _ := get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d while ready", code)
	}
	f.ready = errors.New("redis: connection refused")
	if code, body := get(t, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "connection refused") {
		t.Errorf("/readyz = %d %q while not ready", code, body)
	}
	if code, _ := get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d while not ready: liveness must not follow readiness", code)
	}
}

func TestGateway_GraphQL(t *testing.T) {
	f := newFixture(t)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, f.srv.URL+"/graphql?query=%7B__typename%7D", strings.NewReader(`{"query":"{__typename}"}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]string
		json.NewDecoder(res.Body).Decode(&v)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || v["method"] != method {
			t.Errorf("%s /graphql = %d %v", method, res.StatusCode, v)
		}
	}

	t.Run("websocket", func(t *testing.T) {
		d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
		c, res, err := d.Dial("ws"+strings.TrimPrefix(f.srv.URL, "http")+"/graphql", nil)
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, res)
		}
		defer c.Close()
		if c.Subprotocol() != "graphql-transport-ws" {
			t.Errorf("subprotocol %q", c.Subprotocol())
		}
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"connection_init"}`)); err != nil {
			t.Fatal(err)
		}
		_, msg, err := c.ReadMessage()
		if err != nil || string(msg) != `echo:{"type":"connection_init"}` {
			t.Errorf("read %q, %v", msg, err)
		}
	})
}

// external finds absolute URLs in attributes the browser loads by itself.
var external = regexp.MustCompile(`(?i)(?:src|href)\s*=\s*["']?\s*(?:https?:)?//`)

func TestGateway_GraphiQL(t *testing.T) {
	f := newFixture(t)
	page := getPage(t, f.srv, "/")
	if !strings.Contains(page, "GraphiQL") || !strings.Contains(page, `id="graphiql"`) {
		t.Errorf("not the GraphiQL page:\n%s", page)
	}
	if m := external.FindString(page); m != "" {
		t.Errorf("page loads from another host: %q", m)
	}
	res, err := http.Get(f.srv.URL + "/no-such-page")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /no-such-page = %d", res.StatusCode)
	}
}

func TestGateway_Metrics(t *testing.T) {
	f := newFixture(t)
	f.get(t, "/twin/"+line3)
	f.get(t, "/twin/plant%2Fjkt1%2Fpackaging%2Fline3/events")
	res, err := http.Get(f.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	text := string(b)
	for _, want := range []string{
		`twingraph_http_request_duration_seconds_count{code="200",method="GET",route="/twin/{id}"} 1`,
		`twingraph_http_request_duration_seconds_count{code="200",method="GET",route="/twin/{id}/events"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Raw asset ids must never become label values.
	if strings.Contains(text, "jkt1") {
		t.Errorf("/metrics has an asset id in a label")
	}
}

// TestNew_RefusesIncompleteConfig: a gateway without a model or a state
// store is a configuration error the caller can test for, not a panic on
// the first request.
func TestNew_RefusesIncompleteConfig(t *testing.T) {
	for name, cfg := range map[string]gateway.Config{
		"no model":  {States: memory.NewStateStore()},
		"no states": {Model: testmodel.Demo(t)},
	} {
		if h, err := gateway.New(cfg); !errors.Is(err, gateway.ErrConfig) || h != nil {
			t.Errorf("%s: New = %v, %v; want ErrConfig", name, h, err)
		}
		if srv, err := gateway.NewServer(cfg); !errors.Is(err, gateway.ErrConfig) || srv != nil {
			t.Errorf("%s: NewServer = %v, %v; want ErrConfig", name, srv, err)
		}
	}
}

func TestGateway_NoStores(t *testing.T) {
	srv := httptest.NewServer(newGateway(t, gateway.Config{Model: testmodel.Demo(t), States: memory.NewStateStore()}))
	t.Cleanup(srv.Close)
	for _, path := range []string{"/graphql", "/twin/" + line3 + "/history?metric=press1_bar", "/twin/" + line3 + "/events"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("GET %s without its part = %d, want 503", path, res.StatusCode)
		}
	}
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics without a handler = %d, want 404", res.StatusCode)
	}
}

func TestGateway_GraphQLMethodNotSupported(t *testing.T) {
	called := false
	gql := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true })
	srv := httptest.NewServer(newGateway(t, gateway.Config{Model: testmodel.Demo(t), States: memory.NewStateStore(), GraphQL: gql}))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/graphql", strings.NewReader(`{"query":"{ roots { id } }"}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusMethodNotAllowed || len(body.Errors) != 1 || body.Errors[0].Extensions.Code != "BAD_INPUT" {
		t.Errorf("PUT /graphql = %d %+v, want 405 with a BAD_INPUT error", res.StatusCode, body)
	}
	if called {
		t.Error("PUT reached the GraphQL handler")
	}
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		called = false
		req, _ := http.NewRequest(m, srv.URL+"/graphql", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if !called {
			t.Errorf("%s /graphql did not reach the GraphQL handler", m)
		}
	}
}
