package twin

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"
)

// The maintenance feed of an asset (AssetType.Maintenance), one definition for
// the transition function, GraphQL and the maintenanceDue query:
//
//	run hours            seconds in RUNNING since the asset's first sample
//	                     (State.RunSeconds, accounted from sample times like
//	                     uptime, and extended to the reader's now like it)
//	run since service    run seconds since site-local midnight of the last
//	                     service date (the LastServiceAttribute): RunSeconds less
//	                     the State.RunDays entry of that day; all run seconds
//	                     when the asset has no service date or began after it
//	due by run hours     run since service ≥ the ServiceIntervalAttribute hours
//	due by date          last service + ServiceIntervalDaysAttribute days ≤ now
//	next service due     the earlier of the due date and the time the run-hour
//	                     allowance runs out if the asset ran from now on
//	                     without a stop (the earliest it can be due)
//
// A service date older than RunDaysKept days than the state's newest sample
// has no RunDays entry left; run since service then counts from the oldest
// entry (an underestimate). Record a service within that many days.
//
// MAINTENANCE_DUE: the transition function emits it once per service mark,
// when run since service reaches the interval, dated at the exact instant it
// does (or, when it is already past on arming, at the sample that armed it).

// RunDaysKept is how many daily RunSeconds checkpoints a state keeps.
const RunDaysKept = 62

// ServicePlan is what an asset's nameplate says about its service.
type ServicePlan struct {
	// Mark identifies the last service: its local date ("2006-01-02"), or
	// "none" without one. MAINTENANCE_DUE is emitted once per mark.
	Mark string
	// LastService is local midnight of the last service date; zero without one.
	LastService time.Time
	// IntervalSeconds is the run time allowed between services; 0 when not set.
	IntervalSeconds float64
	// IntervalDays is the calendar days allowed between services; 0 when not set.
	IntervalDays int
}

// ServicePlanOf reads the service attributes of a; ok is false when the type
// has no maintenance feed. Attributes that do not parse count as absent.
func ServicePlanOf(a *Asset, t *AssetType) (p ServicePlan, ok bool) {
	if a == nil || t == nil || t.Maintenance == nil {
		return p, false
	}
	m := t.Maintenance
	p.Mark = "none"
	if d, ok := ParseServiceDate(a.Attributes[m.LastServiceAttribute], a.Location()); ok {
		p.LastService = d
		p.Mark = d.In(a.Location()).Format(time.DateOnly)
	}
	if h, ok := number(a.Attributes[m.ServiceIntervalAttribute]); ok && h > 0 {
		p.IntervalSeconds = h * 3600
	}
	if d, ok := number(a.Attributes[m.ServiceIntervalDaysAttribute]); ok && d >= 1 && d <= 36600 {
		p.IntervalDays = int(d)
	}
	return p, true
}

// ParseServiceDate reads a service date attribute: a date ("2026-11-20") or
// an RFC 3339 time, as local midnight of its date in loc.
func ParseServiceDate(v any, loc *time.Location) (time.Time, bool) {
	loc = locOrUTC(loc)
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string:
		x = strings.TrimSpace(x)
		var err error
		if t, err = time.ParseInLocation(time.DateOnly, x, loc); err != nil {
			if t, err = time.Parse(time.RFC3339, x); err != nil {
				return time.Time{}, false
			}
		}
	default:
		return time.Time{}, false
	}
	if t.Before(HistoryMinTime) || t.After(HistoryMaxTime) {
		return time.Time{}, false
	}
	return startOfDay(t, loc), true
}

// RunSecondsAt returns the asset's run seconds at now: RunSeconds extended
// from UptimeAsOf by the current mode, with a pending mode taken once it has
// held for debounce (as UptimeAtDebounced does). Before UptimeAsOf it is
// RunSeconds: the state knows no finer.
func (s *State) RunSecondsAt(now time.Time, debounce time.Duration) float64 {
	if s == nil {
		return 0
	}
	if s.UptimeAsOf.IsZero() || !now.After(s.UptimeAsOf) {
		return s.RunSeconds
	}
	switchAt := now
	run := s.RunSeconds
	if s.pendingTaken(now, debounce) {
		switchAt = s.PendingSince
		if switchAt.Before(s.UptimeAsOf) {
			switchAt = s.UptimeAsOf
		}
		run += runningBetween(s.PendingMode, switchAt, now, time.Time{})
	}
	return run + runningBetween(s.Mode, s.UptimeAsOf, switchAt, time.Time{})
}

