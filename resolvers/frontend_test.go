package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
)

// The tests of this file are what frontend teams asked of the graph: errors
// that stay on their field, newest-first events, filters, one vocabulary, a
// described schema. Each goes over HTTP to the real handler.

// over posts a query (with variables) to the handler over a real HTTP
// server and returns data and errors as they came.
func (e *env) over(tb testing.TB, q string, vars map[string]any, data any) []gqlError {
	tb.Helper()
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	resp, err := http.Post(srv.URL+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   json.RawMessage
		Errors []gqlError
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		tb.Fatalf("decode: %v", err)
	}
	if data != nil && len(out.Data) > 0 {
		if err := json.Unmarshal(out.Data, data); err != nil {
			tb.Fatalf("data %s: %v", out.Data, err)
		}
	}
	return out.Errors
}

func TestQuery_ArgumentErrorStaysOnItsField(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	e.putState(runningLine3())
	for _, c := range []struct {
		name, field, code string
	}{
		{"unknown metric", `history(metric: "nope", from: "2026-11-24T06:00:00Z", to: "2026-11-24T07:00:00Z")`, twin.EBADINPUT},
		{"history over the point limit", `history(metric: "press1_bar", from: "2020-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z", interval: "1m")`, twin.ELIMIT},
		{"bad events cursor", `events(first: 5, after: "garbage")`, twin.EBADINPUT},
		{"first and last", `events(first: 5, last: 5)`, twin.EBADINPUT},
		{"neither first nor last", `events`, twin.EBADINPUT},
		{"last over the page limit", `events(last: 100000)`, twin.ELIMIT},
		{"bad maxDepth", `descendants(maxDepth: 0)`, twin.EBADINPUT},
	} {
		t.Run(c.name, func(t *testing.T) {
			var data struct {
				Asset *struct {
					Name  string
					State struct{ Mode string }
					Bad   any
				}
			}
			q := `{ asset(id: "plant/jkt1/packaging/line3") { name state { mode } bad: ` + c.field + ` { __typename } } }`
			if strings.HasPrefix(c.field, "history") {
				q = strings.Replace(q, "{ __typename }", "{ metric }", 1)
			}
			errs := e.over(t, q, nil, &data)
			if data.Asset == nil || data.Asset.Name == "" || data.Asset.State.Mode != "RUNNING" {
				t.Fatalf("asset lost its data: %+v (errors %+v)", data.Asset, errs)
			}
			if data.Asset.Bad != nil {
				t.Errorf("failing field = %v, want null", data.Asset.Bad)
			}
			if len(errs) != 1 || codeOf(errs) != c.code || !slices.Equal(errs[0].Path, []any{"asset", "bad"}) {
				t.Errorf("errors = %+v, want one %s at asset.bad", errs, c.code)
			}
		})
	}
}

type eventPage struct {
	Edges []struct {
		Cursor string
		Node   struct {
			AssetID string
			Kind    string
			TS      string
		}
	}
	PageInfo struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
}

func (p eventPage) assets() []string {
	var out []string
	for _, e := range p.Edges {
		out = append(out, e.Node.AssetID)
	}
	return out
}

const pageFields = `edges { cursor node { assetId kind ts } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }`

