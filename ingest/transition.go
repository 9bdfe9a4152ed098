package ingest

import (
	"math"
	"slices"
	"time"

	twin "github.com/twingraph/twingraph"
)

// Transition applies samples of ONE asset, in log order, to its state and
// returns the new state with the business events the samples caused.
// Pure: it never mutates st or samples; a nil st is the state before any data.
//
// The rules, in the order they are applied to each sample:
//
//   - Replay: a sample from the log (Pos.Log set) whose offset is not beyond
//     st.Offsets[Pos.Key()] was applied before and is skipped entirely. Every
//     other log sample records its offset, late ones too: they were seen.
//     Offsets are compared with the input state only, because all samples of
//     one message share one offset.
//   - Late and duplicate: a sample not newer than its signal's current value,
//     or of BAD quality, changes nothing and emits nothing (history keeps it).
//     Because re-applying any sample is such a no-op, duplicates and
//     redeliveries never change the outcome.
//   - Instants: consecutive applied samples with one timestamp are one
//     instant; the business fields are evaluated once after all of them, so
//     power_on and speed sent together never flicker through IDLE. Skipped
//     samples neither start nor end an instant. An instant ends at the end of
//     the call, so callers keep one message's samples in one call.
//   - Time never runs backwards: an instant older than the state's UpdatedAt
//     (a signal that is newer than its own last value but older than another
//     signal's) is evaluated, and its events dated, at UpdatedAt.
//
// Business fields evaluated at each instant, and their events in this order:
// MODE_CHANGED, FAULT_CLEARED and FAULT_RAISED (each by code), BATCH_ENDED,
// PRODUCT_CHANGED, BATCH_STARTED, MAINTENANCE_DUE.
//
//   - Mode: the type's rules in force at the instant (twin.AssetType.RulesAt:
//     a rule change applies from its effective time, so a replay gives the
//     same events and events before the change are never rewritten), first
//     match wins, over the current signal values. Crossing into another
//     rule set re-runs the rules even when no value changed.
//     When no rule matches the mode stays (rules should end with a catch-all).
//     Leaving UNKNOWN is immediate and emits MODE_CHANGED with a nil duration.
//     Otherwise a new mode must be chosen for at least the type's Debounce (by
//     sample time) before it is taken: a candidate is confirmed at the first
//     instant at least Debounce after it was first chosen, and the change is
//     dated at that first choice (when the machine really changed), with
//     DurationSeconds = how long the old mode lasted. Confirmation needs a
//     later sample; a candidate that disappears sooner was a flicker and
//     leaves no trace. A device that goes silent right after a change thus
//     leaves the candidate pending in the state: readers take it once it has
//     held for Debounce by their clock (twin.State.ModeAt, UptimeAtDebounced),
//     and the MODE_CHANGED event is emitted when the next sample of the
//     asset arrives, however much later, still dated at the candidate's start.
//   - Faults: the fault signal's list is a set; each new code raises, each
//     vanished code clears with how long it was active.
//   - Batch: a change ends the old batch (with its duration and product) and
//     starts the new one (with the current product); "" is no batch.
//   - Product: any change emits PRODUCT_CHANGED with the new product.
//   - Uptime: seconds in RUNNING since site-local midnight, accounted from
//     sample times and split at midnight; a new local day starts from zero.
//     While a candidate mode is pending, accounting waits at its start, since
//     the span after it belongs to whichever mode wins. DayStart is when the
//     state became known today: local midnight when the state carries over
//     from an earlier day, else the first sample of the day.
//   - Run hours (types with a maintenance feed, see twin.MaintenanceAt): the
//     same RUNNING spans add to RunSeconds, unsplit, and the run seconds at
//     each local midnight are kept in RunDays. When the run since the last
//     service date reaches the service interval, MAINTENANCE_DUE is emitted,
//     dated at the instant it did (a crossing inside a span is interpolated),
//     once per service mark (DueFor): a replay cannot emit it again, and a
//     new service date in the asset's attributes re-arms it. A plan already
//     overdue when it takes effect emits it at the instant evaluated.
func Transition(a *twin.Asset, t *twin.AssetType, st *twin.State, samples []twin.Sample) (*twin.State, []twin.Event) {
	var ns *twin.State
	if st == nil {
		ns = twin.NewState(a.ID)
	} else {
		ns = st.Clone()
	}
	if ns.Asset == "" {
		ns.Asset = a.ID
	}
	if ns.Mode == "" {
		ns.Mode = twin.ModeUnknown
	}
	if ns.Metrics == nil {
		ns.Metrics = make(map[string]twin.Metric, len(samples))
	}
	if ns.FaultCodes == nil {
		ns.FaultCodes = []string{}
	}
	x := transition{a: a, t: t, ns: ns, loc: a.Location(), lastEval: ns.UpdatedAt}
	x.plan, x.hasPlan = twin.ServicePlanOf(a, t)
	var in map[string]int64
	if st != nil {
		in = st.Offsets
	}
	// Samples of a batch mostly share a partition: build its key once.
	var lastLog, key string
	lastPart := int32(-1)

	var instant time.Time
	open := false
	for i := range samples {
		s := &samples[i]
		if s.Asset != "" && s.Asset != a.ID {
			continue
		}
		if s.Pos.Log != "" {
			if s.Pos.Log != lastLog || s.Pos.Partition != lastPart {
				lastLog, lastPart, key = s.Pos.Log, s.Pos.Partition, s.Pos.Key()
			}
			if off, ok := in[key]; ok && off >= s.Pos.Offset {
				continue
			}
			if ns.Offsets == nil {
				ns.Offsets = make(map[string]int64)
			}
			if off, ok := ns.Offsets[key]; !ok || s.Pos.Offset > off {
				ns.Offsets[key] = s.Pos.Offset
			}
		}
		if s.Quality == twin.QualityBad || s.Value.IsZero() {
			continue
		}
		m, seen := ns.Metrics[s.Signal]
		if seen && !s.TS.After(m.TS) {
			continue
		}
		if open && !s.TS.Equal(instant) {
			x.evaluate(instant)
		}
		open, instant = true, s.TS
		x.apply(s, !seen || !m.Value.Equal(s.Value))
	}
	if open {
		x.evaluate(instant)
	}
	return ns, x.events
}

