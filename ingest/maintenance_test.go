package ingest_test

import (
	"math"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/ingest"
)

// maintType is the line type with a maintenance feed: 2 run hours between services.
func maintType() *twin.AssetType {
	t := lineType(0)
	t.Maintenance = &twin.MaintenanceConfig{LastServiceAttribute: "last_service",
		ServiceIntervalAttribute: "service_interval_h", ServiceIntervalDaysAttribute: "service_interval_d"}
	return t
}

func maintAsset(lastService string) *twin.Asset {
	a := *line
	a.Attributes = map[string]any{"service_interval_h": 2.0}
	if lastService != "" {
		a.Attributes["last_service"] = lastService
	}
	return &a
}

func dueEvents(evs []twin.Event) []twin.Event {
	var out []twin.Event
	for _, e := range evs {
		if e.Kind == twin.EventMaintenanceDue {
			out = append(out, e)
		}
	}
	return out
}

// runFor feeds a line running from sec to sec+span, one message a minute, each at its own offset.
func runFor(from, span float64, off *int64) []twin.Sample {
	var out []twin.Sample
	for s := from; s <= from+span; s += 60 {
		*off++
		out = append(out, pos(speed(s, 200), "telemetry@t", 0, *off))
	}
	return out
}

func TestTransition_maintenanceDue(t *testing.T) {
	typ := maintType()
	var off int64
	start := []twin.Sample{pos(power(0, true), "telemetry@t", 0, 0)}
	samples := append(start, runFor(0, 3*3600, &off)...)

	t.Run("once at the exact crossing", func(t *testing.T) {
		a := maintAsset("")
		var st *twin.State
		var all []twin.Event
		for _, s := range samples { // one message per call, as the worker applies them
			var evs []twin.Event
			st, evs = ingest.Transition(a, typ, st, []twin.Sample{s})
			all = append(all, evs...)
		}
		due := dueEvents(all)
		if len(due) != 1 {
			t.Fatalf("MAINTENANCE_DUE events = %d, want 1: %+v", len(due), due)
		}
		if want := at(2 * 3600); !due[0].TS.Equal(want) {
			t.Errorf("due at %s, want %s (two run hours after the start)", due[0].TS, want)
		}
		if due[0].DurationSeconds == nil || *due[0].DurationSeconds != 7200 {
			t.Errorf("due duration = %v, want 7200", due[0].DurationSeconds)
		}
		if st.RunSeconds != 3*3600 {
			t.Errorf("RunSeconds = %v, want %v", st.RunSeconds, 3*3600)
		}
		if st.DueFor != "none" {
			t.Errorf("DueFor = %q, want none", st.DueFor)
		}

		// Replaying the whole log (redelivery after a crash) emits nothing.
		st2, evs := ingest.Transition(a, typ, st, samples)
		if len(evs) != 0 || st2.RunSeconds != st.RunSeconds {
			t.Errorf("replay: %d events, RunSeconds %v; want none and %v", len(evs), st2.RunSeconds, st.RunSeconds)
		}

		// A rebuild (one call, from scratch) gives the same event, same id.
		_, rebuilt := ingest.Transition(a, typ, nil, samples)
		if rd := dueEvents(rebuilt); len(rd) != 1 || rd[0].ID != due[0].ID {
			t.Errorf("rebuild events = %+v, want the one with id %s", rd, due[0].ID)
		}
	})

	t.Run("a new service date re-arms", func(t *testing.T) {
		a := maintAsset("")
		st, evs := ingest.Transition(a, typ, nil, samples)
		if len(dueEvents(evs)) != 1 {
			t.Fatalf("first plan: %d due events, want 1", len(dueEvents(evs)))
		}
		// Serviced on 24 Nov (local), but the state began after that midnight,
		// so all its run time counts: the new plan is overdue when it takes effect.
		b := maintAsset("2026-11-24")
		var off2 int64 = 1000
		next := runFor(11*3600, 3*3600, &off2)
		st, evs = ingest.Transition(b, typ, st, next)
		due := dueEvents(evs)
		if len(due) != 1 {
			t.Fatalf("after service: %d due events, want 1: %+v", len(due), evs)
		}
		if !due[0].TS.Equal(at(11 * 3600)) {
			t.Errorf("overdue plan: due at %s, want its first sample %s", due[0].TS, at(11*3600))
		}
		if st.DueFor != "2026-11-24" {
			t.Errorf("DueFor = %q, want 2026-11-24", st.DueFor)
		}
		since := st.RunSecondsSince(time.Date(2026, 11, 24, 0, 0, 0, 0, a.Location()), a.Location(), st.UptimeAsOf, 0)
		if since != st.RunSeconds {
			t.Errorf("run since service = %v, want all %v (the state began after the service)", since, st.RunSeconds)
		}
	})

	t.Run("service date ahead counts from its midnight", func(t *testing.T) {
		// Serviced on 25 Nov (local): running on the 24th does not count.
		a := maintAsset("2026-11-25")
		var off3 int64
		// 13:00 to 02:00 local next day: 11 h before midnight, 2 h after.
		long := append([]twin.Sample{pos(power(0, true), "telemetry@t", 0, 0)}, runFor(0, 13*3600, &off3)...)
		st, evs := ingest.Transition(a, typ, nil, long)
		due := dueEvents(evs)
		if len(due) != 1 {
			t.Fatalf("due events = %d, want 1", len(due))
		}
		if want := at(13 * 3600); !due[0].TS.Equal(want) {
			t.Errorf("due at %s, want %s (2 h after local midnight)", due[0].TS, want)
		}
		if got := st.RunDays["2026-11-25"]; got != 11*3600 {
			t.Errorf("RunDays[2026-11-25] = %v, want %v", got, 11*3600)
		}
		m, ok := twin.MaintenanceAt(a, typ, st, st.UptimeAsOf)
		if !ok || m.RunSecondsSinceService != 7200 || !m.Due {
			t.Errorf("MaintenanceAt = %+v, want 7200 s since service and due", m)
		}
	})

	t.Run("no interval, no event", func(t *testing.T) {
		a := maintAsset("")
		delete(a.Attributes, "service_interval_h")
		_, evs := ingest.Transition(a, typ, nil, samples)
		if len(dueEvents(evs)) != 0 {
			t.Errorf("due events without an interval: %+v", dueEvents(evs))
		}
	})
}