func TestQuery_EventsNewestFirst(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	t0 := now.Add(-time.Hour)
	capper := line3 + "/capper"
	var evs []twin.Event
	for i := range 7 {
		asset := []string{line3, capper}[i%2]
		evs = append(evs, modeChange(asset, twin.ModeRunning, twin.ModeIdle, t0.Add(time.Duration(i)*time.Minute), float64(i)))
	}
	evs = e.appendAndPublish(t, evs...)
	cursor := func(i int) string { return twin.EventCursor(evs[i].Seq) }

	t.Run("last pages back from the newest", func(t *testing.T) {
		q := `query($before: String) { asset(id: "plant/jkt1/packaging/line3") { events(last: 2, before: $before, includeDescendants: true) { ` + pageFields + ` } } }`
		var all []string
		var before any
		for range 10 {
			var data struct{ Asset struct{ Events eventPage } }
			if errs := e.over(t, q, map[string]any{"before": before}, &data); len(errs) > 0 {
				t.Fatal(errs)
			}
			p := data.Asset.Events
			if p.PageInfo.HasNextPage || len(p.Edges) == 0 || *p.PageInfo.StartCursor != p.Edges[0].Cursor || *p.PageInfo.EndCursor != p.Edges[len(p.Edges)-1].Cursor {
				t.Fatalf("page info = %+v of %d edges", p.PageInfo, len(p.Edges))
			}
			var ts []string
			for _, ed := range p.Edges {
				ts = append(ts, ed.Node.TS)
			}
			if !slices.IsSorted(ts) {
				t.Fatalf("page not oldest first within: %v", ts)
			}
			all = append(ts, all...)
			if !p.PageInfo.HasPreviousPage {
				break
			}
			before = *p.PageInfo.StartCursor
		}
		if len(all) != 7 || all[6] != evs[6].TS.Format(time.RFC3339) || all[0] != evs[0].TS.Format(time.RFC3339) {
			t.Fatalf("paged back through %v", all)
		}
	})

	t.Run("newest page", func(t *testing.T) {
		var data struct{ Events eventPage }
		if errs := e.over(t, `{ events(last: 3) { `+pageFields+` } }`, nil, &data); len(errs) > 0 {
			t.Fatal(errs)
		}
		p := data.Events
		if len(p.Edges) != 3 || p.Edges[2].Cursor != cursor(6) || p.Edges[0].Cursor != cursor(4) || !p.PageInfo.HasPreviousPage {
			t.Fatalf("newest page = %+v", p)
		}
	})

	t.Run("between cursors", func(t *testing.T) {
		var data struct{ Events eventPage }
		if errs := e.over(t, `query($a: String, $b: String) { events(first: 10, after: $a, before: $b) { `+pageFields+` } }`,
			map[string]any{"a": cursor(1), "b": cursor(5)}, &data); len(errs) > 0 {
			t.Fatal(errs)
		}
		if p := data.Events; len(p.Edges) != 3 || p.Edges[0].Cursor != cursor(2) || p.PageInfo.HasNextPage || p.PageInfo.HasPreviousPage {
			t.Fatalf("events between = %+v", p)
		}
	})

	for _, c := range []struct {
		name, query string
		want        []string
	}{
		{"a parent's own events exclude its subtree", `{ asset(id: "plant/jkt1") { events(first: 20) { ` + pageFields + ` } } }`, nil},
		{"includeDescendants", `{ asset(id: "plant/jkt1") { events(first: 20, includeDescendants: true) { ` + pageFields + ` } } }`,
			[]string{line3, capper, line3, capper, line3, capper, line3}},
		{"top level under a line", `{ events(under: "plant/jkt1/packaging/line3/capper", first: 20) { ` + pageFields + ` } }`,
			[]string{capper, capper, capper}},
		{"top level, every asset, a window", `{ events(first: 20, from: "2026-11-24T06:01:00Z", to: "2026-11-24T06:03:00Z") { ` + pageFields + ` } }`,
			[]string{capper, line3}},
		{"top level, other kinds", `{ events(first: 20, kinds: [FAULT_RAISED]) { ` + pageFields + ` } }`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var data struct {
				Events *eventPage
				Asset  *struct{ Events eventPage }
			}
			if errs := e.over(t, c.query, nil, &data); len(errs) > 0 {
				t.Fatal(errs)
			}
			p := data.Events
			if p == nil {
				p = &data.Asset.Events
			}
			if got := p.assets(); !slices.Equal(got, c.want) {
				t.Errorf("events of %v, want %v", got, c.want)
			}
		})
	}

	t.Run("unknown under", func(t *testing.T) {
		var data struct{ Events *eventPage }
		errs := e.over(t, `{ events(under: "no/such", first: 5) { `+pageFields+` } }`, nil, &data)
		if codeOf(errs) != twin.ENOTFOUND || data.Events != nil {
			t.Errorf("errors %+v, data %+v", errs, data.Events)
		}
	})
}

