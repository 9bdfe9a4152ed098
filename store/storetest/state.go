package storetest

import (
	"fmt"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
)

// FullState returns a state of asset with every field set, including
// nanosecond times, list metrics, fault times and offsets, for round trips.
func FullState(asset string) *twin.State {
	base := time.Date(2026, 11, 24, 6, 0, 0, 123456789, time.UTC)
	return &twin.State{
		Asset:         asset,
		Mode:          twin.ModeFault,
		ModeSince:     base.Add(-time.Minute),
		PendingMode:   twin.ModeRunning,
		PendingSince:  base.Add(-time.Second),
		FaultCodes:    []string{"E12", "E7"},
		FaultSince:    map[string]time.Time{"E12": base.Add(-90 * time.Second), "E7": base.Add(-time.Minute)},
		Product:       "SKU-ü-42",
		Batch:         "B/2026/11/24",
		BatchSince:    base.Add(-time.Hour),
		UptimeDay:     "2026-11-24",
		UptimeSeconds: 1234.5678901234,
		UptimeAsOf:    base,
		DayStart:      time.Date(2026, 11, 23, 17, 0, 0, 1, time.UTC),
		Metrics: map[string]twin.Metric{
			"speed_units_per_min": {Value: twin.Number(218.125), TS: base},
			"tiny":                {Value: twin.Number(1e-300), TS: base.Add(-time.Nanosecond)},
			"negative_zero_ish":   {Value: twin.Number(-0.1), TS: base},
			"power_on":            {Value: twin.Bool(true), TS: base.Add(-time.Hour)},
			"power_off":           {Value: twin.Bool(false), TS: base.Add(-2 * time.Hour)},
			"fault_codes":         {Value: twin.NewList([]string{"E7", "E12"}), TS: base},
			"no_faults":           {Value: twin.NewList(nil), TS: base},
			"product":             {Value: twin.String("SKU-ü-42 \"quoted\""), TS: base},
		},
		UpdatedAt:  base.Add(999 * time.Nanosecond),
		Offsets:    map[string]int64{"telemetry@abc/0": 17, "telemetry@abc/5": 1 << 40},
		RunSeconds: 987654.321,
		RunDays:    map[string]float64{"2026-11-23": 900000.5, "2026-11-24": 986000.25},
		DueFor:     "2026-11-01",
	}
}

