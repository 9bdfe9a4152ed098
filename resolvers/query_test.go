package resolvers_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
)

func TestQuery_Asset(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	e.putState(runningLine3())

	var resp struct {
		Asset struct {
			ID          string
			Name        string
			Type        string
			Attributes  map[string]any
			Parents     []struct{ ID string }
			Children    []struct{ ID string }
			Machines    []struct{ ID string }
			Ancestors   []struct{ ID string }
			Descendants []struct{ ID string }
			Shallow     []struct{ ID string }
			Signals     []struct {
				Name string
				Unit *string
				Min  *float64
				Max  *float64
				Kind string
			}
			State struct {
				Asset              struct{ ID string }
				Mode               string
				ModeSince          string
				UpdatedAt          string
				FaultCodes         []string
				Product            *string
				Batch              *string
				UptimeSecondsToday float64
				Speed              *float64
				Oee                *float64
				Metric             struct {
					Name  string
					Value any
					Unit  *string
					TS    string
				}
				Missing *struct{ Name string }
				Power   struct{ Value any }
				Metrics []struct {
					Name  string
					Value any
				}
			}
		}
	}
	e.post(t, `query($id: ID!) { asset(id: $id) {
		id name type attributes
		parents { id } children { id } machines: children(type: "capper") { id }
		ancestors { id } descendants { id } shallow: descendants(maxDepth: 1) { id }
		signals { name unit min max kind }
		state {
			asset { id } mode modeSince updatedAt faultCodes product batch uptimeSecondsToday speed oee
			metric(name: "press1_bar") { name value unit ts }
			missing: metric(name: "nope") { name }
			power: metric(name: "power_on") { value }
			metrics { name value }
		}
	} }`, &resp, client.Var("id", line3))

	a := resp.Asset
	if a.ID != line3 || a.Type != "packaging_line" || a.Name == "" {
		t.Fatalf("asset = %+v", a)
	}
	if a.Attributes["rated_speed_units_per_min"] == nil {
		t.Errorf("attributes = %v, want the nameplate", a.Attributes)
	}
	if len(a.Parents) != 1 || a.Parents[0].ID != "plant/jkt1/packaging" {
		t.Errorf("parents = %v", a.Parents)
	}
	if !hasID(a.Children, "plant/jkt1/packaging/palletizer1") || !hasID(a.Children, line3+"/filler") {
		t.Errorf("children = %v", a.Children)
	}
	if len(a.Machines) != 1 || a.Machines[0].ID != line3+"/capper" {
		t.Errorf("children(type: capper) = %v", a.Machines)
	}
	if len(a.Ancestors) != 2 || a.Ancestors[0].ID != "plant/jkt1/packaging" || a.Ancestors[1].ID != "plant/jkt1" {
		t.Errorf("ancestors = %v", a.Ancestors)
	}
	if !hasID(a.Descendants, line3+"/filler/drive") || hasID(a.Shallow, line3+"/filler/drive") || len(a.Shallow) != len(a.Children) {
		t.Errorf("descendants = %v, maxDepth 1 = %v", a.Descendants, a.Shallow)
	}
	var press bool
	for _, s := range a.Signals {
		if s.Name == "press1_bar" {
			press = s.Unit != nil && *s.Unit == "bar" && s.Min != nil && *s.Min == 0 && s.Max != nil && *s.Max == 10 && s.Kind == "number"
		}
	}
	if !press || len(a.Signals) != 12 {
		t.Errorf("signals = %+v", a.Signals)
	}

	st := a.State
	if st.Asset.ID != line3 || st.Mode != "RUNNING" || st.Product == nil || *st.Product != "SKU-600" || st.Batch == nil || *st.Batch != "B-42" {
		t.Errorf("state = %+v", st)
	}
	if st.UpdatedAt != "2026-11-24T06:59:59Z" || st.ModeSince != "2026-11-24T06:00:00Z" {
		t.Errorf("updatedAt %s modeSince %s", st.UpdatedAt, st.ModeSince)
	}
	if st.FaultCodes == nil || len(st.FaultCodes) != 0 {
		t.Errorf("faultCodes = %v, want []", st.FaultCodes)
	}
	if v, ok := st.Metric.Value.(float64); !ok || v != 6.2 || st.Metric.Unit == nil || *st.Metric.Unit != "bar" || st.Metric.Name != "press1_bar" {
		t.Errorf("metric = %+v, want the number 6.2 in bar", st.Metric)
	}
	if st.Missing != nil {
		t.Errorf("unknown metric = %+v, want null", st.Missing)
	}
	if st.Power.Value != true {
		t.Errorf("power_on = %#v, want the boolean true", st.Power.Value)
	}
	if len(st.Metrics) != 7 || st.Metrics[0].Name != "power_on" {
		t.Errorf("metrics = %v", st.Metrics)
	}
	// 3000 s accounted a second before now, still RUNNING: the read adds that second.
	if st.UptimeSecondsToday != 3001 {
		t.Errorf("uptimeSecondsToday = %v, want 3001", st.UptimeSecondsToday)
	}
	if st.Speed == nil || *st.Speed != 218 {
		t.Errorf("speed = %v, want 218", st.Speed)
	}
	if st.Oee == nil || *st.Oee <= 0 || *st.Oee > 1 {
		t.Errorf("oee = %v, want an estimate in (0, 1]", st.Oee)
	}
}

