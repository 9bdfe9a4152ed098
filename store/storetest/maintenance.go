package storetest

import (
	"math"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/ingest"
)

// maintModel has one machine with a maintenance feed: 2 run hours between
// services, serviced on 2026-11-25 (UTC).
const maintModel = `
types:
  machine:
    signals:
      - {name: speed}
      - {name: cycles_total}
      - {name: vibration_mms_rms, unit: mm/s}
    modeRules:
      - {when: "speed > 0", mode: RUNNING}
      - {when: "true", mode: IDLE}
    maintenance:
      cyclesSignal: cycles_total
      vibrationSignal: vibration_mms_rms
      vibrationAlarm: 7.1
      lastServiceAttribute: last_service
      serviceIntervalAttribute: service_interval_h
assets:
  - {id: m, type: machine, attributes: {last_service: "2026-11-25", service_interval_h: 2}}
`

// TestMaintenance runs the maintenance feed over a store pair from open: a
// scripted log goes through ingest.Transition, its samples to the history
// store and its state to the state store (as the sync worker writes them),
// and the feed read back from the stores is exact: run hours, run hours since
// the service, the one MAINTENANCE_DUE and its instant, the cycle count since
// a time (from history), and the vibration trend (from history). A replay of
// the whole log changes none of it.
func TestMaintenance(t *testing.T, open func(t *testing.T) (twin.StateStore, twin.HistoryStore)) {
	m, err := hierarchy.Load("maint.yaml", []byte(maintModel))
	if err != nil {
		t.Fatal(err)
	}
	a := m.Asset("m")
	typ := m.Type("machine")
	states, history := open(t)
	c := ctx(t)

	// 2026-11-24 20:00 to 2026-11-25 04:00 UTC, a message a minute: running
	// (speed 100) except 23:00–23:30 and 01:00–01:30 idle. Cycles +10 a
	// running minute; vibration rises 0.5 mm/s an hour from 2.
	start := time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)
	var log [][]twin.Sample
	cycles := 1000.0
	for i := 0; i <= 8*60; i++ {
		ts := start.Add(time.Duration(i) * time.Minute)
		h, mi := ts.Hour(), ts.Minute()
		speed := 100.0
		if (h == 23 || h == 1) && mi < 30 {
			speed = 0
		}
		if i > 0 && speed > 0 {
			cycles += 10
		}
		vib := 2 + 0.5*ts.Sub(start).Hours()
		pos := twin.LogPos{Log: "telemetry@m", Partition: 0, Offset: int64(i)}
		log = append(log, []twin.Sample{
			{Asset: "m", Signal: "speed", TS: ts, Value: twin.Number(speed), Quality: twin.QualityGood, Pos: pos},
			{Asset: "m", Signal: "cycles_total", TS: ts, Value: twin.Number(cycles), Quality: twin.QualityGood, Pos: pos},
			{Asset: "m", Signal: "vibration_mms_rms", TS: ts, Value: twin.Number(math.Round(vib*1e6) / 1e6), Quality: twin.QualityGood, Pos: pos},
		})
	}
	apply := func() []twin.Event {
		t.Helper()
		var events []twin.Event
		for _, msg := range log {
			got, err := states.GetStates(c, []string{"m"})
			must(t, "get state", err)
			st, evs := ingest.Transition(a, typ, got[0], msg)
			must(t, "append samples", history.AppendSamples(c, msg))
			must(t, "put state", states.PutStates(c, []*twin.State{st}))
			events = append(events, evs...)
		}
		return events
	}
	var due []twin.Event
	for _, e := range apply() {
		if e.Kind == twin.EventMaintenanceDue {
			due = append(due, e)
		}
	}
	got, err := states.GetStates(c, []string{"m"})
	must(t, "get state", err)
	st := got[0]
	end := start.Add(8 * time.Hour)

	// Running 8 h less two idle half hours: 7 h. Since the service (local
	// midnight of 2026-11-25, UTC here): 4 h less 01:00–01:30, 3.5 h.
	if st.RunSeconds != 7*3600 {
		t.Errorf("RunSeconds = %v, want %v", st.RunSeconds, 7*3600)
	}
	mt, ok := twin.MaintenanceAt(a, typ, st, end)
	if !ok || mt.RunSeconds != 7*3600 || mt.RunSecondsSinceService != 3.5*3600 || !mt.Due {
		t.Errorf("maintenance at the end = %+v, want 7 h run, 3.5 h since service, due", mt)
	}
	// 2 h since midnight: 00:00–01:00 runs 1 h, idle to 01:30, then 1 h more at 02:30.
	if len(due) != 1 || !due[0].TS.Equal(time.Date(2026, 11, 25, 2, 30, 0, 0, time.UTC)) {
		t.Errorf("MAINTENANCE_DUE = %+v, want one at 02:30", due)
	}

	// Replaying the whole log (a redelivery) emits nothing and moves nothing.
	if evs := apply(); len(evs) != 0 {
		t.Errorf("replay emitted %d events", len(evs))
	}
	again, err := states.GetStates(c, []string{"m"})
	must(t, "get state", err)
	if again[0].RunSeconds != st.RunSeconds || again[0].DueFor != st.DueFor || len(again[0].RunDays) != len(st.RunDays) {
		t.Errorf("replay changed the state: %+v, was %+v", again[0], st)
	}

	// Cycles since midnight: the counter less its value at 23:59, 211 running
	// minutes (00:00–04:00 less 01:00–01:29) of 10.
	cur := st.Metrics["cycles_total"]
	n, err := twin.CounterIncrease(c, history, a, "cycles_total", cur, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	must(t, "cycles since", err)
	if n != 211*10 {
		t.Errorf("cycles since midnight = %v, want %v", n, 211*10)
	}
	// Since a time between samples: from the last value before it.
	n, err = twin.CounterIncrease(c, history, a, "cycles_total", cur, time.Date(2026, 11, 25, 3, 30, 30, 0, time.UTC))
	must(t, "cycles since", err)
	if n != 30*10 {
		t.Errorf("cycles since 03:30:30 = %v, want %v", n, 30*10)
	}

	// Vibration rises 0.5 mm/s an hour: the least-squares fit over bucket means says so.
	tr, err := twin.TrendOf(c, history, a, "vibration_mms_rms", end, 4*time.Hour)
	must(t, "trend", err)
	if !tr.OK || math.Abs(tr.Slope-0.5) > 1e-6 || tr.Points != 120 {
		t.Errorf("trend over 4 h = %+v, want slope 0.5 over 120 two-minute buckets", tr)
	}
	if _, err := twin.TrendOf(c, history, a, "vibration_mms_rms", end, 0); twin.ErrorCode(err) != twin.EBADINPUT {
		t.Errorf("zero window: %v, want BAD_INPUT", err)
	}
}
