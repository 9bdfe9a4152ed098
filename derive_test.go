package twin_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
)

var jakarta = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		panic(err)
	}
	return loc
}()

// jkt returns a time on 2026-11-24 (or later days) in Jakarta.
func jkt(day, hour, min int) time.Time { return time.Date(2026, 11, 24+day, hour, min, 0, 0, jakarta) }

func TestState_UptimeAt(t *testing.T) {
	base := func(mode twin.Mode) *twin.State {
		s := twin.NewState("a")
		s.Mode, s.UptimeDay, s.UptimeSeconds, s.UptimeAsOf = mode, "2026-11-24", 100, jkt(0, 13, 0)
		return s
	}
	cases := []struct {
		name string
		st   *twin.State
		now  time.Time
		loc  *time.Location
		want float64
	}{
		{"nil state", nil, jkt(0, 13, 0), jakarta, 0},
		{"no data yet", twin.NewState("a"), jkt(0, 13, 0), jakarta, 0},
		{"running counts up to now", base(twin.ModeRunning), jkt(0, 13, 1), jakarta, 160},
		{"idle does not grow", base(twin.ModeIdle), jkt(0, 14, 0), jakarta, 100},
		{"read at the accounted time", base(twin.ModeRunning), jkt(0, 13, 0), jakarta, 100},
		{"read before the accounted time", base(twin.ModeRunning), jkt(0, 12, 0), jakarta, 100},
		{"after local midnight, running: today's figure", base(twin.ModeRunning), jkt(1, 1, 0), jakarta, 3600},
		{"after local midnight, stopped: zero", base(twin.ModeStop), jkt(1, 1, 0), jakarta, 0},
		{"days later, running: since today's midnight", base(twin.ModeRunning), jkt(3, 0, 30), jakarta, 1800},
		{"nil location is UTC", base(twin.ModeRunning), time.Date(2026, 11, 25, 0, 10, 0, 0, time.UTC), nil, 600},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.st.UptimeAt(c.now, c.loc); got != c.want {
				t.Fatalf("UptimeAt = %v, want %v", got, c.want)
			}
		})
	}
}

func TestOEEAt(t *testing.T) {
	typ := &twin.AssetType{Name: "line", OEE: &twin.OEEConfig{RatedSpeedAttribute: "rated", SpeedSignal: "speed",
		GoodSignal: "good", TotalSignal: "total"}}
	asset := func(rated any) *twin.Asset {
		return &twin.Asset{ID: "l", Timezone: "Asia/Jakarta", Attributes: map[string]any{"rated": rated}}
	}
	now := jkt(0, 12, 0)
	// Known since midnight, 6 h running out of 12 (availability 0.5), 300/min
	// rated, 80% of rated output (performance 0.8), 90% good (quality 0.9).
	state := func(mut func(s *twin.State)) *twin.State {
		s := twin.NewState("l")
		s.Mode, s.UptimeDay, s.UptimeSeconds, s.UptimeAsOf, s.DayStart = twin.ModeIdle, "2026-11-24", 6*3600, now, jkt(0, 0, 0)
		total := 6 * 60 * 300 * 0.8
		s.Metrics["total"] = twin.Metric{Value: twin.Number(total), TS: now}
		s.Metrics["good"] = twin.Metric{Value: twin.Number(total * 0.9), TS: now}
		if mut != nil {
			mut(s)
		}
		return s
	}
	cases := []struct {
		name   string
		a      *twin.Asset
		typ    *twin.AssetType
		st     *twin.State
		want   float64
		wantOK bool
	}{
		{"all inputs", asset(300), typ, state(nil), 0.5 * 0.8 * 0.9, true},
		{"rated as float", asset(300.0), typ, state(nil), 0.36, true},
		{"rated as json.Number", asset(json.Number("300")), typ, state(nil), 0.36, true},
		{"first seen after midnight", asset(300), typ, state(func(s *twin.State) { s.DayStart = jkt(0, 6, 0) }), 1 * 0.8 * 0.9, true},
		{"performance clamps at 1", asset(100), typ, state(nil), 0.5 * 1 * 0.9, true},
		{"quality clamps at 1", asset(300), typ, state(func(s *twin.State) {
			s.Metrics["good"] = twin.Metric{Value: twin.Number(1e9), TS: now}
		}), 0.5 * 0.8, true},
		{"no running time", asset(300), typ, state(func(s *twin.State) { s.UptimeSeconds = 0 }), 0, true},
		{"no units", asset(300), typ, state(func(s *twin.State) {
			s.Metrics["total"] = twin.Metric{Value: twin.Number(0), TS: now}
		}), 0, true},
		{"no rated speed", asset(nil), typ, state(nil), 0, false},
		{"rated speed not a number", asset("fast"), typ, state(nil), 0, false},
		{"rated speed zero", asset(0), typ, state(nil), 0, false},
		{"no OEE inputs in the type", asset(300), &twin.AssetType{Name: "x"}, state(nil), 0, false},
		{"no counters", asset(300), typ, state(func(s *twin.State) { delete(s.Metrics, "good") }), 0, false},
		{"counters from yesterday", asset(300), typ, state(func(s *twin.State) {
			s.Metrics["total"] = twin.Metric{Value: twin.Number(5), TS: jkt(-1, 23, 0)}
		}), 0, false},
		{"nil state", asset(300), typ, nil, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := twin.OEEAt(c.a, c.typ, c.st, now)
			if ok != c.wantOK || math.Abs(got-c.want) > 1e-9 {
				t.Fatalf("OEEAt = %v, %v; want %v, %v", got, ok, c.want, c.wantOK)
			}
		})
	}
}