func hasID(list []struct{ ID string }, id string) bool {
	for _, x := range list {
		if x.ID == id {
			return true
		}
	}
	return false
}

func TestQuery_AssetWithoutState(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	var resp struct {
		Asset   *struct{ State *struct{ Mode string } }
		Unknown *struct{ ID string }
	}
	e.post(t, `{ asset(id: "plant/jkt1") { state { mode } } unknown: asset(id: "no/such") { id } }`, &resp)
	if resp.Asset == nil || resp.Asset.State != nil {
		t.Errorf("asset without data: %+v, want state null", resp.Asset)
	}
	if resp.Unknown != nil {
		t.Errorf("unknown asset = %+v, want null", resp.Unknown)
	}
}

func TestQuery_RootsAndNode(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	var resp struct {
		Roots []struct {
			ID          string
			Descendants []struct {
				ID      string
				Parents []struct{ ID string }
			}
		}
		Node struct {
			Typename string `json:"__typename"`
			ID       string
			Type     string
		}
		None *struct{ ID string }
	}
	e.post(t, `{ roots { id descendants { id parents { id } } }
		node(id: "plant/jkt1/packaging/line3") { __typename id ... on Asset { type } }
		none: node(id: "x") { id } }`, &resp)
	if len(resp.Roots) != 1 || resp.Roots[0].ID != "plant/jkt1" {
		t.Fatalf("roots = %+v", resp.Roots)
	}
	seen := map[string]bool{}
	twoParents := false
	for _, d := range resp.Roots[0].Descendants {
		if seen[d.ID] {
			t.Errorf("%s listed twice", d.ID)
		}
		seen[d.ID] = true
		twoParents = twoParents || len(d.Parents) == 2
	}
	if len(seen) < 17 || !twoParents {
		t.Errorf("%d descendants, one with two parents: %v", len(seen), twoParents)
	}
	if resp.Node.Typename != "Asset" || resp.Node.ID != line3 || resp.Node.Type != "packaging_line" {
		t.Errorf("node = %+v", resp.Node)
	}
	if resp.None != nil {
		t.Errorf("node of unknown id = %+v", resp.None)
	}
}

func TestQuery_Assets(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	type page struct {
		Assets struct {
			Edges []struct {
				Cursor string
				Node   struct{ ID, Type string }
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   *string
			}
		}
	}
	q := `query($after: String) { assets(under: "plant/jkt1/packaging", first: 4, after: $after) {
		edges { cursor node { id type } } pageInfo { hasNextPage endCursor } } }`
	var all []string
	var after any
	for range 20 {
		var p page
		e.post(t, q, &p, client.Var("after", after))
		for _, ed := range p.Assets.Edges {
			all = append(all, ed.Node.ID)
		}
		if !p.Assets.PageInfo.HasNextPage {
			break
		}
		after = *p.Assets.PageInfo.EndCursor
	}
	if len(all) < 15 || all[0] != "plant/jkt1/packaging" {
		t.Errorf("paged assets under packaging = %v", all)
	}
	seen := map[string]bool{}
	for _, id := range all {
		if seen[id] || !strings.HasPrefix(id, "plant/jkt1/packaging") {
			t.Errorf("bad or repeated %s", id)
		}
		seen[id] = true
	}

	var lines page
	e.post(t, `{ assets(type: "packaging_line", first: 10) { edges { node { id type } } pageInfo { hasNextPage } } }`, &lines)
	if len(lines.Assets.Edges) != 3 || lines.Assets.PageInfo.HasNextPage {
		t.Errorf("packaging lines = %+v", lines.Assets)
	}
}

