package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sync/errgroup"

	twin "github.com/twingraph/twingraph"
)

// tier is one pre-aggregated resolution: a rollup table (plain path) or a
// continuous aggregate (Timescale path) of the same name and columns.
type tier struct {
	width time.Duration
	table string
	sql   string // the width as an SQL interval literal
}

var tiers = []tier{
	{time.Minute, "samples_1m", "1 minute"},
	{5 * time.Minute, "samples_5m", "5 minutes"},
	{time.Hour, "samples_1h", "1 hour"},
	{24 * time.Hour, "samples_1d", "1 day"},
}

// row is a sample as stored.
type row struct {
	asset, signal string
	ts            time.Time
	kind          string
	num           *float64
	txt           *string
	good          bool
	pos           int // index in the batch, to keep the first of duplicates
}

func toRow(sm *twin.Sample) row {
	r := row{
		asset: sm.Asset, signal: sm.Signal,
		// PostgreSQL keeps microseconds: dedupe on what will be stored.
		ts:   sm.TS.Truncate(time.Microsecond).UTC(),
		kind: string(sm.Value.Kind),
		good: sm.Quality != twin.QualityBad,
	}
	switch sm.Value.Kind {
	case twin.KindNumber:
		v := sm.Value.Num
		r.num = &v
	case twin.KindBool:
		v := 0.0
		if sm.Value.Bool {
			v = 1
		}
		r.num = &v
	case twin.KindString:
		v := sm.Value.Str
		r.txt = &v
	case twin.KindList:
		b, _ := json.Marshal(sm.Value.List)
		v := string(b)
		r.txt = &v
	}
	return r
}

// AppendSamples writes samples in one transaction, idempotent per (asset,
// signal, ts): INSERT ... ON CONFLICT DO NOTHING from arrays (one statement per
// Options.BatchRows rows). Timestamps are stored to the microsecond.
//
// Plain PostgreSQL: the rollup tables are materialised behind watermarks in
// bulk (see rollup.go), after calls like this one, in the background. A
// sample behind a watermark (late) is upserted into those tiers by the same
// statement as its insert, from the rows the insert actually added (its
// RETURNING), so a replay never counts twice and a late sample is in every
// tier when the call returns; reads add what lies past the watermarks.
//
// TimescaleDB: buckets newer than an aggregate's watermark are computed at
// query time (real-time aggregation); when the batch added a sample older than
// a watermark, the store refreshes the affected buckets of that aggregate
// before returning, so late samples are visible at once there too.
//
// Rows are written in (asset, signal, ts) order so concurrent writers lock
// rows in one order; deadlocks and serialisation failures are retried.
// Errors: INTERNAL.
func (s *Store) AppendSamples(ctx context.Context, samples []twin.Sample) error {
	return s.appendSamples(ctx, samples, false)
}

