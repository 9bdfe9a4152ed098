package storetest

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
)

// historyBase is the start of the generated data: the three days after it
// include the end of US daylight saving time (2026-11-01), a 25-hour local day.
var historyBase = time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)

const (
	histAsset  = "plant/jkt1/packaging/line3"
	histSignal = "press1_bar"
	histSpan   = 3 * 24 * time.Hour
)

// historyData is generated telemetry in write batches, with the rows a store
// must end up holding (first write per (asset, signal, ts) wins).
type historyData struct {
	batches [][]twin.Sample
	rows    map[time.Time]twin.Sample // histSignal only, by ts (UTC)
}

// genHistory builds about 3,500 samples of histSignal, clustered so buckets
// have unequal counts, ~5% of bad quality, written in batches where later
// batches carry late samples and re-sent timestamps with other values, plus
// bool, string and list signals that must be stored but not disturb numbers.
// Values are multiples of 1/16 below 500, so every sum is exact in float64 and
// any correct aggregation order gives identical results.
func genHistory() historyData {
	r := rand.New(rand.NewPCG(20261124, 7))
	var all []twin.Sample
	seen := map[int64]bool{}
	add := func(ts time.Time) {
		ts = ts.Truncate(time.Millisecond).UTC()
		if ts.Before(historyBase) || !ts.Before(historyBase.Add(histSpan)) || seen[ts.UnixNano()] {
			return
		}
		seen[ts.UnixNano()] = true
		q := twin.QualityGood
		if r.IntN(20) == 0 {
			q = twin.QualityBad
		}
		all = append(all, twin.Sample{Asset: histAsset, Signal: histSignal, TS: ts,
			Value: twin.Number(float64(r.IntN(16000)-8000) / 16), Quality: q,
			Pos: twin.LogPos{Log: "telemetry@t", Partition: 1, Offset: int64(len(all))}})
	}
	for range 300 { // bursts
		c := historyBase.Add(time.Duration(r.Int64N(int64(histSpan))))
		for range 1 + r.IntN(20) {
			add(c.Add(time.Duration(r.Int64N(int64(180*time.Second))) - 90*time.Second))
		}
	}
	for range 500 { // background
		add(historyBase.Add(time.Duration(r.Int64N(int64(histSpan)))))
	}
	// Exactly on bucket and day boundaries, where off-by-one errors live.
	for _, d := range []time.Duration{0, time.Minute, time.Hour, 17 * time.Hour, 24 * time.Hour, 24*time.Hour + 4*time.Hour, 48*time.Hour + 17*time.Hour + 30*time.Minute} {
		add(historyBase.Add(d))
		add(historyBase.Add(d - time.Millisecond))
	}
	slices.SortFunc(all, func(a, b twin.Sample) int { return a.TS.Compare(b.TS) })

	d := historyData{rows: map[time.Time]twin.Sample{}}
	// One in ten samples arrives late: held back and written after the rest, shuffled.
	var onTime, late []twin.Sample
	for _, s := range all {
		if r.IntN(10) == 0 {
			late = append(late, s)
		} else {
			onTime = append(onTime, s)
		}
	}
	r.Shuffle(len(late), func(i, j int) { late[i], late[j] = late[j], late[i] })
	for len(onTime) > 0 {
		n := min(len(onTime), 1+r.IntN(700))
		d.batches = append(d.batches, onTime[:n])
		onTime = onTime[n:]
	}
	d.batches = append(d.batches, late)
	for _, b := range d.batches {
		for _, s := range b {
			d.rows[s.TS] = s
		}
	}
	// Re-sent timestamps with other values and qualities: ignored.
	var dup []twin.Sample
	for i := 0; i < len(all); i += 37 {
		s := all[i]
		s.Value = twin.Number(s.Value.Num + 1)
		s.Quality = twin.QualityGood
		dup = append(dup, s)
	}
	// Other kinds of signals on the same asset and the same timestamps.
	for i := 0; i < len(all); i += 11 {
		ts := all[i].TS
		dup = append(dup,
			twin.Sample{Asset: histAsset, Signal: "power_on", TS: ts, Value: twin.Bool(i%2 == 0), Quality: twin.QualityGood},
			twin.Sample{Asset: histAsset, Signal: "product", TS: ts, Value: twin.String("SKU-1"), Quality: twin.QualityGood},
			twin.Sample{Asset: histAsset, Signal: "fault_codes", TS: ts, Value: twin.NewList([]string{"E1"}), Quality: twin.QualityGood},
			twin.Sample{Asset: "plant/jkt1/packaging/line1", Signal: histSignal, TS: ts, Value: twin.Number(1e6), Quality: twin.QualityGood},
		)
	}
	d.batches = append(d.batches, dup)
	return d
}