func TestQuery_Errors(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	big := newEnv(t, mustModel(t, bigModel(1000)))
	for _, tc := range []struct {
		name, query, code string
		big               bool // against a 1,000-asset model
	}{
		{"first too large", `{ assets(first: 100000) { edges { cursor } } }`, twin.ELIMIT, false},
		{"first zero", `{ assets(first: 0) { edges { cursor } } }`, twin.EBADINPUT, false},
		{"events first too large", `{ asset(id: "plant/jkt1/packaging/line3") { events(first: 100000) { edges { cursor } } } }`, twin.ELIMIT, false},
		{"unknown under", `{ assets(under: "no/such", first: 5) { edges { cursor } } }`, twin.ENOTFOUND, false},
		{"shift report of unknown asset", `{ shiftReport(under: "no/such", from: "2026-11-24T00:00:00Z", to: "2026-11-24T01:00:00Z") { from } }`, twin.ENOTFOUND, false},
		{"bad duration", `{ asset(id: "plant/jkt1/packaging/line3") { history(metric: "press1_bar", from: "2026-11-24T00:00:00Z", to: "2026-11-24T01:00:00Z", interval: "fortnight") { agg } } }`, twin.EBADINPUT, false},
		{"bad time", `{ asset(id: "plant/jkt1/packaging/line3") { history(metric: "press1_bar", from: "yesterday", to: "2026-11-24T01:00:00Z") { agg } } }`, twin.EBADINPUT, false},
		{"unknown metric", `{ asset(id: "plant/jkt1/packaging/line3") { history(metric: "nope", from: "2026-11-24T00:00:00Z", to: "2026-11-24T01:00:00Z") { agg } } }`, twin.EBADINPUT, false},
		{"too many points", `{ asset(id: "plant/jkt1/packaging/line3") { history(metric: "press1_bar", from: "2026-11-23T00:00:00Z", to: "2026-11-24T00:00:00Z", interval: "1s") { agg } } }`, twin.ELIMIT, false},
		{"to before from", `{ asset(id: "plant/jkt1/packaging/line3") { history(metric: "press1_bar", from: "2026-11-24T00:00:00Z", to: "2026-11-23T00:00:00Z") { agg } } }`, twin.EBADINPUT, false},
		{"descendants of descendants of 1,000 assets", `{ roots { descendants { descendants { id } } } }`, twin.ELIMIT, true},
		{"bad cursor", `{ asset(id: "plant/jkt1/packaging/line3") { events(first: 5, after: "zzz") { edges { cursor } } } }`, twin.EBADINPUT, false},
		{"unknown field", `{ asset(id: "x") { nope } }`, twin.EBADINPUT, false},
		{"syntax", `{ asset(id: `, twin.EBADINPUT, false},
		{"missing first", `{ assets { edges { cursor } } }`, twin.EBADINPUT, false},
		{"maxDepth zero", `{ asset(id: "plant/jkt1") { descendants(maxDepth: 0) { id } } }`, twin.EBADINPUT, false},
		{"fill without interval", `{ asset(id: "plant/jkt1/packaging/line3") { history(metric: "press1_bar", from: "2026-11-24T00:00:00Z", to: "2026-11-24T01:00:00Z", fill: NULL) { agg } } }`, twin.EBADINPUT, false},
		{"asset cursor from another list", `{ assets(type: "packaging_line", first: 5, after: "` + resolvers.AssetCursorForTest("plant/jkt1") + `") { edges { cursor } } }`, twin.EBADINPUT, false},
		{"bad asset cursor", `{ assets(first: 5, after: "!!") { edges { cursor } } }`, twin.EBADINPUT, false},
		{"shift events first too large", `{ shiftReport(under: "plant/jkt1/packaging/line3", from: "2026-11-24T00:00:00Z", to: "2026-11-24T01:00:00Z") { assets { events(first: 101) { id } } } }`, twin.ELIMIT, false},
		{"shift window backwards", `{ shiftReport(under: "plant/jkt1/packaging/line3", from: "2026-11-24T01:00:00Z", to: "2026-11-24T00:00:00Z") { from } }`, twin.EBADINPUT, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			on := e
			if tc.big {
				on = big
			}
			errs := on.errorsOf(t, tc.query)
			if got := codeOf(errs); got != tc.code {
				t.Errorf("code = %q (%s), want %s", got, errs[0].Message, tc.code)
			}
		})
	}
}

func TestQuery_PanicIsInternal(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	e.states.panic.Store(true)
	errs := e.errorsOf(t, `{ asset(id: "plant/jkt1/packaging/line3") { state { mode } } }`)
	if codeOf(errs) != twin.EINTERNAL || strings.Contains(errs[0].Message, "exploded") {
		t.Errorf("panic surfaced as %+v, want INTERNAL without internals", errs)
	}
}

func TestQuery_History(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	t6 := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	e.appendSamples(t, line3, "press1_bar", pt(t6.Add(10*time.Second), 1), pt(t6.Add(40*time.Second), 3), pt(t6.Add(90*time.Second), 5))
	e.appendSamples(t, line3, "speed_units_per_min", pt(t6.Add(5*time.Minute), 100), pt(t6.Add(40*time.Minute), 200), pt(t6.Add(41*time.Minute), 150))
	var resp struct {
		Asset struct {
			Avg struct {
				Metric   string
				Unit     *string
				Interval *string
				Agg      string
				Points   []struct {
					TS    string
					Value *float64
				}
			}
			Max struct {
				Agg      string
				Interval string
				Points   []struct{ TS string }
			}
			Day struct{ Interval string }
		}
	}
	e.post(t, `{ asset(id: "plant/jkt1/packaging/line3") {
		avg: history(metric: "press1_bar", from: "2026-11-24T06:00:00Z", to: "2026-11-24T06:02:00Z", interval: "1m") { metric unit interval agg points { ts value } }
		max: history(metric: "speed_units_per_min", from: "2026-11-24T06:00:00Z", to: "2026-11-24T07:00:00Z", interval: "15m", agg: MAX, fill: NULL) { agg interval points { ts } }
		day: history(metric: "press1_bar", from: "2026-11-20T00:00:00Z", to: "2026-11-24T00:00:00Z", interval: "1d") { interval }
	} }`, &resp)
	a := resp.Asset
	if a.Avg.Metric != "press1_bar" || a.Avg.Unit == nil || *a.Avg.Unit != "bar" || a.Avg.Interval == nil || *a.Avg.Interval != "1m" || a.Avg.Agg != "AVG" {
		t.Errorf("avg series = %+v", a.Avg)
	}
	if len(a.Avg.Points) != 2 || a.Avg.Points[0].TS != "2026-11-24T06:00:00Z" || *a.Avg.Points[0].Value != 2 ||
		a.Avg.Points[1].TS != "2026-11-24T06:01:00Z" || *a.Avg.Points[1].Value != 5 {
		t.Errorf("1m AVG points = %+v, want 2 then 5", a.Avg.Points)
	}
	// Gap-filled with nulls: 06:00 100, 06:15 null, 06:30 200, 06:45 null.
	if a.Max.Agg != "MAX" || a.Max.Interval != "15m" || len(a.Max.Points) != 4 || a.Day.Interval != "1d" {
		t.Errorf("max = %+v day = %+v", a.Max, a.Day)
	}
	// The three series of one query level went to the store in one batch.
	e.history.mu.Lock()
	defer e.history.mu.Unlock()
	if len(e.history.batches) != 1 || len(e.history.batches[0]) != 3 {
		t.Errorf("history batches = %d, want one batch of 3", len(e.history.batches))
	}
	for _, q := range e.history.batches[0] {
		if q.Metric == "speed_units_per_min" && (q.Agg != twin.AggMax || q.Fill != twin.FillNull || q.Interval != 15*time.Minute) {
			t.Errorf("query = %+v", q)
		}
		if q.Location == nil || q.Location.String() != "Asia/Jakarta" {
			t.Errorf("query location = %v, want the site's zone", q.Location)
		}
	}
}