func (s *Store) appendSamples(ctx context.Context, samples []twin.Sample, retried bool) error {
	if len(samples) == 0 {
		return nil
	}
	f := s.getFlavour()
	if f == flavourUnknown {
		if err := s.CheckSchema(ctx); err != nil {
			return err
		}
		f = s.getFlavour()
	}
	rows := make([]row, len(samples))
	for i := range samples {
		rows[i] = toRow(&samples[i])
		rows[i].pos = i
	}
	// Ties broken by position keep the first of duplicates in a batch, like a
	// replay would (and sort faster than a stable sort).
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(strings.Compare(a.asset, b.asset), strings.Compare(a.signal, b.signal), a.ts.Compare(b.ts), cmp.Compare(a.pos, b.pos))
	})
	rows = slices.CompactFunc(rows, func(a, b row) bool {
		return a.asset == b.asset && a.signal == b.signal && a.ts.Equal(b.ts)
	})
	if f == flavourPostgres {
		if err := s.ensurePartitions(ctx, rows); err != nil {
			return err
		}
	}
	// Disjoint runs of assets go to separate transactions on separate
	// connections, so PostgreSQL inserts on several cores. Each transaction
	// stands alone: if one fails, the retry of the whole call re-inserts
	// nothing that the others committed (ON CONFLICT DO NOTHING, and rollups
	// count only what the insert returned).
	var (
		mu           sync.Mutex
		minTS, maxTS time.Time
	)
	g, gctx := errgroup.WithContext(ctx)
	for _, part := range splitByAsset(rows, s.writers()) {
		g.Go(func() error {
			lo, hi, err := s.insertRows(gctx, f, part)
			mu.Lock()
			defer mu.Unlock()
			if !lo.IsZero() && (minTS.IsZero() || lo.Before(minTS)) {
				minTS = lo
			}
			if hi.After(maxTS) {
				maxTS = hi
			}
			return err
		})
	}
	err := g.Wait()
	var pe *pgconn.PgError
	if f == flavourPostgres && !retried && errors.As(err, &pe) && pe.Code == "23514" {
		// No partition for a row: another process dropped it past retention
		// while this one still had it cached. Forget the cache and write again.
		s.mu.Lock()
		s.parts = map[string]bool{}
		s.mu.Unlock()
		return s.appendSamples(ctx, samples, true)
	}
	if err != nil {
		return internal("append samples", err)
	}
	if f == flavourPostgres {
		s.maybeMaterialize()
	}
	if f == flavourPostgres && s.opt.Retention > 0 {
		s.mu.Lock()
		due := time.Since(s.lastSweep) >= sweepEvery
		if due {
			s.lastSweep = time.Now()
		}
		s.mu.Unlock()
		if due {
			if err := s.dropExpired(ctx); err != nil {
				s.log.Warn("dropping expired sample partitions failed", "err", err)
			}
		}
	}
	if f == flavourTimescale && !minTS.IsZero() {
		// The rows are committed: a retry would insert nothing and so refresh
		// nothing, so a failed refresh is logged and left to the policy run.
		if err := s.refreshLate(ctx, minTS, maxTS); err != nil {
			s.log.Warn("refresh of continuous aggregates for late samples failed; the next policy run includes them", "err", err)
		}
	}
	return nil
}

// minWriterRows is the smallest share of a call worth its own transaction.
const minWriterRows = 500

// writers is how many transactions one AppendSamples call may run at once.
func (s *Store) writers() int {
	return max(1, min(s.opt.Writers, int(s.pool.Config().MaxConns)))
}

// splitByAsset cuts rows, sorted by asset, into at most n runs of about
// equal size that never split an asset (so no two runs touch the same rows
// of samples or rollups), none smaller than minWriterRows unless it is all.
func splitByAsset(rows []row, n int) [][]row {
	n = min(n, len(rows)/minWriterRows)
	if n <= 1 {
		return [][]row{rows}
	}
	var parts [][]row
	target := (len(rows) + n - 1) / n
	for len(rows) > 0 {
		cut := min(target, len(rows))
		for cut < len(rows) && rows[cut].asset == rows[cut-1].asset {
			cut++
		}
		parts = append(parts, rows[:cut])
		rows = rows[cut:]
	}
	return parts
}

// insertRows writes rows in one transaction, Options.BatchRows per
// statement, retrying deadlocks and serialisation failures. It returns the
// time range of the rows the inserts added (zero when none; Timescale path).
func (s *Store) insertRows(ctx context.Context, f flavour, rows []row) (minTS, maxTS time.Time, err error) {
	err = s.retry(ctx, func() error {
		minTS, maxTS = time.Time{}, time.Time{}
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var m *marks
			if f == flavourPostgres {
				got, err := lockMarks(ctx, tx)
				if err != nil {
					return err
				}
				m = &got
			}
			for start := 0; start < len(rows); start += s.opt.BatchRows {
				chunk := rows[start:min(start+s.opt.BatchRows, len(rows))]
				lo, hi, err := insertChunk(ctx, tx, m, chunk)
				if err != nil {
					return err
				}
				if lo != nil && (minTS.IsZero() || lo.Before(minTS)) {
					minTS = *lo
				}
				if hi != nil && hi.After(maxTS) {
					maxTS = *hi
				}
			}
			return nil
		})
	})
	if err == nil && f == flavourPostgres {
		s.noteWritten(rows)
	}
	return minTS, maxTS, err
}

// retry runs fn again after a deadlock or serialisation failure.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		var pe *pgconn.PgError
		if err == nil || attempt >= 5 || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			return err
		}
		s.log.Warn("retrying sample write", "err", err, "attempt", attempt+1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		}
	}
}

