package memory

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	twin "github.com/twingraph/twingraph"
)

// HistoryStore is an in-memory twin.HistoryStore: per series (asset, signal),
// one slice of samples sorted by time and unique per timestamp (the first write
// wins, so a replayed batch is a no-op). Queries aggregate the raw good samples
// directly, so every interval and aggregate is exact by construction.
type HistoryStore struct {
	// MaxPoints caps the points of one series; 0 means twin.DefaultMaxPoints.
	// Set it before use.
	MaxPoints int
	// MaxSamples, when positive, keeps at most about this many of the newest
	// samples per series, so a long-running dev process stays bounded whatever
	// the time span of its data (a scripted day at 1/min keeps all of it).
	// Set it before use.
	MaxSamples int

	mu     sync.RWMutex
	series map[seriesKey]*series
}

var _ twin.HistoryStore = (*HistoryStore)(nil)

type seriesKey struct{ asset, signal string }

// row is one stored sample. Only numbers and bools (as 1/0) have num set;
// strings and lists keep their value in other and are never aggregated.
type row struct {
	ts      int64 // Unix nanoseconds
	num     float64
	numeric bool
	good    bool
	other   *twin.Value
}

type series struct {
	rows []row // sorted by ts, unique ts
}

// NewHistoryStore returns an empty history store.
func NewHistoryStore() *HistoryStore {
	return &HistoryStore{series: map[seriesKey]*series{}}
}

// AppendSamples stores samples; a sample whose (asset, signal, ts) is already
// stored is ignored. Samples arriving in time order are appended in O(1); late
// ones are inserted in place.
func (h *HistoryStore) AppendSamples(ctx context.Context, samples []twin.Sample) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var (
		lastKey seriesKey
		last    *series
	)
	for i := range samples {
		sm := &samples[i]
		k := seriesKey{sm.Asset, sm.Signal}
		if last == nil || k != lastKey {
			last = h.series[k]
			if last == nil {
				last = &series{}
				h.series[k] = last
			}
			lastKey = k
		}
		r := row{ts: sm.TS.UnixNano(), good: sm.Quality != twin.QualityBad}
		if v, ok := twin.NumericValue(sm.Value); ok {
			r.num, r.numeric = v, true
		} else {
			v := sm.Value
			v.List = slices.Clone(v.List)
			r.other = &v
		}
		last.insert(r)
		if h.MaxSamples > 0 {
			last.trim(h.MaxSamples)
		}
	}
	return nil
}

// trim keeps the newest max rows once the series holds a third more than
// that, so appends stay amortized O(1).
func (s *series) trim(max int) {
	if len(s.rows) <= max+max/3 {
		return
	}
	s.rows = slices.Clone(s.rows[len(s.rows)-max:])
}

func (s *series) insert(r row) {
	n := len(s.rows)
	if n == 0 || s.rows[n-1].ts < r.ts {
		s.rows = append(s.rows, r)
		return
	}
	i := sort.Search(n, func(i int) bool { return s.rows[i].ts >= r.ts })
	if i < n && s.rows[i].ts == r.ts {
		return // first write wins: a replay never changes history
	}
	s.rows = slices.Insert(s.rows, i, r)
}

// QueryHistory answers each query from the stored good numeric samples: raw
// points for interval 0, else one point per non-empty bucket (gap-filled on
// request). Errors: BAD_INPUT, LIMIT (per twin.CheckHistoryQuery and, for raw
// queries, twin.TooManyPoints).
func (h *HistoryStore) QueryHistory(ctx context.Context, queries []twin.HistoryQuery) ([]twin.Series, error) {
	for _, q := range queries {
		if err := twin.CheckHistoryQuery(q, h.MaxPoints); err != nil {
			return nil, err
		}
	}
	out := make([]twin.Series, len(queries))
	h.mu.RLock()
	defer h.mu.RUnlock()
	for i, q := range queries {
		agg := q.Agg
		if agg == "" {
			agg = twin.AggAvg
		}
		pts, err := h.query(q, agg)
		if err != nil {
			return nil, err
		}
		out[i] = twin.Series{Asset: q.Asset, Metric: q.Metric, Interval: q.Interval, Agg: agg, Points: pts}
	}
	return out, nil
}

func (h *HistoryStore) query(q twin.HistoryQuery, agg twin.Agg) ([]twin.Point, error) {
	s := h.series[seriesKey{q.Asset, q.Metric}]
	pts := []twin.Point{}
	if s != nil {
		from, to := q.From.UnixNano(), q.To.UnixNano()
		lo := sort.Search(len(s.rows), func(i int) bool { return s.rows[i].ts >= from })
		rows := s.rows[lo:]
		hi := sort.Search(len(rows), func(i int) bool { return rows[i].ts >= to })
		rows = rows[:hi]
		if q.Interval == 0 {
			for _, r := range rows {
				if r.good && r.numeric {
					v := r.num
					pts = append(pts, twin.Point{TS: time.Unix(0, r.ts).UTC(), Value: &v})
				}
			}
			if err := twin.TooManyPoints(q, len(pts), h.MaxPoints); err != nil {
				return nil, err
			}
			return pts, nil
		}
		var (
			acc    twin.Accum
			bucket time.Time
			end    int64 // bucket end, Unix nanoseconds
		)
		flush := func() {
			if acc.Count > 0 {
				v := acc.Value(agg)
				pts = append(pts, twin.Point{TS: bucket, Value: &v})
			}
			acc = twin.Accum{}
		}
		for _, r := range rows {
			if !r.good || !r.numeric {
				continue
			}
			if bucket.IsZero() || r.ts >= end {
				flush()
				ts := time.Unix(0, r.ts)
				bucket = twin.BucketStart(ts, q.Interval, q.Location)
				end = twin.NextBucket(bucket, q.Interval, q.Location).UnixNano()
			}
			acc.Add(time.Unix(0, r.ts), r.num)
		}
		flush()
	}
	return twin.FillSeries(pts, q), nil
}

// Len returns the number of stored samples (good or bad, any kind).
func (h *HistoryStore) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, s := range h.series {
		n += len(s.rows)
	}
	return n
}