func TestThroughput(t *testing.T) {
	typ := &twin.AssetType{OEE: &twin.OEEConfig{SpeedSignal: "speed"}}
	s := twin.NewState("a")
	if _, ok := twin.Throughput(typ, s); ok {
		t.Fatal("throughput without a speed value")
	}
	s.Metrics["speed"] = twin.Metric{Value: twin.Number(218)}
	if v, ok := twin.Throughput(typ, s); !ok || v != 218 {
		t.Fatalf("Throughput = %v, %v", v, ok)
	}
	if _, ok := twin.Throughput(&twin.AssetType{}, s); ok {
		t.Fatal("throughput for a type without a speed signal")
	}
}

func TestState_ModeAt(t *testing.T) {
	const debounce = 2 * time.Second
	pending := func(since time.Time) *twin.State {
		s := twin.NewState("a")
		s.Mode, s.ModeSince = twin.ModeRunning, jkt(0, 10, 0)
		s.PendingMode, s.PendingSince = twin.ModeIdle, since
		return s
	}
	settled := twin.NewState("a")
	settled.Mode, settled.ModeSince = twin.ModeRunning, jkt(0, 10, 0)
	cases := []struct {
		name      string
		st        *twin.State
		now       time.Time
		debounce  time.Duration
		want      twin.Mode
		wantSince time.Time
	}{
		{"nil state", nil, jkt(0, 12, 0), debounce, twin.ModeUnknown, time.Time{}},
		{"no data yet", twin.NewState("a"), jkt(0, 12, 0), debounce, twin.ModeUnknown, time.Time{}},
		{"nothing pending", settled, jkt(0, 12, 0), debounce, twin.ModeRunning, jkt(0, 10, 0)},
		{"pending, silent for hours: taken, dated at its start", pending(jkt(0, 10, 30)), jkt(0, 12, 20), debounce,
			twin.ModeIdle, jkt(0, 10, 30)},
		{"pending exactly the debounce: taken", pending(jkt(0, 10, 30)), jkt(0, 10, 30).Add(debounce), debounce,
			twin.ModeIdle, jkt(0, 10, 30)},
		{"pending shorter than the debounce: not yet", pending(jkt(0, 10, 30)), jkt(0, 10, 30).Add(time.Second), debounce,
			twin.ModeRunning, jkt(0, 10, 0)},
		{"read before the pending mode began", pending(jkt(0, 10, 30)), jkt(0, 10, 0), debounce,
			twin.ModeRunning, jkt(0, 10, 0)},
		{"zero debounce takes it at once", pending(jkt(0, 10, 30)), jkt(0, 10, 30), 0, twin.ModeIdle, jkt(0, 10, 30)},
		{"pending without a start is ignored", pending(time.Time{}), jkt(0, 12, 0), debounce, twin.ModeRunning, jkt(0, 10, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, since := c.st.ModeAt(c.now, c.debounce)
			if m != c.want || !since.Equal(c.wantSince) {
				t.Fatalf("ModeAt = %s since %v, want %s since %v", m, since, c.want, c.wantSince)
			}
		})
	}
}