// insertSQL is the raw insert; the caller wraps it with what follows.
const insertSQL = `INSERT INTO samples (asset, signal, ts, kind, num, txt, good)
	SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::float8[], $6::text[], $7::bool[])
	ON CONFLICT (asset, signal, ts) DO NOTHING
	RETURNING asset, signal, ts, num, good`

const timescaleSQL = "WITH ins AS (" + insertSQL + ") SELECT min(ts), max(ts) FROM ins"

// onTimeSQL is the plain-path insert of a chunk whose samples all lie past
// every rollup watermark: the materialiser aggregates them later.
const onTimeSQL = `INSERT INTO samples (asset, signal, ts, kind, num, txt, good)
	SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::float8[], $6::text[], $7::bool[])
	ON CONFLICT (asset, signal, ts) DO NOTHING`

// insertChunk inserts rows; m holds the rollup watermarks on the plain path
// (nil on TimescaleDB), where a chunk with a sample behind the finest
// watermark also updates the tiers it lies behind.
func insertChunk(ctx context.Context, tx pgx.Tx, m *marks, rows []row) (lo, hi *time.Time, err error) {
	n := len(rows)
	assets, signals, kinds := make([]string, n), make([]string, n), make([]string, n)
	tss, nums, txts, goods := make([]time.Time, n), make([]*float64, n), make([]*string, n), make([]bool, n)
	late := false
	for i, r := range rows {
		assets[i], signals[i], tss[i], kinds[i], nums[i], txts[i], goods[i] = r.asset, r.signal, r.ts, r.kind, r.num, r.txt, r.good
		late = late || (m != nil && r.ts.Before(m[0]))
	}
	switch {
	case m == nil:
		err = tx.QueryRow(ctx, timescaleSQL, assets, signals, tss, kinds, nums, txts, goods).Scan(&lo, &hi)
	case late:
		err = tx.QueryRow(ctx, lateSQL, assets, signals, tss, kinds, nums, txts, goods, m[0], m[1], m[2], m[3]).Scan(&lo, &hi)
	default:
		_, err = tx.Exec(ctx, onTimeSQL, assets, signals, tss, kinds, nums, txts, goods)
	}
	return lo, hi, err
}

// monthOf returns the first instant of t's UTC month.
func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// ensurePartitions creates the monthly partitions the rows fall into. It runs
// before (not inside) the insert transaction because attaching a partition
// locks the parent table exclusively; it is rare (once a month per database,
// cached) and safe to race: a writer that loses finds the partition there.
func (s *Store) ensurePartitions(ctx context.Context, rows []row) error {
	var need []time.Time
	s.mu.Lock()
	for _, r := range rows {
		m := monthOf(r.ts)
		if k := m.Format("200601"); !s.parts[k] && !slices.Contains(need, m) {
			need = append(need, m)
		}
	}
	s.mu.Unlock()
	for _, m := range need {
		name := "samples_p" + m.Format("200601")
		q := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF samples FOR VALUES FROM ('%s') TO ('%s')`,
			name, m.Format(time.RFC3339), m.AddDate(0, 1, 0).Format(time.RFC3339))
		var err error
		for range 3 {
			if _, err = s.pool.Exec(ctx, q); err == nil {
				break
			}
			var pe *pgconn.PgError
			// A concurrent creator can win between IF NOT EXISTS and the insert
			// into the catalog; the next try sees its table.
			if !errors.As(err, &pe) || (pe.Code != "42P07" && pe.Code != "23505") {
				break
			}
		}
		if err != nil {
			return internal("create partition "+name, err)
		}
		s.mu.Lock()
		s.parts[m.Format("200601")] = true
		s.mu.Unlock()
	}
	return nil
}

// refreshLate refreshes, in every continuous aggregate whose watermark lies
// after lo, the buckets covering [lo, hi]: real-time aggregation only covers
// rows newer than the watermark, so a late row is otherwise missing until the
// next policy run.
func (s *Store) refreshLate(ctx context.Context, lo, hi time.Time) error {
	// Rows newer than every watermark can be decided without a round trip:
	// a watermark never passes now minus the aggregate's end offset.
	if lo.After(time.Now().Add(-2 * time.Minute)) {
		return nil
	}
	marks, err := s.watermarks(ctx)
	if err != nil {
		return err
	}
	for _, t := range tiers {
		wm, ok := marks[t.table]
		if !ok || !lo.Before(wm) {
			continue
		}
		from := lo.Truncate(t.width)
		to := hi.Truncate(t.width).Add(t.width)
		if to.After(wm) {
			to = wm // beyond the watermark real-time aggregation already answers
		}
		if !to.After(from) {
			continue
		}
		// CALL cannot run in a transaction block, so this is its own statement.
		if _, err := s.pool.Exec(ctx, `CALL refresh_continuous_aggregate($1::regclass, $2::timestamptz, $3::timestamptz)`,
			t.table, from, to); err != nil {
			return err
		}
		s.log.Info("refreshed aggregate for late samples", "aggregate", t.table, "from", from, "to", to)
	}
	return nil
}

// watermarks returns each continuous aggregate's watermark: the end of its
// materialised range.
func (s *Store) watermarks(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT user_view_name, _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(mat_hypertable_id))
		FROM _timescaledb_catalog.continuous_agg WHERE user_view_schema = current_schema()`)
	if err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	var name string
	var wm time.Time
	_, err = pgx.ForEachRow(rows, []any{&name, &wm}, func() error { out[name] = wm; return nil })
	return out, err
}

