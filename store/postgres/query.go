package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	twin "github.com/twingraph/twingraph"
)

// day is the nominal width of a day bucket; intervals from a day up are
// whole local days (twin.CheckHistoryQuery).
const day = 24 * time.Hour

// plan is how one query is answered: from which tier (nil: raw samples) and
// with which bucket expression.
type plan struct {
	tier *tier
	days int            // > 0: buckets are this many local days
	loc  *time.Location // for day buckets
}

// groupKey collects the queries one SQL statement answers.
type groupKey struct {
	from, to int64 // UnixNano: equal instants in other zones share a group
	interval time.Duration
	agg      twin.Agg
	table    string
	days     int
	loc      string
}

// QueryHistory answers the queries with one SQL statement per distinct (range,
// interval, agg, tier, time zone) group: the group's (asset, metric) pairs go
// in as arrays and come back tagged with their position. Each query is read
// from the coarsest tier whose buckets tile both the interval and the range
// (raw samples when none does) and re-aggregated to the interval in SQL; only
// good numeric samples (bools as 1/0) count. Day intervals bucket at midnight
// in the query's Location. Interval 0 returns the raw good samples.
// Errors: BAD_INPUT, LIMIT, INTERNAL.
func (s *Store) QueryHistory(ctx context.Context, queries []twin.HistoryQuery) ([]twin.Series, error) {
	out := make([]twin.Series, len(queries))
	groups := map[groupKey][]int{}
	var order []groupKey
	plans := make([]plan, len(queries))
	queries = slices.Clone(queries)
	for i := range queries {
		if queries[i].Agg == "" {
			queries[i].Agg = twin.AggAvg
		}
		q := queries[i]
		if err := twin.CheckHistoryQuery(q); err != nil {
			return nil, err
		}
		out[i] = twin.Series{Asset: q.Asset, Metric: q.Metric, Interval: q.Interval, Agg: q.Agg, Points: []twin.Point{}}
		p := planFor(q)
		plans[i] = p
		k := groupKey{from: q.From.UnixNano(), to: q.To.UnixNano(), interval: q.Interval, agg: q.Agg, days: p.days}
		if p.tier != nil {
			k.table = p.tier.table
		}
		if p.loc != nil {
			k.loc = p.loc.String()
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	for _, k := range order {
		idx := groups[k]
		if err := s.queryGroup(ctx, queries, plans[idx[0]], idx, out); err != nil {
			return nil, err
		}
	}
	for i, q := range queries {
		out[i].Points = twin.FillSeries(out[i].Points, q)
	}
	return out, nil
}

// planFor picks the coarsest tier whose buckets tile the query's buckets and
// range exactly; nil tier means aggregate raw samples.
func planFor(q twin.HistoryQuery) plan {
	var p plan
	if q.Interval == 0 {
		return p
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	if q.Interval >= day {
		p.days = int(q.Interval / day)
		p.loc = loc
	}
	for i := len(tiers) - 1; i >= 0; i-- {
		t := &tiers[i]
		if q.Interval%t.width != 0 || !aligned(q.From, t.width) || !aligned(q.To, t.width) {
			continue
		}
		if p.days > 0 && !midnightsAligned(q, loc, t.width) {
			continue
		}
		p.tier = t
		break
	}
	return p
}

// aligned reports whether t starts a bucket of width w (tiers are UTC-aligned,
// days included).
func aligned(t time.Time, w time.Duration) bool {
	return t.UnixNano()%int64(w) == 0
}

// midnightsAligned reports whether every local midnight the query's buckets
// start at lies on a tier boundary (a zone offset of 5:30 rules out the hour tier).
func midnightsAligned(q twin.HistoryQuery, loc *time.Location, w time.Duration) bool {
	for d := twin.BucketStart(q.From, day, loc); d.Before(q.To); d = twin.NextBucket(d, day, loc) {
		if !aligned(d, w) {
			return false
		}
	}
	return true
}

// aggExpr returns the SQL of the aggregate over tier rows (grouped), over tier
// rows one to one (identity), or over raw samples.
func aggExpr(a twin.Agg, raw, identity bool) string {
	switch {
	case raw:
		return map[twin.Agg]string{
			twin.AggAvg:   "sum(t.num) / count(*)",
			twin.AggMin:   "min(t.num)",
			twin.AggMax:   "max(t.num)",
			twin.AggSum:   "sum(t.num)",
			twin.AggCount: "count(*)::float8",
			twin.AggFirst: "(array_agg(t.num ORDER BY t.ts))[1]",
			twin.AggLast:  "(array_agg(t.num ORDER BY t.ts DESC))[1]",
		}[a]
	case identity:
		return map[twin.Agg]string{
			twin.AggAvg:   "t.sum / t.count",
			twin.AggMin:   "t.min",
			twin.AggMax:   "t.max",
			twin.AggSum:   "t.sum",
			twin.AggCount: "t.count::float8",
			twin.AggFirst: "t.first",
			twin.AggLast:  "t.last",
		}[a]
	default:
		return map[twin.Agg]string{
			twin.AggAvg:   "sum(t.sum) / sum(t.count)",
			twin.AggMin:   "min(t.min)",
			twin.AggMax:   "max(t.max)",
			twin.AggSum:   "sum(t.sum)",
			twin.AggCount: "sum(t.count)::float8",
			twin.AggFirst: "(array_agg(t.first ORDER BY t.first_ts))[1]",
			twin.AggLast:  "(array_agg(t.last ORDER BY t.last_ts DESC))[1]",
		}[a]
	}
}

// groupSQL builds the statement of one group. Parameters: $1 assets, $2
// metrics, $3 from, $4 to, then $5 the interval (fixed buckets) or the zone
// name (day buckets), then the watermarks a plain-path tier read needs (live:
// the rollup watermarks, nil on TimescaleDB, whose aggregates answer past
// their watermark themselves). It returns the statement and the extra
// parameters it refers to after $5.
func groupSQL(q twin.HistoryQuery, p plan, single bool, live *marks) (string, []any) {
	var b strings.Builder
	pairs := `unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(asset, signal, i)`
	if single {
		// One series (the common dashboard case): scalars let the planner use
		// the primary key directly, as hand-written SQL would.
		pairs = `(SELECT $1::text AS asset, $2::text AS signal, 1::bigint AS i) q`
	}
	if q.Interval == 0 {
		fmt.Fprintf(&b, `SELECT q.i, t.ts, t.num FROM %s
			JOIN samples t ON t.asset = q.asset AND t.signal = q.signal
			 AND t.ts >= $3 AND t.ts < $4 AND t.good AND t.num IS NOT NULL
			ORDER BY q.i, t.ts`, pairs)
		return b.String(), nil
	}
	source := fmt.Sprintf("%s JOIN samples t ON t.asset = q.asset AND t.signal = q.signal AND t.ts >= $3 AND t.ts < $4 AND t.good AND t.num IS NOT NULL", pairs)
	col, iCol := "ts", "q.i"
	var extra []any
	alone := true
	if p.tier != nil {
		source = fmt.Sprintf("%s JOIN %s t ON t.asset = q.asset AND t.signal = q.signal AND t.bucket >= $3 AND t.bucket < $4", pairs, p.tier.table)
		col = "bucket"
		if live != nil {
			param := func(t time.Time) string {
				extra = append(extra, t)
				return fmt.Sprintf("$%d::timestamptz", 5+len(extra))
			}
			// Grouped even where one tier row is one bucket: the finer
			// parts need it, and $5 must be referred to.
			alone = false
			source = liveSource(slices.Index(tiers, *p.tier), *live, q.From, q.To, pairs, param)
			source = "(" + source + ") AS t(i, bucket, count, sum, min, max, first, first_ts, last, last_ts)"
			iCol = "t.i"
		}
	}
	var bucket string
	identity := false
	switch {
	case p.days > 0:
		// Local date, floored to n days since 1970-01-01, back to the zone's midnight.
		bucket = fmt.Sprintf(`((DATE '1970-01-01' + ((((t.%[1]s AT TIME ZONE $5)::date - DATE '1970-01-01') / %[2]d) * %[2]d))::timestamp AT TIME ZONE $5)`, col, p.days)
		if p.days == 1 && p.tier != nil && p.tier.width == day && p.loc == time.UTC {
			identity = alone
		}
	default:
		bucket = fmt.Sprintf(`date_bin($5::interval, t.%s, TIMESTAMPTZ '1970-01-01 00:00:00+00')`, col)
		if p.tier != nil && p.tier.width == q.Interval {
			identity = alone
		}
	}
	if identity {
		fmt.Fprintf(&b, `SELECT %s, t.bucket, %s FROM %s ORDER BY 1, 2`, iCol, aggExpr(q.Agg, false, true), source)
		return b.String(), extra
	}
	fmt.Fprintf(&b, `SELECT %s, %s AS b, %s FROM %s GROUP BY 1, 2 ORDER BY 1, 2`,
		iCol, bucket, aggExpr(q.Agg, p.tier == nil, false), source)
	return b.String(), extra
}

func (s *Store) queryGroup(ctx context.Context, queries []twin.HistoryQuery, p plan, idx []int, out []twin.Series) error {
	q0 := queries[idx[0]]
	assets := make([]string, len(idx))
	metrics := make([]string, len(idx))
	for j, i := range idx {
		assets[j], metrics[j] = queries[i].Asset, queries[i].Metric
	}
	args := []any{assets, metrics, q0.From, q0.To}
	if len(idx) == 1 {
		args[0], args[1] = assets[0], metrics[0]
	}
	var live *marks
	if p.tier != nil && s.getFlavour() == flavourPostgres {
		m, err := s.queryMarks(ctx)
		if err != nil {
			return err
		}
		live = &m
	}
	sqlText, extra := groupSQL(q0, p, len(idx) == 1, live)
	if strings.Contains(sqlText, "$5") {
		if p.days > 0 {
			args = append(args, p.loc.String())
		} else {
			args = append(args, q0.Interval)
		}
	}
	args = append(args, extra...) // $6 on: grouped reads always use $5
	if q0.Interval == 0 {
		// Cap raw rows like buckets: one more than allowed per series tells
		// the caller to ask for an interval.
		sqlText = fmt.Sprintf(`SELECT i, ts, num FROM (SELECT r.*, row_number() OVER (PARTITION BY r.i ORDER BY r.ts) AS n FROM (%s) r) x WHERE n <= %d ORDER BY i, ts`, sqlText, twin.DefaultMaxPoints+1)
	}
	rows, err := s.pool.Query(ctx, sqlText, args...)
	if err != nil {
		return internal("query history", err)
	}
	var i int64
	var ts time.Time
	var v *float64
	_, err = pgx.ForEachRow(rows, []any{&i, &ts, &v}, func() error {
		k := idx[i-1]
		out[k].Points = append(out[k].Points, twin.Point{TS: ts.UTC(), Value: v})
		return nil
	})
	if err != nil {
		return internal("query history", err)
	}
	if q0.Interval == 0 {
		for _, k := range idx {
			if err := twin.TooManyPoints(queries[k], len(out[k].Points), twin.DefaultMaxPoints); err != nil {
				return err
			}
		}
	}
	return nil
}