func TestState_UptimeAtDebounced(t *testing.T) {
	const debounce = 2 * time.Second
	// st is in mode, accounted up to asOf with up seconds, and has pend
	// pending since pendSince (none when pend is "").
	st := func(mode twin.Mode, up float64, asOf time.Time, pend twin.Mode, pendSince time.Time) *twin.State {
		s := twin.NewState("a")
		s.Mode, s.UptimeDay, s.UptimeSeconds, s.UptimeAsOf = mode, asOf.In(jakarta).Format(time.DateOnly), up, asOf
		s.PendingMode, s.PendingSince = pend, pendSince
		return s
	}
	stopped := st(twin.ModeRunning, 1800, jkt(0, 10, 30), twin.ModeIdle, jkt(0, 10, 30))
	cases := []struct {
		name string
		st   *twin.State
		now  time.Time
		want float64
	}{
		{"nil state", nil, jkt(0, 12, 0), 0},
		{"nothing pending: as UptimeAt", st(twin.ModeRunning, 100, jkt(0, 13, 0), "", time.Time{}), jkt(0, 13, 1), 160},
		{"running, then idle pending and silence: stops at the change", stopped, jkt(0, 12, 20), 1800},
		{"idle pending shorter than the debounce: still running", stopped, jkt(0, 10, 30).Add(time.Second), 1801},
		{"idle, then running pending: counts from its start", st(twin.ModeIdle, 100, jkt(0, 13, 0), twin.ModeRunning, jkt(0, 13, 0)),
			jkt(0, 13, 1), 160},
		{"running pending over midnight: since midnight", st(twin.ModeIdle, 100, jkt(0, 23, 0), twin.ModeRunning, jkt(0, 23, 0)),
			jkt(1, 1, 0), 3600},
		{"idle pending over midnight: nothing today", st(twin.ModeRunning, 100, jkt(0, 23, 0), twin.ModeIdle, jkt(0, 23, 0)),
			jkt(1, 1, 0), 0},
		{"accounted before the pending start: old mode up to it", st(twin.ModeRunning, 0, jkt(0, 10, 0), twin.ModeIdle, jkt(0, 10, 30)),
			jkt(0, 12, 0), 1800},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.st.UptimeAtDebounced(c.now, jakarta, debounce); got != c.want {
				t.Fatalf("UptimeAtDebounced = %v, want %v", got, c.want)
			}
		})
	}
	// UptimeAt, which does not know the debounce, keeps the stored mode.
	if got := stopped.UptimeAt(jkt(0, 12, 20), jakarta); got != 1800+110*60 {
		t.Fatalf("UptimeAt = %v", got)
	}
}

// TestOEEAt_pendingMode: availability and performance use the running time
// that ModeAt implies, with the type's debounce.
func TestOEEAt_pendingMode(t *testing.T) {
	a := &twin.Asset{ID: "l", Timezone: "Asia/Jakarta", Attributes: map[string]any{"rated": 300}}
	now := jkt(0, 12, 0)
	s := twin.NewState("l")
	// Running from midnight, stopped (pending IDLE) at 03:00, silent since.
	s.Mode, s.ModeSince, s.UptimeDay, s.UptimeSeconds, s.UptimeAsOf, s.DayStart =
		twin.ModeRunning, jkt(0, 0, 0), "2026-11-24", 3*3600, jkt(0, 3, 0), jkt(0, 0, 0)
	s.PendingMode, s.PendingSince = twin.ModeIdle, jkt(0, 3, 0)
	s.Metrics["total"] = twin.Metric{Value: twin.Number(6 * 60 * 300), TS: jkt(0, 3, 0)}
	s.Metrics["good"] = twin.Metric{Value: twin.Number(6 * 60 * 300), TS: jkt(0, 3, 0)}
	for _, c := range []struct {
		debounce time.Duration
		running  float64
	}{{2 * time.Second, 3 * 3600}, {24 * time.Hour, 12 * 3600}} {
		typ := &twin.AssetType{Name: "line", Debounce: c.debounce, OEE: &twin.OEEConfig{RatedSpeedAttribute: "rated",
			GoodSignal: "good", TotalSignal: "total"}}
		want := (c.running / (12 * 3600)) * math.Min(1, 6*60*300/(300*c.running/60))
		got, ok := twin.OEEAt(a, typ, s, now)
		if !ok || math.Abs(got-want) > 1e-9 {
			t.Fatalf("debounce %v: OEEAt = %v, %v; want %v", c.debounce, got, ok, want)
		}
	}
}

