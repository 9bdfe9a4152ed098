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