// transition is the working set of one Transition call.
type transition struct {
	a      *twin.Asset
	t      *twin.AssetType
	ns     *twin.State
	loc    *time.Location
	env    map[string]any // rule environment, built lazily from ns.Metrics
	events []twin.Event
	// changed says a value differs from the one the rules last saw. Rules are
	// pure functions of the values, so without a change they would choose
	// again what they chose at the last evaluation (the previous call's last
	// instant included), and are not run.
	changed bool
	// lastEval is the instant the rules last ran at (the input state's
	// UpdatedAt at first), to notice an instant in another rule set.
	lastEval time.Time
	// day caches the site-local day [dayStart, dayEnd) named dayName.
	dayName          string
	dayStart, dayEnd time.Time
	// plan is the asset's service plan when its type has a maintenance feed.
	plan    twin.ServicePlan
	hasPlan bool
}

// apply stores one sample's value as the signal's current value.
func (x *transition) apply(s *twin.Sample, changed bool) {
	v := s.Value
	if v.Kind == twin.KindList {
		v.List = slices.Clone(v.List)
		if v.List == nil {
			v.List = []string{}
		}
	}
	x.ns.Metrics[s.Signal] = twin.Metric{Value: v, TS: s.TS}
	if changed {
		x.changed = true
		if x.env != nil {
			x.env[s.Signal] = v.Any()
		}
	}
	if s.TS.After(x.ns.UpdatedAt) {
		x.ns.UpdatedAt = s.TS
	}
}

