package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	twin "github.com/twingraph/twingraph"
)

// Reference answers q directly from the unique samples (the first written of
// each (asset, signal, ts) wins), bucketing like the store documents.
func Reference(samples []twin.Sample, q twin.HistoryQuery) []twin.Point {
	type acc struct {
		n               int
		sum, min, max   float64
		first, last     float64
		firstTS, lastTS time.Time
	}
	seen := map[string]bool{}
	buckets := map[time.Time]*acc{}
	var raw []twin.Point
	for _, sm := range samples {
		key := fmt.Sprint(sm.Asset, sm.Signal, sm.TS.UnixNano())
		if seen[key] {
			continue
		}
		seen[key] = true
		if sm.Asset != q.Asset || sm.Signal != q.Metric || sm.Quality == twin.QualityBad || sm.TS.Before(q.From) || !sm.TS.Before(q.To) {
			continue
		}
		var v float64
		switch sm.Value.Kind {
		case twin.KindNumber:
			v = sm.Value.Num
		case twin.KindBool:
			if sm.Value.Bool {
				v = 1
			}
		default:
			continue
		}
		if q.Interval == 0 {
			raw = append(raw, twin.Point{TS: sm.TS.UTC(), Value: &v})
			continue
		}
		b := referenceBucket(sm.TS, q)
		a := buckets[b]
		if a == nil {
			a = &acc{min: v, max: v, first: v, last: v, firstTS: sm.TS, lastTS: sm.TS}
			buckets[b] = a
		}
		a.n++
		a.sum += v
		a.min, a.max = min(a.min, v), max(a.max, v)
		if sm.TS.Before(a.firstTS) {
			a.first, a.firstTS = v, sm.TS
		}
		if sm.TS.After(a.lastTS) {
			a.last, a.lastTS = v, sm.TS
		}
	}
	if q.Interval == 0 {
		slices.SortFunc(raw, func(a, b twin.Point) int { return a.TS.Compare(b.TS) })
		return raw
	}
	var out []twin.Point
	for b, a := range buckets {
		var v float64
		switch q.Agg {
		case twin.AggAvg:
			v = a.sum / float64(a.n)
		case twin.AggMin:
			v = a.min
		case twin.AggMax:
			v = a.max
		case twin.AggSum:
			v = a.sum
		case twin.AggCount:
			v = float64(a.n)
		case twin.AggFirst:
			v = a.first
		case twin.AggLast:
			v = a.last
		}
		out = append(out, twin.Point{TS: b, Value: &v})
	}
	slices.SortFunc(out, func(a, b twin.Point) int { return a.TS.Compare(b.TS) })
	return out
}

func referenceBucket(ts time.Time, q twin.HistoryQuery) time.Time {
	if q.Interval%(24*time.Hour) == 0 {
		loc := cmp.Or(q.Location, time.UTC)
		lt := ts.In(loc)
		return time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc).UTC()
	}
	return ts.Truncate(q.Interval).UTC()
}
