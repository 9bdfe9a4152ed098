package resolvers

import (
	"context"
	"math"
	"slices"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/graph/model"
	"github.com/twingraph/twingraph/resolvers/gqlmodel"
)

// maxShiftEvents bounds the events a shift report reads, so a huge window
// over a huge subtree is refused instead of exhausting memory.
const maxShiftEvents = 200_000

// shiftPage is the page size of a shift report's scans of the event store.
const shiftPage = 1000

// shiftReport builds the handover report for the assets under (and including)
// under whose type has a mode. Per asset:
//   - secondsByMode splits [from, to) by mode: the mode in force at from is the
//     fromMode of the window's first MODE_CHANGED (or, with no change in the
//     window, the current mode, or the fromMode of the first change after to);
//     time after now, and before the first data, is UNKNOWN. The five entries
//     sum to the window.
//   - faults count FAULT_RAISED per code in the window and the seconds each code
//     was active within it (a code cleared in the window without a raise in it
//     was active since from).
//   - unitsProduced is the rise of the type's unit counter over the window (a
//     counter reset counts from zero), from per-bucket maxima of history;
//     oee = availability (RUNNING / known time) × performance (units / (rated
//     speed × running minutes)) × quality (good / total units), each in [0, 1].
func (r *Resolver) shiftReport(ctx context.Context, under string, from, to time.Time) (*model.ShiftReport, error) {
	root, err := r.mustAsset(under)
	if err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return nil, twin.Errorf(twin.EBADINPUT, "from must be before to")
	}
	if from.Before(twin.HistoryMinTime) || to.After(twin.HistoryMaxTime) {
		return nil, twin.Errorf(twin.EBADINPUT, "from and to must be between %s and %s",
			twin.HistoryMinTime.Format(time.RFC3339), twin.HistoryMaxTime.Format(time.RFC3339))
	}
	m := r.cfg.Model
	var assets []*twin.Asset
	for _, a := range append([]*twin.Asset{root}, m.Descendants(root.ID, "", 0)...) {
		if t := m.Type(a.Type); t != nil && len(t.ModeRules) > 0 {
			assets = append(assets, a)
		}
	}
	rep := &model.ShiftReport{From: from, To: to, Assets: []*gqlmodel.AssetShift{}}
	if len(assets) == 0 {
		return rep, nil
	}
	ids := assetIDs(assets)
	states, err := r.cfg.States.GetStates(ctx, ids)
	if err != nil {
		return nil, err
	}
	events, err := r.allEvents(ctx, twin.EventQuery{Assets: ids, From: from, To: to})
	if err != nil {
		return nil, err
	}
	byAsset := make(map[string][]twin.Event, len(assets))
	for _, e := range events {
		byAsset[e.Asset] = append(byAsset[e.Asset], e)
	}
	now := r.now()
	end := to
	if now.Before(end) {
		end = now
	}
	if end.Before(from) {
		end = from
	}

	// Counter histories for every asset that counts units, in one batch.
	// Each counter is read as per-bucket MIN and MAX, so units counted inside
	// a bucket and resets between buckets are both seen.
	var hq []twin.HistoryQuery
	hqIndex := map[string][2]int{}
	interval := counterInterval(to.Sub(from))
	counter := func(a *twin.Asset, signal string) int {
		i := len(hq)
		for _, agg := range []twin.Agg{twin.AggMin, twin.AggMax} {
			hq = append(hq, twin.HistoryQuery{Asset: a.ID, Metric: signal, From: from, To: to, Interval: interval, Agg: agg, Location: a.Location()})
		}
		return i
	}
	for _, a := range assets {
		t := m.Type(a.Type)
		if t.OEE == nil || t.OEE.TotalSignal == "" {
			continue
		}
		idx := [2]int{counter(a, t.OEE.TotalSignal), -1}
		if t.OEE.GoodSignal != "" {
			idx[1] = counter(a, t.OEE.GoodSignal)
		}
		hqIndex[a.ID] = idx
	}
	var series []twin.Series
	if len(hq) > 0 {
		series, err = r.cfg.History.QueryHistory(ctx, hq)
		if err != nil {
			return nil, err
		}
	}

	for _, a := range assets {
		slices.SortStableFunc(byAsset[a.ID], func(x, y twin.Event) int { return x.TS.Compare(y.TS) })
	}
	later, err := r.firstModeChangesAfter(ctx, assets, states, byAsset, to)
	if err != nil {
		return nil, err
	}
	for i, a := range assets {
		evs := byAsset[a.ID]
		st := states[i]
		startMode := modeAt(st, evs, to, later[a.ID])
		secs := modeSeconds(startMode, evs, from, end)
		secs[twin.ModeUnknown] += to.Sub(end).Seconds()
		as := &gqlmodel.AssetShift{Asset: a.ID, AssetNode: r.wrap(ctx, a), Events: evs, Faults: faultSummary(st, evs, from, end)}
		for _, mode := range twin.Modes {
			as.SecondsByMode = append(as.SecondsByMode, &gqlmodel.ModeSeconds{Mode: mode, Seconds: secs[mode]})
		}
		if idx, ok := hqIndex[a.ID]; ok {
			total := counterRise(series[idx[0]].Points, series[idx[0]+1].Points)
			as.UnitsProduced = &total
			good := math.NaN()
			if idx[1] >= 0 {
				good = counterRise(series[idx[1]].Points, series[idx[1]+1].Points)
			}
			as.OEE = shiftOEE(a, m.Type(a.Type), secs, total, good)
		}
		rep.Assets = append(rep.Assets, as)
	}
	return rep, nil
}

