package hierarchy_test

import (
	"slices"
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/internal/testmodel"
)

const line3 = "plant/jkt1/packaging/line3"

func ids(as []*twin.Asset) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func TestDemoModel(t *testing.T) {
	m := testmodel.Demo(t)

	roots := m.Roots()
	if len(roots) != 1 || roots[0].ID != "plant/jkt1" || roots[0].Type != "site" || roots[0].Timezone != "Asia/Jakarta" {
		t.Fatalf("roots = %v, want the site plant/jkt1 in Asia/Jakarta", ids(roots))
	}
	for _, id := range []string{"plant/jkt1/packaging", "plant/jkt1/processing"} {
		if a := m.Asset(id); a == nil || a.Type != "area" || !slices.Equal(a.Parents, []string{"plant/jkt1"}) {
			t.Errorf("area %s = %+v", id, a)
		}
	}
	below := m.Descendants("plant/jkt1", "", 0)
	if len(below) < 17 {
		t.Errorf("%d assets below the root, want ≥ 17", len(below))
	}
	lines, machines, shared := 0, 0, 0
	for _, a := range below {
		if a.Timezone != "Asia/Jakarta" {
			t.Errorf("%s timezone %q, want inherited Asia/Jakarta", a.ID, a.Timezone)
		}
		typ := m.Type(a.Type)
		switch {
		case a.Type == "packaging_line" || a.Type == "process_line":
			lines++
		case isMachine(m, a):
			machines++
			if len(typ.ModeRules) == 0 {
				t.Errorf("machine %s of type %s has no mode rules", a.ID, a.Type)
			}
		}
		if len(a.Parents) > 1 {
			shared++
		}
		if a.Line == 0 {
			t.Errorf("%s has no line", a.ID)
		}
	}
	// Sub-assemblies have modes too.
	for _, id := range []string{"plant/jkt1/packaging/line3/filler/drive", "plant/jkt1/processing/cooking/oven1/burner1"} {
		if typ := m.TypeOf(id); typ == nil || len(typ.ModeRules) == 0 {
			t.Errorf("sub-assembly %s has no mode rules", id)
		}
	}
	if lines < 3 || machines < 12 || shared < 1 {
		t.Errorf("lines=%d machines=%d shared=%d, want ≥ 3, ≥ 12, ≥ 1", lines, machines, shared)
	}

	a := m.Asset(line3)
	if a == nil || a.Type != "packaging_line" {
		t.Fatalf("line3 = %+v", a)
	}
	if a.Attributes["rated_speed_units_per_min"] != float64(240) {
		t.Errorf("line3 rated speed = %v, want 240", a.Attributes["rated_speed_units_per_min"])
	}
	typ := m.TypeOf(line3)
	want := []struct {
		name string
		kind twin.ValueKind
		unit string
	}{
		{"power_on", twin.KindBool, ""},
		{"speed_units_per_min", twin.KindNumber, "units/min"},
		{"fault_codes", twin.KindList, ""},
		{"product", twin.KindString, ""},
		{"batch", twin.KindString, ""},
		{"good_units", twin.KindNumber, "units"},
		{"total_units", twin.KindNumber, "units"},
		{"press1_bar", twin.KindNumber, "bar"},
		{"temp1_c", twin.KindNumber, "°C"},
		{"vibration_mms_rms", twin.KindNumber, "mm/s"},
	}
	if len(typ.Signals) != len(want) {
		t.Errorf("line3 has %d signals, want %d", len(typ.Signals), len(want))
	}
	for _, w := range want {
		s := typ.Signal(w.name)
		if s == nil || s.Kind != w.kind || s.Unit != w.unit {
			t.Errorf("line3 signal %s = %+v, want kind %s unit %q", w.name, s, w.kind, w.unit)
		}
	}
	if s := typ.Signal("press1_bar"); s.Min == nil || s.Max == nil || !s.InRange(5.42) || s.InRange(-1) {
		t.Errorf("press1_bar range = %v..%v", s.Min, s.Max)
	}
	var rules []string
	for _, r := range typ.ModeRules {
		rules = append(rules, string(r.Mode)+" "+r.When)
	}
	wantRules := []string{
		"STOP power_on == false",
		"FAULT len(fault_codes) > 0",
		"RUNNING speed_units_per_min > 0",
		"IDLE true",
	}
	if !slices.Equal(rules, wantRules) {
		t.Errorf("line3 rules = %q, want %q", rules, wantRules)
	}
	if typ.Debounce != 0 || typ.FaultSignal != "fault_codes" || typ.ProductSignal != "product" || typ.BatchSignal != "batch" {
		t.Errorf("line3 type = %+v", typ)
	}
	if o := typ.OEE; o == nil || o.RatedSpeedAttribute != "rated_speed_units_per_min" || o.SpeedSignal != "speed_units_per_min" ||
		o.GoodSignal != "good_units" || o.TotalSignal != "total_units" {
		t.Errorf("line3 oee = %+v", typ.OEE)
	}

	tm, ok := m.Mapping("plc-17", "1024")
	if !ok || tm.Asset != line3 || tm.Signal != "press1_bar" || 542*tm.Scale+tm.Offset != 5.42 {
		t.Errorf("plc-17/1024 = %+v, %v; want line3 press1_bar, 542 → 5.42", tm, ok)
	}
	if tm, ok := m.Mapping("plc-17", "901"); !ok || tm.Signal != "good_units" || tm.Scale != 1 {
		t.Errorf("plc-17/901 = %+v, %v; want good_units scale 1", tm, ok)
	}
	if _, ok := m.Mapping("plc-17", "nope"); ok {
		t.Error("unknown tag mapped")
	}
	if len(m.Mappings()) < 3 || len(m.Types()) < 8 || len(m.Assets()) != len(below)+1 {
		t.Errorf("mappings=%d types=%d assets=%d", len(m.Mappings()), len(m.Types()), len(m.Assets()))
	}
}