func TestMaintenanceAt(t *testing.T) {
	typ := maintType()
	a := maintAsset("2026-11-01")
	a.Attributes["service_interval_d"] = 30.0
	var off int64
	samples := append([]twin.Sample{pos(power(0, true), "telemetry@t", 0, 0)}, runFor(0, 3600, &off)...)
	st, _ := ingest.Transition(a, typ, nil, samples)
	now := at(3600 + 1800) // still RUNNING, 30 min after the last sample
	m, ok := twin.MaintenanceAt(a, typ, st, now)
	if !ok {
		t.Fatal("no maintenance figures")
	}
	if m.RunSeconds != 5400 {
		t.Errorf("RunSeconds = %v, want 5400 (extended to now)", m.RunSeconds)
	}
	// Due by run hours in 2 h − 1.5 h = 30 min if it keeps running; by date
	// on 1 Dec local midnight, later.
	if want := now.Add(30 * time.Minute); !m.NextServiceDue.Equal(want) {
		t.Errorf("NextServiceDue = %s, want %s", m.NextServiceDue, want)
	}
	if m.Due {
		t.Error("due too early")
	}
	a.Attributes["service_interval_h"] = 1000.0
	m, _ = twin.MaintenanceAt(a, typ, st, now)
	if want := time.Date(2026, 12, 1, 0, 0, 0, 0, a.Location()); !m.NextServiceDue.Equal(want) {
		t.Errorf("NextServiceDue = %s, want the date %s", m.NextServiceDue, want)
	}
}

func TestSlope(t *testing.T) {
	v := func(f float64) *float64 { return &f }
	pts := []twin.Point{{TS: t0, Value: v(1)}, {TS: t0.Add(time.Hour), Value: nil},
		{TS: t0.Add(2 * time.Hour), Value: v(2)}, {TS: t0.Add(4 * time.Hour), Value: v(3)}}
	got, ok := twin.Slope(pts)
	// Least squares over (0,1), (2,2), (4,3): slope 0.5 per hour.
	if !ok || math.Abs(got-0.5) > 1e-12 {
		t.Errorf("Slope = %v, %v; want 0.5", got, ok)
	}
	if _, ok := twin.Slope(pts[:2]); ok {
		t.Error("slope of one valued point should be unavailable")
	}
}