// TestStateStore runs the twin.StateStore contract against stores from open.
func TestStateStore(t *testing.T, open func(t *testing.T) twin.StateStore) {
	t.Run("Empty", func(t *testing.T) {
		s := open(t)
		got, err := s.GetStates(ctx(t), nil)
		must(t, "get none", err)
		if len(got) != 0 {
			t.Fatalf("GetStates(nil) = %d states, want 0", len(got))
		}
		got, err = s.GetStates(ctx(t), []string{"plant/none"})
		must(t, "get missing", err)
		if len(got) != 1 || got[0] != nil {
			t.Fatalf("GetStates(missing) = %v, want [nil]", got)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		full := FullState("plant/jkt1/packaging/line3")
		fresh := twin.NewState("plant/jkt1/packaging/line1")
		// A zero-valued state except its id (nil maps and slices).
		bare := &twin.State{Asset: "plant/jkt1/processing/mixer-2", Mode: twin.ModeUnknown}
		must(t, "put", s.PutStates(ctx(t), []*twin.State{full, fresh, bare}))
		got, err := s.GetStates(ctx(t), []string{full.Asset, fresh.Asset, bare.Asset})
		must(t, "get", err)
		same(t, "full state", got[0], full)
		same(t, "new state", got[1], fresh)
		same(t, "bare state", got[2], bare)
		if !got[0].UpdatedAt.Equal(full.UpdatedAt) {
			t.Fatalf("UpdatedAt = %v, want %v", got[0].UpdatedAt, full.UpdatedAt)
		}
	})

	t.Run("OtherZones", func(t *testing.T) {
		s := open(t)
		jkt, err := time.LoadLocation("Asia/Jakarta")
		must(t, "zone", err)
		st := FullState("plant/a")
		st.UpdatedAt = time.Date(2026, 11, 24, 13, 0, 0, 5, jkt)
		st.ModeSince = st.UpdatedAt.Add(-time.Hour)
		must(t, "put", s.PutStates(ctx(t), []*twin.State{st}))
		got, err := s.GetStates(ctx(t), []string{"plant/a"})
		must(t, "get", err)
		if !got[0].UpdatedAt.Equal(st.UpdatedAt) || !got[0].ModeSince.Equal(st.ModeSince) {
			t.Fatalf("times changed: %v %v, want %v %v", got[0].UpdatedAt, got[0].ModeSince, st.UpdatedAt, st.ModeSince)
		}
	})

	t.Run("OrderAndMissing", func(t *testing.T) {
		s := open(t)
		a, b := FullState("plant/a"), FullState("plant/b")
		b.Mode = twin.ModeIdle
		must(t, "put", s.PutStates(ctx(t), []*twin.State{a, b}))
		got, err := s.GetStates(ctx(t), []string{"plant/b", "plant/missing", "plant/a", "plant/b"})
		must(t, "get", err)
		if len(got) != 4 {
			t.Fatalf("got %d states, want 4", len(got))
		}
		same(t, "first", got[0], b)
		if got[1] != nil {
			t.Fatalf("missing asset got %+v, want nil", got[1])
		}
		same(t, "third", got[2], a)
		same(t, "fourth", got[3], b)
	})

	t.Run("Replace", func(t *testing.T) {
		s := open(t)
		a := FullState("plant/a")
		must(t, "put", s.PutStates(ctx(t), []*twin.State{a}))
		got, err := s.GetStates(ctx(t), []string{"plant/a"})
		must(t, "get", err)
		same(t, "first", got[0], a)
		a2 := twin.NewState("plant/a")
		a2.Mode = twin.ModeStop
		a2.UpdatedAt = a.UpdatedAt.Add(time.Second)
		must(t, "put again", s.PutStates(ctx(t), []*twin.State{a2}))
		got, err = s.GetStates(ctx(t), []string{"plant/a"})
		must(t, "get", err)
		same(t, "replaced", got[0], a2)
	})

	t.Run("CallerCannotMutate", func(t *testing.T) {
		s := open(t)
		a := FullState("plant/a")
		want := a.Clone()
		must(t, "put", s.PutStates(ctx(t), []*twin.State{a}))
		a.Metrics["speed_units_per_min"] = twin.Metric{Value: twin.Number(-1)}
		a.FaultCodes[0] = "X"
		a.Offsets["telemetry@abc/0"] = 0
		got, err := s.GetStates(ctx(t), []string{"plant/a"})
		must(t, "get", err)
		same(t, "after mutating the put state", got[0], want)
		got[0].Metrics["fault_codes"].Value.List[0] = "Y"
		got[0].Mode = twin.ModeIdle
		got, err = s.GetStates(ctx(t), []string{"plant/a"})
		must(t, "get again", err)
		same(t, "after mutating a got state", got[0], want)
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		must(t, "put", s.PutStates(ctx(t), []*twin.State{FullState("plant/a"), FullState("plant/b")}))
		must(t, "delete", s.DeleteStates(ctx(t), []string{"plant/a", "plant/never"}))
		got, err := s.GetStates(ctx(t), []string{"plant/a", "plant/b"})
		must(t, "get", err)
		if got[0] != nil || got[1] == nil {
			t.Fatalf("after delete: a=%v b=%v, want a nil and b kept", got[0], got[1])
		}
		must(t, "delete none", s.DeleteStates(ctx(t), nil))
	})

	t.Run("Batch", func(t *testing.T) {
		s := open(t)
		const n = 1000
		states := make([]*twin.State, n)
		ids := make([]string, n)
		for i := range states {
			ids[i] = fmt.Sprintf("plant/jkt1/line%d/machine%d", i%7, i)
			states[i] = twin.NewState(ids[i])
			states[i].Metrics["i"] = twin.Metric{Value: twin.Number(float64(i)), TS: time.Unix(int64(i), 0).UTC()}
		}
		must(t, "put", s.PutStates(ctx(t), states))
		got, err := s.GetStates(ctx(t), ids)
		must(t, "get", err)
		for i := range got {
			same(t, ids[i], got[i], states[i])
		}
	})
}