// isMachine reports whether every parent of a is a line.
func isMachine(m *hierarchy.Model, a *twin.Asset) bool {
	for _, p := range m.Parents(a.ID) {
		if p.Type != "packaging_line" && p.Type != "process_line" {
			return false
		}
	}
	return len(a.Parents) > 0
}

// dagModel is small enough to write every expectation by hand:
//
//	r ─┬─ a ─┬─ a1 ──── x (machine)
//	   │     └─ a2 ─┬── s (shared, machine) ── s1 (part)
//	   └─ b ─── b1 ─┘
const dagModel = `types:
  site: {}
  line: {}
  machine: {}
  part: {}
assets:
  - {id: r, type: site, timezone: Asia/Tokyo}
  - {id: a, type: line, parent: r}
  - {id: b, type: line, parent: r}
  - {id: a1, type: machine, parent: a}
  - {id: a2, type: line, parent: a}
  - {id: b1, type: line, parent: b}
  - {id: x, type: machine, parent: a1}
  - {id: s, type: machine, parents: [a2, b1]}
  - {id: s1, type: part, parent: s}
  - {id: z, type: site, timezone: UTC}
  - {id: shared_tz, type: part, parents: [z, s1], timezone: Asia/Tokyo}
`

func TestModel_Traversal(t *testing.T) {
	m, err := hierarchy.Load("dag.yaml", []byte(dagModel))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  []*twin.Asset
		want []string
	}{
		{"roots", m.Roots(), []string{"r", "z"}},
		{"children", m.Children("r", ""), []string{"a", "b"}},
		{"children by type", m.Children("a", "machine"), []string{"a1"}},
		{"children none", m.Children("x", ""), nil},
		{"parents", m.Parents("s"), []string{"a2", "b1"}},
		{"parents of root", m.Parents("r"), nil},
		{"ancestors nearest first", m.Ancestors("s1"), []string{"s", "a2", "b1", "a", "b", "r"}},
		{"descendants distinct", m.Descendants("r", "", 0), []string{"a", "b", "a1", "a2", "b1", "x", "s", "s1", "shared_tz"}},
		{"descendants depth 1", m.Descendants("r", "", 1), []string{"a", "b"}},
		{"descendants depth 2", m.Descendants("r", "", 2), []string{"a", "b", "a1", "a2", "b1"}},
		{"descendants negative depth", m.Descendants("r", "", -1), []string{"a", "b", "a1", "a2", "b1", "x", "s", "s1", "shared_tz"}},
		{"descendants by type", m.Descendants("r", "machine", 0), []string{"a1", "x", "s"}},
		{"descendants by type and depth", m.Descendants("r", "machine", 2), []string{"a1"}},
		{"descendants of unused type", m.Descendants("r", "nothing", 0), nil},
		{"descendants of leaf", m.Descendants("x", "", 0), nil},
		{"descendants via shared", m.Descendants("b", "", 0), []string{"b1", "s", "s1", "shared_tz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(tt.got); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	under := []struct {
		id, anc string
		want    bool
	}{
		{"s1", "r", true}, {"s1", "b", true}, {"s", "s", true}, {"x", "b", false},
		{"r", "s", false}, {"nope", "nope", false}, {"shared_tz", "z", true},
	}
	for _, u := range under {
		if got := m.IsUnder(u.id, u.anc); got != u.want {
			t.Errorf("IsUnder(%s, %s) = %v, want %v", u.id, u.anc, got, u.want)
		}
	}

	for id, want := range map[string]string{"x": "Asia/Tokyo", "s1": "Asia/Tokyo", "z": "UTC", "shared_tz": "Asia/Tokyo"} {
		if got := m.Asset(id).Timezone; got != want {
			t.Errorf("%s timezone %q, want %q", id, got, want)
		}
	}
}