// The columnar form of a series says what points says, gaps included.
func TestQuery_HistoryColumns(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	t6 := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	e.appendSamples(t, line3, "speed_units_per_min", pt(t6.Add(5*time.Minute), 100), pt(t6.Add(40*time.Minute), 200.5))
	var resp struct {
		Asset struct {
			History struct {
				Points []struct {
					TS    string
					Value *float64
				}
				Timestamps []string
				Values     []*float64
			}
		}
	}
	e.post(t, `{ asset(id: "plant/jkt1/packaging/line3") {
		history(metric: "speed_units_per_min", from: "2026-11-24T06:00:00Z", to: "2026-11-24T07:00:00Z", interval: "15m", agg: MAX, fill: NULL) {
			points { ts value } timestamps values }
	} }`, &resp)
	h := resp.Asset.History
	wantTS := []string{"2026-11-24T06:00:00Z", "2026-11-24T06:15:00Z", "2026-11-24T06:30:00Z", "2026-11-24T06:45:00Z"}
	wantV := []any{100.0, nil, 200.5, nil}
	if !slices.Equal(h.Timestamps, wantTS) || len(h.Values) != len(wantV) || len(h.Points) != len(wantV) {
		t.Fatalf("timestamps = %v, values = %d, points = %d; want %v and 4 each", h.Timestamps, len(h.Values), len(h.Points), wantTS)
	}
	for i, want := range wantV {
		got, p := h.Values[i], h.Points[i]
		if (want == nil) != (got == nil) || (got != nil && *got != want.(float64)) ||
			p.TS != h.Timestamps[i] || (p.Value == nil) != (got == nil) || (got != nil && *p.Value != *got) {
			t.Errorf("bucket %d: value %v, point %+v; want %v", i, got, p, want)
		}
	}
}

func TestQuery_Events(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	t0 := now.Add(-time.Hour)
	var evs []twin.Event
	for i := range 5 {
		evs = append(evs, modeChange(line3, twin.ModeRunning, twin.ModeIdle, t0.Add(time.Duration(i)*time.Minute), float64(i)))
	}
	evs = append(evs, twin.Event{Kind: twin.EventFaultRaised, Asset: line3, TS: t0.Add(10 * time.Minute), Code: "E42"})
	evs = append(evs, modeChange(line3+"/capper", twin.ModeIdle, twin.ModeRunning, t0, 1))
	e.appendAndPublish(t, evs...)

	type conn struct {
		Edges []struct {
			Cursor string
			Node   struct {
				ID, Kind, TS    string
				Asset           string
				AssetNode       struct{ ID, Type string }
				FromMode        *string
				ToMode          *string
				DurationSeconds *float64
				Code            *string
				Batch           *string
				Product         *string
				Cursor          string
			}
		}
		PageInfo struct {
			HasNextPage bool
			EndCursor   *string
		}
	}
	var p1 struct{ Asset struct{ Events conn } }
	q := `query($after: String) { asset(id: "plant/jkt1/packaging/line3") { events(first: 4, after: $after) {
		edges { cursor node { id kind ts asset assetNode { id type } fromMode toMode durationSeconds code batch product cursor } }
		pageInfo { hasNextPage endCursor } } } }`
	e.post(t, q, &p1, client.Var("after", nil))
	c := p1.Asset.Events
	if len(c.Edges) != 4 || !c.PageInfo.HasNextPage || c.PageInfo.EndCursor == nil || *c.PageInfo.EndCursor != c.Edges[3].Cursor {
		t.Fatalf("page 1 = %+v", c)
	}
	n := c.Edges[1].Node
	if n.Kind != "MODE_CHANGED" || n.Asset != line3 || n.AssetNode.ID != line3 || n.AssetNode.Type != "packaging_line" || *n.FromMode != "RUNNING" || *n.ToMode != "IDLE" || *n.DurationSeconds != 1 ||
		n.Code != nil || n.Batch != nil || n.Cursor != c.Edges[1].Cursor || n.ID == "" {
		t.Errorf("event = %+v", n)
	}
	var p2 struct{ Asset struct{ Events conn } }
	e.post(t, q, &p2, client.Var("after", *c.PageInfo.EndCursor))
	c2 := p2.Asset.Events
	if len(c2.Edges) != 2 || c2.PageInfo.HasNextPage || c2.Edges[1].Node.Kind != "FAULT_RAISED" || *c2.Edges[1].Node.Code != "E42" || c2.Edges[1].Node.FromMode != nil {
		t.Errorf("page 2 = %+v", c2)
	}

	var filtered struct{ Asset struct{ Events conn } }
	e.post(t, `{ asset(id: "plant/jkt1/packaging/line3") { events(first: 10, kinds: [FAULT_RAISED], from: "2026-11-24T06:00:00Z", to: "2026-11-24T07:00:00Z") { edges { node { kind } } pageInfo { hasNextPage } } } }`, &filtered)
	if len(filtered.Asset.Events.Edges) != 1 {
		t.Errorf("kinds filter = %+v", filtered.Asset.Events)
	}
}