// evaluate recomputes the business fields after the instant at ts.
func (x *transition) evaluate(ts time.Time) {
	now := ts
	if now.Before(x.ns.UpdatedAt) {
		now = x.ns.UpdatedAt
	}
	x.mode(now)
	x.faults(now)
	x.batchAndProduct(now)
	x.serviceDue(now)
}

// emit appends an event with its deterministic id.
func (x *transition) emit(e twin.Event) {
	e.Asset = x.a.ID
	e.ID = twin.EventID(&e)
	x.events = append(x.events, e)
}

func seconds(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}

// mode runs the mode rules and the debounce, and accounts uptime up to now.
func (x *transition) mode(now time.Time) {
	ns := x.ns
	var debounce time.Duration
	if x.t != nil {
		debounce = x.t.Debounce
	}
	// A candidate that has held long enough by now is taken, dated at its start:
	// the values that chose it held from then until this instant.
	if ns.PendingMode != "" && now.Sub(ns.PendingSince) >= debounce {
		x.change(ns.PendingMode, ns.PendingSince)
		x.clearPending()
	}
	if ns.PendingMode == "" {
		x.account(now)
	}
	rules, from := x.t.RulesAt(now)
	if x.t != nil && (len(x.t.EarlierModeRules) > 0 || !x.t.ModeRulesFrom.IsZero()) {
		if _, prev := x.t.RulesAt(x.lastEval); !prev.Equal(from) {
			x.changed = true
		}
	}
	x.lastEval = now
	if !x.changed {
		return
	}
	x.changed = false
	c, ok := x.rules(rules)
	if !ok {
		return
	}
	switch {
	case c == ns.Mode:
		if ns.PendingMode != "" { // a flicker: the old mode never stopped
			x.clearPending()
			x.account(now)
		}
	case ns.Mode == twin.ModeUnknown || debounce <= 0:
		if ns.PendingMode != "" {
			x.clearPending()
			x.account(now)
		}
		x.change(c, now)
	case c == ns.PendingMode:
		// still waiting for the dwell
	default:
		if ns.PendingMode != "" {
			x.clearPending()
			x.account(now)
		}
		ns.PendingMode, ns.PendingSince = c, now
	}
}

func (x *transition) clearPending() {
	x.ns.PendingMode, x.ns.PendingSince = "", time.Time{}
}

// change takes mode to at time at (uptime must be accounted up to at).
func (x *transition) change(to twin.Mode, at time.Time) {
	ns := x.ns
	e := twin.Event{Kind: twin.EventModeChanged, TS: at, FromMode: ns.Mode, ToMode: to}
	if ns.Mode != twin.ModeUnknown && !ns.ModeSince.IsZero() {
		e.DurationSeconds = seconds(at.Sub(ns.ModeSince))
	}
	x.emit(e)
	ns.Mode, ns.ModeSince = to, at
}

// rules returns the first matching rule's mode; ok is false when none matches.
func (x *transition) rules(rules []twin.ModeRule) (twin.Mode, bool) {
	if len(rules) == 0 {
		return "", false
	}
	if x.env == nil {
		x.env = make(map[string]any, len(x.ns.Metrics))
		for k, m := range x.ns.Metrics {
			x.env[k] = m.Value.Any()
		}
	}
	for i := range rules {
		r := &rules[i]
		if r.Match == nil {
			continue
		}
		if ok, err := r.Match(x.env); err == nil && ok {
			return r.Mode, true
		}
	}
	return "", false
}

