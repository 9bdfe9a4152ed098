package twin

import (
	"encoding/json"
	"math"
	"time"
)

// Figures derived from a stored state at read time. A state is only as fresh
// as its last sample, so anything that grows with the clock (uptime, OEE) is
// completed up to the reader's now here, not in the stored state.
//
// OEE (overall equipment effectiveness) of an asset, as estimated by OEEAt:
//
//	OEE          = availability × performance × quality, each clamped to [0, 1]
//	availability = running seconds today / seconds elapsed today, where the day
//	               starts at site-local midnight, or at the state's DayStart when
//	               later (the asset was first seen after midnight)
//	performance  = total units today / (rated speed × running minutes today)
//	quality      = good units today / total units today
//
// Running seconds come from UptimeAt (mode RUNNING, from sample times, up to
// now). The rated speed (units/min) is the asset's nameplate attribute named by
// the type's OEE.RatedSpeedAttribute; good and total units are the current
// values of OEE.GoodSignal and OEE.TotalSignal, counters that reset daily. The
// estimate is unavailable (ok false) when the type names no OEE inputs, the
// rated speed is missing or not a positive number, or either counter has no
// value from today. With no running time or no units yet, OEE is 0.

// UptimeAt returns seconds in RUNNING since local midnight (in loc; nil is
// UTC) of now, counting the current RUNNING stretch up to now. A read after
// midnight shows today's figure even when the last sample is from yesterday.
// While a new mode waits out the type's debounce, the current mode is
// assumed to go on, as the state itself says.
func (s *State) UptimeAt(now time.Time, loc *time.Location) float64 {
	if s == nil {
		return 0
	}
	midnight := startOfDay(now, loc)
	up := 0.0
	if !s.UptimeAsOf.IsZero() && !s.UptimeAsOf.Before(midnight) && s.UptimeDay == now.In(locOrUTC(loc)).Format(time.DateOnly) {
		up = s.UptimeSeconds
	}
	if s.Mode == ModeRunning && !s.UptimeAsOf.IsZero() && now.After(s.UptimeAsOf) {
		from := s.UptimeAsOf
		if from.Before(midnight) {
			from = midnight
		}
		up += now.Sub(from).Seconds()
	}
	return up
}

// OEEAt returns the OEE estimate of an asset at now, as defined above; ok is
// false when an input is missing.
func OEEAt(a *Asset, t *AssetType, s *State, now time.Time) (oee float64, ok bool) {
	if a == nil || t == nil || t.OEE == nil || s == nil {
		return 0, false
	}
	rated, ok := number(a.Attributes[t.OEE.RatedSpeedAttribute])
	if !ok || rated <= 0 {
		return 0, false
	}
	loc := a.Location()
	midnight := startOfDay(now, loc)
	good, okGood := s.counterSince(t.OEE.GoodSignal, midnight)
	total, okTotal := s.counterSince(t.OEE.TotalSignal, midnight)
	if !okGood || !okTotal {
		return 0, false
	}
	start := midnight
	if s.DayStart.After(start) {
		start = s.DayStart
	}
	elapsed := now.Sub(start).Seconds()
	running := s.UptimeAt(now, loc)
	if elapsed <= 0 || running <= 0 || total <= 0 {
		return 0, true
	}
	availability := clamp01(running / elapsed)
	performance := clamp01(total / (rated * running / 60))
	quality := clamp01(good / total)
	return availability * performance * quality, true
}

// Throughput returns the asset's current speed in units/min: the value of the
// type's OEE.SpeedSignal; ok is false when the type names none or it has no value.
func Throughput(t *AssetType, s *State) (unitsPerMin float64, ok bool) {
	if t == nil || t.OEE == nil || t.OEE.SpeedSignal == "" || s == nil {
		return 0, false
	}
	m, ok := s.Metrics[t.OEE.SpeedSignal]
	if !ok || m.Value.Kind != KindNumber {
		return 0, false
	}
	return m.Value.Num, true
}

// counterSince returns a numeric signal's value when it was measured at or after since.
func (s *State) counterSince(signal string, since time.Time) (float64, bool) {
	if signal == "" {
		return 0, false
	}
	m, ok := s.Metrics[signal]
	if !ok || m.Value.Kind != KindNumber || m.TS.Before(since) {
		return 0, false
	}
	return m.Value.Num, true
}

func locOrUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// startOfDay returns local midnight of t's day in loc.
func startOfDay(t time.Time, loc *time.Location) time.Time {
	loc = locOrUTC(loc)
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// number reads a numeric attribute as the model file or JSON may type it.
func number(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case int32:
		f = float64(x)
	case uint:
		f = float64(x)
	case uint64:
		f = float64(x)
	case uint32:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func clamp01(f float64) float64 { return math.Max(0, math.Min(1, f)) }
