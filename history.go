package twin

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// History-query helpers shared by every HistoryStore, so the memory store and
// the SQL stores bucket, validate, re-aggregate and gap-fill identically.
//
// Bucket alignment: an interval shorter than a day is aligned to the Unix epoch
// (bucket starts are multiples of the interval since 1970-01-01T00:00:00Z); an
// interval of one or more whole days starts at local midnight in the query's
// location, counting days from the local date 1970-01-01. The stored tiers
// (Tiers) are all aligned to the Unix epoch, the 1d tier to UTC midnight.
// Bucket starts are returned in UTC (the REST and GraphQL layers render them in
// the site's zone).

// oneDay is the nominal length of a day bucket. Day buckets start at local
// midnight, so across a daylight-saving change one lasts 23 or 25 hours.
const oneDay = 24 * time.Hour

// DefaultMaxPoints bounds the points of one series unless a store is told otherwise.
const DefaultMaxPoints = 10000

// HistoryMinTime and HistoryMaxTime bound the from and to of a history query.
// Telemetry is never older than the Unix epoch, and keeping the span well
// under the ~292 years a time.Duration holds (and inside the years UnixNano
// can represent, 1678-2262) keeps every bucket count and store key exact.
var (
	HistoryMinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	HistoryMaxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Tiers are the pre-aggregated bucket widths a store may keep (continuous
// aggregates or rollups), finest first. All are aligned to the Unix epoch.
var Tiers = []time.Duration{time.Minute, 5 * time.Minute, time.Hour, oneDay}

// ParseDuration reads a query interval: any Go duration ("10s", "15m", "1h30m"),
// a whole number of days ("1d", "7d"), or an ISO 8601 duration of weeks,
// days, hours, minutes and seconds ("PT5M", "P1DT12H", "PT0.5S"). ISO years
// and months are refused: they have no fixed length. Errors: BAD_INPUT.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "P") || strings.HasPrefix(s, "p") {
		return parseISODuration(s)
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil || days <= 0 || days > math.MaxInt64/int64(oneDay) {
			return 0, Errorf(EBADINPUT, "bad duration %q: want e.g. 10s, 1m, 15m, 1h or 1d", s)
		}
		return time.Duration(days) * oneDay, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, Errorf(EBADINPUT, "bad duration %q: want e.g. 10s, 1m, 15m, 1h or 1d", s)
	}
	return d, nil
}

// isoDuration matches the fixed-length ISO 8601 durations: PnW, PnD, and
// PnDTnHnMnS with any part left out (seconds may have a fraction).
var isoDuration = regexp.MustCompile(`^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$`)

func parseISODuration(s string) (time.Duration, error) {
	bad := Errorf(EBADINPUT, "bad duration %q: want e.g. 15m or ISO 8601 PT15M (days, hours, minutes, seconds; no years or months)", s)
	m := isoDuration.FindStringSubmatch(strings.ToUpper(s))
	if m == nil || strings.HasSuffix(m[0], "P") || strings.HasSuffix(m[0], "T") {
		return 0, bad
	}
	num := func(i int) int64 {
		if m[i] == "" {
			return 0
		}
		n, err := strconv.ParseInt(m[i], 10, 64)
		if err != nil || n > math.MaxInt64/int64(oneDay) {
			return -1
		}
		return n
	}
	w, d, h, min := num(1), num(2), num(3), num(4)
	if w < 0 || d < 0 || h < 0 || min < 0 || w > math.MaxInt32 || d > math.MaxInt32 {
		return 0, bad
	}
	// Go's parser checks the sum for overflow.
	g := fmt.Sprintf("%dh%dm%ss", (w*7+d)*24+h, min, cmp.Or(strings.ReplaceAll(m[5], ",", "."), "0"))
	out, err := time.ParseDuration(g)
	if err != nil {
		return 0, bad
	}
	return out, nil
}

