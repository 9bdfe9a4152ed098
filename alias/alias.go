// Package alias makes renames in the asset model transparent to readers of
// the stores. An asset or signal renamed in the model keeps its earlier ids
// and names as aliases; what was stored under them is never rewritten.
// These wrappers read the current and the earlier ids (and signal names)
// together and present everything under the current one: states, event
// pages and history series.
//
// It knows the stores only through package twin's interfaces, and the model
// only through twin.Model. A model without aliases costs one interface check
// per call: the calls go straight through.
package alias

import (
	"context"
	"maps"
	"sort"
	"time"

	twin "github.com/twingraph/twingraph"
)

// aliased reports whether the model has any alias at all (hierarchy.Model
// and hierarchy.Live say so); a model that cannot say is assumed to.
func aliased(m twin.Model) bool {
	if a, ok := m.(interface{ Aliased() bool }); ok {
		return a.Aliased()
	}
	return true
}

// canonical returns the asset the id names, current or earlier, or nil.
func canonical(m twin.Model, id string) *twin.Asset { return m.Asset(id) }

// States reads an asset's state under its current id and, when it has
// none there yet (no telemetry since the rename), under an earlier id,
// presented under the current one. Writes go through unchanged: the sync
// worker alone writes states, and it moves a renamed asset's state to the
// current id with its first sample after the rename.
type States struct {
	twin.StateStore
	// Model names the aliases.
	Model twin.Model
}

// GetStates returns the states of ids in one round trip, in the same order.
// Errors: those of the wrapped store.
func (s States) GetStates(ctx context.Context, ids []string) ([]*twin.State, error) {
	if !aliased(s.Model) {
		return s.StateStore.GetStates(ctx, ids)
	}
	keys := make([]string, 0, len(ids))
	index := map[string]int{}
	add := func(id string) {
		if _, ok := index[id]; !ok {
			index[id] = len(keys)
			keys = append(keys, id)
		}
	}
	for _, id := range ids {
		add(id)
		if a := canonical(s.Model, id); a != nil {
			add(a.ID)
			for _, old := range a.Aliases {
				add(old)
			}
		}
	}
	got, err := s.StateStore.GetStates(ctx, keys)
	if err != nil {
		return nil, err
	}
	at := func(id string) *twin.State {
		if i, ok := index[id]; ok && i < len(got) {
			return got[i]
		}
		return nil
	}
	out := make([]*twin.State, len(ids))
	for i, id := range ids {
		a := canonical(s.Model, id)
		if a == nil {
			out[i] = at(id)
			continue
		}
		st := at(a.ID)
		for _, old := range a.Aliases {
			if st != nil {
				break
			}
			st = at(old)
		}
		out[i] = RelabelState(s.Model, st)
	}
	return out, nil
}

// RelabelState returns st as the model names things now: under its asset's
// current id, with values kept under a signal's earlier name moved to its
// current name (the newer of the two wins when both are there). It returns
// st itself when nothing changes, and never modifies st; the copy shares
// what it does not change.
func RelabelState(m twin.Model, st *twin.State) *twin.State {
	if st == nil {
		return nil
	}
	a := canonical(m, st.Asset)
	if a == nil {
		return st
	}
	var moves [][2]string // earlier name, current name
	if t := m.Type(a.Type); t != nil {
		for i := range t.Signals {
			for _, old := range t.Signals[i].Aliases {
				if _, ok := st.Metrics[old]; ok {
					moves = append(moves, [2]string{old, t.Signals[i].Name})
				}
			}
		}
	}
	if a.ID == st.Asset && len(moves) == 0 {
		return st
	}
	c := *st
	c.Asset = a.ID
	if len(moves) > 0 {
		c.Metrics = maps.Clone(st.Metrics)
		for _, mv := range moves {
			v := c.Metrics[mv[0]]
			delete(c.Metrics, mv[0])
			if cur, ok := c.Metrics[mv[1]]; !ok || v.TS.After(cur.TS) {
				c.Metrics[mv[1]] = v
			}
		}
	}
	return &c
}

// Events lists the events of an asset under its current and earlier ids,
// each presented under the current id. Event ids, Seq and so cursors are
// those stored: a cursor taken before a rename resumes after it.
type Events struct {
	twin.EventStore
	// Model names the aliases.
	Model twin.Model
}

