package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Plain PostgreSQL keeps its rollup tiers the way TimescaleDB keeps continuous
// aggregates: each tier is materialised up to a watermark (table
// rollup_watermarks), in bulk, by the process that writes samples; reads add
// what lies past a tier's watermark from the finer tiers and the raw samples.
// A sample written behind a watermark (late) updates those tiers in the same
// statement as its insert. Every read is therefore exact, and the common case
// — samples arriving in time order — costs one raw insert per sample instead
// of an upsert into each of four tiers.
//
// Invariant: tier i holds exactly the good numeric samples of every bucket
// before marks[i], and marks are non-increasing from the finest tier to the
// coarsest, each aligned to its tier's width. While a run is in progress the
// finest tier also holds, in [marks[0], planned), the late samples written
// since the run planned; nothing reads that range of the tier until the run
// adds the rest and moves the mark (see materializeTo).

// marks are the tiers' watermarks, in the order of tiers.
type marks [4]time.Time

// Defaults of the materialiser (Options.RollupLateness, Options.RollupEvery).
const (
	// DefaultRollupLateness is how far behind the newest sample time a
	// bucket is left open: samples that arrive later than this behind the
	// newest take the late path (exact, but an upsert per tier).
	DefaultRollupLateness = time.Minute
	// DefaultRollupEvery is how often a writing process materialises.
	DefaultRollupEvery = 2 * time.Second
)

// Advisory lock keys (two-int form, their own key space) of the table
// rollup_watermarks in the store's schema: writers hold writeLock shared for
// their transaction, the materialiser holds it exclusively to plan and to
// finish a run; runLock makes runs take turns across processes.
const (
	writeLock = `'rollup_watermarks'::regclass::oid::int4, 0`
	runLock   = `'rollup_watermarks'::regclass::oid::int4, 1`
)

// querier is what reading the watermarks needs: a pool, a connection or a
// transaction.
type querier interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}

// readMarks reads the watermarks, and the finest tier's planned mark (zero
// when no run is in progress).
func readMarks(ctx context.Context, q querier) (m marks, planned time.Time, err error) {
	rows, err := q.Query(ctx, `SELECT tier, upto, planned FROM rollup_watermarks`)
	if err != nil {
		return m, planned, err
	}
	var name string
	var upto time.Time
	var plan *time.Time
	seen := 0
	_, err = pgx.ForEachRow(rows, []any{&name, &upto, &plan}, func() error {
		for i, t := range tiers {
			if t.table == name {
				m[i] = upto.UTC()
				seen++
				if i == 0 && plan != nil {
					planned = plan.UTC()
				}
			}
		}
		return nil
	})
	if err == nil && seen != len(tiers) {
		err = fmt.Errorf("rollup_watermarks holds %d of %d tiers", seen, len(tiers))
	}
	return m, planned, err
}