func TestQuery_AssetsByMode(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	e.putState(runningLine3())
	filler := line3 + "/filler"
	capper := line3 + "/capper"
	for id, mode := range map[string]twin.Mode{filler: twin.ModeFault, capper: twin.ModeFault} {
		st := twin.NewState(id)
		st.Mode, st.ModeSince, st.UpdatedAt = mode, now.Add(-time.Minute), now.Add(-time.Minute)
		e.putState(st)
	}
	q := `query($after: String, $mode: [Mode!]) { assets(under: "plant/jkt1/packaging/line3", first: 1, after: $after, mode: $mode) {
		edges { node { id state { mode } } } pageInfo { hasNextPage endCursor } } }`
	type page struct {
		Assets struct {
			Edges []struct {
				Node struct {
					ID    string
					State *struct{ Mode string }
				}
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   *string
			}
		}
	}
	list := func(t *testing.T, modes []string, after any) page {
		var p page
		if errs := e.over(t, q, map[string]any{"mode": modes, "after": after}, &p); len(errs) > 0 {
			t.Fatal(errs)
		}
		return p
	}

	t.Run("in FAULT, page by page", func(t *testing.T) {
		p := list(t, []string{"FAULT"}, nil)
		if len(p.Assets.Edges) != 1 || !p.Assets.PageInfo.HasNextPage || p.Assets.Edges[0].Node.State.Mode != "FAULT" {
			t.Fatalf("first page = %+v", p)
		}
		first := p.Assets.Edges[0].Node.ID
		p2 := list(t, []string{"FAULT"}, *p.Assets.PageInfo.EndCursor)
		if len(p2.Assets.Edges) != 1 || p2.Assets.PageInfo.HasNextPage || p2.Assets.Edges[0].Node.State.Mode != "FAULT" || p2.Assets.Edges[0].Node.ID == first {
			t.Fatalf("second page = %+v", p2)
		}
		got := []string{first, p2.Assets.Edges[0].Node.ID}
		slices.Sort(got)
		if !slices.Equal(got, []string{capper, filler}) {
			t.Errorf("assets in FAULT = %v", got)
		}
	})

	t.Run("RUNNING or UNKNOWN", func(t *testing.T) {
		p := list(t, []string{"RUNNING"}, nil)
		if len(p.Assets.Edges) != 1 || p.Assets.Edges[0].Node.ID != line3 || p.Assets.PageInfo.HasNextPage {
			t.Fatalf("RUNNING = %+v", p)
		}
		p = list(t, []string{"UNKNOWN"}, nil)
		if len(p.Assets.Edges) != 1 || p.Assets.Edges[0].Node.State != nil || !p.Assets.PageInfo.HasNextPage {
			t.Fatalf("UNKNOWN (assets without data) = %+v", p)
		}
	})

	t.Run("a cursor outlives its asset's mode", func(t *testing.T) {
		p := list(t, []string{"FAULT"}, nil)
		moved := twin.NewState(p.Assets.Edges[0].Node.ID)
		moved.Mode, moved.ModeSince, moved.UpdatedAt = twin.ModeIdle, now, now
		e.putState(moved)
		p2 := list(t, []string{"FAULT"}, *p.Assets.PageInfo.EndCursor)
		if len(p2.Assets.Edges) != 1 || p2.Assets.Edges[0].Node.ID == moved.Asset {
			t.Fatalf("page after an asset that left FAULT = %+v", p2)
		}
	})
}