func TestQuery_Federation(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	e.putState(runningLine3())
	var svc struct {
		Service struct{ SDL string } `json:"_service"`
	}
	e.post(t, `{ _service { sdl } }`, &svc)
	if !strings.Contains(svc.Service.SDL, `@key(fields: "id")`) || !strings.Contains(svc.Service.SDL, "type Asset") {
		t.Fatalf("sdl lacks the Asset key:\n%s", svc.Service.SDL)
	}
	var ent struct {
		Entities []*struct {
			ID    string
			State *struct{ Mode string }
		} `json:"_entities"`
	}
	before := e.states.calls.Load()
	e.post(t, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Asset { id state { mode } } } }`, &ent,
		client.Var("r", []map[string]any{
			{"__typename": "Asset", "id": line3},
			{"__typename": "Asset", "id": "plant/jkt1"},
			{"__typename": "Asset", "id": line3 + "/capper"},
		}))
	if len(ent.Entities) != 3 || ent.Entities[0].ID != line3 || ent.Entities[0].State == nil || ent.Entities[0].State.Mode != "RUNNING" ||
		ent.Entities[1].State != nil {
		t.Errorf("_entities = %+v", ent.Entities)
	}
	if calls := e.states.calls.Load() - before; calls != 1 {
		t.Errorf("_entities cost %d state reads, want 1", calls)
	}
}

func TestLoaders_StateCallsPerLevel(t *testing.T) {
	t.Run("demo plant", func(t *testing.T) {
		e := newEnv(t, testmodel.Demo(t))
		e.putState(runningLine3())
		var resp struct {
			Roots []struct {
				Descendants []struct {
					ID    string
					State *struct{ Mode string }
				}
			}
		}
		e.post(t, `{ roots { descendants { id state { mode } } } }`, &resp)
		if calls := e.states.calls.Load(); calls > 2 {
			t.Errorf("roots { descendants { state } } cost %d GetStates calls, want ≤ 2", calls)
		}
		found := false
		for _, d := range resp.Roots[0].Descendants {
			if d.ID == line3 {
				found = d.State != nil && d.State.Mode == "RUNNING"
			}
		}
		if !found {
			t.Error("line3's state missing from the subtree")
		}
	})
	t.Run("1000 assets", func(t *testing.T) {
		e := newEnv(t, mustModel(t, bigModel(1000)))
		var resp struct {
			Asset struct {
				State       *struct{ Mode string }
				Descendants []struct {
					ID    string
					State *struct{ Mode string }
				}
			}
		}
		e.post(t, `{ asset(id: "s") { state { mode } descendants { id state { mode } } } }`, &resp)
		if len(resp.Asset.Descendants) != 999 {
			t.Fatalf("%d descendants, want 999", len(resp.Asset.Descendants))
		}
		if calls := e.states.calls.Load(); calls > 2 {
			t.Errorf("1,000-asset subtree cost %d GetStates calls, want ≤ 2", calls)
		}
	})
	t.Run("aliased assets batch", func(t *testing.T) {
		e := newEnv(t, testmodel.Demo(t))
		e.post(t, `{ a: asset(id: "plant/jkt1/packaging/line1") { state { mode } }
			b: asset(id: "plant/jkt1/packaging/line2") { state { mode } }
			c: asset(id: "plant/jkt1/packaging/line3") { state { mode } } }`, &map[string]any{})
		if calls := e.states.calls.Load(); calls > 3 {
			t.Errorf("three aliased assets cost %d calls", calls)
		}
	})
}

func TestQuery_Rollup(t *testing.T) {
	m := mustModel(t, `types:
  site: {}
  line:
    signals:
      - {name: speed, unit: units/min}
      - {name: total_units, unit: units}
      - {name: good_units, unit: units}
    modeRules:
      - {when: "speed > 0", mode: RUNNING}
      - {when: "true", mode: IDLE}
    oee: {ratedSpeedAttribute: rated, speedSignal: speed, totalSignal: total_units, goodSignal: good_units}
  machine:
    signals:
      - {name: speed, unit: units/min}
    modeRules:
      - {when: "speed > 0", mode: RUNNING}
      - {when: "true", mode: IDLE}
