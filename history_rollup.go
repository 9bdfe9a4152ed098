package twin

import (
	"context"
	"math"
	"slices"
	"sort"
	"time"
)

// Line-level history: a type's rolled-up signal (AssetType.Rollups) has no
// samples of its own; its history is computed from the samples of the
// asset's members, the distinct descendants (each once, however many paths
// reach it) whose type is in the rollup's Over (any type when empty) and has
// the signal From.
//
// Per bucket of the query's interval, each member's samples of From are
// aggregated by the query's aggregate exactly as that member's own history
// would be (same tiers, same day buckets in the queried asset's time zone),
// then the members' values are combined by the rollup's Agg: SUM adds them,
// AVG is their mean, MIN and MAX the extremes. A member without samples in a
// bucket takes no part in it; a bucket without any member's samples is
// empty (and gap-filled as asked). So a line's units with agg SUM over its
// machines' unit counts, queried with SUM every 5 minutes, is the units the
// line's machines counted per 5 minutes; the line's speed with agg AVG,
// queried with AVG, is the mean of its machines' mean speeds.
//
// It is exact whenever the members' histories are: the stores answer them
// from their tiers (sum of sums, sum of counts), late samples and replays
// included. Raw samples (no interval) are refused: a rollup is defined per bucket.

// RollupMembers returns the ids of the members of asset id's rolled-up
// signal s, in the model's breadth-first descendant order.
func RollupMembers(m Model, id string, s *SignalDef) []string {
	if s == nil || s.Rollup == nil {
		return nil
	}
	var out []string
	for _, d := range m.Descendants(id, "", 0) {
		if len(s.Rollup.Over) > 0 && !slices.Contains(s.Rollup.Over, d.Type) {
			continue
		}
		if sig := m.Type(d.Type).Signal(s.Rollup.From); sig != nil && (sig.Kind == KindNumber || sig.Kind == KindBool) {
			out = append(out, d.ID)
		}
	}
	return out
}

// HistoryWithRollups returns a HistoryStore that answers queries of
// rolled-up signals (see above) from h's answers for the members, asked in
// the same call as the other queries, and passes every other query to h.
// model returns the current model (it may be replaced while the store is in use).
func HistoryWithRollups(h HistoryStore, model func() Model) HistoryStore {
	if h == nil {
		return nil
	}
	return rollupHistory{h: h, model: model}
}

type rollupHistory struct {
	h     HistoryStore
	model func() Model
}

func (r rollupHistory) AppendSamples(ctx context.Context, samples []Sample) error {
	return r.h.AppendSamples(ctx, samples)
}

// span is where one query's answers lie in the expanded list.
type span struct {
	start, n int
	rollup   *SignalRollup // nil: a plain query, n == 1
}

// QueryHistory answers the queries in one call to the wrapped store.
// Errors: BAD_INPUT (a raw query of a rolled-up signal, and the store's),
// LIMIT, INTERNAL.
func (r rollupHistory) QueryHistory(ctx context.Context, queries []HistoryQuery) ([]Series, error) {
	m := r.model()
	var (
		expanded   []HistoryQuery
		spans      = make([]span, len(queries))
		hasRollups bool
	)
	for i, q := range queries {
		s := rollupOf(m, q)
		if s == nil {
			spans[i] = span{start: len(expanded), n: 1}
			expanded = append(expanded, q)
			continue
		}
		hasRollups = true
		if err := CheckHistoryQuery(q); err != nil {
			return nil, err
		}
		if q.Interval == 0 {
			return nil, Errorf(EBADINPUT, "history of %s: %s is rolled up from %s of the assets below; it needs an interval", q.Metric, q.Metric, s.Rollup.From)
		}
		members := RollupMembers(m, q.Asset, s)
		spans[i] = span{start: len(expanded), n: len(members), rollup: s.Rollup}
		for _, id := range members {
			mq := q
			mq.Asset, mq.Metric, mq.Fill = id, s.Rollup.From, FillNone
			expanded = append(expanded, mq)
		}
	}
	if !hasRollups {
		return r.h.QueryHistory(ctx, queries)
	}
	var series []Series
	if len(expanded) > 0 {
		var err error
		if series, err = r.h.QueryHistory(ctx, expanded); err != nil {
			return nil, err
		}
	}
	out := make([]Series, len(queries))
	for i, q := range queries {
		sp := spans[i]
		if sp.rollup == nil {
			out[i] = series[sp.start]
			continue
		}
		agg := q.Agg
		if agg == "" {
			agg = AggAvg
		}
		pts := CombineSeries(series[sp.start:sp.start+sp.n], sp.rollup.Agg)
		out[i] = Series{Asset: q.Asset, Metric: q.Metric, Interval: q.Interval, Agg: agg, Points: FillSeries(pts, q)}
	}
	return out, nil
}

// rollupOf returns the rolled-up signal q asks for, or nil for a plain query.
func rollupOf(m Model, q HistoryQuery) *SignalDef {
	if m == nil {
		return nil
	}
	a := m.Asset(q.Asset)
	if a == nil {
		return nil
	}
	t := m.Type(a.Type)
	if t.Signal(q.Metric) != nil {
		return nil
	}
	if s := t.HistorySignal(q.Metric); s != nil && s.Rollup != nil {
		return s
	}
	return nil
}

// CombineSeries combines the members' series bucket by bucket with agg (SUM,
// AVG, MIN or MAX; anything else is SUM): one point per bucket start that
// some member has a value for, in time order.
func CombineSeries(members []Series, agg Agg) []Point {
	type acc struct {
		v float64
		n int
	}
	byTS := map[time.Time]*acc{}
	var keys []time.Time
	for _, s := range members {
		for _, p := range s.Points {
			if p.Value == nil {
				continue
			}
			ts := p.TS.UTC()
			a := byTS[ts]
			if a == nil {
				a = &acc{v: *p.Value}
				byTS[ts] = a
				keys = append(keys, ts)
				a.n = 1
				continue
			}
			switch agg {
			case AggMin:
				a.v = math.Min(a.v, *p.Value)
			case AggMax:
				a.v = math.Max(a.v, *p.Value)
			default:
				a.v += *p.Value
			}
			a.n++
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Before(keys[j]) })
	out := make([]Point, len(keys))
	for i, ts := range keys {
		a := byTS[ts]
		v := a.v
		if agg == AggAvg {
			v /= float64(a.n)
		}
		out[i] = Point{TS: ts, Value: &v}
	}
	return out
}