func TestQuery_AssetIDEverywhere(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	e.putState(runningLine3())
	e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now.Add(-time.Hour), 60))
	var data struct {
		Asset struct {
			State  struct{ AssetID string }
			Events struct {
				Edges []struct {
					Node struct {
						AssetID, Asset string
						AssetNode      struct{ ID string }
					}
				}
			}
		}
		ShiftReport struct {
			Assets []struct {
				AssetID, Asset string
				AssetNode      struct{ ID string }
			}
		}
	}
	errs := e.over(t, `{ asset(id: "plant/jkt1/packaging/line3") { state { assetId } events(first: 1) { edges { node { assetId asset assetNode { id } } } } }
		shiftReport(under: "plant/jkt1/packaging/line3", from: "2026-11-24T00:00:00Z", to: "2026-11-24T07:00:00Z") { assets { assetId asset assetNode { id } } } }`, nil, &data)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if data.Asset.State.AssetID != line3 {
		t.Errorf("AssetState.assetId = %q", data.Asset.State.AssetID)
	}
	if n := data.Asset.Events.Edges[0].Node; n.AssetID != line3 || n.Asset != line3 || n.AssetNode.ID != line3 {
		t.Errorf("TwinEvent = %+v", n)
	}
	if a := data.ShiftReport.Assets[0]; a.AssetID != line3 || a.Asset != line3 || a.AssetNode.ID != line3 {
		t.Errorf("AssetShift = %+v", a)
	}

	// The old names are deprecated, naming their replacement.
	var schema struct {
		Schema struct {
			Types []struct {
				Name   string
				Fields []struct {
					Name              string
					IsDeprecated      bool
					DeprecationReason *string
				}
			}
		} `json:"__schema"`
	}
	if errs := e.over(t, `{ __schema { types { name fields(includeDeprecated: true) { name isDeprecated deprecationReason } } } }`, nil, &schema); len(errs) > 0 {
		t.Fatal(errs)
	}
	want := map[string]string{"TwinEvent.asset": "assetId", "TwinEvent.assetNode": "asset: Asset!", "ModeChange.asset": "assetId",
		"ModeChange.assetNode": "asset: Asset!", "AssetShift.asset": "assetId", "AssetShift.assetNode": "asset: Asset!", "Rollup.stopped": "byMode"}
	for _, ty := range schema.Schema.Types {
		for _, f := range ty.Fields {
			name := ty.Name + "." + f.Name
			if repl, ok := want[name]; ok {
				if !f.IsDeprecated || f.DeprecationReason == nil || !strings.Contains(*f.DeprecationReason, repl) {
					t.Errorf("%s: deprecated %v (%v), want a reason naming %s", name, f.IsDeprecated, f.DeprecationReason, repl)
				}
				delete(want, name)
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("fields missing: %v", want)
	}
}

func TestSubscription_ModeChangedAssetID(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	c := dialWS(t, srv, "graphql-transport-ws")
	c.subscribe("m", `subscription { modeChanged { assetId asset assetNode { id } toMode } }`)
	waitSubscribers(t, e.bus, 1)
	e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 5))
	var m struct {
		ModeChanged struct {
			AssetID, Asset, ToMode string
			AssetNode              struct{ ID string }
		}
	}
	c.next("m", &m)
	if mc := m.ModeChanged; mc.AssetID != line3 || mc.Asset != line3 || mc.AssetNode.ID != line3 || mc.ToMode != "RUNNING" {
		t.Errorf("modeChanged = %+v", mc)
	}
}

func TestSchema_EveryFieldAndArgumentDescribed(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	type described struct {
		Name        string
		Description *string
	}
	var schema struct {
		Schema struct {
			Types []struct {
				Name   string
				Kind   string
				Fields []struct {
					described
					Args []described
				}
				InputFields []described
				EnumValues  []described
			}
		} `json:"__schema"`
	}
	q := `{ __schema { types { name kind fields(includeDeprecated: true) { name description args { name description } }
		inputFields { name description } enumValues(includeDeprecated: true) { name description } } } }`
	if errs := e.over(t, q, nil, &schema); len(errs) > 0 {
		t.Fatal(errs)
	}
	var missing []string
	check := func(where string, d described) {
		// Introspection and federation's own (_service, _entities, _Any) are not ours.
		if strings.HasPrefix(d.Name, "_") {
			return
		}
		if d.Description == nil || strings.TrimSpace(*d.Description) == "" {
			missing = append(missing, where+d.Name)
		}
	}
	checked := 0
	for _, ty := range schema.Schema.Types {
		// Federation adds Entity and the _-prefixed fields; scalars need no fields.
		if strings.HasPrefix(ty.Name, "_") || slices.Contains([]string{"Entity", "String", "Boolean", "Int", "Float", "ID"}, ty.Name) {
			continue
		}
		for _, f := range ty.Fields {
			if strings.HasPrefix(f.Name, "_") {
				continue
			}
			check(ty.Name+".", f.described)
			for _, a := range f.Args {
				check(ty.Name+"."+f.Name+"(", a)
			}
			checked += 1 + len(f.Args)
		}
		for _, v := range ty.EnumValues {
			check(ty.Name+".", v)
		}
	}
	if checked < 150 {
		t.Fatalf("checked only %d fields and arguments", checked)
	}
	if len(missing) > 0 {
		t.Errorf("%d without a description: %v", len(missing), missing)
	}
}