assets:
  - {id: p, type: site, timezone: Asia/Jakarta}
  - {id: p/a, type: line, parent: p, attributes: {rated: 10}}
  - {id: p/b, type: line, parent: p, attributes: {rated: 20}}
  - {id: p/a/m1, type: machine, parent: p/a}
  - {id: p/b/m2, type: machine, parent: p/b}
  - {id: p/shared, type: machine, parents: [p/a, p/b]}
`)
	e := newEnv(t, m)
	put := func(id string, mode twin.Mode, total float64) {
		st := twin.NewState(id)
		st.Mode = mode
		st.ModeSince = now.Add(-time.Hour)
		st.UpdatedAt = now.Add(-time.Minute)
		if total > 0 {
			st.Metrics["total_units"] = twin.Metric{Value: twin.Number(total), TS: now.Add(-time.Minute)}
			st.Metrics["good_units"] = twin.Metric{Value: twin.Number(total * 0.9), TS: now.Add(-time.Minute)}
			st.UptimeDay, st.UptimeSeconds, st.UptimeAsOf = "2026-11-24", 1800, now
			st.DayStart = now.Add(-time.Hour)
		}
		e.putState(st)
	}
	oeeOf := func(id string) float64 {
		st, _ := e.states.GetStates(context.Background(), []string{id})
		a := m.Asset(id)
		v, ok := twin.OEEAt(a, m.Type(a.Type), st[0], now)
		if !ok {
			t.Fatalf("no OEE for %s", id)
		}
		return v
	}
	put("p/a", twin.ModeRunning, 100)
	put("p/b", twin.ModeRunning, 50)
	put("p/a/m1", twin.ModeRunning, 0)
	put("p/b/m2", twin.ModeFault, 0)
	put("p/shared", twin.ModeIdle, 0)
	type rollup struct {
		Oee                                    *float64
		UnitsToday                             *float64
		Running, Idle, Fault, Stopped, Unknown int
	}
	var resp struct {
		P struct{ Rollup rollup }
		A struct{ Rollup rollup }
	}
	e.post(t, `{ p: asset(id: "p") { rollup { oee unitsToday running idle fault stopped unknown } }
		a: asset(id: "p/a") { rollup { oee unitsToday running idle fault stopped unknown } } }`, &resp)
	p := resp.P.Rollup
	// Two lines and three machines; the shared machine counts once.
	if p.Running != 3 || p.Idle != 1 || p.Fault != 1 || p.Stopped != 0 || p.Unknown != 0 {
		t.Errorf("plant rollup = %+v, want running 3 idle 1 fault 1", p)
	}
	if p.UnitsToday == nil || *p.UnitsToday != 150 {
		t.Errorf("plant unitsToday = %v, want 150 from its lines", p.UnitsToday)
	}
	if want := (oeeOf("p/a") + oeeOf("p/b")) / 2; p.Oee == nil || math.Abs(*p.Oee-want) > 1e-12 {
		t.Errorf("plant oee = %v, want the lines' mean %v", p.Oee, want)
	}
	a := resp.A.Rollup
	if a.Running != 1 || a.Idle != 1 || a.Fault != 0 || a.UnitsToday == nil || *a.UnitsToday != 100 {
		t.Errorf("line a rollup = %+v, want running 1 idle 1 and its own 100 units", a)
	}
	if a.Oee == nil || *a.Oee != oeeOf("p/a") {
		t.Errorf("line a oee = %v, want its own %v", a.Oee, oeeOf("p/a"))
	}
}

func TestQuery_ShiftReport(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	st := runningLine3()
	st.ModeSince = now.Add(-20 * time.Minute)
	e.putState(st)
	from := now.Add(-90 * time.Minute)
	to := now.Add(30 * time.Minute) // runs past now: the future is UNKNOWN
	e.appendAndPublish(t,
		modeChange(line3, twin.ModeRunning, twin.ModeFault, now.Add(-60*time.Minute), 600),
		twin.Event{Kind: twin.EventFaultRaised, Asset: line3, TS: now.Add(-60 * time.Minute), Code: "E1"},
		twin.Event{Kind: twin.EventFaultCleared, Asset: line3, TS: now.Add(-50 * time.Minute), Code: "E1"},
		modeChange(line3, twin.ModeFault, twin.ModeIdle, now.Add(-50*time.Minute), 600),
		modeChange(line3, twin.ModeIdle, twin.ModeRunning, now.Add(-20*time.Minute), 1800),
		modeChange(line3, twin.ModeRunning, twin.ModeStop, now.Add(-3*time.Hour), 5), // before the window
	)
	// Units inside the first bucket (100 → 150), across buckets (→ 400), then a
	// counter reset (→ 20): 50 + 250 + 20.
	e.appendSamples(t, line3, "total_units", pt(from.Add(time.Minute), 100), pt(from.Add(90*time.Second), 150),
		pt(from.Add(61*time.Minute), 400), pt(from.Add(80*time.Minute), 20))
	e.appendSamples(t, line3, "good_units", pt(from.Add(time.Minute), 100), pt(from.Add(61*time.Minute), 370))
	var resp struct {
		ShiftReport struct {
			From, To string
			Assets   []struct {
				Asset         string
				AssetNode     struct{ ID, Type string }
				SecondsByMode []struct {
					Mode    string
					Seconds float64
				}
				Oee           *float64
				UnitsProduced *float64
				Faults        []struct {
					Code    string
					Count   int
					Seconds float64
				}
				Events []struct{ Kind string }
			}
		}
	}
	e.post(t, `query($from: Time!, $to: Time!) { shiftReport(under: "plant/jkt1/packaging", from: $from, to: $to) {
		from to assets { asset assetNode { id type } secondsByMode { mode seconds } oee unitsProduced faults { code count seconds } events(first: 3) { kind } } } }`,
		&resp, client.Var("from", from.Format(time.RFC3339)), client.Var("to", to.Format(time.RFC3339)))
	r := resp.ShiftReport
	if len(r.Assets) < 12 {
		t.Fatalf("%d assets in the report", len(r.Assets))
	}
	window := to.Sub(from).Seconds()
	for _, a := range r.Assets {
		sum := 0.0
		for _, ms := range a.SecondsByMode {
			sum += ms.Seconds
		}
		if len(a.SecondsByMode) != 5 || sum != window {
			t.Errorf("%s: seconds by mode %v sum to %v, want %v", a.Asset, a.SecondsByMode, sum, window)
		}
		if a.AssetNode.ID != a.Asset || a.AssetNode.Type == "" {
			t.Errorf("%s: assetNode = %+v", a.Asset, a.AssetNode)
		}
		if a.Asset != line3 {
			continue
		}
		want := map[string]float64{"RUNNING": 30*60 + 20*60, "FAULT": 10 * 60, "IDLE": 30 * 60, "STOP": 0, "UNKNOWN": 30 * 60}
		for _, ms := range a.SecondsByMode {
			if ms.Seconds != want[ms.Mode] {
				t.Errorf("line3 %s = %v s, want %v", ms.Mode, ms.Seconds, want[ms.Mode])
			}
		}
		if len(a.Faults) != 1 || a.Faults[0].Code != "E1" || a.Faults[0].Count != 1 || a.Faults[0].Seconds != 600 {
			t.Errorf("faults = %+v", a.Faults)
		}
		if len(a.Events) != 3 || a.Events[0].Kind != "MODE_CHANGED" {
			t.Errorf("events(first: 3) = %+v", a.Events)
		}
		if a.UnitsProduced == nil || *a.UnitsProduced != 320 {
			t.Errorf("unitsProduced = %v, want 320", a.UnitsProduced)
		}
		if a.Oee == nil || *a.Oee <= 0 || *a.Oee > 1 {
			t.Errorf("oee = %v", a.Oee)
		}
	}
}

func TestQuery_HistoryBatchedAcrossAssets(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	var resp map[string]any
	e.post(t, `{ roots { descendants(type: "packaging_line") {
		history(metric: "press1_bar", from: "2026-11-24T06:00:00Z", to: "2026-11-24T07:00:00Z", interval: "15m") { points { value } }
		speed: history(metric: "speed_units_per_min", from: "2026-11-24T06:00:00Z", to: "2026-11-24T07:00:00Z", interval: "1h", agg: LAST) { agg }
	} } }`, &resp)
	e.history.mu.Lock()
	defer e.history.mu.Unlock()
	if len(e.history.batches) != 1 || len(e.history.batches[0]) != 6 {
		t.Errorf("history went to the store in %d batches, want one of 6", len(e.history.batches))
	}
}

func TestQuery_OverGET(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	req := httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape(`{ asset(id: "plant/jkt1") { id type } }`), nil)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"type":"site"`) {
		t.Errorf("GET: %d %s", rec.Code, rec.Body)
	}
}

