package twinsync_test

import (
	"context"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/twinsync"
)

// l1Filler has a 0.05 h (three-minute) service interval in the demo model.
const l1Filler = "plant/jkt1/packaging/line1/filler"

// TestWorker_MaintenanceDueOnce runs line 1's filler for an hour through
// Kafka: one MAINTENANCE_DUE, 3 run minutes after it started; redelivery
// (the same offsets again, then the same payloads at new offsets) adds none;
// a rebuild from the log gives the same state and the same event id.
func TestWorker_MaintenanceDueOnce(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	var script []msg
	for i := 0; i <= 60; i++ {
		at := time.Duration(i) * time.Minute
		script = append(script, msg{l1Filler, "[" + curated(l1Filler, "power_on", "true", at) + "," +
			curated(l1Filler, "fault_codes", "[]", at) + "," + curated(l1Filler, "speed_units_per_min", "120", at) + "]"})
	}
	produce(t, addr, "telemetry", script)
	s := newStores()
	run(t, addr, "maint", s, len(script))

	ctx := context.Background()
	due := func() []twin.Event {
		t.Helper()
		page, err := s.events.ListEvents(ctx, twin.EventQuery{Assets: []string{l1Filler},
			Kinds: []twin.EventKind{twin.EventMaintenanceDue}, First: 100})
		if err != nil {
			t.Fatal(err)
		}
		return page.Events
	}
	first := due()
	if len(first) != 1 || !first[0].TS.Equal(day0.Add(3*time.Minute)) {
		t.Fatalf("MAINTENANCE_DUE = %+v, want one at %s", first, day0.Add(3*time.Minute))
	}
	sts, err := s.states.GetStates(ctx, []string{l1Filler})
	if err != nil {
		t.Fatal(err)
	}
	if st := sts[0]; st.RunSeconds != 3600 || st.DueFor != "2026-11-01" {
		t.Errorf("state RunSeconds %v DueFor %q, want 3600 and 2026-11-01", st.RunSeconds, st.DueFor)
	}

	run(t, addr, "maint-again", s, len(script)) // the same offsets again
	produce(t, addr, "telemetry", script)       // the same payloads at new offsets
	run(t, addr, "maint", s, len(script))
	if again := due(); len(again) != 1 || again[0].ID != first[0].ID {
		t.Errorf("after redelivery MAINTENANCE_DUE = %+v, want only %s", again, first[0].ID)
	}

	rebuiltEvents := newStores().events
	rebuilt, err := twinsync.Rebuild(ctx, twinsync.RebuildConfig{Brokers: addr, Model: mustModel(t), Events: rebuiltEvents})
	if err != nil {
		t.Fatal(err)
	}
	if diffs, err := twinsync.Verify(ctx, s.states, rebuilt, nil); err != nil || len(diffs) != 0 {
		t.Errorf("rebuild differs from the live state: %v %v", diffs, err)
	}
	page, err := rebuiltEvents.ListEvents(ctx, twin.EventQuery{Kinds: []twin.EventKind{twin.EventMaintenanceDue}, First: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 || page.Events[0].ID != first[0].ID {
		t.Errorf("rebuilt MAINTENANCE_DUE = %+v, want only %s", page.Events, first[0].ID)
	}
}