// RunSecondsOn returns the run seconds at the local midnight starting day,
// as the state recorded it (RunDays), for a midnight not after UptimeAsOf:
// 0 when the state began after it, the oldest entry when it is older than
// the entries kept.
func (s *State) RunSecondsOn(day string) float64 {
	if s == nil {
		return 0
	}
	if v, ok := s.RunDays[day]; ok {
		return v
	}
	if len(s.RunDays) < RunDaysKept {
		// Every midnight the state lived through has an entry: it began later.
		if oldest, ok := s.oldestRunDay(); !ok || day < oldest {
			return 0
		}
		return s.RunSeconds // a day after the newest entry: not reached yet
	}
	oldest, _ := s.oldestRunDay()
	if day < oldest {
		return s.RunDays[oldest]
	}
	return s.RunSeconds
}

func (s *State) oldestRunDay() (string, bool) {
	if len(s.RunDays) == 0 {
		return "", false
	}
	keys := make([]string, 0, len(s.RunDays))
	for k := range s.RunDays {
		keys = append(keys, k)
	}
	return slices.Min(keys), true
}

// RunSecondsSince returns the run seconds after the instant since (a service
// date's local midnight) up to now, never negative: see the rules above.
func (s *State) RunSecondsSince(since time.Time, loc *time.Location, now time.Time, debounce time.Duration) float64 {
	if s == nil {
		return 0
	}
	total := s.RunSecondsAt(now, debounce)
	if since.IsZero() {
		return total
	}
	var base float64
	if since.After(s.UptimeAsOf) {
		base = s.RunSecondsAt(since, debounce)
	} else {
		base = s.RunSecondsOn(since.In(locOrUTC(loc)).Format(time.DateOnly))
	}
	return math.Max(0, total-base)
}

// Maintenance is the maintenance figures of one asset at a moment.
type Maintenance struct {
	// RunSeconds is the time in RUNNING since the asset's first sample.
	RunSeconds float64
	// RunSecondsSinceService is the time in RUNNING since the last service.
	RunSecondsSinceService float64
	// Plan is what the nameplate says about the service.
	Plan ServicePlan
	// NextServiceDue is when the next service is due (see above); zero when
	// neither interval is set.
	NextServiceDue time.Time
	// Due reports whether the service is due at the moment asked.
	Due bool
}

// MaintenanceAt returns the maintenance figures of an asset at now; ok is
// false when its type has no maintenance feed. A nil state has run 0 s.
func MaintenanceAt(a *Asset, t *AssetType, s *State, now time.Time) (Maintenance, bool) {
	p, ok := ServicePlanOf(a, t)
	if !ok {
		return Maintenance{}, false
	}
	m := Maintenance{Plan: p}
	m.RunSeconds = s.RunSecondsAt(now, t.Debounce)
	m.RunSecondsSinceService = s.RunSecondsSince(p.LastService, a.Location(), now, t.Debounce)
	if p.IntervalSeconds > 0 {
		left := math.Max(0, p.IntervalSeconds-m.RunSecondsSinceService)
		m.NextServiceDue = now.Add(time.Duration(math.Round(left * float64(time.Second)))).UTC()
		if left == 0 {
			m.Due = true
		}
	}
	if p.IntervalDays > 0 && !p.LastService.IsZero() {
		y, mo, d := p.LastService.In(a.Location()).Date()
		byDate := time.Date(y, mo, d+p.IntervalDays, 0, 0, 0, 0, a.Location()).UTC()
		if m.NextServiceDue.IsZero() || byDate.Before(m.NextServiceDue) {
			m.NextServiceDue = byDate
		}
		if !byDate.After(now) {
			m.Due = true
		}
	}
	return m, true
}