func TestQuery_ShiftReportOfAPastWindow(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	line1 := "plant/jkt1/packaging/line1"
	st := twin.NewState(line1)
	st.Mode, st.ModeSince, st.UpdatedAt = twin.ModeFault, now.Add(-2*time.Hour), now
	e.putState(st)
	// The only change is after the window: the window saw its fromMode throughout.
	e.appendAndPublish(t, modeChange(line1, twin.ModeRunning, twin.ModeFault, now.Add(-2*time.Hour), 7200))
	var resp struct {
		ShiftReport struct {
			Assets []struct {
				Asset         string
				SecondsByMode []struct {
					Mode    string
					Seconds float64
				}
			}
		}
	}
	e.post(t, `{ shiftReport(under: "plant/jkt1/packaging/line1", from: "2026-11-24T03:00:00Z", to: "2026-11-24T04:00:00Z") {
		assets { asset secondsByMode { mode seconds } } } }`, &resp)
	for _, a := range resp.ShiftReport.Assets {
		if a.Asset != line1 {
			continue
		}
		for _, ms := range a.SecondsByMode {
			want := 0.0
			if ms.Mode == "RUNNING" {
				want = 3600
			}
			if ms.Seconds != want {
				t.Errorf("line1 %s = %v s, want %v", ms.Mode, ms.Seconds, want)
			}
		}
		return
	}
	t.Fatal("line1 missing from its own report")
}