// expect aggregates the good rows in [q.From, q.To) directly, per bucket.
func (d historyData) expect(q twin.HistoryQuery) []twin.Point {
	var rows []twin.Sample
	for _, s := range d.rows {
		if s.Quality == twin.QualityGood && !s.TS.Before(q.From) && s.TS.Before(q.To) {
			rows = append(rows, s)
		}
	}
	slices.SortFunc(rows, func(a, b twin.Sample) int { return a.TS.Compare(b.TS) })
	pts := []twin.Point{}
	if q.Interval == 0 {
		for _, s := range rows {
			pts = append(pts, twin.Point{TS: s.TS, Value: ptr(s.Value.Num)})
		}
		return pts
	}
	var (
		bucket time.Time
		vals   []float64
	)
	flush := func() {
		if len(vals) == 0 {
			return
		}
		var v float64
		switch q.Agg {
		case twin.AggCount:
			v = float64(len(vals))
		case twin.AggSum, twin.AggAvg:
			for _, x := range vals {
				v += x
			}
			if q.Agg == twin.AggAvg {
				v /= float64(len(vals))
			}
		case twin.AggMin:
			v = slices.Min(vals)
		case twin.AggMax:
			v = slices.Max(vals)
		case twin.AggFirst:
			v = vals[0]
		case twin.AggLast:
			v = vals[len(vals)-1]
		}
		pts = append(pts, twin.Point{TS: bucket, Value: ptr(v)})
		vals = nil
	}
	for _, s := range rows {
		b := twin.BucketStart(s.TS, q.Interval, q.Location)
		if !b.Equal(bucket) {
			flush()
			bucket = b
		}
		vals = append(vals, s.Value.Num)
	}
	flush()
	return pts
}

func (d historyData) write(t *testing.T, s twin.HistoryStore) {
	t.Helper()
	for i, b := range d.batches {
		if err := s.AppendSamples(ctx(t), b); err != nil {
			t.Fatalf("append batch %d: %v", i, err)
		}
	}
}

func loadZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	must(t, "load zone", err)
	return loc
}

// comparePoints fails unless got equals want exactly (instants and values).
func comparePoints(t *testing.T, what string, got, want []twin.Point) {
	t.Helper()
	n := max(len(got), len(want))
	for i := range n {
		if i >= len(got) || i >= len(want) {
			t.Fatalf("%s: got %d points, want %d (first difference at %d)", what, len(got), len(want), i)
		}
		g, w := got[i], want[i]
		if !g.TS.Equal(w.TS) {
			t.Fatalf("%s: point %d at %s, want %s", what, i, g.TS.UTC().Format(time.RFC3339Nano), w.TS.UTC().Format(time.RFC3339Nano))
		}
		switch {
		case (g.Value == nil) != (w.Value == nil):
			t.Fatalf("%s: point %d at %s value %v, want %v", what, i, w.TS.UTC().Format(time.RFC3339), fmtPtr(g.Value), fmtPtr(w.Value))
		case g.Value != nil && *g.Value != *w.Value:
			t.Fatalf("%s: point %d at %s value %v, want %v", what, i, w.TS.UTC().Format(time.RFC3339), *g.Value, *w.Value)
		}
	}
}

func fmtPtr(p *float64) any {
	if p == nil {
		return "null"
	}
	return *p
}