// ListEvents returns one page; q.Assets may name current or earlier ids.
// Errors: those of the wrapped store.
func (e Events) ListEvents(ctx context.Context, q twin.EventQuery) (twin.EventPage, error) {
	if !aliased(e.Model) {
		return e.EventStore.ListEvents(ctx, q)
	}
	if q.Assets != nil {
		ids := make([]string, 0, len(q.Assets))
		seen := map[string]bool{}
		add := func(id string) {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		for _, id := range q.Assets {
			add(id)
			if a := canonical(e.Model, id); a != nil {
				add(a.ID)
				for _, old := range a.Aliases {
					add(old)
				}
			}
		}
		q.Assets = ids
	}
	page, err := e.EventStore.ListEvents(ctx, q)
	if err != nil {
		return page, err
	}
	for i := range page.Events {
		Relabel(e.Model, &page.Events[i])
	}
	return page, nil
}

// Relabel puts an event stored under an earlier asset id under the current one.
func Relabel(m twin.Model, ev *twin.Event) {
	if a := canonical(m, ev.Asset); a != nil && a.ID != ev.Asset {
		ev.Asset = a.ID
	}
}

// History answers a series of a renamed asset or signal from every id and
// name it was stored under, merged bucket by bucket into one series.
type History struct {
	twin.HistoryStore
	// Model names the aliases.
	Model twin.Model
}

// part is one stored series a query reads: an (id, signal name) pair, with
// its rank (0: the current id and name; higher: earlier ones).
type part struct {
	query int
	rank  int
	sum   int // index of the SUM (or only) sub-query
	count int // index of the COUNT sub-query of an AVG; -1 when none
}

// QueryHistory answers the queries in one call to the wrapped store.
// Merging is exact for every aggregate: AVG is merged from sums and counts;
// FIRST and LAST, where both an earlier and the current id have samples in
// one bucket, take the earlier id's first and the current id's last (a
// renamed asset's samples under its old id precede those under its new one).
// Gap filling is done after the merge. Errors: those of the wrapped store.
func (h History) QueryHistory(ctx context.Context, queries []twin.HistoryQuery) ([]twin.Series, error) {
	if !aliased(h.Model) {
		return h.HistoryStore.QueryHistory(ctx, queries)
	}
	var sub []twin.HistoryQuery
	parts := make([][]part, len(queries))
	merged := false
	for qi, q := range queries {
		ids, names := []string{q.Asset}, []string{q.Metric}
		if a := canonical(h.Model, q.Asset); a != nil {
			ids = append([]string{a.ID}, a.Aliases...)
			if def := h.Model.Type(a.Type).Lookup(q.Metric); def != nil {
				names = append([]string{def.Name}, def.Aliases...)
			}
		}
		if len(ids)*len(names) == 1 {
			q.Asset, q.Metric = ids[0], names[0]
			parts[qi] = []part{{query: qi, sum: len(sub), count: -1}}
			sub = append(sub, q)
			continue
		}
		merged = true
		agg := q.Agg
		if agg == "" {
			agg = twin.AggAvg
		}
		for ii, id := range ids {
			for ni, name := range names {
				s := q
				s.Asset, s.Metric, s.Fill = id, name, twin.FillNone
				p := part{query: qi, rank: max(ii, ni), sum: len(sub), count: -1}
				if agg == twin.AggAvg && q.Interval > 0 {
					s.Agg = twin.AggSum
					sub = append(sub, s)
					s.Agg = twin.AggCount
					p.count = len(sub)
				}
				sub = append(sub, s)
				parts[qi] = append(parts[qi], p)
			}
		}
	}
	got, err := h.HistoryStore.QueryHistory(ctx, sub)
	if err != nil || !merged {
		if err == nil {
			for i := range got {
				got[i].Asset, got[i].Metric = queries[i].Asset, queries[i].Metric
			}
		}
		return got, err
	}
	out := make([]twin.Series, len(queries))
	for qi, q := range queries {
		ps := parts[qi]
		if len(ps) == 1 {
			out[qi] = got[ps[0].sum]
			out[qi].Asset, out[qi].Metric = q.Asset, q.Metric
			continue
		}
		out[qi] = mergeSeries(q, ps, got)
	}
	return out, nil
}

// bucket accumulates one time bucket over several stored series.
type bucket struct {
	sum, count float64
	val        float64
	set        bool
	rank       int // of the series val came from (FIRST, LAST)
}

func mergeSeries(q twin.HistoryQuery, ps []part, got []twin.Series) twin.Series {
	agg := q.Agg
	if agg == "" {
		agg = twin.AggAvg
	}
	out := twin.Series{Asset: q.Asset, Metric: q.Metric, Interval: q.Interval, Agg: agg}
	acc := map[int64]*bucket{}
	get := func(p twin.Point) *bucket {
		k := p.TS.UnixNano()
		b := acc[k]
		if b == nil {
			b = &bucket{}
			acc[k] = b
		}
		return b
	}
	for _, p := range ps {
		sums := got[p.sum].Points
		if p.count >= 0 {
			counts := got[p.count].Points
			for i, pt := range sums {
				if pt.Value == nil || i >= len(counts) || counts[i].Value == nil {
					continue
				}
				b := get(pt)
				b.sum += *pt.Value
				b.count += *counts[i].Value
				b.set = true
			}
			continue
		}
		for _, pt := range sums {
			if pt.Value == nil {
				continue
			}
			b := get(pt)
			v := *pt.Value
			switch {
			case !b.set:
				b.val, b.rank = v, p.rank
			case q.Interval == 0, agg == twin.AggLast:
				// Raw samples at one instant, or LAST: the current id wins.
				if p.rank < b.rank {
					b.val, b.rank = v, p.rank
				}
			case agg == twin.AggFirst:
				if p.rank > b.rank {
					b.val, b.rank = v, p.rank
				}
			case agg == twin.AggMin:
				b.val = min(b.val, v)
			case agg == twin.AggMax:
				b.val = max(b.val, v)
			default: // SUM, COUNT
				b.val += v
			}
			b.set = true
		}
	}
	keys := make([]int64, 0, len(acc))
	for k := range acc {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	out.Points = make([]twin.Point, 0, len(keys))
	for _, k := range keys {
		b := acc[k]
		v := b.val
		if agg == twin.AggAvg && q.Interval > 0 {
			v = b.sum / b.count
		}
		out.Points = append(out.Points, twin.Point{TS: timeOf(k), Value: &v})
	}
	out.Points = twin.FillSeries(out.Points, q)
	return out
}

func timeOf(unixNano int64) time.Time { return time.Unix(0, unixNano).UTC() }
