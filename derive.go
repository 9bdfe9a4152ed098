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
// Running seconds come from UptimeAtDebounced with the type's debounce (mode
// RUNNING, from sample times, up to now). The rated speed (units/min) is the
// asset's nameplate attribute named by the type's OEE.RatedSpeedAttribute;
// good and total units are the current values of OEE.GoodSignal and
// OEE.TotalSignal, counters that reset daily. The estimate is unavailable (ok false) when the type names no OEE inputs, the
// rated speed is missing or not a positive number, or either counter has no
// value from today. With no running time or no units yet, OEE is 0.
//
// Pending modes: the stored state takes a debounced mode change only when a
// later sample arrives (the transition function is driven by samples), so a
// machine that stops and then goes silent would stay in its old mode forever.
// Readers therefore use ModeAt, which takes a pending mode once it has held
// for the debounce by the reader's now, dated at its start, exactly as the
// next sample will.

// ModeAt returns the asset's mode at now and when it began, given the type's
// debounce: the state's pending mode once it has been pending for at least
// debounce by now (dated at PendingSince, as the transition will date it when
// the next sample confirms it), else the state's Mode and ModeSince. A nil
// state is UNKNOWN.
func (s *State) ModeAt(now time.Time, debounce time.Duration) (Mode, time.Time) {
	if s == nil {
		return ModeUnknown, time.Time{}
	}
	if s.pendingTaken(now, debounce) {
		return s.PendingMode, s.PendingSince
	}
	return s.Mode, s.ModeSince
}

// pendingTaken reports whether the pending mode has held for debounce by now;
// the condition is the transition's own, so reads and later samples agree.
func (s *State) pendingTaken(now time.Time, debounce time.Duration) bool {
	return s.PendingMode != "" && !s.PendingSince.IsZero() && now.Sub(s.PendingSince) >= debounce
}

// UptimeAt returns seconds in RUNNING since local midnight (in loc; nil is
// UTC) of now, counting the current RUNNING stretch up to now. A read after
// midnight shows today's figure even when the last sample is from yesterday.
// It never takes a pending mode: the current mode is assumed to go on, as
// the stored state says. Readers that know the asset's type use
// UptimeAtDebounced, which agrees with ModeAt.
func (s *State) UptimeAt(now time.Time, loc *time.Location) float64 {
	return s.uptimeAt(now, loc, 0, false)
}

// UptimeAtDebounced is UptimeAt with the type's debounce: a pending mode that
// has held for debounce by now (see ModeAt) counts from PendingSince, so a
// line that stopped and went silent stops accruing uptime when it stopped.
// While the pending mode is younger than debounce, the current mode is
// assumed to go on.
func (s *State) UptimeAtDebounced(now time.Time, loc *time.Location, debounce time.Duration) float64 {
	return s.uptimeAt(now, loc, debounce, true)
}

func (s *State) uptimeAt(now time.Time, loc *time.Location, debounce time.Duration, pending bool) float64 {
	if s == nil {
		return 0
	}
	midnight := startOfDay(now, loc)
	up := 0.0
	if !s.UptimeAsOf.IsZero() && !s.UptimeAsOf.Before(midnight) && s.UptimeDay == now.In(locOrUTC(loc)).Format(time.DateOnly) {
		up = s.UptimeSeconds
	}
	if s.UptimeAsOf.IsZero() || !now.After(s.UptimeAsOf) {
		return up
	}
	// From UptimeAsOf the current mode runs until a taken pending mode
	// replaces it at PendingSince (the transition pauses accounting there,
	// so normally the current mode's share is empty).
	switchAt := now
	if pending && s.pendingTaken(now, debounce) {
		switchAt = s.PendingSince
		if switchAt.Before(s.UptimeAsOf) {
			switchAt = s.UptimeAsOf
		}
		up += runningBetween(s.PendingMode, switchAt, now, midnight)
	}
	return up + runningBetween(s.Mode, s.UptimeAsOf, switchAt, midnight)
}

// runningBetween returns the seconds of [from, to) after midnight when mode is RUNNING.
func runningBetween(mode Mode, from, to, midnight time.Time) float64 {
	if mode != ModeRunning {
		return 0
	}
	if from.Before(midnight) {
		from = midnight
	}
	if !to.After(from) {
		return 0
	}
	return to.Sub(from).Seconds()
}

// OEEAt returns the OEE estimate of an asset at now, as defined above; ok is
// false when an input is missing.
func OEEAt(a *Asset, t *AssetType, s *State, now time.Time) (oee float64, ok bool) {
	if a == nil || t == nil || t.OEE == nil || s == nil {
		return 0, false
	}
	rated, ok := RatedSpeed(a, t)
	if !ok {
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
	running := s.UptimeAtDebounced(now, loc, t.Debounce)
	return OEE(rated, elapsed, running, total, good)
}

// OEE is the one definition of overall equipment effectiveness, for the
// state's estimate and for shift reports alike: availability (running ÷
// elapsed seconds) × performance (total units ÷ (rated units/min × running
// minutes)) × quality (good ÷ total units), each clamped to [0, 1]. It is
// not available (ok false) without a positive rated speed or with a counter
// missing (NaN); it is 0 before any running time or units.
func OEE(rated, elapsed, running, total, good float64) (oee float64, ok bool) {
	if !(rated > 0) || math.IsNaN(total) || math.IsNaN(good) {
		return 0, false
	}
	if elapsed <= 0 || running <= 0 || total <= 0 {
		return 0, true
	}
	availability := clamp01(running / elapsed)
	performance := clamp01(total / (rated * running / 60))
	quality := clamp01(good / total)
	return availability * performance * quality, true
}

// UnitsToday is the asset's total unit counter since its site's local
// midnight: the counter's value when it was updated today, 0 when it was last
// updated before midnight (it resets daily), ok false when the type counts no
// units or the asset has never reported the counter.
func UnitsToday(a *Asset, t *AssetType, s *State, now time.Time) (float64, bool) {
	if a == nil || t == nil || t.OEE == nil || t.OEE.TotalSignal == "" || s == nil {
		return 0, false
	}
	if _, ok := s.Metrics[t.OEE.TotalSignal]; !ok {
		return 0, false
	}
	units, _ := s.counterSince(t.OEE.TotalSignal, startOfDay(now, a.Location()))
	return units, true
}

// RatedSpeed is the asset's rated speed (units/min) from the nameplate
// attribute its type's OEE inputs name; ok false when there is none.
func RatedSpeed(a *Asset, t *AssetType) (float64, bool) {
	if a == nil || t == nil || t.OEE == nil {
		return 0, false
	}
	rated, ok := number(a.Attributes[t.OEE.RatedSpeedAttribute])
	return rated, ok && rated > 0
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