// TestHistoryStore runs the twin.HistoryStore contract against stores from open.
func TestHistoryStore(t *testing.T, open func(t *testing.T) twin.HistoryStore) {
	t.Run("Exactness", func(t *testing.T) {
		s := open(t)
		d := genHistory()
		d.write(t, s)
		zones := []*time.Location{time.UTC, loadZone(t, "Asia/Jakarta"), loadZone(t, "Asia/Kolkata"), loadZone(t, "America/New_York")}
		intervals := []time.Duration{0, time.Minute, 2 * time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 24 * time.Hour, 48 * time.Hour}
		for _, iv := range intervals {
			for _, loc := range zones {
				if iv < 24*time.Hour && loc != time.UTC && loc.String() != "Asia/Kolkata" {
					continue // sub-day buckets do not depend on the zone; two zones suffice
				}
				ranges := map[string][2]time.Time{
					"unaligned": {historyBase.Add(37*time.Minute + 13*time.Second + 500*time.Millisecond), historyBase.Add(2*24*time.Hour + 19*time.Hour + time.Minute)},
					"all":       {historyBase.Add(-time.Hour), historyBase.Add(histSpan + time.Hour)},
				}
				if iv > 0 {
					ranges["aligned"] = [2]time.Time{twin.BucketStart(historyBase.Add(time.Hour), iv, loc), twin.BucketStart(historyBase.Add(histSpan-time.Hour), iv, loc)}
				}
				for name, rg := range ranges {
					var qs []twin.HistoryQuery
					for _, agg := range twin.Aggs {
						qs = append(qs, twin.HistoryQuery{Asset: histAsset, Metric: histSignal, From: rg[0], To: rg[1], Interval: iv, Agg: agg, Location: loc})
					}
					got, err := s.QueryHistory(ctx(t), qs)
					if err != nil {
						t.Fatalf("%s %s: %v", name, describe(qs[0]), err)
					}
					if len(got) != len(qs) {
						t.Fatalf("%d series for %d queries", len(got), len(qs))
					}
					for i, q := range qs {
						what := name + " " + describe(q)
						if got[i].Asset != q.Asset || got[i].Metric != q.Metric || got[i].Interval != q.Interval || got[i].Agg != q.Agg {
							t.Fatalf("%s: series echoes %s/%s %s %s", what, got[i].Asset, got[i].Metric, got[i].Interval, got[i].Agg)
						}
						comparePoints(t, what, got[i].Points, d.expect(q))
					}
				}
			}
		}
	})

	t.Run("Idempotent", func(t *testing.T) {
		s := open(t)
		d := genHistory()
		qs := []twin.HistoryQuery{
			{Asset: histAsset, Metric: histSignal, From: historyBase, To: historyBase.Add(histSpan)},
			{Asset: histAsset, Metric: histSignal, From: historyBase, To: historyBase.Add(histSpan), Interval: time.Minute, Agg: twin.AggCount},
			{Asset: histAsset, Metric: histSignal, From: historyBase, To: historyBase.Add(histSpan), Interval: time.Hour, Agg: twin.AggAvg},
			{Asset: histAsset, Metric: histSignal, From: historyBase, To: historyBase.Add(histSpan), Interval: 24 * time.Hour, Agg: twin.AggSum, Location: loadZone(t, "Asia/Jakarta")},
		}
		d.write(t, s)
		first, err := s.QueryHistory(ctx(t), qs)
		must(t, "query", err)
		d.write(t, s) // the same batches again
		for i := len(d.batches) - 1; i >= 0; i-- {
			must(t, "append reversed", s.AppendSamples(ctx(t), d.batches[i]))
		}
		again, err := s.QueryHistory(ctx(t), qs)
		must(t, "query again", err)
		for i := range qs {
			comparePoints(t, "after rewriting "+describe(qs[i]), again[i].Points, first[i].Points)
			comparePoints(t, "against raw rows "+describe(qs[i]), again[i].Points, d.expect(qs[i]))
		}
	})

	t.Run("KindsAndQuality", func(t *testing.T) {
		s := open(t)
		t0 := historyBase
		must(t, "append", s.AppendSamples(ctx(t), []twin.Sample{
			{Asset: "a", Signal: "power_on", TS: t0, Value: twin.Bool(true), Quality: twin.QualityGood},
			{Asset: "a", Signal: "power_on", TS: t0.Add(time.Second), Value: twin.Bool(false), Quality: twin.QualityGood},
			{Asset: "a", Signal: "power_on", TS: t0.Add(2 * time.Second), Value: twin.Bool(true), Quality: twin.QualityGood},
			{Asset: "a", Signal: "power_on", TS: t0.Add(3 * time.Second), Value: twin.Bool(true), Quality: twin.QualityGood},
			{Asset: "a", Signal: "temp", TS: t0, Value: twin.Number(10), Quality: twin.QualityGood},
			{Asset: "a", Signal: "temp", TS: t0.Add(time.Second), Value: twin.Number(9999), Quality: twin.QualityBad},
			{Asset: "a", Signal: "product", TS: t0, Value: twin.String("SKU"), Quality: twin.QualityGood},
			{Asset: "a", Signal: "faults", TS: t0, Value: twin.NewList([]string{"E1", "E2"}), Quality: twin.QualityGood},
		}))
		q := func(sig string, iv time.Duration, agg twin.Agg) twin.HistoryQuery {
			return twin.HistoryQuery{Asset: "a", Metric: sig, From: t0, To: t0.Add(time.Minute), Interval: iv, Agg: agg}
		}
		got, err := s.QueryHistory(ctx(t), []twin.HistoryQuery{
			q("power_on", time.Minute, twin.AggAvg), q("power_on", 0, ""), q("temp", time.Minute, twin.AggMax),
			q("temp", 0, twin.AggAvg), q("product", time.Minute, twin.AggCount), q("faults", 0, twin.AggAvg),
			q("nothing", time.Minute, twin.AggAvg), {Asset: "nobody", Metric: "temp", From: t0, To: t0.Add(time.Hour), Interval: time.Minute, Agg: twin.AggAvg},
		})
		must(t, "query", err)
		comparePoints(t, "bool avg", got[0].Points, []twin.Point{{TS: t0, Value: ptr(0.75)}})
		comparePoints(t, "bool raw", got[1].Points, []twin.Point{{TS: t0, Value: ptr(1.0)}, {TS: t0.Add(time.Second), Value: ptr(0.0)},
			{TS: t0.Add(2 * time.Second), Value: ptr(1.0)}, {TS: t0.Add(3 * time.Second), Value: ptr(1.0)}})
		comparePoints(t, "bad sample left out of max", got[2].Points, []twin.Point{{TS: t0, Value: ptr(10.0)}})
		comparePoints(t, "bad sample left out of raw", got[3].Points, []twin.Point{{TS: t0, Value: ptr(10.0)}})
		for i := 4; i < len(got); i++ {
			if len(got[i].Points) != 0 {
				t.Fatalf("%s/%s: %d points, want none", got[i].Asset, got[i].Metric, len(got[i].Points))
			}
		}
	})

	t.Run("Fill", func(t *testing.T) {
		s := open(t)
		t0 := historyBase
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		must(t, "append", s.AppendSamples(ctx(t), []twin.Sample{
			{Asset: "a", Signal: "temp", TS: at(0).Add(10 * time.Second), Value: twin.Number(1), Quality: twin.QualityGood},
			{Asset: "a", Signal: "temp", TS: at(1), Value: twin.Number(2), Quality: twin.QualityGood},
			{Asset: "a", Signal: "temp", TS: at(1).Add(30 * time.Second), Value: twin.Number(4), Quality: twin.QualityGood},
			{Asset: "a", Signal: "temp", TS: at(3), Value: twin.Number(100), Quality: twin.QualityBad},
			{Asset: "a", Signal: "temp", TS: at(5), Value: twin.Number(5), Quality: twin.QualityGood},
		}))
		base := twin.HistoryQuery{Asset: "a", Metric: "temp", From: at(-2), To: at(7), Interval: time.Minute, Agg: twin.AggAvg}
		null, prev, none := base, base, base
		null.Fill, prev.Fill = twin.FillNull, twin.FillPrevious
		got, err := s.QueryHistory(ctx(t), []twin.HistoryQuery{null, prev, none})
		must(t, "query", err)
		comparePoints(t, "fill null", got[0].Points, []twin.Point{{TS: at(-2)}, {TS: at(-1)}, {TS: at(0), Value: ptr(1.0)},
			{TS: at(1), Value: ptr(3.0)}, {TS: at(2)}, {TS: at(3)}, {TS: at(4)}, {TS: at(5), Value: ptr(5.0)}, {TS: at(6)}})
		comparePoints(t, "fill previous", got[1].Points, []twin.Point{{TS: at(-2)}, {TS: at(-1)}, {TS: at(0), Value: ptr(1.0)},
			{TS: at(1), Value: ptr(3.0)}, {TS: at(2), Value: ptr(3.0)}, {TS: at(3), Value: ptr(3.0)}, {TS: at(4), Value: ptr(3.0)},
			{TS: at(5), Value: ptr(5.0)}, {TS: at(6), Value: ptr(5.0)}})
		comparePoints(t, "no fill", got[2].Points, []twin.Point{{TS: at(0), Value: ptr(1.0)}, {TS: at(1), Value: ptr(3.0)}, {TS: at(5), Value: ptr(5.0)}})
	})

	t.Run("Errors", func(t *testing.T) {
		s := open(t)
		ok := twin.HistoryQuery{Asset: "a", Metric: "temp", From: historyBase, To: historyBase.Add(time.Hour), Interval: time.Minute, Agg: twin.AggAvg}
		bad := func(name, code string, mod func(q *twin.HistoryQuery)) {
			q := ok
			mod(&q)
			_, err := s.QueryHistory(ctx(t), []twin.HistoryQuery{ok, q})
			wantCode(t, name, err, code)
			if code == twin.ELIMIT && !strings.Contains(twin.ErrorMessage(err), "interval") {
				t.Fatalf("%s: LIMIT message %q names no interval", name, twin.ErrorMessage(err))
			}
		}
		bad("to before from", twin.EBADINPUT, func(q *twin.HistoryQuery) { q.To = q.From.Add(-time.Minute) })
		bad("to equals from", twin.EBADINPUT, func(q *twin.HistoryQuery) { q.To = q.From })
		bad("negative interval", twin.EBADINPUT, func(q *twin.HistoryQuery) { q.Interval = -time.Minute })
		bad("unknown agg", twin.EBADINPUT, func(q *twin.HistoryQuery) { q.Agg = "MEDIAN" })
		bad("too many points", twin.ELIMIT, func(q *twin.HistoryQuery) { q.Interval = time.Second; q.To = q.From.Add(30 * 24 * time.Hour) })
		_, err := s.QueryHistory(ctx(t), []twin.HistoryQuery{ok})
		must(t, "valid query", err)
		got, err := s.QueryHistory(ctx(t), nil)
		must(t, "no queries", err)
		if len(got) != 0 {
			t.Fatalf("%d series for no queries", len(got))
		}
	})

	t.Run("NonFiniteNeverStored", func(t *testing.T) {
		// Non-finite numbers are refused at decode time; a store must not turn
		// them into wrong aggregates if one slips through, so either outcome is fine
		// as long as finite data around it stays exact.
		s := open(t)
		t0 := historyBase
		_ = s.AppendSamples(ctx(t), []twin.Sample{{Asset: "a", Signal: "x", TS: t0.Add(time.Hour), Value: twin.Number(math.Inf(1)), Quality: twin.QualityBad}})
		must(t, "append", s.AppendSamples(ctx(t), []twin.Sample{{Asset: "a", Signal: "x", TS: t0, Value: twin.Number(2), Quality: twin.QualityGood}}))
		got, err := s.QueryHistory(ctx(t), []twin.HistoryQuery{{Asset: "a", Metric: "x", From: t0, To: t0.Add(2 * time.Hour), Interval: time.Hour, Agg: twin.AggSum}})
		must(t, "query", err)
		comparePoints(t, "sum", got[0].Points, []twin.Point{{TS: t0, Value: ptr(2.0)}})
	})
}
