package hierarchy_test

import (
	"strings"
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/hierarchy"
)

const maintTypes = `types:
  area:
    rollups:
      - {name: units, from: count, agg: SUM, over: [machine]}
      - {name: speed_avg, from: speed, agg: avg, unit: rpm}
  machine:
    signals:
      - {name: count, unit: units}
      - {name: speed}
      - {name: vib, unit: mm/s}
      - {name: on, kind: bool}
    maintenance:
      cyclesSignal: count
      vibrationSignal: vib
      vibrationAlarm: 7.1
      lastServiceAttribute: last_service
      serviceIntervalAttribute: interval_h
`

func TestLoad_MaintenanceAndRollups(t *testing.T) {
	m, err := hierarchy.Load("m.yaml", []byte(maintTypes+`assets:
  - {id: a, type: area}
  - {id: a/m, type: machine, parent: a, attributes: {last_service: "2026-11-20", interval_h: 500}}
`))
	if err != nil {
		t.Fatal(err)
	}
	mt := m.Type("machine").Maintenance
	if mt == nil || mt.CyclesSignal != "count" || mt.VibrationSignal != "vib" || mt.VibrationAlarm == nil || *mt.VibrationAlarm != 7.1 ||
		mt.LastServiceAttribute != "last_service" || mt.ServiceIntervalAttribute != "interval_h" {
		t.Errorf("maintenance = %+v", mt)
	}
	area := m.Type("area")
	u := area.HistorySignal("units")
	if u == nil || u.Rollup == nil || u.Rollup.From != "count" || u.Rollup.Agg != twin.AggSum || u.Unit != "units" || u.Kind != twin.KindNumber {
		t.Errorf("units = %+v", u)
	}
	if s := area.HistorySignal("speed_avg"); s == nil || s.Unit != "rpm" || s.Rollup.Agg != twin.AggAvg {
		t.Errorf("speed_avg = %+v", s)
	}
	if area.Signal("units") != nil {
		t.Error("a rolled-up signal must not be a telemetry signal")
	}
	if got := twin.RollupMembers(m, "a", u); len(got) != 1 || got[0] != "a/m" {
		t.Errorf("members = %v", got)
	}
}

func TestLoad_MaintenanceProblems(t *testing.T) {
	for _, tt := range []struct{ name, yaml, msg string }{
		{"unknown cycles signal", `types:
  m:
    signals: [{name: x}]
    maintenance: {cyclesSignal: nope}
`, `maintenance.cyclesSignal names unknown signal "nope"`},
		{"vibration of the wrong kind", `types:
  m:
    signals: [{name: x, kind: bool}]
    maintenance: {vibrationSignal: x}
`, `must be a number signal`},
		{"alarm without signal", `types:
  m:
    maintenance: {vibrationAlarm: 7.1}
`, "vibrationAlarm needs a vibrationSignal"},
		{"unknown key", `types:
  m:
    maintenance: {serviceEvery: 10}
`, `unknown key "serviceEvery"`},
		{"bad service date", maintTypes + `assets:
  - {id: m, type: machine, attributes: {last_service: last tuesday}}
`, "must be a date"},
		{"bad interval", maintTypes + `assets:
  - {id: m, type: machine, attributes: {interval_h: -5}}
`, "must be a positive number"},
		{"rollup agg", `types:
  a:
    rollups: [{name: u, from: x, agg: median}]
  m:
    signals: [{name: x}]
`, `bad agg "median"`},
		{"rollup over unknown type", `types:
  a:
    rollups: [{name: u, from: x, over: [nope]}]
`, `over names unknown type "nope"`},
		{"rollup from missing", `types:
  a:
    rollups: [{name: u, from: y}]
  m:
    signals: [{name: x}]
`, `no member type has a number signal "y"`},
		{"rollup from a string", `types:
  a:
    rollups: [{name: u, from: x}]
  m:
    signals: [{name: x, kind: string}]
`, `no member type has a number signal "x"`},
		{"rollup clashes with a signal", `types:
  a:
    signals: [{name: u}]
    rollups: [{name: u, from: u}]
`, "already has a signal of that name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := hierarchy.Load("m.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Load error = %v, want one containing %q", err, tt.msg)
			}
		})
	}
}