// allEvents pages through every event that matches q.
func (r *Resolver) allEvents(ctx context.Context, q twin.EventQuery) ([]twin.Event, error) {
	q.First = shiftPage
	var out []twin.Event
	for evs, err := range twin.EventPages(ctx, r.cfg.Events, q) {
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
		if len(out) > maxShiftEvents {
			return nil, twin.Errorf(twin.ELIMIT, "more than %d events in the window: ask for a shorter window or a smaller subtree", maxShiftEvents)
		}
	}
	return out, nil
}

// maxLaterEvents bounds the scan for the first mode change after a window.
const maxLaterEvents = 20_000

// firstModeChangesAfter finds, for the assets whose mode during the window
// cannot be told otherwise (no change in it, current mode begun after it), the
// first MODE_CHANGED after the window: one paged scan for all of them, ended
// as soon as each has its answer (or after maxLaterEvents events, after which
// the current mode stands in).
func (r *Resolver) firstModeChangesAfter(ctx context.Context, assets []*twin.Asset, states []*twin.State, byAsset map[string][]twin.Event, to time.Time) (map[string]*twin.Event, error) {
	need := map[string]bool{}
	for i, a := range assets {
		st := states[i]
		if st == nil || st.ModeSince.Before(to) || slices.ContainsFunc(byAsset[a.ID], func(e twin.Event) bool { return e.Kind == twin.EventModeChanged }) {
			continue
		}
		need[a.ID] = true
	}
	found := map[string]*twin.Event{}
	if len(need) == 0 {
		return found, nil
	}
	ids := make([]string, 0, len(need))
	for id := range need {
		ids = append(ids, id)
	}
	q := twin.EventQuery{Assets: ids, Kinds: []twin.EventKind{twin.EventModeChanged}, From: to, First: shiftPage}
	seen := 0
	for evs, err := range twin.EventPages(ctx, r.cfg.Events, q) {
		if err != nil {
			return nil, err
		}
		for i := range evs {
			e := evs[i]
			if f, ok := found[e.Asset]; !ok || e.TS.Before(f.TS) {
				found[e.Asset] = &e
			}
		}
		// Stop only at a page's end: a later event of the page may be an
		// earlier change of an asset already found.
		seen += len(evs)
		if len(found) == len(need) || seen >= maxLaterEvents {
			break
		}
	}
	return found, nil
}

// modeAt returns the mode in force at the window's start: the fromMode of the
// window's first change; else, with no change in the window, the current mode
// if it began before the window ended, or the fromMode of the first change
// after the window.
func modeAt(st *twin.State, evs []twin.Event, to time.Time, later *twin.Event) twin.Mode {
	for _, e := range evs {
		if e.Kind == twin.EventModeChanged {
			return e.FromMode
		}
	}
	if st == nil {
		return twin.ModeUnknown
	}
	if !st.ModeSince.Before(to) && later != nil {
		return later.FromMode
	}
	return st.Mode
}

// modeSeconds splits [from, end) by mode from the start mode and the window's
// MODE_CHANGED events (in time order).
func modeSeconds(start twin.Mode, evs []twin.Event, from, end time.Time) map[twin.Mode]float64 {
	secs := make(map[twin.Mode]float64, len(twin.Modes))
	mode, since := start, from
	for _, e := range evs {
		if e.Kind != twin.EventModeChanged || e.TS.Before(from) {
			continue
		}
		t := e.TS
		if t.After(end) {
			t = end
		}
		if t.After(since) {
			secs[norm(mode)] += t.Sub(since).Seconds()
			since = t
		}
		mode = e.ToMode
	}
	if end.After(since) {
		secs[norm(mode)] += end.Sub(since).Seconds()
	}
	return secs
}