func TestQuery_ISODurations(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	t0 := now.Add(-time.Hour)
	e.appendSamples(t, line3, "press1_bar", pt(t0, 6), pt(t0.Add(time.Minute), 6.4), pt(t0.Add(7*time.Minute), 7))
	q := `query($i: Duration) { asset(id: "plant/jkt1/packaging/line3") { history(metric: "press1_bar", from: "2026-11-24T06:00:00Z", to: "2026-11-24T06:15:00Z", interval: $i) { interval values } } }`
	type series struct {
		Asset struct {
			History *struct {
				Interval string
				Values   []*float64
			}
		}
	}
	var short, iso series
	for _, c := range []struct {
		in  string
		out *series
	}{{"5m", &short}, {"PT5M", &iso}} {
		if errs := e.over(t, q, map[string]any{"i": c.in}, c.out); len(errs) > 0 {
			t.Fatalf("%s: %v", c.in, errs)
		}
	}
	if iso.Asset.History == nil || iso.Asset.History.Interval != "5m" || len(iso.Asset.History.Values) != 2 {
		t.Fatalf("PT5M series = %+v", iso.Asset.History)
	}
	a, _ := json.Marshal(short.Asset.History)
	b, _ := json.Marshal(iso.Asset.History)
	if !bytes.Equal(a, b) {
		t.Errorf("5m gives %s, PT5M %s", a, b)
	}
	var bad series
	errs := e.over(t, q, map[string]any{"i": "P1M"}, &bad)
	if codeOf(errs) != twin.EBADINPUT {
		t.Errorf("P1M: errors %+v, want BAD_INPUT", errs)
	}
}

