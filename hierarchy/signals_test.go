package hierarchy_test

import (
	"strings"
	"testing"

	"github.com/twingraph/twingraph/hierarchy"
)

func TestLoad_AllowedAndComponentSignals(t *testing.T) {
	const good = `types:
  controller:
    signals:
      - {name: state, kind: string, allowed: [RUN, STOP]}
      - {name: thermostat1.temperature, unit: °C}
      - {name: thermostat2.temperature, unit: °C}
    modeRules:
      - {when: "thermostat1.temperature > 90 || thermostat2.temperature > 90", mode: FAULT}
      - {when: "state == 'RUN'", mode: RUNNING}
assets:
  - {id: c1, type: controller}
`
	m, err := hierarchy.Load("m.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	typ := m.Type("controller")
	t.Run("allowed", func(t *testing.T) {
		s := typ.Signal("state")
		if !s.Allows("RUN") || s.Allows("JOG") {
			t.Errorf("state allows RUN %v, JOG %v", s.Allows("RUN"), s.Allows("JOG"))
		}
	})
	t.Run("rules read component signals", func(t *testing.T) {
		fault := typ.ModeRules[0]
		for _, c := range []struct {
			vals map[string]any
			want bool
		}{
			{map[string]any{"thermostat1.temperature": 95.0, "thermostat2.temperature": 20.0}, true},
			{map[string]any{"thermostat1.temperature": 20.0, "thermostat2.temperature": 20.0}, false},
			{map[string]any{"thermostat1.temperature": 95.0}, false}, // thermostat2 never reported
		} {
			got, err := fault.Match(c.vals)
			if err != nil || got != c.want {
				t.Errorf("Match(%v) = %v, %v; want %v", c.vals, got, err, c.want)
			}
		}
	})

	tests := []struct{ name, yaml, want string }{
		{"allowed on a number", `types: {t: {signals: [{name: x, allowed: [a]}]}}`, "m.yaml:1: type \"t\" signal \"x\": allowed applies to string signals only"},
		{"allowed empty", `types: {t: {signals: [{name: x, kind: string, allowed: []}]}}`, "allowed must list at least one value"},
		{"allowed twice", "types:\n  t:\n    signals:\n      - name: x\n        kind: string\n        allowed: [a,\n          a]", "m.yaml:7: type \"t\" signal \"x\": allowed value \"a\" listed twice"},
		{"allowed too long", `types: {t: {signals: [{name: x, kind: string, maxLength: 2, allowed: [abc]}]}}`, "longer than maxLength 2"},
		{"component clashes", `types: {t: {signals: [{name: a}, {name: a.b}]}}`, `signal "a.b" in type "t" clashes with signal "a"`},
		{"bad component name", `types: {t: {signals: [{name: a..b}]}}`, `bad signal name "a..b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := hierarchy.Load("m.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}
}