// TestQuery_HistoryPrefetchedPerLevel checks that the history series of a
// page of assets go to the store in one batch with variables and defaults
// applied as the resolver applies them, and that a series with bad arguments
// fails alone and never reaches the store.
func TestQuery_HistoryPrefetchedPerLevel(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	e.appendSamples(t, line3, "press1_bar", pt(time.Date(2026, 11, 24, 6, 0, 10, 0, time.UTC), 4))
	resp, err := e.c.RawPost(`query($from: Time!, $i: Duration) { assets(type: "packaging_line", first: 10) { edges { node { id
		avg: history(metric: "press1_bar", from: $from, to: "2026-11-24T07:00:00Z", interval: $i) { agg points { value } }
		last: history(metric: "press1_bar", from: $from, to: "2026-11-24T07:00:00Z", interval: $i, agg: LAST, fill: PREVIOUS) { agg }
	} } }
	bad: asset(id: "plant/jkt1/packaging/line3") { history(metric: "no_such_metric", from: $from, to: "2026-11-24T07:00:00Z") { agg } } }`, client.Var("from", "2026-11-24T06:00:00Z"), client.Var("i", "15m"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(resp.Errors), `"BAD_INPUT"`) || !strings.Contains(string(resp.Errors), `"bad"`) {
		t.Fatalf("the unknown metric was refused with %s, want BAD_INPUT at bad", resp.Errors)
	}
	var data struct {
		Assets struct {
			Edges []struct {
				Node struct {
					ID  string
					Avg *struct {
						Agg    string
						Points []struct{ Value *float64 }
					}
					Last *struct{ Agg string }
				}
			}
		}
	}
	b, _ := json.Marshal(resp.Data)
	if err := json.Unmarshal(b, &data); err != nil {
		t.Fatal(err)
	}
	lines := data.Assets.Edges
	if len(lines) != 3 {
		t.Fatalf("%d packaging lines", len(lines))
	}
	for _, l := range lines {
		if l.Node.Avg == nil || l.Node.Avg.Agg != "AVG" || l.Node.Last == nil || l.Node.Last.Agg != "LAST" {
			t.Errorf("%s: avg %+v last %+v", l.Node.ID, l.Node.Avg, l.Node.Last)
		}
		if l.Node.ID == line3 && (len(l.Node.Avg.Points) != 1 || *l.Node.Avg.Points[0].Value != 4) {
			t.Errorf("line3 avg points = %+v, want the one sample", l.Node.Avg.Points)
		}
	}
	e.history.mu.Lock()
	defer e.history.mu.Unlock()
	if len(e.history.batches) != 1 || len(e.history.batches[0]) != 6 {
		t.Fatalf("history went to the store in %d batches, want one of 6", len(e.history.batches))
	}
	for _, q := range e.history.batches[0] {
		if q.Interval != 15*time.Minute || (q.Agg != twin.AggAvg && (q.Agg != twin.AggLast || q.Fill != twin.FillPrevious)) {
			t.Errorf("query = %+v", q)
		}
	}
}

// A debounced change that has held long enough is the mode at the read, even
// before the sample that confirms it (and writes its event) arrives.
func TestQuery_PendingModeCountsOnceHeld(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	const cooking = "plant/jkt1/processing/cooking" // debounce 2s
	st := twin.NewState(cooking)
	st.Mode, st.ModeSince = twin.ModeRunning, now.Add(-time.Hour)
	st.PendingMode, st.PendingSince = twin.ModeIdle, now.Add(-30*time.Minute)
	st.UpdatedAt = st.PendingSince
	e.putState(st)
	var got struct {
		Asset struct {
			State struct {
				Mode      string
				ModeSince string
			}
		}
		Area struct{ Rollup struct{ Running, Idle int } }
	}
	const q = `{ asset(id: "` + cooking + `") { state { mode modeSince } } area: asset(id: "plant/jkt1/processing") { rollup { running idle } } }`
	e.post(t, q, &got)
	if got.Asset.State.Mode != "IDLE" || got.Asset.State.ModeSince != st.PendingSince.Format(time.RFC3339) {
		t.Errorf("state = %+v, want IDLE since %s", got.Asset.State, st.PendingSince)
	}
	if got.Area.Rollup.Idle != 1 || got.Area.Rollup.Running != 0 {
		t.Errorf("area rollup = %+v, want the cooking line counted IDLE", got.Area.Rollup)
	}

	// Not yet held for the debounce: the old mode stands.
	st.PendingSince = now.Add(-time.Second)
	e.putState(st)
	e.post(t, q, &got)
	if got.Asset.State.Mode != "RUNNING" {
		t.Errorf("mode = %s one second into a 2s debounce, want RUNNING", got.Asset.State.Mode)
	}
}