// lockMarks takes the writers' share of the watermark lock for tx and reads
// the watermarks the transaction's samples are judged against. For the
// finest tier that is the planned mark while a run is in progress: the run
// aggregates only what was written before it planned, so a sample written
// since then behind the plan is counted into the tier by its writer.
func lockMarks(ctx context.Context, tx pgx.Tx) (marks, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared(`+writeLock+`)`); err != nil {
		return marks{}, err
	}
	m, planned, err := readMarks(ctx, tx)
	m[0] = later(m[0], planned)
	return m, err
}

// cachedMarks are watermarks read for queries, with when they were read.
type cachedMarks struct {
	m  marks
	at time.Time
}

// marksMaxAge bounds how stale the watermarks a query uses may be. Any
// watermark once read stays a correct split point (tiers only grow behind
// it), so staleness costs only query work, never exactness.
const marksMaxAge = time.Second

// queryMarks returns recent watermarks for a read.
func (s *Store) queryMarks(ctx context.Context) (marks, error) {
	if c := s.marks.Load(); c != nil && time.Since(c.at) < marksMaxAge {
		return c.m, nil
	}
	m, _, err := readMarks(ctx, s.pool)
	if err != nil {
		return m, internal("read rollup watermarks", err)
	}
	s.marks.Store(&cachedMarks{m: m, at: time.Now()})
	return m, nil
}

// noteWritten records what a write tells the materialiser about where the
// data stands: the newest sample time (capped at now), and a low mark — the
// 5th percentile of the write's sample times. The target follows the data,
// not the wall clock, so a replay or backfill is materialised as it goes; and
// it never passes the bulk of what is arriving, so one device with a fast
// clock (or a few on time while the rest lag) cannot turn everyone else's
// samples into late ones.
func (s *Store) noteWritten(rows []row) {
	if len(rows) == 0 {
		return
	}
	now := time.Now().UnixNano()
	// Every row for small writes, an even sample of 1,000 for large ones.
	step := max(1, len(rows)/1000)
	ts := make([]int64, 0, len(rows)/step+1)
	for i := 0; i < len(rows); i += step {
		ts = append(ts, min(rows[i].ts.UnixNano(), now))
	}
	slices.Sort(ts)
	raise(&s.newest, ts[len(ts)-1], func(old, n int64) bool { return n > old })
	raise(&s.low, ts[len(ts)/20], func(old, n int64) bool { return old == 0 || n < old })
}

// raise stores n in v when better(current, n), atomically.
func raise(v *atomic.Int64, n int64, better func(old, n int64) bool) {
	for {
		old := v.Load()
		if !better(old, n) || v.CompareAndSwap(old, n) {
			return
		}
	}
}

// maybeMaterialize starts a materialisation in the background when one is
// due and none is running. A failure is logged; the next one retries it.
func (s *Store) maybeMaterialize() {
	now := time.Now().UnixNano()
	last := s.lastRollup.Load()
	if time.Duration(now-last) < s.opt.RollupEvery || !s.lastRollup.CompareAndSwap(last, now) {
		return
	}
	if !s.rolling.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.rolling.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.materialize(ctx); err != nil {
			s.log.Warn("materialising rollups failed; the next run retries", "err", err)
		}
	}()
}

// materialize advances every tier's watermark to the newest sample time
// written minus Options.RollupLateness, or the low mark of the writes since
// the last run if that is earlier (floored to the tier's width),
// aggregating the buckets it passes from the tier below (the finest from the
// raw samples) in one transaction, under the exclusive watermark lock.
func (s *Store) materialize(ctx context.Context) error {
	newest, low := s.newest.Load(), s.low.Swap(0)
	if newest == 0 {
		return nil
	}
	target := time.Unix(0, newest).UTC().Add(-s.opt.RollupLateness)
	if low != 0 && time.Unix(0, low).Before(target) {
		target = time.Unix(0, low).UTC()
	}
	return s.materializeTo(ctx, target, nil)
}

// materializeTo advances every tier's watermark to target, floored to the
// tier's width, as materialize does. afterPlan, when not nil, runs once the
// run has planned and let writers go; an error from it ends the run there
// (tests use it to write meanwhile, or to stop the run as a crash would).
//
// The finest tier, aggregated from the raw samples, is the costly part, so
// writers are held off only to plan it and to finish it:
//
//  1. plan (writers held off): set the finest tier's planned mark and take
//     a snapshot, which therefore holds exactly the samples written so far;
//     from here on writers count a sample behind the plan into the tier
//     themselves (lockMarks);
//  2. aggregate (writers running): the snapshot's samples in [upto, planned)
//     into a temporary table;
//  3. finish (writers held off): add those rows to the tier, move upto to
//     the plan, and materialise the coarser tiers, which are aggregated from
//     the finest and cost little.
//
// A run that died between 1 and 3 left the tier holding only the late
// samples in [upto, planned): the next run recounts that range from the raw
// samples before it plans. Runs take turns (runLock); a failed run closes
// its connection, which releases its locks and drops its table.
func (s *Store) materializeTo(ctx context.Context, target time.Time, afterPlan func() error) (err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer func() {
		bg := context.WithoutCancel(ctx)
		if err == nil {
			_, err = conn.Exec(bg, `SELECT pg_advisory_unlock_all()`)
		}
		if err != nil {
			conn.Conn().Close(bg)
		}
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+runLock+`)`); err != nil {
		return err
	}
	if err := holdOffWriters(ctx, conn); err != nil {
		return err
	}
	old, planned, err := readMarks(ctx, conn)
	if err != nil {
		return err
	}
	if planned.After(old[0]) {
		if err := recountFinest(ctx, conn, old[0], planned); err != nil {
			return fmt.Errorf("recount %s after an unfinished run: %w", tiers[0].table, err)
		}
		old[0] = planned
	}
	plan := target.Truncate(tiers[0].width)
	batch := plan.After(old[0])
	if batch {
		// This lets writers go while it aggregates; they are held off again to finish.
		if err := aggregateFinest(ctx, conn, old[0], plan, afterPlan); err != nil {
			return fmt.Errorf("materialise %s: %w", tiers[0].table, err)
		}
		if err := holdOffWriters(ctx, conn); err != nil {
			return err
		}
	}
	// The locks are released when the run ends (the deferred unlock).
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '128MB'`); err != nil {
			return err
		}
		if batch {
			if _, err := tx.Exec(ctx, upsertInto(tiers[0].table, `SELECT * FROM rollup_batch`)); err != nil {
				return fmt.Errorf("materialise %s: %w", tiers[0].table, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE rollup_watermarks SET upto = $2, planned = NULL WHERE tier = $1`, tiers[0].table, plan); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DROP TABLE rollup_batch`); err != nil {
				return err
			}
		}
		for i := 1; i < len(tiers); i++ {
			t := tiers[i]
			upto := target.Truncate(t.width)
			if !upto.After(old[i]) {
				continue
			}
			if _, err := tx.Exec(ctx, materializeSQL[i], old[i], upto); err != nil {
				return fmt.Errorf("materialise %s: %w", t.table, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE rollup_watermarks SET upto = $2 WHERE tier = $1`, t.table, upto); err != nil {
				return err
			}
		}
		return nil
	})
}

// writersPatience is how long the materialiser waits for a moment when no
// writer holds the watermark lock before it queues for the lock.
const writersPatience = 500 * time.Millisecond

// holdOffWriters takes writeLock exclusively on conn (a session lock). It
// first tries without queueing: a queued exclusive request would hold off
// every writer that comes after it until the writers before it finish, so
// one long insert would stall them all. Past writersPatience it queues.
func holdOffWriters(ctx context.Context, conn *pgxpool.Conn) error {
	for deadline := time.Now().Add(writersPatience); time.Now().Before(deadline); {
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+writeLock+`)`).Scan(&got); err != nil {
			return err
		}
		if got {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	_, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+writeLock+`)`)
	return err
}

// aggregateFinest plans the finest tier up to plan and aggregates its
// buckets in [from, plan) into the temporary table rollup_batch (steps 1 and
// 2 of materializeTo). The caller holds writeLock exclusively on conn; this
// lets writers go once the snapshot is taken, then runs afterPlan.
func aggregateFinest(ctx context.Context, conn *pgxpool.Conn, from, plan time.Time, afterPlan func() error) error {
	if _, err := conn.Exec(ctx, `UPDATE rollup_watermarks SET planned = $2 WHERE tier = $1`, tiers[0].table, plan); err != nil {
		return err
	}
	return pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		// A repeatable-read transaction's snapshot is taken by its first
		// query: here, while writers are still held off.
		if _, err := tx.Exec(ctx, `SELECT count(*) FROM rollup_watermarks`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_unlock(`+writeLock+`)`); err != nil {
			return err
		}
		if afterPlan != nil {
			if err := afterPlan(); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '128MB'`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TEMP TABLE rollup_batch AS `+aggFromRaw(tiers[0], "samples", "ts >= $1 AND ts < $2"), from, plan)
		return err
	})
}