// account adds the time from UptimeAsOf to `to` spent in the current mode to
// the uptime of the site-local day, starting a new day at local midnight.
func (x *transition) account(to time.Time) {
	ns := x.ns
	day, midnight := x.localDay(to)
	if ns.UptimeAsOf.IsZero() {
		ns.UptimeDay, ns.UptimeSeconds, ns.DayStart, ns.UptimeAsOf = day, 0, to, to
		return
	}
	if !to.After(ns.UptimeAsOf) {
		return
	}
	x.run(to)
	from := ns.UptimeAsOf
	if from.Before(midnight) || ns.UptimeDay != day {
		// Earlier days are over; the state carried over, so today is known from midnight.
		ns.UptimeDay, ns.UptimeSeconds, ns.DayStart = day, 0, midnight
		if from.Before(midnight) {
			from = midnight
		}
	}
	if ns.Mode == twin.ModeRunning {
		ns.UptimeSeconds += to.Sub(from).Seconds()
	}
	ns.UptimeAsOf = to
}

// run adds the span from UptimeAsOf to `to` to the run seconds when the mode
// is RUNNING, records the run seconds at each local midnight in the span for
// types with a maintenance feed, and emits MAINTENANCE_DUE, dated at the exact
// instant, when the run since the last service reaches its interval.
func (x *transition) run(to time.Time) {
	ns := x.ns
	from := ns.UptimeAsOf
	running := ns.Mode == twin.ModeRunning
	if x.hasPlan {
		x.checkpoints(from, to, running)
	}
	if !running {
		return
	}
	before := ns.RunSeconds
	ns.RunSeconds += to.Sub(from).Seconds()
	limit := x.plan.IntervalSeconds
	if !x.hasPlan || limit <= 0 || ns.DueFor == x.plan.Mark {
		return
	}
	base := x.serviceBase(to)
	b, a := before-base, ns.RunSeconds-base
	if b < limit && a >= limit {
		at := from.Add(time.Duration(math.Round((limit - b) * float64(time.Second))))
		if at.After(to) {
			at = to
		}
		x.due(at, limit)
	}
}

// serviceBase is the run seconds at the last service, for accounting up to `to`.
func (x *transition) serviceBase(to time.Time) float64 {
	s := x.plan.LastService
	switch {
	case s.IsZero():
		return 0
	case s.After(to):
		return x.ns.RunSeconds // nothing has run since a service still ahead
	}
	return x.ns.RunSecondsOn(s.In(x.loc).Format(time.DateOnly))
}

// checkpoints records the run seconds at every local midnight in (from, to],
// the newest twin.RunDaysKept of them, and drops entries beyond that many.
func (x *transition) checkpoints(from, to time.Time, running bool) {
	ns := x.ns
	lt := to.In(x.loc)
	y, m, d := lt.Date()
	for i := 0; i < twin.RunDaysKept; i++ {
		mid := time.Date(y, m, d-i, 0, 0, 0, 0, x.loc)
		if !mid.After(from) {
			break
		}
		v := ns.RunSeconds
		if running {
			v += mid.Sub(from).Seconds()
		}
		if ns.RunDays == nil {
			ns.RunDays = make(map[string]float64)
		}
		ns.RunDays[mid.Format(time.DateOnly)] = v
	}
	for len(ns.RunDays) > twin.RunDaysKept {
		oldest := ""
		for k := range ns.RunDays {
			if oldest == "" || k < oldest {
				oldest = k
			}
		}
		delete(ns.RunDays, oldest)
	}
}

// serviceDue emits MAINTENANCE_DUE at now when the run since the last service
// is past its interval and the event is armed: a service plan that is already
// overdue when it takes effect (a new model, a new service date).
func (x *transition) serviceDue(now time.Time) {
	ns := x.ns
	limit := x.plan.IntervalSeconds
	if !x.hasPlan || limit <= 0 || ns.DueFor == x.plan.Mark || ns.UptimeAsOf.IsZero() {
		return
	}
	if since := ns.RunSeconds - x.serviceBase(ns.UptimeAsOf); since >= limit {
		x.due(now, since)
	}
}

// due emits MAINTENANCE_DUE and disarms it until the next service.
func (x *transition) due(at time.Time, since float64) {
	x.emit(twin.Event{Kind: twin.EventMaintenanceDue, TS: at, DurationSeconds: &since})
	x.ns.DueFor = x.plan.Mark
}