// FormatDuration writes d in the largest whole unit among days, hours, minutes
// and seconds ("1d", "2h", "15m", "10s"), so ParseDuration reads it back; other
// durations use Go's notation.
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%oneDay == 0:
		return strconv.FormatInt(int64(d/oneDay), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// TierFor returns the coarsest tier whose buckets nest exactly inside the
// buckets of interval in loc, or 0 (raw samples) when none does.
//
// Below a day both are epoch-aligned, so a tier fits when it divides the
// interval. Day buckets start at local midnight: a tier fits when it divides a
// day and every UTC offset loc has used since 1970 (and for the next year) is a
// multiple of it — so the 1d tier only fits zones always at UTC+0, the 1h tier
// fits Asia/Jakarta (+07:00) but not Asia/Kolkata (+05:30), where 5m is used.
func TierFor(interval time.Duration, loc *time.Location) time.Duration {
	return TierForRange(interval, loc, time.Unix(0, 0), time.Now().AddDate(1, 0, 0))
}

// TierForRange is TierFor considering only the offsets loc uses in [from, to],
// which lets a query over recent data use a coarser tier than a zone's history allows.
func TierForRange(interval time.Duration, loc *time.Location, from, to time.Time) time.Duration {
	if interval <= 0 {
		return 0
	}
	if loc == nil {
		loc = time.UTC
	}
	daily := interval >= oneDay
	if daily && interval%oneDay != 0 {
		return 0
	}
	var offs []int
	if daily {
		offs = zoneOffsets(loc, from, to)
	}
	for i := len(Tiers) - 1; i >= 0; i-- {
		t := Tiers[i]
		if interval%t != 0 {
			continue
		}
		if daily && !offsetsAligned(offs, t) {
			continue
		}
		return t
	}
	return 0
}

// offsetsAligned reports whether every offset (seconds) is a multiple of tier.
func offsetsAligned(offs []int, tier time.Duration) bool {
	step := int64(tier / time.Second)
	for _, o := range offs {
		if int64(o)%step != 0 {
			return false
		}
	}
	return true
}

// zoneOffsets lists the distinct UTC offsets (seconds) loc uses in [from, to].
func zoneOffsets(loc *time.Location, from, to time.Time) []int {
	var offs []int
	seen := map[int]bool{}
	t := from.In(loc)
	for range 10000 { // bounded: a zone has a few hundred transitions at most
		_, off := t.Zone()
		if !seen[off] {
			seen[off] = true
			offs = append(offs, off)
		}
		_, end := t.ZoneBounds()
		if end.IsZero() || end.After(to) || !end.After(t) {
			break
		}
		t = end
	}
	return offs
}

// BucketStart returns the start (in UTC) of the bucket of width interval holding
// ts: epoch-aligned below a day; at or above a day, local midnight in loc (nil
// is UTC) counting whole days from the local date 1970-01-01. An interval <= 0
// returns ts.
func BucketStart(ts time.Time, interval time.Duration, loc *time.Location) time.Time {
	if interval <= 0 {
		return ts
	}
	if interval >= oneDay {
		if loc == nil {
			loc = time.UTC
		}
		days := int64(interval / oneDay)
		y, m, d := ts.In(loc).Date()
		dn := floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), 86400)
		dn = floorDiv(dn, days) * days
		c := time.Unix(dn*86400, 0).UTC()
		return time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, loc).UTC()
	}
	// time.Truncate counts from year 1, not 1970: wrong for widths that do not divide a day.
	if interval%time.Second == 0 {
		step := int64(interval / time.Second)
		return time.Unix(floorDiv(ts.Unix(), step)*step, 0).UTC()
	}
	step := int64(interval)
	return time.Unix(0, floorDiv(ts.UnixNano(), step)*step).UTC()
}

