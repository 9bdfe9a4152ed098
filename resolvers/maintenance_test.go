package resolvers_test

import (
	"context"
	"math"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/ingest"
	"github.com/twingraph/twingraph/internal/testmodel"
)

const (
	l1filler = "plant/jkt1/packaging/line1/filler"
	l3filler = "plant/jkt1/packaging/line3/filler"
	l3capper = "plant/jkt1/packaging/line3/capper"
)

// feed runs one message a minute per asset from `from` to now through the
// transition function into the env's stores, as the sync worker would, and
// returns the events. gen gives an asset's samples at minute i.
func (e *env) feed(t *testing.T, assets []string, from time.Time, gen func(asset string, i int, ts time.Time) map[string]twin.Value) []twin.Event {
	t.Helper()
	ctx := context.Background()
	var events []twin.Event
	for _, id := range assets {
		a := e.model.Asset(id)
		typ := e.model.Type(a.Type)
		var st *twin.State
		for i, ts := 0, from; ts.Before(now); i, ts = i+1, ts.Add(time.Minute) {
			var msg []twin.Sample
			for sig, v := range gen(id, i, ts) {
				msg = append(msg, twin.Sample{Asset: id, Signal: sig, TS: ts, Value: v, Quality: twin.QualityGood,
					Pos: twin.LogPos{Log: "telemetry@test", Partition: 0, Offset: int64(i)}})
			}
			var evs []twin.Event
			st, evs = ingest.Transition(a, typ, st, msg)
			events = append(events, evs...)
			if err := e.history.AppendSamples(ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
		e.putState(st)
	}
	if len(events) > 0 {
		if err := e.events.AppendEvents(ctx, events); err != nil {
			t.Fatal(err)
		}
	}
	return events
}

// machine is a running machine: speed 100, 10 cycles a minute from 5000,
// vibration rising 0.6 mm/s an hour from 3.
func machine(_ string, i int, ts time.Time) map[string]twin.Value {
	return map[string]twin.Value{
		"power_on":            twin.Bool(true),
		"fault_codes":         twin.NewList(nil),
		"speed_units_per_min": twin.Number(100),
		"cycles_total":        twin.Number(5000 + 10*float64(i)),
		"vibration_mms_rms":   twin.Number(3 + 0.01*float64(i)),
	}
}

func TestAsset_maintenance(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	// Line 1's filler runs for the last two hours: its 0.05 h interval is long past.
	events := e.feed(t, []string{l1filler}, now.Add(-2*time.Hour), machine)

	var due []twin.Event
	for _, ev := range events {
		if ev.Kind == twin.EventMaintenanceDue {
			due = append(due, ev)
		}
	}
	// The first sample starts RUNNING at now−2h; 3 run minutes later it is due.
	if len(due) != 1 || !due[0].TS.Equal(now.Add(-117*time.Minute)) {
		t.Fatalf("MAINTENANCE_DUE = %+v, want one at %s", due, now.Add(-117*time.Minute))
	}

	var resp struct {
		Asset struct {
			Maintenance struct {
				RunHours             float64
				RunHoursSinceService float64
				ServiceIntervalHours *float64
				Cycles               *float64
				CyclesHour           *float64
				LastService          string
				NextServiceDue       string
				Due                  bool
				Vibration            struct {
					Signal     string
					Unit       string
					Current    float64
					AlarmLevel float64
					Alarm      bool
					Trend      struct {
						Slope  float64
						Unit   string
						Window string
						Points int
					}
				}
			}
			Events struct {
				Edges []struct{ Node struct{ Kind, Ts string } }
			}
		}
		Capper struct{ Maintenance *struct{ RunHours float64 } }
		Line   struct{ Maintenance *struct{ RunHours float64 } }
		Due    []struct{ ID string }
		Soon   []struct{ ID string }
	}
	e.post(t, `{
		asset(id: "`+l1filler+`") {
			maintenance {
				runHours runHoursSinceService serviceIntervalHours cycles
				cyclesHour: cycles(since: "2026-11-24T06:00:00Z")
				lastService nextServiceDue due
				vibration { signal unit current alarmLevel alarm trend(window: "1h") { slope unit window points } }
			}
			events(kinds: [MAINTENANCE_DUE], first: 10) { edges { node { kind ts } } }
		}
		capper: asset(id: "plant/jkt1/packaging/line1/capper") { maintenance { runHours } }
		line: asset(id: "plant/jkt1/packaging/line1") { maintenance { runHours } }
		due: maintenanceDue(under: "plant/jkt1/packaging") { id }
		soon: maintenanceDue(under: "plant/jkt1/packaging", within: "30d") { id }
	}`, &resp)
	m := resp.Asset.Maintenance
	// The last sample is at now−1m and the filler is still RUNNING: run hours reach now.
	if m.RunHours != 2 || m.RunHoursSinceService != 2 {
		t.Errorf("run hours %v, since service %v; want 2 and 2", m.RunHours, m.RunHoursSinceService)
	}
	if m.ServiceIntervalHours == nil || *m.ServiceIntervalHours != 0.05 || !m.Due {
		t.Errorf("interval %v, due %v; want 0.05 h and due", m.ServiceIntervalHours, m.Due)
	}
	// Minute 119 is the last: 5000 + 1190. Since 06:00 (minute 60): less the value at 05:59.
	if m.Cycles == nil || *m.Cycles != 6190 || m.CyclesHour == nil || *m.CyclesHour != 600 {
		t.Errorf("cycles %v, since 06:00 %v; want 6190 and 600", deref(m.Cycles), deref(m.CyclesHour))
	}
	// Serviced 2026-11-01 (Jakarta); due now by run hours.
	if m.LastService != "2026-10-31T17:00:00Z" || m.NextServiceDue != "2026-11-24T07:00:00Z" {
		t.Errorf("last service %s, next due %s", m.LastService, m.NextServiceDue)
	}
	v := m.Vibration
	if v.Signal != "vibration_mms_rms" || v.Unit != "mm/s" || v.Current != 4.19 || v.AlarmLevel != 7.1 || v.Alarm {
		t.Errorf("vibration = %+v", v)
	}
	if math.Abs(v.Trend.Slope-0.6) > 1e-9 || v.Trend.Unit != "mm/s/h" || v.Trend.Window != "1h" || v.Trend.Points < 30 {
		t.Errorf("trend = %+v, want 0.6 mm/s/h", v.Trend)
	}
	if ev := resp.Asset.Events.Edges; len(ev) != 1 || ev[0].Node.Ts != "2026-11-24T05:03:00Z" {
		t.Errorf("MAINTENANCE_DUE events = %+v", ev)
	}
	if resp.Capper.Maintenance == nil || resp.Capper.Maintenance.RunHours != 0 || resp.Line.Maintenance != nil {
		t.Errorf("capper without data: %+v; line without a feed: %+v", resp.Capper.Maintenance, resp.Line.Maintenance)
	}
	if len(resp.Due) != 1 || resp.Due[0].ID != l1filler {
		t.Errorf("maintenanceDue = %v, want only %s", resp.Due, l1filler)
	}
	// Line 2's filler is due by date on 2026-12-19 (2026-09-20 + 90 d): within 30 days.
	if len(resp.Soon) != 2 || resp.Soon[0].ID != l1filler || resp.Soon[1].ID != "plant/jkt1/packaging/line2/filler" {
		t.Errorf("maintenanceDue within 30d = %v", resp.Soon)
	}

	for _, c := range []struct{ name, q, code string }{
		{"zero window", `{ asset(id: "` + l1filler + `") { maintenance { vibration { trend(window: "0s") { slope } } } } }`, twin.EBADINPUT},
		{"negative within", `{ maintenanceDue(within: "-1h") { id } }`, twin.EBADINPUT},
		{"unknown under", `{ maintenanceDue(under: "plant/nope") { id } }`, twin.ENOTFOUND},
	} {
		if code := codeOf(e.errorsOf(t, c.q)); code != c.code {
			t.Errorf("%s: code %s, want %s", c.name, code, c.code)
		}
	}
}

func TestAsset_lineHistory(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	// Line 3's filler runs at 100, its capper at 200 − i (minute i); the
	// filler's drive (not in over) and the line itself must not count.
	e.feed(t, []string{l3filler, l3capper}, now.Add(-10*time.Minute), func(id string, i int, ts time.Time) map[string]twin.Value {
		m := machine(id, i, ts)
		if id == l3capper {
			m["speed_units_per_min"] = twin.Number(200 - float64(i))
		}
		return m
	})
	var resp struct {
		Asset struct {
			Signals []struct {
				Name     string
				RolledUp bool
				Rollup   *struct {
					From, Agg string
					Over      []string
				}
			}
			Speed  struct{ Points []struct{ Value float64 } }
			Cycles struct{ Points []struct{ Value float64 } }
		}
	}
	e.post(t, `{ asset(id: "`+line3+`") {
		signals { name rolledUp rollup { from agg over } }
		speed: history(metric: "machine_speed", from: "2026-11-24T06:50:00Z", to: "2026-11-24T07:00:00Z", interval: "5m") { points { value } }
		cycles: history(metric: "machine_cycles", from: "2026-11-24T06:50:00Z", to: "2026-11-24T07:00:00Z", interval: "5m", agg: LAST) { points { value } }
	} }`, &resp)
	var found bool
	for _, s := range resp.Asset.Signals {
		if s.Name == "machine_speed" {
			found = s.RolledUp && s.Rollup != nil && s.Rollup.From == "speed_units_per_min" && s.Rollup.Agg == "AVG" && len(s.Rollup.Over) == 3
		}
		if s.Name == "press1_bar" && (s.RolledUp || s.Rollup != nil) {
			t.Errorf("measured signal marked rolled up: %+v", s)
		}
	}
	if !found {
		t.Errorf("signals = %+v, want machine_speed rolled up from speed_units_per_min", resp.Asset.Signals)
	}
	// Bucket 06:50: filler mean 100, capper mean of 200..196 = 198 → 149;
	// 06:55: capper 195..191 = 193 → 146.5.
	if p := resp.Asset.Speed.Points; len(p) != 2 || p[0].Value != 149 || p[1].Value != 146.5 {
		t.Errorf("machine_speed = %+v, want 149 and 146.5", p)
	}
	// The counters' last values summed: 5000+10·4 twice, then 5000+10·9 twice.
	if p := resp.Asset.Cycles.Points; len(p) != 2 || p[0].Value != 10080 || p[1].Value != 10180 {
		t.Errorf("machine_cycles LAST = %+v, want 10080 and 10180", p)
	}
	q := `{ asset(id: "` + line3 + `") { history(metric: "machine_speed", from: "2026-11-24T06:50:00Z", to: "2026-11-24T07:00:00Z") { agg } } }`
	if code := codeOf(e.errorsOf(t, q)); code != twin.EBADINPUT {
		t.Errorf("raw history of a rolled-up signal: %s, want BAD_INPUT", code)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