// RunJobs runs the TimescaleDB policy jobs of the samples hypertable and its
// aggregates now (refresh, compression, retention), in tier order. The
// scheduler does this on a real server; on the PGlite engine jobs run only
// when called. On plain PostgreSQL it materialises the rollup tiers up to now
// less Options.RollupLateness and drops the raw partitions past
// Options.Retention (AppendSamples also does both, as it goes). Errors: INTERNAL.
func (s *Store) RunJobs(ctx context.Context) error {
	if s.getFlavour() == flavourPostgres {
		// Like a refresh policy: everything up to now, less the lateness.
		if err := s.materializeTo(ctx, time.Now().Add(-s.opt.RollupLateness), nil); err != nil {
			return internal("materialise rollups", err)
		}
		if err := s.dropExpired(ctx); err != nil {
			return internal("drop expired partitions", err)
		}
		return nil
	}
	if s.getFlavour() != flavourTimescale {
		return nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT job_id FROM timescaledb_information.jobs
		WHERE hypertable_name IN ('samples', 'samples_1m', 'samples_5m', 'samples_1h', 'samples_1d')
		ORDER BY job_id`)
	if err != nil {
		return internal("run jobs", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return internal("run jobs", err)
	}
	for _, id := range ids {
		if _, err := s.pool.Exec(ctx, `CALL run_job($1)`, id); err != nil {
			return internal(fmt.Sprintf("run job %d", id), err)
		}
	}
	return nil
}

// sweepEvery is how often AppendSamples drops expired partitions (plain path).
const sweepEvery = time.Hour

// dropExpired drops the monthly raw partitions (plain path) that lie wholly
// before now minus Options.Retention; the rollup tables keep their rows, like
// TimescaleDB's continuous aggregates keep theirs after its retention policy.
func (s *Store) dropExpired(ctx context.Context) error {
	if s.opt.Retention <= 0 {
		return nil
	}
	cutoff := time.Now().Add(-s.opt.Retention)
	// A raw partition goes only once every tier holds its samples.
	if err := s.materialize(ctx); err != nil {
		return err
	}
	m, _, err := readMarks(ctx, s.pool)
	if err != nil {
		return err
	}
	cutoff = earlier(cutoff, m[len(m)-1])
	rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'samples'::regclass`)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, n := range names {
		m, err := time.Parse("200601", strings.TrimPrefix(n, "samples_p"))
		if err != nil || m.AddDate(0, 1, 0).After(cutoff) {
			continue
		}
		if _, err := s.pool.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{n}.Sanitize()); err != nil {
			return err
		}
		s.mu.Lock()
		delete(s.parts, m.Format("200601"))
		s.mu.Unlock()
		s.log.Info("dropped expired samples partition", "partition", n)
	}
	return nil
}