func TestSignalDef_Round(t *testing.T) {
	two := 2
	zero := 0
	for _, c := range []struct {
		name string
		sig  *twin.SignalDef
		in   float64
		want float64
	}{
		{"noise without decimals", nil, 5.5600000000000005, 5.56},
		{"sum noise without decimals", &twin.SignalDef{}, 0.1 + 0.2, 0.3},
		{"exact value kept", &twin.SignalDef{}, 218, 218},
		{"many real digits kept", &twin.SignalDef{}, 1.23456789012, 1.23456789012},
		{"two decimals", &twin.SignalDef{Decimals: &two}, 5.567, 5.57},
		{"two decimals negative", &twin.SignalDef{Decimals: &two}, -1.005000001, -1.01},
		{"zero decimals", &twin.SignalDef{Decimals: &zero}, 217.6, 218},
		{"huge value untouched", &twin.SignalDef{Decimals: &two}, 1e300, 1e300},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.sig.Round(c.in); got != c.want {
				t.Errorf("Round(%v) = %v, want %v", c.in, got, c.want)
			}
		})
	}
	if got := (&twin.SignalDef{Decimals: &two}).Round(math.NaN()); !math.IsNaN(got) {
		t.Errorf("Round(NaN) = %v", got)
	}
}

func TestOEE(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		name                                 string
		rated, elapsed, running, total, good float64
		want                                 float64
		ok                                   bool
	}{
		{"no rated speed: unavailable", 0, 3600, 3600, 100, 100, 0, false},
		{"no total counter: unavailable", 100, 3600, 3600, nan, 100, 0, false},
		{"no good counter: unavailable", 100, 3600, 3600, 100, nan, 0, false},
		{"before any running time: 0", 100, 3600, 0, 0, 0, 0, true},
		{"no units yet: 0", 100, 3600, 600, 0, 0, 0, true},
		{"the product of the three", 100, 3600, 1800, 1500, 1200, 0.5 * 0.5 * 0.8, true},
		{"each factor clamped to 1", 100, 3600, 7200, 99999, 99999, 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := twin.OEE(c.rated, c.elapsed, c.running, c.total, c.good)
			if ok != c.ok || math.Abs(got-c.want) > 1e-12 {
				t.Errorf("OEE = %v, %v; want %v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestUnitsToday(t *testing.T) {
	typ := &twin.AssetType{Name: "line", OEE: &twin.OEEConfig{TotalSignal: "total"}}
	a := &twin.Asset{ID: "a", Type: "line", Timezone: "Asia/Jakarta"}
	counter := func(v float64, ts time.Time) *twin.State {
		s := twin.NewState("a")
		s.Metrics["total"] = twin.Metric{Value: twin.Number(v), TS: ts}
		return s
	}
	now := jkt(0, 13, 0)
	for _, c := range []struct {
		name string
		st   *twin.State
		want float64
		ok   bool
	}{
		{"updated today", counter(420, jkt(0, 12, 0)), 420, true},
		{"updated before local midnight: reset", counter(420, jkt(-1, 23, 59)), 0, true},
		{"today in Jakarta, yesterday in UTC", counter(420, jkt(0, 6, 0)), 420, true},
		{"never reported", twin.NewState("a"), 0, false},
		{"no state", nil, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := twin.UnitsToday(a, typ, c.st, now)
			if got != c.want || ok != c.ok {
				t.Errorf("UnitsToday = %v, %v; want %v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}