func norm(m twin.Mode) twin.Mode {
	if m.Valid() {
		return m
	}
	return twin.ModeUnknown
}

// faultSummary counts raises and active seconds per fault code within [from, end).
func faultSummary(st *twin.State, evs []twin.Event, from, end time.Time) []*gqlmodel.FaultSummary {
	type acc struct {
		count   int
		seconds float64
		since   time.Time
		active  bool
		seen    bool
	}
	codes := map[string]*acc{}
	get := func(c string) *acc {
		a := codes[c]
		if a == nil {
			a = &acc{}
			codes[c] = a
		}
		return a
	}
	clip := func(t time.Time) time.Time {
		if t.Before(from) {
			return from
		}
		if t.After(end) {
			return end
		}
		return t
	}
	for _, e := range evs {
		switch e.Kind {
		case twin.EventFaultRaised:
			a := get(e.Code)
			a.seen = true
			a.count++
			if !a.active {
				a.active, a.since = true, clip(e.TS)
			}
		case twin.EventFaultCleared:
			a := get(e.Code)
			if !a.seen && !a.active {
				// Raised before the window.
				a.active, a.since = true, from
			}
			a.seen = true
			if a.active {
				a.seconds += clip(e.TS).Sub(a.since).Seconds()
				a.active = false
			}
		}
	}
	// Codes active now that had no event in the window were active throughout.
	if st != nil {
		for _, c := range st.FaultCodes {
			if _, ok := codes[c]; ok {
				continue
			}
			since, ok := st.FaultSince[c]
			if ok && since.Before(end) {
				a := get(c)
				a.active, a.since = true, clip(since)
			}
		}
	}
	out := []*gqlmodel.FaultSummary{}
	for c, a := range codes {
		if a.active {
			a.seconds += end.Sub(a.since).Seconds()
		}
		out = append(out, &gqlmodel.FaultSummary{Code: c, Count: a.count, Seconds: a.seconds})
	}
	slices.SortFunc(out, func(x, y *gqlmodel.FaultSummary) int {
		switch {
		case x.Code < y.Code:
			return -1
		case x.Code > y.Code:
			return 1
		}
		return 0
	})
	return out
}

// counterInterval picks a bucket width that keeps a counter series near 500
// points: one minute at least, whole minutes always.
func counterInterval(window time.Duration) time.Duration {
	const day = 24 * time.Hour
	iv := (window / 500).Truncate(time.Minute)
	if iv < time.Minute {
		iv = time.Minute
	}
	// History buckets over a day must be whole days: round up, so a long
	// window (a year's report) keeps at most ~500 buckets.
	if iv > day {
		iv = (iv + day - 1) / day * day
	}
	return iv
}

// counterRise sums the increases of a monotone counter from its per-bucket
// minima and maxima (same buckets, time order): the rise inside each bucket,
// plus the rise from one bucket's maximum to the next one's. A bucket whose
// minimum is below the previous maximum saw a reset, after which the counter's
// value is all new units (those counted between the last sample and the reset
// are not known).
func counterRise(mins, maxs []twin.Point) float64 {
	minAt := make(map[int64]float64, len(mins))
	for _, p := range mins {
		if p.Value != nil {
			minAt[p.TS.UnixNano()] = *p.Value
		}
	}
	var total float64
	prev := math.NaN()
	for _, p := range maxs {
		if p.Value == nil {
			continue
		}
		hi := *p.Value
		lo, ok := minAt[p.TS.UnixNano()]
		if !ok {
			lo = hi
		}
		switch {
		case math.IsNaN(prev):
			total += hi - lo
		case lo >= prev:
			total += hi - prev
		default:
			total += hi
		}
		prev = hi
	}
	return total
}

// shiftOEE is the shift's OEE by the domain's one definition (twin.OEE):
// elapsed is the time with known mode, good is NaN without a good counter.
func shiftOEE(a *twin.Asset, t *twin.AssetType, secs map[twin.Mode]float64, total, good float64) *float64 {
	known := 0.0
	for _, m := range twin.Modes {
		if m != twin.ModeUnknown {
			known += secs[m]
		}
	}
	rated, _ := twin.RatedSpeed(a, t)
	v, ok := twin.OEE(rated, known, secs[twin.ModeRunning], total, good)
	if !ok {
		return nil
	}
	return &v
}
