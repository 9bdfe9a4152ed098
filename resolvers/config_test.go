package resolvers_test

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/lockedbuf"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
	"github.com/twingraph/twingraph/store/memory"
)

func TestConfig_MaxPageSize(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.MaxPageSize = 5 })
	var ok struct {
		Assets struct{ Edges []struct{ Cursor string } }
	}
	e.post(t, `{ assets(first: 5) { edges { cursor } } }`, &ok)
	if len(ok.Assets.Edges) != 5 {
		t.Errorf("first: 5 gave %d edges", len(ok.Assets.Edges))
	}
	for _, q := range []string{
		`{ assets(first: 6) { edges { cursor } } }`,
		`{ asset(id: "plant/jkt1/packaging/line3") { events(first: 6) { edges { cursor } } } }`,
	} {
		errs := e.errorsOf(t, q)
		if codeOf(errs) != twin.ELIMIT || !strings.Contains(errs[0].Message, "at most 5") {
			t.Errorf("%s: %+v, want LIMIT naming the bound 5", q, errs)
		}
	}
}

func TestConfig_ComplexityLimit(t *testing.T) {
	small := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.ComplexityLimit = 10 })
	if errs := small.errorsOf(t, `{ roots { descendants { id } } }`); codeOf(errs) != twin.ELIMIT {
		t.Errorf("over a limit of 10: %+v, want LIMIT", errs)
	}
	var one struct{ Asset struct{ ID string } }
	small.post(t, `{ asset(id: "plant/jkt1") { id } }`, &one)

	// A negative limit turns the check off: what the default refuses runs.
	none := newEnv(t, mustModel(t, bigModel(1000)), func(c *resolvers.Config) { c.ComplexityLimit = -1 })
	var deep struct {
		Roots []struct {
			Descendants []struct{ Descendants []struct{ ID string } }
		}
	}
	none.post(t, `{ roots { descendants { descendants { id } } } }`, &deep)
	if len(deep.Roots) != 1 || len(deep.Roots[0].Descendants) != 999 {
		t.Errorf("without a limit got %d roots", len(deep.Roots))
	}
}

func TestSubscription_KeepAlive(t *testing.T) {
	for protocol, want := range map[string]string{"graphql-transport-ws": "ping", "graphql-ws": "ka"} {
		t.Run(protocol, func(t *testing.T) {
			e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.KeepAliveInterval = 20 * time.Millisecond })
			srv := httptest.NewServer(e.h)
			defer srv.Close()
			c := dialWS(t, srv, protocol)
			c.subscribe("1", `subscription { modeChanged { cursor } }`)
			// Read raw: the client's read() swallows keepalives.
			for {
				c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
				var m wsMsg
				if err := c.conn.ReadJSON(&m); err != nil {
					t.Fatalf("no %s before: %v", want, err)
				}
				if m.Type == want {
					return
				}
			}
		})
	}
}

func TestSubscription_SSEKeepAlive(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.KeepAliveInterval = 20 * time.Millisecond })
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	resp, drop := sseRequest(t, srv, nil, `{"query":"subscription { modeChanged { cursor } }"}`, nil)
	time.AfterFunc(30*time.Second, drop) // a bound against hanging
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == ": ping" {
			return
		}
	}
	t.Fatalf("stream ended without a keepalive: %v", sc.Err())
}

func TestQuery_StoreErrorIsInternal(t *testing.T) {
	var logs lockedbuf.Buffer
	e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	cause := errors.New("dial tcp 192.0.2.7:6379: connection refused")
	e.states.fail.Store(&cause)
	errs := e.errorsOf(t, `{ asset(id: "plant/jkt1/packaging/line3") { state { mode } } }`)
	if codeOf(errs) != twin.EINTERNAL || errs[0].Message != "internal error" {
		t.Errorf("store failure surfaced as %+v, want INTERNAL \"internal error\"", errs)
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the cause was not logged: %q", logs.String())
	}

	// A domain error keeps its own code and message.
	domain := error(twin.Errorf(twin.EFORBIDDEN, "namespace is read-only"))
	e.states.fail.Store(&domain)
	errs = e.errorsOf(t, `{ asset(id: "plant/jkt1/packaging/line3") { state { mode } } }`)
	if codeOf(errs) != twin.EFORBIDDEN || errs[0].Message != "namespace is read-only" {
		t.Errorf("domain error surfaced as %+v", errs)
	}
}

