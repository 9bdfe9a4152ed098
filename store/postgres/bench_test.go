package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/store/postgres"
)

// benchRows makes n samples of 10 series, one per second per series, starting
// at start: unique, so every write inserts.
func benchRows(start time.Time, n int) []twin.Sample {
	out := make([]twin.Sample, n)
	for i := range out {
		out[i] = twin.Sample{
			Asset: fmt.Sprintf("plant/m%d", i%10), Signal: "press_bar",
			TS:    start.Add(time.Duration(i/10) * time.Second),
			Value: twin.Number(float64(i%500) / 4), Quality: twin.QualityGood,
		}
	}
	return out
}

// BenchmarkAppendSamples compares, on plain PostgreSQL in the same run, the
// store's batched upsert (INSERT ... ON CONFLICT DO NOTHING from arrays, plus
// the rollup upserts of four tiers), the same insert without rollups, and COPY
// of the same rows (which cannot skip duplicates: a replayed batch fails the
// whole COPY on the primary key). Metric: rows/s.
//
//	go test ./store/postgres -run '^$' -bench AppendSamples -benchtime 20x
func BenchmarkAppendSamples(b *testing.B) {
	const batch = 5000
	ctx := context.Background()
	s := MustOpen(b, engines[0].url(b))
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	next := func() []twin.Sample {
		rows := benchRows(base, batch)
		base = base.Add(time.Duration(batch/10) * time.Second)
		return rows
	}
	// Create the month's partition outside the timings.
	if err := s.AppendSamples(ctx, next()); err != nil {
		b.Fatal(err)
	}
	b.Run("upsert+rollups", func(b *testing.B) {
		for b.Loop() {
			if err := s.AppendSamples(ctx, next()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("upsert", func(b *testing.B) {
		for b.Loop() {
			rows := next()
			cols := columns(rows)
			if _, err := s.Pool().Exec(ctx, `INSERT INTO samples (asset, signal, ts, kind, num, txt, good)
				SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::float8[], $6::text[], $7::bool[])
				ON CONFLICT (asset, signal, ts) DO NOTHING`, cols...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("copy", func(b *testing.B) {
		for b.Loop() {
			rows := next()
			src := make([][]any, len(rows))
			for i, r := range rows {
				src[i] = []any{r.Asset, r.Signal, r.TS, "number", r.Value.Num, nil, true}
			}
			if _, err := s.Pool().CopyFrom(ctx, pgx.Identifier{"samples"},
				[]string{"asset", "signal", "ts", "kind", "num", "txt", "good"}, pgx.CopyFromRows(src)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkAppendSamples_Plant writes flushes shaped like a busy plant's:
// 50,000 samples of 1,000 machines × 10 signals, about five seconds of a
// sample per second each, through the store's upsert with rollups.
//
//	go test ./store/postgres -run '^$' -bench AppendSamples_Plant -benchtime 10x
func BenchmarkAppendSamples_Plant(b *testing.B) {
	const machines, signals, perFlush = 1000, 10, 50_000
	ctx := context.Background()
	s := MustOpen(b, engines[0].url(b))
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	step := 0
	next := func() []twin.Sample {
		out := make([]twin.Sample, perFlush)
		for i := range out {
			out[i] = twin.Sample{
				Asset: fmt.Sprintf("site/m%d", i%machines), Signal: fmt.Sprintf("s%d", (i/machines)%signals),
				TS:    base.Add(time.Duration(step+i/(machines*signals)) * time.Second),
				Value: twin.Number(float64(i % 97)), Quality: twin.QualityGood,
			}
		}
		step += perFlush / (machines * signals)
		return out
	}
	if err := s.AppendSamples(ctx, next()); err != nil {
		b.Fatal(err)
	}
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			if err := s.AppendSamples(ctx, next()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*perFlush)/b.Elapsed().Seconds(), "rows/s")
	})
	// Baseline: the raw insert alone (no rollups) on as many connections.
	b.Run("raw-insert", func(b *testing.B) {
		for b.Loop() {
			rows := next()
			slices.SortFunc(rows, func(x, y twin.Sample) int { return strings.Compare(x.Asset, y.Asset) })
			var g errgroup.Group
			part := len(rows) / postgres.DefaultWriters
			for w := range postgres.DefaultWriters {
				cols := columns(rows[w*part : (w+1)*part])
				g.Go(func() error {
					_, err := s.Pool().Exec(ctx, `INSERT INTO samples (asset, signal, ts, kind, num, txt, good)
						SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::float8[], $6::text[], $7::bool[])
						ON CONFLICT (asset, signal, ts) DO NOTHING`, cols...)
					return err
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*perFlush)/b.Elapsed().Seconds(), "rows/s")
	})
}

func columns(rows []twin.Sample) []any {
	n := len(rows)
	a, sg, k := make([]string, n), make([]string, n), make([]string, n)
	ts, num, txt, good := make([]time.Time, n), make([]float64, n), make([]*string, n), make([]bool, n)
	for i, r := range rows {
		a[i], sg[i], ts[i], k[i], num[i], good[i] = r.Asset, r.Signal, r.TS, "number", r.Value.Num, true
	}
	return []any{a, sg, ts, k, num, txt, good}
}

// BenchmarkQueryHistory24h1m measures a 24 h query at 1 min AVG of one series
// (1,440 points from 8,640 samples) through the store, beside the direct SQL
// on the 1-minute tier it reads. Metrics: p50 and p99 latency in ms.
//
//	go test ./store/postgres -run '^$' -bench QueryHistory24h1m -benchtime 300x
func BenchmarkQueryHistory24h1m(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			ctx := context.Background()
			s := MustOpen(b, e.url(b))
			day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
			var rows []twin.Sample
			for i := range 8640 {
				rows = append(rows, twin.Sample{Asset: "plant/jkt1/packaging/line3", Signal: "press1_bar",
					TS: day.Add(time.Duration(i) * 10 * time.Second), Value: twin.Number(float64(i%97) / 4), Quality: twin.QualityGood})
			}
			// Noise: other series in the same tables.
			for _, a := range []string{"plant/jkt1/packaging/line1", "plant/jkt1/packaging/line2"} {
				for i := range 8640 {
					rows = append(rows, twin.Sample{Asset: a, Signal: "press1_bar",
						TS: day.Add(time.Duration(i) * 10 * time.Second), Value: twin.Number(1), Quality: twin.QualityGood})
				}
			}
			if err := s.AppendSamples(ctx, rows); err != nil {
				b.Fatal(err)
			}
			if err := s.RunJobs(ctx); err != nil { // materialise (TimescaleDB)
				b.Fatal(err)
			}
			q := twin.HistoryQuery{Asset: "plant/jkt1/packaging/line3", Metric: "press1_bar", From: day, To: day.Add(24 * time.Hour),
				Interval: time.Minute, Agg: twin.AggAvg}
			b.Run("store", func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				for b.Loop() {
					t0 := time.Now()
					got, err := s.QueryHistory(ctx, []twin.HistoryQuery{q})
					lat = append(lat, time.Since(t0))
					if err != nil || len(got[0].Points) != 1440 {
						b.Fatalf("%v points, err %v", len(got[0].Points), err)
					}
				}
				reportLatency(b, lat)
			})
			b.Run("direct-sql", func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				for b.Loop() {
					t0 := time.Now()
					rows, err := s.Pool().Query(ctx, `SELECT bucket, sum / count FROM samples_1m
						WHERE asset = $1 AND signal = $2 AND bucket >= $3 AND bucket < $4 ORDER BY bucket`,
						q.Asset, q.Metric, q.From, q.To)
					if err != nil {
						b.Fatal(err)
					}
					var pts []twin.Point
					var ts time.Time
					var v *float64
					_, err = pgx.ForEachRow(rows, []any{&ts, &v}, func() error {
						pts = append(pts, twin.Point{TS: ts, Value: v})
						return nil
					})
					lat = append(lat, time.Since(t0))
					if err != nil || len(pts) != 1440 {
						b.Fatalf("%d points, err %v", len(pts), err)
					}
				}
				reportLatency(b, lat)
			})
		})
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkAppendEvents measures event batches of 10 from 4 concurrent
// writers: the cost of the advisory lock that makes seq order commit order.
//
//	go test ./store/postgres -run '^$' -bench AppendEvents -benchtime 200x
func BenchmarkAppendEvents(b *testing.B) {
	ctx := context.Background()
	s := MustOpen(b, engines[0].url(b))
	b.SetParallelism(2) // 2 × GOMAXPROCS(2) = 4 writers
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			evs := make([]twin.Event, 10)
			for i := range evs {
				evs[i] = twin.Event{Kind: twin.EventModeChanged, Asset: "plant/m", TS: time.Unix(0, 0).Add(time.Duration(i) * time.Second),
					Code: fmt.Sprint(time.Now().UnixNano(), i)}
				evs[i].ID = twin.EventID(&evs[i])
			}
			if err := s.AppendEvents(ctx, evs); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendEventsReplayed measures re-appending a batch of 10 events
// that are all stored already (a replay after an interrupted flush): the
// INSERT finds only conflicts and a second SELECT hands back their seq.
// BenchmarkAppendEvents is the baseline of new events.
//
//	go test ./store/postgres -run '^$' -bench AppendEventsReplayed -benchtime 200x
func BenchmarkAppendEventsReplayed(b *testing.B) {
	ctx := context.Background()
	s := MustOpen(b, engines[0].url(b))
	evs := make([]twin.Event, 10)
	for i := range evs {
		evs[i] = twin.Event{Kind: twin.EventModeChanged, Asset: "plant/m", TS: time.Unix(0, 0).Add(time.Duration(i) * time.Second)}
		evs[i].ID = twin.EventID(&evs[i])
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		again := slices.Clone(evs)
		for i := range again {
			again[i].Seq = 0
		}
		if err := s.AppendEvents(ctx, again); err != nil {
			b.Fatal(err)
		}
		if again[9].Seq != evs[9].Seq {
			b.Fatalf("seq %d, want %d", again[9].Seq, evs[9].Seq)
		}
	}
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "events/s")
}
