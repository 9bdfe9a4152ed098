package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/store/postgres"
	"github.com/twingraph/twingraph/store/storetest"
)

// tierMismatches counts, per rollup tier, the buckets before the tier's
// watermark whose count or sum differs from the raw samples (either way).
func tierMismatches(t *testing.T, s *postgres.Store) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, tier := range []struct{ table, width string }{
		{"samples_1m", "1 minute"}, {"samples_5m", "5 minutes"}, {"samples_1h", "1 hour"}, {"samples_1d", "1 day"},
	} {
		var n int64
		err := s.Pool().QueryRow(context.Background(), fmt.Sprintf(`
			WITH m AS (SELECT upto FROM rollup_watermarks WHERE tier = '%[1]s'),
			want AS (SELECT asset, signal, date_bin('%[2]s', ts, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket, count(*) AS count, sum(num) AS sum
			         FROM samples, m WHERE good AND num IS NOT NULL AND ts < m.upto GROUP BY 1, 2, 3),
			got AS (SELECT asset, signal, bucket, count, sum FROM %[1]s, m WHERE bucket < m.upto)
			SELECT (SELECT count(*) FROM (SELECT * FROM want EXCEPT SELECT * FROM got) a)
			     + (SELECT count(*) FROM (SELECT * FROM got EXCEPT SELECT * FROM want) b)`, tier.table, tier.width)).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		out[tier.table] = n
	}
	return out
}

// finestMarks reads the finest tier's watermark and planned mark.
func finestMarks(t *testing.T, s *postgres.Store) (upto time.Time, planned *time.Time) {
	t.Helper()
	if err := s.Pool().QueryRow(context.Background(),
		`SELECT upto, planned FROM rollup_watermarks WHERE tier = 'samples_1m'`).Scan(&upto, &planned); err != nil {
		t.Fatal(err)
	}
	return upto.UTC(), planned
}

func wantExactTiers(t *testing.T, s *postgres.Store, stage string) {
	t.Helper()
	for table, n := range tierMismatches(t, s) {
		if n != 0 {
			t.Errorf("%s: %s has %d buckets that differ from the raw samples", stage, table, n)
		}
	}
}

// TestMaterialize_WritersRunWhileItAggregates: once a run has planned, writers
// are not held off while it aggregates the raw samples, samples they write
// behind the plan meanwhile are counted exactly once, and reads stay exact
// throughout.
func TestMaterialize_WritersRunWhileItAggregates(t *testing.T) {
	s := MustOpen(t, engines[0].url(t))
	ctx := context.Background()
	r := rand.New(rand.NewPCG(11, 12))
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	plan := day.Add(10 * time.Minute)
	before := genSamples(r, day, plan, 200)
	if err := s.AppendSamples(ctx, before); err != nil {
		t.Fatal(err)
	}
	all := append([]twin.Sample(nil), before...)
	queries := []twin.HistoryQuery{}
	for _, iv := range []time.Duration{time.Minute, 5 * time.Minute, time.Hour} {
		queries = append(queries, twin.HistoryQuery{Asset: "plant/a", Metric: "press_bar", From: day, To: day.Add(time.Hour), Interval: iv, Agg: twin.AggSum})
	}
	checkReads := func(stage string) {
		t.Helper()
		series, err := s.QueryHistory(ctx, queries)
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range queries {
			if err := samePoints(series[i].Points, storetest.Reference(all, q)); err != nil {
				t.Errorf("%s: interval %v: %v", stage, q.Interval, err)
			}
		}
	}

	ran := false
	err := postgres.MaterializeWhile(ctx, s, plan, func() error {
		ran = true
		if _, planned := finestMarks(t, s); planned == nil || !planned.Equal(plan) {
			t.Errorf("planned mark = %v while the run aggregates, want %v", planned, plan)
		}
		// A writer held off now would never return: the run waits for it.
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		late := genSamples(r, day, plan, 50)                       // behind the plan: the writer counts them
		onTime := genSamples(r, plan, day.Add(20*time.Minute), 50) // past it: left to the next run
		for _, batch := range [][]twin.Sample{late, onTime} {
			if err := s.AppendSamples(wctx, batch); err != nil {
				return fmt.Errorf("a write while the run aggregates: %w", err)
			}
			all = append(all, batch...)
		}
		checkReads("while the run aggregates")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !ran {
		t.Fatal("the run had nothing to aggregate: bad test data")
	}
	if upto, planned := finestMarks(t, s); !upto.Equal(plan) || planned != nil {
		t.Errorf("after the run: upto %v, planned %v; want %v, none", upto, planned, plan)
	}
	wantExactTiers(t, s, "after the run")
	checkReads("after the run")
}

// TestMaterialize_RecountsAfterAnUnfinishedRun: a run that dies after planning
// leaves the finest tier holding only the late samples written since; the
// next run recounts that range, so the tiers are exact again.
func TestMaterialize_RecountsAfterAnUnfinishedRun(t *testing.T) {
	s := MustOpen(t, engines[0].url(t))
	ctx := context.Background()
	r := rand.New(rand.NewPCG(13, 14))
	day := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	plan := day.Add(10 * time.Minute)
	if err := s.AppendSamples(ctx, genSamples(r, day, plan, 200)); err != nil {
		t.Fatal(err)
	}
	died := errors.New("process died")
	err := postgres.MaterializeWhile(ctx, s, plan, func() error {
		if err := s.AppendSamples(ctx, genSamples(r, day, plan, 50)); err != nil {
			return err
		}
		return died
	})
	if !errors.Is(err, died) {
		t.Fatalf("run ended with %v, want %v", err, died)
	}
	upto, planned := finestMarks(t, s)
	if planned == nil || !planned.Equal(plan) || !upto.Before(plan) {
		t.Fatalf("after the unfinished run: upto %v, planned %v; want before %v, planned %v", upto, planned, plan, plan)
	}
	if err := postgres.MaterializeWhile(ctx, s, day.Add(15*time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	if upto, planned := finestMarks(t, s); !upto.Equal(day.Add(15*time.Minute)) || planned != nil {
		t.Errorf("after the next run: upto %v, planned %v; want %v, none", upto, planned, day.Add(15*time.Minute))
	}
	wantExactTiers(t, s, "after the next run")
}
