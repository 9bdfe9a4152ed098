package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	twin "github.com/twingraph/twingraph"
)

// plan is how one query is answered: from which tier (nil: raw samples) and
// with which bucket expression.
type plan struct {
	tier *tier
	days int            // > 0: buckets are this many local days
	loc  *time.Location // for day buckets
}

// groupKey collects the queries one SQL statement answers.
type groupKey struct {
	from, to time.Time
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
	for i, q := range queries {
		if err := checkQuery(q); err != nil {
			return nil, err
		}
		out[i] = twin.Series{Asset: q.Asset, Metric: q.Metric, Interval: q.Interval, Agg: q.Agg, Points: []twin.Point{}}
		p := planFor(q)
		plans[i] = p
		k := groupKey{from: q.From, to: q.To, interval: q.Interval, agg: q.Agg, days: p.days}
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
		if q.Interval > 0 && q.Fill != twin.FillNone {
			out[i].Points = fill(q, plans[i], out[i].Points)
		}
	}
	return out, nil
}

// maxPoints caps the points of one series.
const maxPoints = 10_000

func checkQuery(q twin.HistoryQuery) error {
	if !q.From.Before(q.To) {
		return twin.Errorf(twin.EBADINPUT, "from must be before to")
	}
	if q.Interval < 0 {
		return twin.Errorf(twin.EBADINPUT, "interval must not be negative")
	}
	if q.Interval > 0 && q.Interval%time.Second != 0 {
		return twin.Errorf(twin.EBADINPUT, "interval must be whole seconds")
	}
	switch q.Agg {
	case twin.AggAvg, twin.AggMin, twin.AggMax, twin.AggSum, twin.AggCount, twin.AggFirst, twin.AggLast:
	default:
		return twin.Errorf(twin.EBADINPUT, "unknown aggregate %q", q.Agg)
	}
	switch q.Fill {
	case twin.FillNone, twin.FillNull, twin.FillPrevious:
	default:
		return twin.Errorf(twin.EBADINPUT, "unknown fill %q", q.Fill)
	}
	if q.Interval > 0 {
		if n := int64(q.To.Sub(q.From) / q.Interval); n > maxPoints {
			return twin.Errorf(twin.ELIMIT, "%d points exceed the limit of %d: use an interval of at least %s",
				n, maxPoints, (q.To.Sub(q.From)/maxPoints + time.Second).Truncate(time.Second))
		}
	}
	return nil
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
	if q.Interval%(24*time.Hour) == 0 {
		p.days = int(q.Interval / (24 * time.Hour))
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

// aligned reports whether t is a multiple of w since the Unix epoch (tiers are
// UTC-aligned, days included).
func aligned(t time.Time, w time.Duration) bool {
	return t.UnixNano()%int64(w) == 0
}

// midnightsAligned reports whether every local midnight the query's buckets
// start at lies on a tier boundary (a zone offset of 5:30 rules out the hour tier).
func midnightsAligned(q twin.HistoryQuery, loc *time.Location, w time.Duration) bool {
	for d := dayStart(q.From, 1, loc); d.Before(q.To); d = d.AddDate(0, 0, 1) {
		if !aligned(d, w) {
			return false
		}
	}
	return true
}

// dayStart returns the local midnight starting t's n-day bucket; n-day buckets
// are counted from 1970-01-01 in the zone.
func dayStart(t time.Time, n int, loc *time.Location) time.Time {
	lt := t.In(loc)
	days := int(time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400)
	days -= ((days % n) + n) % n
	d := time.Unix(int64(days)*86400, 0).UTC()
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
}

// bucketStart returns the start of t's bucket under the plan.
func bucketStart(t time.Time, interval time.Duration, p plan) time.Time {
	if p.days > 0 {
		return dayStart(t, p.days, p.loc)
	}
	ns := t.UnixNano()
	w := int64(interval)
	ns -= ((ns % w) + w) % w
	return time.Unix(0, ns).UTC()
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
// name (day buckets).
func groupSQL(q twin.HistoryQuery, p plan) string {
	var b strings.Builder
	const pairs = `unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(asset, signal, i)`
	if q.Interval == 0 {
		fmt.Fprintf(&b, `SELECT q.i, t.ts, t.num FROM %s
			JOIN samples t ON t.asset = q.asset AND t.signal = q.signal
			 AND t.ts >= $3 AND t.ts < $4 AND t.good AND t.num IS NOT NULL
			ORDER BY q.i, t.ts`, pairs)
		return b.String()
	}
	table, col := "samples", "ts"
	where := "AND t.good AND t.num IS NOT NULL"
	if p.tier != nil {
		table, col, where = p.tier.table, "bucket", ""
	}
	var bucket string
	identity := false
	switch {
	case p.days > 0:
		// Local date, floored to n days since 1970-01-01, back to the zone's midnight.
		bucket = fmt.Sprintf(`((DATE '1970-01-01' + ((((t.%[1]s AT TIME ZONE $5)::date - DATE '1970-01-01') / %[2]d) * %[2]d))::timestamp AT TIME ZONE $5)`, col, p.days)
		if p.days == 1 && p.tier != nil && p.tier.width == 24*time.Hour && p.loc == time.UTC {
			identity = true
		}
	default:
		bucket = fmt.Sprintf(`date_bin($5::interval, t.%s, TIMESTAMPTZ '1970-01-01 00:00:00+00')`, col)
		if p.tier != nil && p.tier.width == q.Interval {
			identity = true
		}
	}
	if identity {
		fmt.Fprintf(&b, `SELECT q.i, t.bucket, %s FROM %s
			JOIN %s t ON t.asset = q.asset AND t.signal = q.signal AND t.bucket >= $3 AND t.bucket < $4
			ORDER BY q.i, t.bucket`, aggExpr(q.Agg, false, true), pairs, table)
		return b.String()
	}
	fmt.Fprintf(&b, `SELECT q.i, %[1]s AS b, %[2]s FROM %[3]s
		JOIN %[4]s t ON t.asset = q.asset AND t.signal = q.signal AND t.%[5]s >= $3 AND t.%[5]s < $4 %[6]s
		GROUP BY 1, 2 ORDER BY 1, 2`, bucket, aggExpr(q.Agg, p.tier == nil, false), pairs, table, col, where)
	return b.String()
}

func (s *Store) queryGroup(ctx context.Context, queries []twin.HistoryQuery, p plan, idx []int, out []twin.Series) error {
	q0 := queries[idx[0]]
	assets := make([]string, len(idx))
	metrics := make([]string, len(idx))
	for j, i := range idx {
		assets[j], metrics[j] = queries[i].Asset, queries[i].Metric
	}
	args := []any{assets, metrics, q0.From, q0.To}
	sqlText := groupSQL(q0, p)
	if strings.Contains(sqlText, "$5") {
		if p.days > 0 {
			args = append(args, p.loc.String())
		} else {
			args = append(args, q0.Interval)
		}
	}
	if q0.Interval == 0 {
		// Cap raw rows like buckets: one more than allowed per series tells
		// the caller to ask for an interval.
		sqlText = fmt.Sprintf(`SELECT i, ts, num FROM (SELECT r.*, row_number() OVER (PARTITION BY r.i ORDER BY r.ts) AS n FROM (%s) r) x WHERE n <= %d ORDER BY i, ts`, sqlText, maxPoints+1)
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
			if len(out[k].Points) > maxPoints {
				return twin.Errorf(twin.ELIMIT, "more than %d raw samples of %s %s: ask for an interval", maxPoints, queries[k].Asset, queries[k].Metric)
			}
		}
	}
	return nil
}

// fill adds the empty buckets of [From, To) with a null or the previous value.
func fill(q twin.HistoryQuery, p plan, pts []twin.Point) []twin.Point {
	out := make([]twin.Point, 0, len(pts))
	j := 0
	var prev *float64
	step := func(t time.Time) time.Time {
		if p.days > 0 {
			return t.AddDate(0, 0, p.days)
		}
		return t.Add(q.Interval)
	}
	for t := bucketStart(q.From, q.Interval, p); t.Before(q.To); t = step(t) {
		if j < len(pts) && pts[j].TS.Equal(t) {
			out = append(out, pts[j])
			prev = pts[j].Value
			j++
			continue
		}
		var v *float64
		if q.Fill == twin.FillPrevious && prev != nil {
			c := *prev
			v = &c
		}
		out = append(out, twin.Point{TS: t, Value: v})
	}
	return out
}
