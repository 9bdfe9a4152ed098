package hierarchy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twingraph/twingraph/hierarchy"
)

// baseTypes is a small valid types section reused by the error cases; it is
// exactly 16 lines so the line numbers in the cases below are easy to count.
const baseTypes = `types:
  site: {}
  line:
    signals:
      - name: power_on
        kind: bool
      - name: speed
        unit: units/min
        min: 0
        max: 400
      - name: faults
        kind: list
    modeRules:
      - {when: "power_on == false", mode: STOP}
      - {when: "speed > 0", mode: RUNNING}
    faultSignal: faults
`

func TestLoad_Problems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		line int    // expected line of the (first) problem
		msg  string // expected fragment of its message
	}{
		{
			name: "cycle",
			yaml: baseTypes + `assets:
  - {id: s, type: site, parent: c}
  - {id: a, type: line, parent: s}
  - id: c
    type: line
    parent: a
`,
			line: 19, msg: "parent cycle: s -> c -> a -> s",
		},
		{
			name: "self parent",
			yaml: baseTypes + `assets:
  - id: s
    type: site
    parents: [s]
`,
			line: 20, msg: "parent cycle: s -> s",
		},
		{
			name: "unknown parent",
			yaml: baseTypes + `assets:
  - {id: s, type: site}
  - id: s/l1
    type: line
    parents:
      - s
      - s/nowhere
`,
			line: 23, msg: `unknown parent "s/nowhere"`,
		},
		{
			name: "duplicate id",
			yaml: baseTypes + `assets:
  - {id: s, type: site}
  - {id: s/l1, type: line, parent: s}
  - {id: s/l1, type: line, parent: s}
`,
			line: 20, msg: `duplicate asset id "s/l1" (first at line 19)`,
		},
		{
			name: "unknown type",
			yaml: baseTypes + `assets:
  - id: s
    type: sight
`,
			line: 19, msg: `unknown type "sight"`,
		},
		{
			name: "missing type",
			yaml: baseTypes + `assets:
  - id: s
`,
			line: 18, msg: "missing required field type",
		},
		{
			name: "bad signal name",
			yaml: `types:
  line:
    signals:
      - name: press-1
`,
			line: 4, msg: `bad signal name "press-1"`,
		},
		{
			name: "reserved signal name",
			yaml: `types:
  line:
    signals:
      - name: p
      - name: matches
`,
			line: 5, msg: `signal name "matches" in type "line" is a reserved word`,
		},
		{
			name: "bad signal kind",
			yaml: `types:
  line:
    signals:
      - name: p
        kind: float
`,
			line: 5, msg: `bad kind "float"`,
		},
		{
			name: "min greater than max",
			yaml: `types:
  line:
    signals:
      - name: p
        min: 10
        max: 1
`,
			line: 6, msg: "min 10 is greater than max 1",
		},
		{
			name: "duplicate signal",
			yaml: `types:
  line:
    signals:
      - name: p
      - name: p
`,
			line: 5, msg: `duplicate signal "p"`,
		},
		{
			name: "signal in rule unknown",
			yaml: `types:
  line:
    signals:
      - name: p
    modeRules:
      - mode: RUNNING
        when: "speed > 0"
`,
			line: 7, msg: `unknown signal "speed" (1:1); type "line" has: p`,
		},
		{
			name: "rule type error",
			yaml: `types:
  line:
    signals:
      - {name: on, kind: bool}
    modeRules:
      - {when: "on > 1", mode: RUNNING}
`,
			line: 6, msg: `mode rule "on > 1"`,
		},
		{
			name: "rule not bool",
			yaml: `types:
  line:
    signals:
      - {name: p}
    modeRules:
      - {when: "p + 1", mode: RUNNING}
`,
			line: 6, msg: "bool",
		},
		{
			name: "rule syntax",
			yaml: `types:
  line:
    signals:
      - {name: p}
    modeRules:
      - {when: "p >", mode: RUNNING}
`,
			line: 6, msg: `mode rule "p >"`,
		},
		{
			name: "bad mode",
			yaml: `types:
  line:
    modeRules:
      - when: "true"
        mode: RUN
`,
			line: 5, msg: `bad mode "RUN"`,
		},
		{
			name: "bad debounce",
			yaml: `types:
  line:
    debounce: 5 seconds
`,
			line: 3, msg: `bad debounce "5 seconds"`,
		},
		{
			name: "fault signal unknown",
			yaml: `types:
  line:
    signals:
      - {name: p}
    faultSignal: faults
`,
			line: 5, msg: `faultSignal names unknown signal "faults"`,
		},
		{
			name: "fault signal wrong kind",
			yaml: `types:
  line:
    signals:
      - {name: p}
    faultSignal: p
`,
			line: 5, msg: "must be a list signal",
		},
		{
			name: "oee signal unknown",
			yaml: `types:
  line:
    signals:
      - {name: p}
    oee:
      speedSignal: p
      goodSignal: good
`,
			line: 7, msg: `oee.goodSignal names unknown signal "good"`,
		},
		{
			name: "bad timezone",
			yaml: baseTypes + `assets:
  - id: s
    type: site
    timezone: Asia/Jakartaa
`,
			line: 20, msg: `bad timezone "Asia/Jakartaa"`,
		},
		{
			name: "conflicting inherited timezones",
			yaml: baseTypes + `assets:
  - {id: a, type: site, timezone: Asia/Jakarta}
  - {id: b, type: site, timezone: Europe/Berlin}
  - {id: m, type: line, parents: [a, b]}
`,
			line: 20, msg: `inherits timezone "Asia/Jakarta" from "a" and "Europe/Berlin" from "b"`,
		},
		{
			name: "empty model",
			yaml: "\n",
			line: 1, msg: "model is empty",
		},
		{
			name: "types not a mapping",
			yaml: "types: [a, b]\n",
			line: 1, msg: "types must be a mapping",
		},
		{
			name: "duplicate type",
			yaml: `types:
  site: {}
  site: {}
`,
			line: 3, msg: `duplicate type "site" (first at line 2)`,
		},
		{
			name: "bad type name",
			yaml: `types:
  "my type": {}
`,
			line: 2, msg: `bad type name "my type"`,
		},
		{
			name: "rule missing mode",
			yaml: `types:
  line:
    modeRules:
      - when: "true"
`,
			line: 4, msg: "missing required field mode",
		},
		{
			name: "bad asset id",
			yaml: baseTypes + `assets:
  - id: plant//line
    type: site
`,
			line: 18, msg: `bad asset id "plant//line": must not contain an empty path segment`,
		},
		{
			name: "asset id with space",
			yaml: baseTypes + `assets:
  - {id: "plant/line 1", type: site}
`,
			line: 18, msg: "must not contain spaces",
		},
		{
			name: "parent and parents",
			yaml: baseTypes + `assets:
  - {id: s, type: site}
  - id: t
    type: site
    parent: s
    parents: [s]
`,
			line: 22, msg: "give parent or parents, not both",
		},
		{
			name: "min not a number",
			yaml: `types:
  line:
    signals:
      - {name: p, min: low}
`,
			line: 4, msg: `min must be a number, got "low"`,
		},
		{
			name: "max infinite",
			yaml: `types:
  line:
    signals:
      - {name: p, max: .inf}
`,
			line: 4, msg: "must be a finite number",
		},
		{
			name: "min on bool",
			yaml: `types:
  line:
    signals:
      - {name: p, kind: bool, min: 0}
`,
			line: 4, msg: "min applies to number signals only",
		},
		{
			name: "merge key with unknown key",
			yaml: `common: &c {unit: bar, colour: red}
types:
  line:
    signals:
      - {<<: *c, name: p}
`,
			line: 1, msg: `unknown key "colour"`,
		},
		{
			name: "unknown top-level key",
			yaml: baseTypes + `asets: []
`,
			line: 17, msg: `unknown key "asets"`,
		},
		{
			name: "unknown asset key",
			yaml: baseTypes + `assets:
  - id: s
    type: site
    parnet: x
`,
			line: 20, msg: `unknown key "parnet"`,
		},
		{
			name: "unknown signal key",
			yaml: `types:
  line:
    signals:
      - name: p
        units: bar
`,
			line: 5, msg: `unknown key "units"`,
		},
		{
			name: "duplicate key",
			yaml: baseTypes + `assets:
  - id: s
    type: site
    type: line
`,
			line: 20, msg: `duplicate key "type"`,
		},
		{
			name: "yaml syntax",
			yaml: "types:\n  line: {\n  x: [\n",
			line: 3, msg: "did not find expected node content",
		},
		{
			name: "signal map unknown signal",
			yaml: baseTypes + `assets:
  - {id: s, type: site}
  - {id: s/l, type: line, parent: s}
signalMap:
  - device: plc-1
    tag: 7
    asset: s/l
    signal: pressure
`,
			line: 24, msg: `unknown signal "pressure"`,
		},
		{
			name: "signal map unknown asset",
			yaml: baseTypes + `assets:
  - {id: s, type: site}
signalMap:
  - {device: plc-1, tag: 7, asset: s/x, signal: speed}
`,
			line: 20, msg: `unknown asset "s/x"`,
		},
		{
			name: "signal map duplicate tag",
			yaml: baseTypes + `assets:
  - {id: s, type: site}
  - {id: s/l, type: line, parent: s}
signalMap:
  - {device: plc-1, tag: 7, asset: s/l, signal: speed}
  - {device: plc-1, tag: "7", asset: s/l, signal: speed}
`,
			line: 22, msg: `duplicate device "plc-1" tag "7" (first at line 21)`,
		},
		{
			name: "signal map missing field",
			yaml: baseTypes + `assets:
  - {id: s, type: site}
signalMap:
  - {device: plc-1, asset: s, signal: speed}
`,
			line: 20, msg: "missing required field tag",
		},
		{
			name: "signal map scale on bool",
			yaml: baseTypes + `assets:
  - {id: s, type: site}
  - {id: s/l, type: line, parent: s}
signalMap:
  - device: plc-1
    tag: 7
    asset: s/l
    signal: power_on
    scale: 2
`,
			line: 25, msg: "scale applies to number signals only",
		},
		{
			name: "maxItems on a string signal",
			yaml: `types:
  line:
    signals:
      - {name: product, kind: string, maxItems: 3}
assets:
  - {id: l, type: line}
`,
			line: 4, msg: "maxItems applies to list signals only, not string",
		},
		{
			name: "maxLength on a number signal",
			yaml: `types:
  line:
    signals:
      - name: speed
        maxLength: 10
assets:
  - {id: l, type: line}
`,
			line: 5, msg: "maxLength applies to string or list signals only, not number",
		},
		{
			name: "maxLength not a positive whole number",
			yaml: `types:
  line:
    signals:
      - name: faults
        kind: list
        maxLength: 0
assets:
  - {id: l, type: line}
`,
			line: 6, msg: "maxLength must be a whole number from 1 to 65536, got 0",
		},
		{
			name: "decimals on a list signal",
			yaml: `types:
  line:
    signals:
      - {name: faults, kind: list, decimals: 2}
assets:
  - {id: l, type: line}
`,
			line: 4, msg: "decimals applies to number signals only, not list",
		},
		{
			name: "decimals not a whole number",
			yaml: `types:
  line:
    signals:
      - {name: speed, decimals: 1.5}
assets:
  - {id: l, type: line}
`,
			line: 4, msg: "decimals must be a whole number from 0 to 15, got 1.5",
		},
		{
			name: "maxItems above the ceiling",
			yaml: `types:
  line:
    signals:
      - {name: faults, kind: list, maxItems: 1000000}
assets:
  - {id: l, type: line}
`,
			line: 4, msg: "maxItems must be a whole number from 1 to 65536",
		},
		{
			name: "rated speed not a number",
			yaml: `types:
  line:
    signals: [{name: speed}]
    oee: {ratedSpeedAttribute: rated, speedSignal: speed}
assets:
  - id: l
    type: line
    attributes: {rated: fast}
`,
			line: 6, msg: "rated speed for OEE",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantProblem(t, tt.yaml, tt.line, tt.msg) })
	}
}