// recountFinest rebuilds the finest tier's buckets in [from, to) from the
// raw samples and moves its watermark to to, in one transaction; the caller
// holds writeLock exclusively.
func recountFinest(ctx context.Context, conn *pgxpool.Conn, from, to time.Time) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM `+tiers[0].table+` WHERE bucket >= $1 AND bucket < $2`, from, to); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, materializeSQL[0], from, to); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE rollup_watermarks SET upto = $2, planned = NULL WHERE tier = $1`, tiers[0].table, to)
		return err
	})
}

// aggFromRaw aggregates tier-0 rows from raw sample rows (src: a table or a
// CTE with asset, signal, ts, num, good), filtered by cond.
func aggFromRaw(t tier, src, cond string) string {
	return fmt.Sprintf(`SELECT asset, signal, date_bin('%s', ts, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
	       count(*) AS count, sum(num) AS sum, min(num) AS min, max(num) AS max,
	       %s AS first, min(ts) AS first_ts, %s AS last, max(ts) AS last_ts
	FROM %s WHERE good AND num IS NOT NULL AND %s GROUP BY 1, 2, 3`, t.sql, valueAt("min", "ts", "num"), valueAt("max", "ts", "num"), src, cond)
}

// aggFromTier aggregates rows of tier t from the rows of a finer tier (src),
// filtered by cond.
func aggFromTier(t tier, src, cond string) string {
	return fmt.Sprintf(`SELECT asset, signal, date_bin('%s', bucket, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
	       sum(count) AS count, sum(sum) AS sum, min(min) AS min, max(max) AS max,
	       %s AS first, min(first_ts) AS first_ts, %s AS last, max(last_ts) AS last_ts
	FROM %s WHERE %s GROUP BY 1, 2, 3`, t.sql, valueAt("min", "first_ts", "first"), valueAt("max", "last_ts", "last"), src, cond)
}

