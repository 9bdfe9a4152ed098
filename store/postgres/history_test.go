package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/store/postgres"
	"github.com/twingraph/twingraph/store/storetest"
)

// genSamples makes random samples of two assets × two signals between from
// and to: unequal counts per bucket, some bad quality, some bools and strings,
// values in quarters so sums are exact in float64 whatever the order.
func genSamples(r *rand.Rand, from, to time.Time, n int) []twin.Sample {
	var out []twin.Sample
	span := to.Sub(from) / time.Second
	for _, a := range []string{"plant/a", "plant/b"} {
		for _, sig := range []string{"press_bar", "temp_c"} {
			for range n {
				sm := twin.Sample{
					Asset: a, Signal: sig,
					TS:      from.Add(time.Duration(r.Int64N(int64(span))) * time.Second).Add(time.Duration(r.IntN(1000)) * time.Millisecond),
					Value:   twin.Number(float64(r.IntN(4000)-1000) / 4),
					Quality: twin.QualityGood,
				}
				switch r.IntN(20) {
				case 0:
					sm.Quality = twin.QualityBad
				case 1:
					sm.Value = twin.Bool(r.IntN(2) == 1)
				case 2:
					sm.Value = twin.String("x")
				case 3:
					sm.Value = twin.NewList([]string{"E1"})
				}
				out = append(out, sm)
			}
		}
	}
	return out
}

func samePoints(got, want []twin.Point) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d points, want %d", len(got), len(want))
	}
	for i := range got {
		if !got[i].TS.Equal(want[i].TS) || (got[i].Value == nil) != (want[i].Value == nil) ||
			(got[i].Value != nil && *got[i].Value != *want[i].Value) {
			return fmt.Errorf("point %d = %v %v, want %v %v", i, got[i].TS, ptr(got[i].Value), want[i].TS, ptr(want[i].Value))
		}
	}
	return nil
}