// Slope returns the least-squares slope of points (value per hour) and ok
// false with fewer than two valued points at distinct times. Times are taken
// relative to the first point, so the sums stay well conditioned.
func Slope(points []Point) (perHour float64, ok bool) {
	var n, sx, sy, sxx, sxy float64
	var t0 time.Time
	for _, p := range points {
		if p.Value == nil {
			continue
		}
		if n == 0 {
			t0 = p.TS
		}
		x := p.TS.Sub(t0).Hours()
		y := *p.Value
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	if n < 2 {
		return 0, false
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0, false
	}
	return (n*sxy - sx*sy) / den, true
}

// TrendBuckets bounds the buckets a trend is fitted over.
const TrendBuckets = 240

// MaxTrendWindow bounds a trend's window.
const MaxTrendWindow = 366 * 24 * time.Hour

// Trend is a least-squares trend of one signal over a window.
type Trend struct {
	// Slope is the change per hour; valid when OK.
	Slope float64
	// OK is false with fewer than two buckets with data.
	OK bool
	// Points is the buckets with data the fit used.
	Points int
}

// TrendOf fits the slope (per hour) of asset a's signal over [to − window,
// to) from its history's bucket means: the window split into at most
// TrendBuckets buckets of a common width, each mean placed at its bucket's
// start (a constant shift, which leaves the slope as it is).
// Errors: BAD_INPUT (a window under a second or over MaxTrendWindow), the
// store's errors.
func TrendOf(ctx context.Context, h HistoryStore, a *Asset, signal string, to time.Time, window time.Duration) (Trend, error) {
	if window < time.Second || window > MaxTrendWindow {
		return Trend{}, Errorf(EBADINPUT, "trend: window %s must be from 1s to 366d", FormatDuration(window))
	}
	to = to.Truncate(time.Second)
	from := to.Add(-window)
	interval := max(time.Second, SuggestInterval(from, to, TrendBuckets))
	if interval >= oneDay {
		interval = interval.Truncate(oneDay)
	}
	s, err := h.QueryHistory(ctx, []HistoryQuery{{Asset: a.ID, Metric: signal, From: from, To: to,
		Interval: interval, Agg: AggAvg, Location: a.Location()}})
	if err != nil {
		return Trend{}, err
	}
	var t Trend
	for _, p := range s[0].Points {
		if p.Value != nil {
			t.Points++
		}
	}
	if slope, ok := Slope(s[0].Points); ok {
		t.Slope, t.OK = Denoise(slope), true
	}
	return t, nil
}

// CounterIncrease returns how much asset a's counter signal grew from since
// to its current value cur: cur less the last value before since (looked up
// a week back), else less the first value from since on; 0 when cur is not
// after since. The counter is assumed never to reset; a fall counts as 0.
// Errors: BAD_INPUT (since outside the history bounds), the store's errors.
func CounterIncrease(ctx context.Context, h HistoryStore, a *Asset, signal string, cur Metric, since time.Time) (float64, error) {
	since = since.UTC()
	if since.Before(HistoryMinTime) || since.After(HistoryMaxTime) {
		return 0, Errorf(EBADINPUT, "since %s must be between %s and %s", since.Format(time.RFC3339),
			HistoryMinTime.Format(time.RFC3339), HistoryMaxTime.Format(time.RFC3339))
	}
	if !cur.TS.After(since) || cur.Value.Kind != KindNumber {
		return 0, nil
	}
	loc := a.Location()
	before := HistoryQuery{Asset: a.ID, Metric: signal, From: since.Add(-7 * oneDay), To: since,
		Interval: 6 * time.Hour, Agg: AggLast, Location: loc}
	if before.From.Before(HistoryMinTime) {
		before.From = HistoryMinTime
	}
	to := cur.TS.Add(time.Second).Truncate(time.Second)
	after := HistoryQuery{Asset: a.ID, Metric: signal, From: since, To: to, Agg: AggFirst, Location: loc,
		Interval: SuggestInterval(since, to, 1000)}
	if after.Interval >= oneDay {
		after.Interval = after.Interval.Truncate(oneDay)
	}
	qs := []HistoryQuery{after}
	if before.To.After(before.From) {
		qs = append(qs, before)
	}
	series, err := h.QueryHistory(ctx, qs)
	if err != nil {
		return 0, err
	}
	base, found := cur.Value.Num, false
	if len(series) > 1 {
		if ps := series[1].Points; len(ps) > 0 && ps[len(ps)-1].Value != nil {
			base, found = *ps[len(ps)-1].Value, true
		}
	}
	if !found {
		if ps := series[0].Points; len(ps) > 0 && ps[0].Value != nil {
			base = *ps[0].Value
		}
	}
	return Denoise(math.Max(0, cur.Value.Num-base)), nil
}