// wantProblem loads yaml as model.yaml and wants a *LoadError with a problem
// at line that says msg.
func wantProblem(t *testing.T, yaml string, line int, msg string) {
	t.Helper()
	_, err := hierarchy.Load("model.yaml", []byte(yaml))
	var le *hierarchy.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("Load error = %v, want *LoadError", err)
	}
	want := fmt.Sprintf("model.yaml:%d: ", line)
	for _, l := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(l, want) && strings.Contains(l, msg) {
			return
		}
	}
	t.Errorf("error does not contain %q with %q:\n%v", want, msg, err)
}

func TestLoad_ReportsAllProblems(t *testing.T) {
	_, err := hierarchy.Load("m.yaml", []byte(baseTypes+`assets:
  - {id: s, type: sight}
  - {id: s/l, type: line, parent: nowhere}
  - {id: s/l, type: line, parent: s}
`))
	var le *hierarchy.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("Load error = %v, want *LoadError", err)
	}
	if len(le.Problems) != 3 {
		t.Fatalf("got %d problems, want 3:\n%v", len(le.Problems), err)
	}
	lines := strings.Split(err.Error(), "\n")
	for i, want := range []string{"m.yaml:18: ", "m.yaml:19: ", "m.yaml:20: "} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], want)
		}
	}
}