// localDay returns the site-local date of t and the instant of its local midnight.
func (x *transition) localDay(t time.Time) (string, time.Time) {
	if t.Before(x.dayStart) || !t.Before(x.dayEnd) {
		lt := t.In(x.loc)
		y, m, d := lt.Date()
		x.dayName = lt.Format(time.DateOnly)
		x.dayStart = time.Date(y, m, d, 0, 0, 0, 0, x.loc)
		x.dayEnd = time.Date(y, m, d+1, 0, 0, 0, 0, x.loc)
	}
	return x.dayName, x.dayStart
}

// faults diffs the fault signal's set against the active codes.
func (x *transition) faults(now time.Time) {
	if x.t == nil || x.t.FaultSignal == "" {
		return
	}
	m, ok := x.ns.Metrics[x.t.FaultSignal]
	if !ok {
		return
	}
	var codes []string
	switch m.Value.Kind {
	case twin.KindList:
		codes = m.Value.List
		if !slices.IsSorted(codes) {
			codes = twin.NewList(codes).List
		}
	case twin.KindString:
		if m.Value.Str != "" {
			codes = []string{m.Value.Str}
		}
	default:
		return
	}
	old := x.ns.FaultCodes
	if slices.Equal(old, codes) {
		return
	}
	ns := x.ns
	for _, c := range old {
		if _, found := slices.BinarySearch(codes, c); !found {
			e := twin.Event{Kind: twin.EventFaultCleared, TS: now, Code: c}
			if since, ok := ns.FaultSince[c]; ok {
				e.DurationSeconds = seconds(now.Sub(since))
			}
			x.emit(e)
			delete(ns.FaultSince, c)
		}
	}
	for _, c := range codes {
		if _, found := slices.BinarySearch(old, c); !found {
			x.emit(twin.Event{Kind: twin.EventFaultRaised, TS: now, Code: c})
			if ns.FaultSince == nil {
				ns.FaultSince = make(map[string]time.Time)
			}
			ns.FaultSince[c] = now
		}
	}
	ns.FaultCodes = append(make([]string, 0, len(codes)), codes...)
	if len(ns.FaultSince) == 0 {
		ns.FaultSince = nil
	}
}

// batchAndProduct follows the batch and product signals.
func (x *transition) batchAndProduct(now time.Time) {
	if x.t == nil {
		return
	}
	ns := x.ns
	product, productSet := x.str(x.t.ProductSignal)
	batch, batchSet := x.str(x.t.BatchSignal)
	if !productSet {
		product = ns.Product
	}
	batchChanged := batchSet && batch != ns.Batch
	if batchChanged && ns.Batch != "" {
		e := twin.Event{Kind: twin.EventBatchEnded, TS: now, Batch: ns.Batch, Product: ns.Product}
		if !ns.BatchSince.IsZero() {
			e.DurationSeconds = seconds(now.Sub(ns.BatchSince))
		}
		x.emit(e)
	}
	if product != ns.Product {
		x.emit(twin.Event{Kind: twin.EventProductChanged, TS: now, Product: product})
		ns.Product = product
	}
	if batchChanged {
		if batch != "" {
			x.emit(twin.Event{Kind: twin.EventBatchStarted, TS: now, Batch: batch, Product: product})
			ns.BatchSince = now
		} else {
			ns.BatchSince = time.Time{}
		}
		ns.Batch = batch
	}
}

// str returns the current value of a string signal; ok is false when absent.
func (x *transition) str(signal string) (string, bool) {
	if signal == "" {
		return "", false
	}
	m, ok := x.ns.Metrics[signal]
	if !ok {
		return "", false
	}
	switch m.Value.Kind {
	case twin.KindString:
		return m.Value.Str, true
	case twin.KindNumber:
		return m.Value.String(), true
	}
	return "", false
}