func TestQuery_EventsPageAfterTheLast(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	evs := e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 1))
	cursor := resolvers.EventCursor(evs[0].Seq)
	var resp struct {
		Asset struct {
			Events struct {
				Edges    []struct{ Cursor string }
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
	}
	e.post(t, `{ asset(id: "plant/jkt1/packaging/line3") { events(first: 5, after: "`+cursor+`") {
		edges { cursor } pageInfo { hasNextPage endCursor } } } }`, &resp)
	ev := resp.Asset.Events
	// An empty page keeps the position, so a poller can ask again with it.
	if len(ev.Edges) != 0 || ev.PageInfo.HasNextPage || ev.PageInfo.EndCursor == nil || *ev.PageInfo.EndCursor != cursor {
		t.Errorf("page after the last event = %+v, want empty with endCursor %s", ev, cursor)
	}
}

func TestSubscription_EventOfAnAssetNotInTheModel(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	c := dialWS(t, srv, "graphql-transport-ws")
	c.subscribe("g", `subscription { twinEvents { asset assetNode { id name type } } }`)
	waitSubscribers(t, e.bus, 1)
	e.appendAndPublish(t, modeChange("plant/jkt1/retired/press9", twin.ModeRunning, twin.ModeStop, now, 1))
	var m struct {
		TwinEvents struct {
			Asset     string
			AssetNode struct{ ID, Name, Type string }
		}
	}
	c.next("g", &m)
	got := m.TwinEvents
	if got.Asset != "plant/jkt1/retired/press9" || got.AssetNode.ID != got.Asset || got.AssetNode.Name != got.Asset {
		t.Errorf("event of a removed asset = %+v, want its id as asset and a bare node", got)
	}
}

func TestHandler_CloseEndsSubscriptions(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	c := dialWS(t, srv, "graphql-transport-ws")
	c.subscribe("1", `subscription { modeChanged { cursor } }`)
	waitSubscribers(t, e.bus, 1)
	e.h.Close()
	if m := c.read(); m.Type != "complete" || m.ID != "1" {
		t.Fatalf("after Close got %s %s %s, want complete for 1", m.Type, m.ID, m.Payload)
	}
	waitSubscribers(t, e.bus, 0)
}

func TestSubscription_AssetStateSkipsOlderNotices(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	e.putState(runningLine3())
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	c := dialWS(t, srv, "graphql-transport-ws")
	c.subscribe("s", `subscription { assetState(id: "plant/jkt1/packaging/line3") { mode updatedAt } }`)
	var m struct {
		AssetState struct{ Mode, UpdatedAt string }
	}
	c.next("s", &m)
	if m.AssetState.Mode != "RUNNING" {
		t.Fatalf("current state = %+v", m.AssetState)
	}
	waitSubscribers(t, e.bus, 1)
	// A notice older than the state already sent is still in flight: skipped.
	older := runningLine3()
	older.Mode, older.UpdatedAt = twin.ModeIdle, now.Add(-time.Minute)
	newer := runningLine3()
	newer.Mode, newer.UpdatedAt = twin.ModeFault, now
	if err := e.bus.Publish(context.Background(), []twin.Notice{{State: older}, {State: newer}}); err != nil {
		t.Fatal(err)
	}
	c.next("s", &m)
	if m.AssetState.Mode != "FAULT" || m.AssetState.UpdatedAt != "2026-11-24T07:00:00Z" {
		t.Errorf("after an older and a newer notice got %+v, want the newer", m.AssetState)
	}
}

func TestQuery_DescendantsBreadthFirst(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	var resp struct {
		Asset struct{ Descendants []struct{ ID string } }
	}
	e.post(t, `{ asset(id: "plant/jkt1") { descendants { id } } }`, &resp)
	// Each asset's distance from the plant along the shortest path.
	depth := map[string]int{"plant/jkt1": 0}
	level := []string{"plant/jkt1"}
	for d := 1; len(level) > 0; d++ {
		var next []string
		for _, id := range level {
			for _, c := range e.model.Children(id, "") {
				if _, ok := depth[c.ID]; !ok {
					depth[c.ID] = d
					next = append(next, c.ID)
				}
			}
		}
		level = next
	}
	got := resp.Asset.Descendants
	if len(got) != len(depth)-1 {
		t.Fatalf("%d descendants, want %d", len(got), len(depth)-1)
	}
	for i := 1; i < len(got); i++ {
		if depth[got[i].ID] < depth[got[i-1].ID] {
			t.Fatalf("%s (depth %d) after %s (depth %d): not breadth first", got[i].ID, depth[got[i].ID], got[i-1].ID, depth[got[i-1].ID])
		}
	}
}

func TestQuery_MetricsOrderAndValueKinds(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	st := runningLine3()
	st.FaultCodes = []string{"E1", "E2"}
	st.Metrics["fault_codes"] = twin.Metric{Value: twin.NewList([]string{"E1", "E2"}), TS: now}
	// Signals the type does not declare come after its own, by name.
	st.Metrics["zz_extra"] = twin.Metric{Value: twin.Number(1), TS: now}
	st.Metrics["aa_extra"] = twin.Metric{Value: twin.Number(2), TS: now}
	e.putState(st)
	var resp struct {
		Asset struct {
			Signals []struct{ Name string }
			State   struct {
				Metrics []struct {
					Name  string
					Value any
					Unit  *string
				}
			}
		}
	}
	e.post(t, `{ asset(id: "plant/jkt1/packaging/line3") { signals { name } state { metrics { name value unit } } } }`, &resp)
	declared := map[string]int{}
	for i, s := range resp.Asset.Signals {
		declared[s.Name] = i
	}
	ms := resp.Asset.State.Metrics
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	n := len(ms)
	if n != 9 || ms[n-2].Name != "aa_extra" || ms[n-1].Name != "zz_extra" || ms[n-1].Unit != nil {
		t.Fatalf("metrics = %v, want the declared ones then aa_extra, zz_extra", names)
	}
	for i := 1; i < n-2; i++ {
		if declared[ms[i].Name] < declared[ms[i-1].Name] {
			t.Errorf("metrics %v not in declaration order", names)
		}
	}
	for _, m := range ms {
		switch m.Name {
		case "fault_codes":
			if l, ok := m.Value.([]any); !ok || len(l) != 2 || l[0] != "E1" {
				t.Errorf("fault_codes = %#v, want a list", m.Value)
			}
		case "product":
			if m.Value != "SKU-600" {
				t.Errorf("product = %#v, want a string", m.Value)
			}
		}
	}
}

func TestQuery_RawHistory(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	t0 := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	e.appendSamples(t, line3, "press1_bar", pt(t0.Add(10*time.Second), 4), pt(t0.Add(20*time.Second), 4.5), pt(t0.Add(time.Hour), 9))
	var resp struct {
		Asset struct {
			History struct {
				Interval *string
				Points   []struct {
					TS    string
					Value float64
				}
			}
		}
	}
	e.post(t, `{ asset(id: "plant/jkt1/packaging/line3") { history(metric: "press1_bar", from: "2026-11-24T06:00:00Z", to: "2026-11-24T07:00:00Z") {
		interval points { ts value } } } }`, &resp)
	h := resp.Asset.History
	// Without interval: each sample as it was, the end of the range excluded.
	if h.Interval != nil || len(h.Points) != 2 || h.Points[0].TS != "2026-11-24T06:00:10Z" || h.Points[0].Value != 4 ||
		h.Points[1].TS != "2026-11-24T06:00:20Z" || h.Points[1].Value != 4.5 {
		t.Errorf("raw history = %+v", h)
	}
}

// TestNew_RefusesIncompleteConfig: a handler without a model or a state store
// is a configuration error the caller can test for, not a panic.
func TestNew_RefusesIncompleteConfig(t *testing.T) {
	for name, cfg := range map[string]resolvers.Config{
		"no model":  {States: memory.NewStateStore()},
		"no states": {Model: testmodel.Demo(t)},
	} {
		h, err := resolvers.New(cfg)
		if !errors.Is(err, resolvers.ErrConfig) || h != nil {
			t.Errorf("%s: New = %v, %v; want ErrConfig", name, h, err)
		}
	}
}