// NextBucket returns the start (in UTC) of the bucket after the one starting at start.
func NextBucket(start time.Time, interval time.Duration, loc *time.Location) time.Time {
	if interval >= oneDay {
		if loc == nil {
			loc = time.UTC
		}
		y, m, d := start.In(loc).Date()
		return time.Date(y, m, d+int(interval/oneDay), 0, 0, 0, 0, loc).UTC()
	}
	return start.Add(interval).UTC()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// CountBuckets returns how many buckets of interval meet [from, to) (the first
// may start before from).
func CountBuckets(from, to time.Time, interval time.Duration, loc *time.Location) int64 {
	if interval <= 0 || !to.After(from) {
		return 0
	}
	first := BucketStart(from, interval, loc)
	if interval < oneDay {
		return int64((to.Sub(first) + interval - 1) / interval)
	}
	// Local days vary by an hour; count them exactly when the range is small.
	if to.Sub(first)/interval > DefaultMaxPoints*10 {
		return int64(to.Sub(first)/interval) + 1
	}
	var n int64
	for b := first; b.Before(to); b = NextBucket(b, interval, loc) {
		n++
	}
	return n
}

// Accum accumulates the samples of one bucket so every Agg can be read from
// it, and so accumulators of finer buckets merge exactly into coarser ones:
// the average is Sum/Count (weighted by count), first and last go by timestamp.
type Accum struct {
	// Count is the number of samples.
	Count int64
	// Sum, Min and Max aggregate the values.
	Sum, Min, Max float64
	// First and Last are the values of the earliest and the latest sample.
	First, Last float64
	// FirstTS and LastTS are the times of those samples.
	FirstTS, LastTS time.Time
}

// Add accumulates one sample.
func (a *Accum) Add(ts time.Time, v float64) {
	a.Merge(Accum{Count: 1, Sum: v, Min: v, Max: v, First: v, Last: v, FirstTS: ts, LastTS: ts})
}

// Merge folds o into a. On equal timestamps the value already in a wins for
// First and o's value for Last (samples are unique per timestamp, so stores
// never meet the tie).
func (a *Accum) Merge(o Accum) {
	if o.Count == 0 {
		return
	}
	if a.Count == 0 {
		*a = o
		return
	}
	a.Count += o.Count
	a.Sum += o.Sum
	a.Min = math.Min(a.Min, o.Min)
	a.Max = math.Max(a.Max, o.Max)
	if o.FirstTS.Before(a.FirstTS) {
		a.First, a.FirstTS = o.First, o.FirstTS
	}
	if !o.LastTS.Before(a.LastTS) {
		a.Last, a.LastTS = o.Last, o.LastTS
	}
}

// Value returns the aggregate agg ("" is AVG); NaN for an empty accumulator
// except for COUNT, which is 0.
func (a Accum) Value(agg Agg) float64 {
	if agg == AggCount {
		return float64(a.Count)
	}
	if a.Count == 0 {
		return math.NaN()
	}
	switch agg {
	case AggMin:
		return a.Min
	case AggMax:
		return a.Max
	case AggSum:
		return a.Sum
	case AggFirst:
		return a.First
	case AggLast:
		return a.Last
	}
	return a.Sum / float64(a.Count)
}

// NumericValue returns a sample value as a number for aggregation: numbers as
// they are, bools as 1 or 0; strings and lists are stored but not aggregated.
func NumericValue(v Value) (float64, bool) {
	switch v.Kind {
	case KindNumber:
		return v.Num, true
	case KindBool:
		if v.Bool {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// CheckHistoryQuery validates q before a store runs it, with a cap of
// maxPoints[0] points (DefaultMaxPoints when absent or <= 0).
// BAD_INPUT: missing bounds, a bound outside [HistoryMinTime, HistoryMaxTime],
// To not after From, a negative interval, one that is not whole seconds (or not
// whole days from a day up), an unknown Agg or Fill, a Fill without an interval.
// LIMIT: more buckets than the cap; the message names the smallest common
// interval that fits. A raw query (Interval 0) cannot be counted beforehand:
// stores check its result with TooManyPoints.
func CheckHistoryQuery(q HistoryQuery, maxPoints ...int) error {
	max := DefaultMaxPoints
	if len(maxPoints) > 0 && maxPoints[0] > 0 {
		max = maxPoints[0]
	}
	if q.From.IsZero() || q.To.IsZero() {
		return Errorf(EBADINPUT, "history of %s: from and to are required", q.Metric)
	}
	for _, b := range []struct {
		name string
		t    time.Time
	}{{"from", q.From}, {"to", q.To}} {
		if b.t.Before(HistoryMinTime) || b.t.After(HistoryMaxTime) {
			return Errorf(EBADINPUT, "history of %s: %s (%s) must be between %s and %s", q.Metric, b.name,
				b.t.UTC().Format(time.RFC3339), HistoryMinTime.Format(time.RFC3339), HistoryMaxTime.Format(time.RFC3339))
		}
	}
	if !q.To.After(q.From) {
		return Errorf(EBADINPUT, "history of %s: to (%s) must be after from (%s)", q.Metric,
			q.To.Format(time.RFC3339), q.From.Format(time.RFC3339))
	}
	if q.Interval < 0 {
		return Errorf(EBADINPUT, "history of %s: negative interval %s", q.Metric, q.Interval)
	}
	if q.Interval%time.Second != 0 {
		return Errorf(EBADINPUT, "history of %s: interval %s is not a whole number of seconds", q.Metric, q.Interval)
	}
	if q.Interval > oneDay && q.Interval%oneDay != 0 {
		return Errorf(EBADINPUT, "history of %s: interval %s: intervals over a day must be whole days", q.Metric, FormatDuration(q.Interval))
	}
	if !ValidAgg(q.Agg) {
		return Errorf(EBADINPUT, "history of %s: unknown aggregate %q (want one of AVG, MIN, MAX, SUM, COUNT, FIRST, LAST)", q.Metric, q.Agg)
	}
	switch q.Fill {
	case FillNone, FillNull, FillPrevious:
	default:
		return Errorf(EBADINPUT, "history of %s: unknown fill %q (want NULL or PREVIOUS)", q.Metric, q.Fill)
	}
	if q.Interval == 0 {
		if q.Fill != FillNone {
			return Errorf(EBADINPUT, "history of %s: fill needs an interval", q.Metric)
		}
		return nil
	}
	if n := CountBuckets(q.From, q.To, q.Interval, q.Location); n > int64(max) {
		return limitError(q, n, max)
	}
	return nil
}

// ValidAgg reports whether agg is one of Aggs or "" (which stores read as AVG).
func ValidAgg(agg Agg) bool {
	if agg == "" {
		return true
	}
	for _, a := range Aggs {
		if a == agg {
			return true
		}
	}
	return false
}

// TooManyPoints returns the LIMIT error for a query answering n points when
// that is more than maxPoints (<= 0 means DefaultMaxPoints), else nil.
func TooManyPoints(q HistoryQuery, n, maxPoints int) error {
	if maxPoints <= 0 {
		maxPoints = DefaultMaxPoints
	}
	if n <= maxPoints {
		return nil
	}
	return limitError(q, int64(n), maxPoints)
}

func limitError(q HistoryQuery, n int64, max int) error {
	what := "interval " + FormatDuration(q.Interval)
	if q.Interval == 0 {
		what = "raw samples"
	}
	return Errorf(ELIMIT, "history of %s: %s from %s to %s gives %d points, more than the limit of %d; use interval %s or larger",
		q.Metric, what, q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), n, max,
		FormatDuration(SuggestInterval(q.From, q.To, max)))
}

// niceIntervals are the intervals SuggestInterval proposes.
var niceIntervals = []time.Duration{
	time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	oneDay, 2 * oneDay, 7 * oneDay, 14 * oneDay, 30 * oneDay, 91 * oneDay, 365 * oneDay,
}

// SuggestInterval returns the smallest common interval that keeps [from, to)
// within maxPoints buckets (whatever the alignment: it leaves a bucket to spare).
func SuggestInterval(from, to time.Time, maxPoints int) time.Duration {
	if maxPoints <= 0 {
		maxPoints = DefaultMaxPoints
	}
	span := to.Sub(from)
	for _, d := range niceIntervals {
		// +2: a bucket started before from, and one more for a local day of 25 hours.
		if int64((span+d-1)/d)+2 <= int64(maxPoints) {
			return d
		}
	}
	return (span/oneDay/time.Duration(maxPoints) + 2) * oneDay
}

// FillSeries gap-fills the buckets of q.Interval over [q.From, q.To) that
// points (bucket starts, in time order) lack: with a null value for FillNull,
// with the previous bucket's value for FillPrevious (null before the first
// value in range). Points are returned unchanged for FillNone or a raw query.
func FillSeries(points []Point, q HistoryQuery) []Point {
	if q.Fill == FillNone || q.Interval <= 0 || !q.To.After(q.From) {
		return points
	}
	out := make([]Point, 0, CountBuckets(q.From, q.To, q.Interval, q.Location))
	i := 0
	var prev *float64
	for b := BucketStart(q.From, q.Interval, q.Location); b.Before(q.To); b = NextBucket(b, q.Interval, q.Location) {
		for i < len(points) && points[i].TS.Before(b) {
			out = append(out, points[i]) // off the bucket grid: keep it rather than lose data
			i++
		}
		if i < len(points) && points[i].TS.Equal(b) {
			out = append(out, points[i])
			prev = points[i].Value
			i++
			continue
		}
		p := Point{TS: b}
		if q.Fill == FillPrevious && prev != nil {
			v := *prev
			p.Value = &v
		}
		out = append(out, p)
	}
	return append(out, points[i:]...)
}

// String describes a query for logs and errors.
func (q HistoryQuery) String() string {
	return fmt.Sprintf("%s %s [%s, %s) every %s %s", q.Asset, q.Metric,
		q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), FormatDuration(q.Interval), q.Agg)
}