func TestQuery_RollupByMode(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	e.putState(runningLine3())
	st := twin.NewState(line3 + "/filler")
	st.Mode, st.ModeSince, st.UpdatedAt = twin.ModeStop, now.Add(-time.Minute), now.Add(-time.Minute)
	e.putState(st)
	var data struct {
		Asset struct {
			Rollup struct {
				ByMode []struct {
					Mode  string
					Count int
				}
				Running, Idle, Fault, Stopped, Unknown int
			}
		}
	}
	if errs := e.over(t, `{ asset(id: "plant/jkt1/packaging") { rollup { byMode { mode count } running idle fault stopped unknown } } }`, nil, &data); len(errs) > 0 {
		t.Fatal(errs)
	}
	r := data.Asset.Rollup
	got := map[string]int{}
	var order []string
	for _, m := range r.ByMode {
		got[m.Mode] = m.Count
		order = append(order, m.Mode)
	}
	if !slices.Equal(order, []string{"RUNNING", "IDLE", "FAULT", "STOP", "UNKNOWN"}) {
		t.Errorf("byMode order %v", order)
	}
	want := map[string]int{"RUNNING": r.Running, "IDLE": r.Idle, "FAULT": r.Fault, "STOP": r.Stopped, "UNKNOWN": r.Unknown}
	if got["RUNNING"] != 1 || got["STOP"] != 1 || !mapsEqual(got, want) {
		t.Errorf("byMode %v, per-mode fields %v", got, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestQuery_NumbersWithoutFloatNoise(t *testing.T) {
	m := mustModel(t, `types:
  line:
    signals:
      - {name: press, unit: bar, decimals: 2}
      - {name: temp, unit: °C}
assets:
  - {id: l, name: L, type: line}
`)
	e := newEnv(t, m)
	st := twin.NewState("l")
	st.UpdatedAt = now
	st.Metrics = map[string]twin.Metric{"press": {Value: twin.Number(5.567), TS: now}, "temp": {Value: twin.Number(0.1 + 0.2), TS: now}}
	e.putState(st)
	t0 := now.Add(-time.Hour)
	e.appendSamples(t, "l", "temp", pt(t0, 5.56), pt(t0.Add(time.Second), 5.56), pt(t0.Add(2*time.Second), 5.56))
	e.appendSamples(t, "l", "press", pt(t0, 1.001), pt(t0.Add(time.Second), 1.004))
	var data struct {
		Asset struct {
			Signals []struct {
				Name     string
				Decimals *int
			}
			State struct {
				Metrics []struct {
					Name  string
					Value json.RawMessage
				}
			}
			Temp, Press struct{ Values []json.RawMessage }
		}
	}
	errs := e.over(t, `{ asset(id: "l") { signals { name decimals } state { metrics { name value } }
		temp: history(metric: "temp", from: "2026-11-24T06:00:00Z", to: "2026-11-24T06:01:00Z", interval: "1m") { values }
		press: history(metric: "press", from: "2026-11-24T06:00:00Z", to: "2026-11-24T06:01:00Z", interval: "1m") { values } } }`, nil, &data)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	a := data.Asset
	if *a.Signals[0].Decimals != 2 || a.Signals[1].Decimals != nil {
		t.Errorf("signals = %+v", a.Signals)
	}
	got := map[string]string{}
	for _, mv := range a.State.Metrics {
		got[mv.Name] = string(mv.Value)
	}
	if got["press"] != "5.57" || got["temp"] != "0.3" {
		t.Errorf("metric values %v, want press 5.57 (2 decimals) and temp 0.3 (no noise)", got)
	}
	if len(a.Temp.Values) != 1 || string(a.Temp.Values[0]) != "5.56" {
		t.Errorf("temp average %s, want 5.56", a.Temp.Values)
	}
	if len(a.Press.Values) != 1 || string(a.Press.Values[0]) != "1" {
		t.Errorf("press average %s, want 1 (1.0025 to 2 decimals)", a.Press.Values)
	}
}

func TestSubscription_AssetStateMinInterval(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	e.putState(runningLine3())
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	c := dialWS(t, srv, "graphql-transport-ws")
	c.subscribe("s", `subscription { assetState(id: "plant/jkt1/packaging/line3", minInterval: "PT1H") { assetId mode } }`)
	var m struct {
		AssetState struct{ AssetID, Mode string }
	}
	c.next("s", &m)
	if m.AssetState.AssetID != line3 || m.AssetState.Mode != "RUNNING" {
		t.Fatalf("current state = %+v", m.AssetState)
	}
	for _, bad := range []string{"0s", "P1M", "soon"} {
		c.subscribe(bad, `subscription { assetState(id: "plant/jkt1/packaging/line3", minInterval: "`+bad+`") { mode } }`)
		msg := c.read()
		if !strings.Contains(string(msg.Payload), twin.EBADINPUT) {
			t.Errorf("minInterval %q: %s %s, want BAD_INPUT", bad, msg.Type, msg.Payload)
		}
		if msg.Type == "next" {
			if done := c.read(); done.Type != "complete" {
				t.Errorf("after the error: %s", done.Type)
			}
		}
	}
}

func TestThrottle(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := make(chan int)
	fire := make(chan time.Time)
	out := resolvers.ThrottleForTest(ctx, in, time.Hour, fire)
	recv := func(want int) {
		t.Helper()
		if got := <-out; got != want {
			t.Fatalf("got %d, want %d", got, want)
		}
	}
	in <- 1
	recv(1) // the first goes at once
	in <- 2
	in <- 3 // within the interval: merged, nothing sent
	select {
	case v := <-out:
		t.Fatalf("sent %d within the interval", v)
	default:
	}
	fire <- time.Time{}
	recv(3) // the newest when the interval ends
	fire <- time.Time{}
	in <- 4 // a quiet interval passed: at once again
	recv(4)
	in <- 5
	close(in)
	recv(5) // a held value is not lost when the input ends
	if _, ok := <-out; ok {
		t.Fatal("output open after the input closed")
	}
}

func TestHandler_ComplexityPricesTopLevelEvents(t *testing.T) {
	m := mustModel(t, bigModel(200))
	e := newEnv(t, m, func(c *resolvers.Config) { c.ComplexityLimit = 10_000 })
	for _, c := range []struct {
		name, page string
		refused    bool
	}{
		{"one event", "last: 1", false},
		{"a hundred events", "last: 100", true},
		{"first", "first: 100", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Each event's asset lists the whole model: 200 per event.
			q := `{ events(` + c.page + `) { edges { node { assetNode { descendants { id } } } } } }`
			errs := e.over(t, q, nil, nil)
			if refused := len(errs) > 0 && codeOf(errs) == twin.ELIMIT; refused != c.refused {
				t.Errorf("refused %v (%+v), want %v", refused, errs, c.refused)
			}
		})
	}
}