// valueAt is the value at the earliest (agg min) or latest (max) time of a
// group: the extreme of [epoch seconds, value] pairs, compared time first. A
// plain aggregate, unlike array_agg(... ORDER BY ...), so PostgreSQL can hash
// the groups instead of sorting every row. Epoch seconds as float8 keep
// microseconds exactly for any time in the store's range.
func valueAt(agg, ts, value string) string {
	return fmt.Sprintf("(%s(ARRAY[extract(epoch FROM %s)::float8, %s]))[2]", agg, ts, value)
}

// upsertInto merges aggregated rows (a SELECT) into tier table table.
func upsertInto(table, rows string) string {
	return fmt.Sprintf(`INSERT INTO %[1]s AS t (asset, signal, bucket, count, sum, min, max, first, first_ts, last, last_ts)
	SELECT * FROM (%[2]s) d ORDER BY 1, 2, 3
	ON CONFLICT (asset, signal, bucket) DO UPDATE SET
	    count = t.count + excluded.count,
	    sum = t.sum + excluded.sum,
	    min = least(t.min, excluded.min),
	    max = greatest(t.max, excluded.max),
	    first = CASE WHEN excluded.first_ts < t.first_ts THEN excluded.first ELSE t.first END,
	    first_ts = least(t.first_ts, excluded.first_ts),
	    last = CASE WHEN excluded.last_ts > t.last_ts THEN excluded.last ELSE t.last END,
	    last_ts = greatest(t.last_ts, excluded.last_ts)`, table, rows)
}

// materializeSQL[i] aggregates tier i's buckets in [$1, $2) from the tier
// below it (the raw samples for the finest).
var materializeSQL = func() []string {
	out := make([]string, len(tiers))
	for i, t := range tiers {
		if i == 0 {
			out[i] = upsertInto(t.table, aggFromRaw(t, "samples", "ts >= $1 AND ts < $2"))
		} else {
			out[i] = upsertInto(t.table, aggFromTier(t, tiers[i-1].table, "bucket >= $1 AND bucket < $2"))
		}
	}
	return out
}()

