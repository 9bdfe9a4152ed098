package ingest_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/ingest"
)

// livingPlant renames a line (old id an alias) and a signal, and retires a
// second line from 06:03.
const livingPlant = `types:
  line:
    signals:
      - {name: power_on, kind: bool}
      - {name: speed_units_per_min, aliases: [speed]}
    modeRules:
      - {when: "power_on == false", mode: STOP}
      - {when: "speed_units_per_min > 0", mode: RUNNING}
      - {when: "true", mode: IDLE}
assets:
  - {id: s/line3-glass, aliases: [s/line3], type: line}
  - {id: s/line2, type: line, retiredAt: 2026-11-24T06:03:00Z}
  - {id: s/line1, type: line, retired: true}
signalMap:
  - {device: plc-17, tag: "900", asset: s/line3, signal: speed}
`

func TestDecode_AliasesAndRetired(t *testing.T) {
	m, err := hierarchy.Load("living.yaml", []byte(livingPlant))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, msg  string
		asset, sig string // the sample's, when decoded
		rejectCode string // else the reject's code
	}{
		{"old asset id", `{"asset":"s/line3","signal":"speed_units_per_min","value":1,"ts":"2026-11-24T06:00:00Z"}`, "s/line3-glass", "speed_units_per_min", ""},
		{"old signal name", `{"asset":"s/line3-glass","signal":"speed","value":1,"ts":"2026-11-24T06:00:00Z"}`, "s/line3-glass", "speed_units_per_min", ""},
		{"raw tag mapped by old ids", `{"device":"plc-17","tag":"900","value":1,"ts":"2026-11-24T06:00:00Z"}`, "s/line3-glass", "speed_units_per_min", ""},
		{"before retiredAt", `{"asset":"s/line2","signal":"speed","value":1,"ts":"2026-11-24T06:02:59Z"}`, "s/line2", "speed_units_per_min", ""},
		{"at retiredAt", `{"asset":"s/line2","signal":"speed","value":1,"ts":"2026-11-24T06:03:00Z"}`, "", "", "retired"},
		{"retired without a time", `{"asset":"s/line1","signal":"power_on","value":true,"ts":"2020-01-01T00:00:00Z"}`, "", "", "retired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, rejects := ingest.DecodeAt(m, []byte(c.msg), time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC), ingest.Limits{})
			if c.rejectCode != "" {
				if len(rejects) != 1 || !strings.HasPrefix(rejects[0].Reason, c.rejectCode+": ") {
					t.Fatalf("rejects = %+v, want one %s", rejects, c.rejectCode)
				}
				return
			}
			if len(rejects) > 0 || len(got) != 1 || got[0].Asset != c.asset || got[0].Signal != c.sig {
				t.Fatalf("decoded %+v, rejects %+v; want %s %s", got, rejects, c.asset, c.sig)
			}
		})
	}
}

// ruleTimesType has rules that changed at 06:10: before, RUNNING needs a
// speed above 0; from then on, above 100.
func ruleTimesType(t *testing.T) (*twin.Asset, *twin.AssetType) {
	t.Helper()
	m, err := hierarchy.Load("rules.yaml", []byte(`types:
  line:
    signals: [{name: speed}]
    modeRules:
      - {when: "speed > 100", mode: RUNNING}
      - {when: "true", mode: IDLE}
    modeRulesFrom: 2026-11-24T06:10:00Z
    earlierModeRules:
      - rules:
          - {when: "speed > 0", mode: RUNNING}
          - {when: "true", mode: IDLE}
assets:
  - {id: l, type: line}
`))
	if err != nil {
		t.Fatal(err)
	}
	a := m.Asset("l")
	return a, m.Type(a.Type)
}

func speedAt(min int, v float64) twin.Sample {
	return twin.Sample{Asset: "l", Signal: "speed", TS: time.Date(2026, 11, 24, 6, min, 0, 0, time.UTC), Value: twin.Number(v)}
}

// TestTransition_RuleEffectiveTime: each sample is judged by the rules in
// force at its time, so events before the change keep their meaning, the
// change itself re-judges the asset at its first sample after it, and a
// replay (in one call or sample by sample) gives the same events.
func TestTransition_RuleEffectiveTime(t *testing.T) {
	a, typ := ruleTimesType(t)
	samples := []twin.Sample{
		speedAt(0, 0),   // IDLE
		speedAt(1, 50),  // RUNNING under the old rules
		speedAt(5, 60),  // still RUNNING
		speedAt(10, 60), // the new rules: 60 is IDLE
		speedAt(12, 150),
	}
	st, evs := ingest.Transition(a, typ, nil, samples)
	var got []string
	for _, e := range evs {
		got = append(got, string(e.ToMode)+"@"+e.TS.Format("15:04"))
	}
	want := []string{"IDLE@06:00", "RUNNING@06:01", "IDLE@06:10", "RUNNING@06:12"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	// Sample by sample, as a live worker sees them.
	var one *twin.State
	var step []twin.Event
	for _, s := range samples {
		var evs []twin.Event
		one, evs = ingest.Transition(a, typ, one, []twin.Sample{s})
		step = append(step, evs...)
	}
	if !reflect.DeepEqual(step, evs) || !reflect.DeepEqual(one, st) {
		t.Errorf("sample by sample: %+v\nin one call: %+v", step, evs)
	}
	// Crossing into the new rules re-judges even with no value change.
	_, evs = ingest.Transition(a, typ, nil, []twin.Sample{speedAt(5, 60), speedAt(11, 60)})
	if len(evs) != 2 || evs[1].ToMode != twin.ModeIdle || evs[1].TS.Minute() != 11 {
		t.Errorf("events = %+v, want RUNNING at 06:05 then IDLE at 06:11", evs)
	}
}