func ptr(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

// TestQueryHistory_Exact checks every interval and aggregate against a direct
// aggregation of the raw samples, after in-order writes, a refresh of the
// aggregates, late samples and a replay.
func TestQueryHistory_Exact(t *testing.T) {
	jakarta, _ := time.LoadLocation("Asia/Jakarta")
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	forEngines(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := MustOpen(t, url)
		r := rand.New(rand.NewPCG(1, 2))
		// In-order data over two days, then late data inside the same range.
		first := genSamples(r, day.Add(-12*time.Hour), day.Add(20*time.Hour), 300)
		late := genSamples(r, day.Add(-12*time.Hour), day.Add(20*time.Hour), 60)
		replay := first[:100]
		if err := s.AppendSamples(ctx, first); err != nil {
			t.Fatal(err)
		}
		// Materialise the continuous aggregates, so late rows land behind the watermark.
		if err := s.RunJobs(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendSamples(ctx, late); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendSamples(ctx, replay); err != nil {
			t.Fatal(err)
		}
		all := append(append(append([]twin.Sample{}, first...), late...), replay...)

		type rng struct {
			name     string
			from, to time.Time
			loc      *time.Location
		}
		ranges := []rng{
			{"day", day, day.Add(24 * time.Hour), nil},
			{"unaligned", day.Add(90 * time.Second), day.Add(3*time.Hour + 30*time.Second), nil},
		}
		intervals := []time.Duration{0, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute,
			15 * time.Minute, time.Hour, 3 * time.Hour, 24 * time.Hour}
		var queries []twin.HistoryQuery
		for _, rg := range ranges {
			for _, iv := range intervals {
				for _, agg := range twin.Aggs {
					for _, a := range []string{"plant/a", "plant/b"} {
						for _, m := range []string{"press_bar", "temp_c"} {
							queries = append(queries, twin.HistoryQuery{Asset: a, Metric: m, From: rg.from, To: rg.to, Interval: iv, Agg: agg})
						}
					}
				}
			}
		}
		// Day buckets at local midnight: a whole-hour zone and a half-hour zone.
		for _, loc := range []*time.Location{jakarta, kolkata} {
			for _, agg := range twin.Aggs {
				from := time.Date(2026, 11, 19, 0, 0, 0, 0, loc)
				queries = append(queries, twin.HistoryQuery{Asset: "plant/a", Metric: "press_bar",
					From: from, To: from.AddDate(0, 0, 3), Interval: 24 * time.Hour, Agg: agg, Location: loc})
			}
		}
		check := func(stage string) {
			series, err := s.QueryHistory(ctx, queries)
			if err != nil {
				t.Fatal(err)
			}
			for i, q := range queries {
				want := storetest.Reference(all, q)
				if len(want) == 0 {
					t.Fatalf("query %d has no reference points: bad test data", i)
				}
				if err := samePoints(series[i].Points, want); err != nil {
					t.Errorf("%s: %s %s %s..%s interval %v %s %v: %v", stage, q.Asset, q.Metric, q.From, q.To, q.Interval, q.Agg, q.Location, err)
				}
			}
		}
		check("late samples and a replay behind the watermarks")
		// Newer samples, then materialising again (plain path: the open tail
		// moves into the tiers): where rows are read from changes, not what
		// they add up to.
		newer := genSamples(r, day.Add(20*time.Hour), day.Add(40*time.Hour), 100)
		if err := s.AppendSamples(ctx, newer); err != nil {
			t.Fatal(err)
		}
		all = append(all, newer...)
		if err := s.RunJobs(ctx); err != nil {
			t.Fatal(err)
		}
		check("materialised again")
	})
}

func TestAppendSamples_Idempotent(t *testing.T) {
	forEngines(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := MustOpen(t, url)
		r := rand.New(rand.NewPCG(3, 4))
		from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		batch := genSamples(r, from, from.Add(2*time.Hour), 50)
		dump := func() string {
			var out string
			for _, tbl := range []string{"samples", "samples_1m", "samples_5m", "samples_1h", "samples_1d"} {
				var n int64
				var sum *float64
				if err := s.Pool().QueryRow(ctx, fmt.Sprintf("SELECT count(*), sum(%s) FROM %s",
					map[bool]string{true: "num", false: "count"}[tbl == "samples"], tbl)).Scan(&n, &sum); err != nil {
					t.Fatal(err)
				}
				out += fmt.Sprintf("%s=%d/%v ", tbl, n, ptr(sum))
			}
			return out
		}
		// Materialised once (rollups behind their watermarks), then written
		// again on both sides of a materialisation: nothing counts twice.
		if err := s.AppendSamples(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if err := s.RunJobs(ctx); err != nil {
			t.Fatal(err)
		}
		once := dump()
		if err := s.AppendSamples(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if err := s.RunJobs(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendSamples(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if twice := dump(); twice != once {
			t.Fatalf("after writing the batch again:\n%s\nwant\n%s", twice, once)
		}
	})
}

func TestQueryHistory_Errors(t *testing.T) {
	s := MustOpen(t, engines[0].url(t))
	ctx := context.Background()
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		q    twin.HistoryQuery
		code string
	}{
		{"EmptyRange", twin.HistoryQuery{Asset: "a", Metric: "m", From: from, To: from, Interval: time.Minute, Agg: twin.AggAvg}, twin.EBADINPUT},
		{"NegativeInterval", twin.HistoryQuery{Asset: "a", Metric: "m", From: from, To: from.Add(time.Hour), Interval: -time.Minute, Agg: twin.AggAvg}, twin.EBADINPUT},
		{"BadAgg", twin.HistoryQuery{Asset: "a", Metric: "m", From: from, To: from.Add(time.Hour), Interval: time.Minute, Agg: "MEDIAN"}, twin.EBADINPUT},
		{"TooManyPoints", twin.HistoryQuery{Asset: "a", Metric: "m", From: from, To: from.AddDate(1, 0, 0), Interval: time.Second, Agg: twin.AggAvg}, twin.ELIMIT},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.QueryHistory(ctx, []twin.HistoryQuery{c.q})
			if got := twin.ErrorCode(err); got != c.code {
				t.Fatalf("error %v, want code %s", err, c.code)
			}
		})
	}
}

func TestQueryHistory_Fill(t *testing.T) {
	s := MustOpen(t, engines[0].url(t))
	ctx := context.Background()
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	err := s.AppendSamples(ctx, []twin.Sample{
		{Asset: "a", Signal: "m", TS: from.Add(10 * time.Second), Value: twin.Number(1), Quality: twin.QualityGood},
		{Asset: "a", Signal: "m", TS: from.Add(3*time.Minute + time.Second), Value: twin.Number(4), Quality: twin.QualityGood},
	})
	if err != nil {
		t.Fatal(err)
	}
	q := twin.HistoryQuery{Asset: "a", Metric: "m", From: from, To: from.Add(5 * time.Minute), Interval: time.Minute, Agg: twin.AggMax}
	one, four := 1.0, 4.0
	for _, c := range []struct {
		fill twin.Fill
		want []*float64
	}{
		{twin.FillNone, []*float64{&one, &four}},
		{twin.FillNull, []*float64{&one, nil, nil, &four, nil}},
		{twin.FillPrevious, []*float64{&one, &one, &one, &four, &four}},
	} {
		q.Fill = c.fill
		got, err := s.QueryHistory(ctx, []twin.HistoryQuery{q})
		if err != nil {
			t.Fatal(err)
		}
		var vals []any
		for _, p := range got[0].Points {
			vals = append(vals, ptr(p.Value))
		}
		var want []any
		for _, v := range c.want {
			want = append(want, ptr(v))
		}
		if fmt.Sprint(vals) != fmt.Sprint(want) {
			t.Errorf("fill %q: %v, want %v", c.fill, vals, want)
		}
	}
}

func TestStore_RetentionPlain(t *testing.T) {
	ctx := context.Background()
	url := engines[0].url(t)
	s, err := postgres.Open(ctx, url, postgres.Options{Retention: 60 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	old := time.Now().AddDate(0, -6, 0)
	recent := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := s.AppendSamples(ctx, []twin.Sample{
		{Asset: "a", Signal: "m", TS: old, Value: twin.Number(1), Quality: twin.QualityGood},
		{Asset: "a", Signal: "m", TS: recent, Value: twin.Number(2), Quality: twin.QualityGood},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.RunJobs(ctx); err != nil {
		t.Fatal(err)
	}
	var raw int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM samples`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if raw != 1 {
		t.Fatalf("after retention: %d raw rows, want 1", raw)
	}
	// The dropped month's sample still answers from the hourly rollup.
	got, err := s.QueryHistory(ctx, []twin.HistoryQuery{{Asset: "a", Metric: "m", From: old.Truncate(time.Hour),
		To: recent.Truncate(time.Hour).Add(time.Hour), Interval: time.Hour, Agg: twin.AggSum}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got[0].Points); n != 2 {
		t.Fatalf("after retention: %d hourly points, want 2 (rollups stay)", n)
	}
	// The dropped month can be written again: its partition comes back.
	if err := s.AppendSamples(ctx, []twin.Sample{{Asset: "a", Signal: "m", TS: old.Add(time.Second), Value: twin.Number(1), Quality: twin.QualityGood}}); err != nil {
		t.Fatal(err)
	}
}