// lateSQL is the plain-path insert of a chunk holding samples behind a
// watermark: the insert, then the rows it added aggregated into each tier
// whose watermark they lie behind ($8..$11: the watermarks, finest first),
// each coarser tier from the one below it. Rows past every watermark are
// left to the materialiser.
var lateSQL = func() string {
	var b strings.Builder
	b.WriteString("WITH ins AS (" + insertSQL + ")")
	for i, t := range tiers {
		var d string
		if i == 0 {
			d = aggFromRaw(t, "ins", "ts < $8")
		} else {
			d = aggFromTier(t, "d_"+tiers[i-1].table, fmt.Sprintf("bucket < $%d", 8+i))
		}
		fmt.Fprintf(&b, ",\nd_%s AS (%s)", t.table, d)
	}
	for _, t := range tiers {
		fmt.Fprintf(&b, ",\nup_%s AS (%s RETURNING 1)", t.table, upsertInto(t.table, "SELECT * FROM d_"+t.table))
	}
	b.WriteString("\nSELECT min(ts), max(ts) FROM ins")
	return b.String()
}()

// liveSource returns the rows of tier i over [$3, $4) as a query: the tier's
// own rows before its watermark, then each finer tier's between the
// watermarks, then the raw samples past the finest watermark — only the
// parts the range reaches, given m. pairs joins the (asset, signal) pairs
// asked for (alias q); param numbers the watermarks' parameters.
func liveSource(i int, m marks, from, to time.Time, pairs string, param func(time.Time) string) string {
	var parts []string
	cols := "q.i, t.bucket, t.count, t.sum, t.min, t.max, t.first, t.first_ts, t.last, t.last_ts"
	if from.Before(m[i]) {
		parts = append(parts, fmt.Sprintf(`SELECT %s FROM %s JOIN %s t ON t.asset = q.asset AND t.signal = q.signal
			AND t.bucket >= $3 AND t.bucket < $4 AND t.bucket < %s`, cols, pairs, tiers[i].table, param(m[i])))
	}
	for j := i - 1; j >= 0; j-- {
		lo, hi := later(from, m[j+1]), earlier(to, m[j])
		if !lo.Before(hi) {
			continue
		}
		parts = append(parts, fmt.Sprintf(`SELECT %s FROM %s JOIN %s t ON t.asset = q.asset AND t.signal = q.signal
			AND t.bucket >= $3 AND t.bucket < $4 AND t.bucket >= %s AND t.bucket < %s`, cols, pairs, tiers[j].table, param(lo), param(hi)))
	}
	if lo := later(from, m[0]); lo.Before(to) {
		parts = append(parts, fmt.Sprintf(`SELECT q.i, t.ts, 1::bigint, t.num, t.num, t.num, t.num, t.ts, t.num, t.ts
			FROM %s JOIN samples t ON t.asset = q.asset AND t.signal = q.signal
			AND t.ts >= $3 AND t.ts < $4 AND t.ts >= %s AND t.good AND t.num IS NOT NULL`, pairs, param(lo)))
	}
	if len(parts) == 0 {
		// Nothing in range: an empty source of the right shape.
		return `SELECT q.i, $3::timestamptz, 0::bigint, 0::float8, 0::float8, 0::float8, 0::float8, $4::timestamptz, 0::float8, $4::timestamptz
			FROM ` + pairs + ` WHERE false`
	}
	return strings.Join(parts, "\nUNION ALL\n")
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// materializerState is the Store's bookkeeping for the materialiser.
type materializerState struct {
	marks      atomic.Pointer[cachedMarks] // for queries
	newest     atomic.Int64                // newest sample time written (UnixNano)
	low        atomic.Int64                // lowest low mark of the writes since the last run (UnixNano; 0: none)
	lastRollup atomic.Int64                // when the last run started (UnixNano)
	rolling    atomic.Bool                 // a run is in progress

}