func TestLoad_Minimal(t *testing.T) {
	m, err := hierarchy.Load("m.yaml", []byte(`types: {site: {}}
assets:
  - {id: s, type: site}
  - {id: t, type: site, timezone: Europe/Berlin}
  - {id: t/u, type: site, parent: t}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Asset("s"); got.Timezone != "UTC" || got.Name != "s" || got.Line != 3 {
		t.Errorf("s = %+v, want UTC, name s, line 3", got)
	}
	if got := m.Asset("t/u"); got.Timezone != "Europe/Berlin" || got.Name != "u" {
		t.Errorf("t/u = %+v, want Europe/Berlin, name u", got)
	}
	if m.Asset("nope") != nil || m.Type("nope") != nil || m.Descendants("nope", "", 0) != nil {
		t.Error("unknown ids must give nil")
	}
}

func TestLoad_ValueBounds(t *testing.T) {
	m, err := hierarchy.Load("m.yaml", []byte(`types:
  line:
    signals:
      - {name: product, kind: string, maxLength: 40}
      - {name: faults, kind: list, maxLength: 16, maxItems: 8}
      - {name: batch, kind: string}
assets:
  - {id: l, type: line}
`))
	if err != nil {
		t.Fatal(err)
	}
	typ := m.Type("line")
	for _, tt := range []struct {
		signal        string
		length, items int
	}{
		{"product", 40, 64},
		{"faults", 16, 8},
		{"batch", 256, 64},
	} {
		t.Run(tt.signal, func(t *testing.T) {
			def := typ.Signal(tt.signal)
			if got := def.LengthLimit(); got != tt.length {
				t.Errorf("LengthLimit = %d, want %d", got, tt.length)
			}
			if got := def.ItemsLimit(); got != tt.items {
				t.Errorf("ItemsLimit = %d, want %d", got, tt.items)
			}
		})
	}
}

func TestLoad_Anchors(t *testing.T) {
	_, err := hierarchy.Load("m.yaml", []byte(mAnchors+"    tag: 1\n"))
	if err == nil || !strings.Contains(err.Error(), `m.yaml:16: asset: unknown key "tag"`) {
		t.Fatalf("err = %v, want unknown key tag at line 16", err)
	}
	m, err := hierarchy.Load("m.yaml", []byte(mAnchors))
	if err != nil {
		t.Fatal(err)
	}
	s := m.Type("pump").Signal("suction_bar")
	if s == nil || s.Unit != "bar" || *s.Min != 0 || *s.Max != 4 {
		t.Errorf("merged signal = %+v", s)
	}
	if len(m.Type("fan").ModeRules) != 2 {
		t.Error("aliased rule list not shared")
	}
	attrs := m.Asset("p1").Attributes
	if attrs["rated"] != float64(16) || attrs["big"] != float64(12000) {
		t.Errorf("numbers not normalized to float64: %#v", attrs)
	}
	if nested, ok := attrs["nested"].(map[string]any); !ok || nested["list"].([]any)[0] != float64(1) {
		t.Errorf("nested attributes = %#v", attrs["nested"])
	}
}

// mAnchors shares a signal by merge key and a rule list by alias.
const mAnchors = `types:
  pump:
    signals:
      - &pressure {name: discharge_bar, unit: bar, min: 0, max: 16}
      - {<<: *pressure, name: suction_bar, max: 4}
    modeRules: &rules
      - {when: "discharge_bar > 1", mode: RUNNING}
      - {when: "true", mode: IDLE}
  fan:
    signals: [{name: discharge_bar, unit: mbar}]
    modeRules: *rules
assets:
  - id: p1
    type: pump
    attributes: {rated: 0x10, nested: {list: [1, two]}, big: 12_000}
`

func TestLoadFile(t *testing.T) {
	if _, err := hierarchy.LoadFile("../examples/plant.yaml"); err != nil {
		t.Fatal(err)
	}
	if _, err := hierarchy.LoadFile("testdata/does-not-exist.yaml"); err == nil {
		t.Fatal("want an error for a missing file")
	}
}
