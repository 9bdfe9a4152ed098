package twin_test

import (
	"math"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"10s", 10 * time.Second, false}, {"1m", time.Minute, false}, {"15m", 15 * time.Minute, false},
		{"1h", time.Hour, false}, {"1d", 24 * time.Hour, false}, {"7d", 7 * 24 * time.Hour, false},
		{"1h30m", 90 * time.Minute, false}, {"", 0, true}, {"d", 0, true}, {"1.5d", 0, true},
		{"-1m", 0, true}, {"0d", 0, true}, {"abc", 0, true},
		// ISO 8601, fixed-length parts only.
		{"PT5M", 5 * time.Minute, false}, {"pt5m", 5 * time.Minute, false}, {"PT1H30M", 90 * time.Minute, false},
		{"P1D", 24 * time.Hour, false}, {"P1W", 7 * 24 * time.Hour, false}, {"P1DT12H", 36 * time.Hour, false},
		{"PT0.5S", 500 * time.Millisecond, false}, {"PT1,5S", 1500 * time.Millisecond, false}, {"PT10S", 10 * time.Second, false},
		{"P", 0, true}, {"PT", 0, true}, {"P1DT", 0, true}, {"P1M", 0, true}, {"P1Y", 0, true},
		{"PT-5M", 0, true}, {"PT5M1H", 0, true}, {"P99999999999999999999D", 0, true}, {"PT9999999999999H", 0, true},
	} {
		got, err := twin.ParseDuration(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, err %v", c.in, got, err, c.want, c.err)
		}
		if err != nil && twin.ErrorCode(err) != twin.EBADINPUT {
			t.Errorf("ParseDuration(%q) error code %s", c.in, twin.ErrorCode(err))
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute: "1m", time.Hour: "1h", 24 * time.Hour: "1d", 48 * time.Hour: "2d",
		15 * time.Minute: "15m", 10 * time.Second: "10s", 90 * time.Minute: "90m", 0: "0s",
	} {
		if got := twin.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := twin.ParseDuration(want); d != 0 && (err != nil || back != d) {
			t.Errorf("ParseDuration(%q) = %v, %v", want, back, err)
		}
	}
}

func TestTierFor(t *testing.T) {
	utc, jkt, kol := time.UTC, mustZone(t, "Asia/Jakarta"), mustZone(t, "Asia/Kolkata")
	for _, c := range []struct {
		iv   time.Duration
		loc  *time.Location
		want time.Duration
	}{
		{30 * time.Second, utc, 0}, {time.Minute, utc, time.Minute}, {2 * time.Minute, utc, time.Minute},
		{5 * time.Minute, utc, 5 * time.Minute}, {15 * time.Minute, utc, 5 * time.Minute},
		{90 * time.Minute, utc, 5 * time.Minute}, {time.Hour, jkt, time.Hour}, {7 * time.Minute, utc, time.Minute},
		{24 * time.Hour, utc, 24 * time.Hour}, {48 * time.Hour, utc, 24 * time.Hour},
		{24 * time.Hour, jkt, time.Hour}, {24 * time.Hour, kol, 5 * time.Minute},
	} {
		if got := twin.TierFor(c.iv, c.loc); got != c.want {
			t.Errorf("TierFor(%v, %v) = %v, want %v", c.iv, c.loc, got, c.want)
		}
	}
	// Jakarta used +07:30 until 1964 but +07:00 since: a recent range may use the hour tier.
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := twin.TierForRange(24*time.Hour, jkt, from, from.AddDate(0, 1, 0)); got != time.Hour {
		t.Errorf("TierForRange(1d, Jakarta, 2026) = %v, want 1h", got)
	}
}

func TestBucketStart(t *testing.T) {
	jkt, ny := mustZone(t, "Asia/Jakarta"), mustZone(t, "America/New_York")
	ts := time.Date(2026, 11, 24, 6, 7, 8, 9, time.UTC)
	for _, c := range []struct {
		iv   time.Duration
		loc  *time.Location
		ts   time.Time
		want time.Time
	}{
		{time.Minute, nil, ts, time.Date(2026, 11, 24, 6, 7, 0, 0, time.UTC)},
		{15 * time.Minute, jkt, ts, time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)},
		// 7m does not divide a day: aligned to the Unix epoch, not to midnight or year 1.
		{7 * time.Minute, nil, ts, time.Unix(ts.Unix()/420*420, 0)},
		{24 * time.Hour, nil, ts, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)},
		{24 * time.Hour, jkt, ts, time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)},
		{24 * time.Hour, jkt, time.Date(2026, 11, 24, 16, 59, 59, 0, time.UTC), time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)},
		{24 * time.Hour, jkt, time.Date(2026, 11, 24, 17, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 17, 0, 0, 0, time.UTC)},
		// The 25-hour local day of the end of US daylight saving time.
		{24 * time.Hour, ny, time.Date(2026, 11, 2, 4, 30, 0, 0, time.UTC), time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC)},
		{24 * time.Hour, ny, time.Date(2026, 11, 2, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 5, 0, 0, 0, time.UTC)},
		// Two-day buckets count from the local date 1970-01-01 (day 20416 of 2025-11-24 is even).
		{48 * time.Hour, nil, time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC), time.Date(2025, 11, 24, 0, 0, 0, 0, time.UTC)},
		{time.Hour, nil, time.Date(1969, 12, 31, 23, 30, 0, 0, time.UTC), time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC)},
	} {
		got := twin.BucketStart(c.ts, c.iv, c.loc)
		if !got.Equal(c.want) {
			t.Errorf("BucketStart(%v, %v, %v) = %v, want %v", c.ts, c.iv, c.loc, got, c.want)
		}
		if next := twin.NextBucket(got, c.iv, c.loc); !next.After(c.ts) {
			t.Errorf("NextBucket(%v) = %v, not after %v", got, next, c.ts)
		}
	}
	if n := twin.NextBucket(time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC), 24*time.Hour, ny); !n.Equal(time.Date(2026, 11, 2, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("NextBucket over the DST change = %v", n)
	}
}

func TestAccum_MergeIsExact(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	var all, a, b twin.Accum
	vals := []float64{3, 1, 4, 1, 5, 9, 2, 6}
	for i, v := range vals {
		ts := t0.Add(time.Duration(i) * time.Second)
		all.Add(ts, v)
		if i%3 == 0 { // unequal counts
			a.Add(ts, v)
		} else {
			b.Add(ts, v)
		}
	}
	var m twin.Accum
	m.Merge(b)
	m.Merge(a)
	for _, agg := range twin.Aggs {
		if m.Value(agg) != all.Value(agg) {
			t.Errorf("%s: merged %v, direct %v", agg, m.Value(agg), all.Value(agg))
		}
	}
	if all.Value(twin.AggAvg) != 31.0/8 || all.Value(twin.AggFirst) != 3 || all.Value(twin.AggLast) != 6 || all.Value(twin.AggCount) != 8 {
		t.Errorf("direct values wrong: %+v", all)
	}
	var empty twin.Accum
	if !math.IsNaN(empty.Value(twin.AggAvg)) || empty.Value(twin.AggCount) != 0 {
		t.Errorf("empty accum: avg %v count %v", empty.Value(twin.AggAvg), empty.Value(twin.AggCount))
	}
}

func TestCheckHistoryQuery(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	ok := twin.HistoryQuery{Metric: "m", From: t0, To: t0.Add(24 * time.Hour), Interval: time.Minute, Agg: twin.AggAvg}
	if err := twin.CheckHistoryQuery(ok); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		mod  func(*twin.HistoryQuery)
		code string
	}{
		"to before from": {func(q *twin.HistoryQuery) { q.To = q.From.Add(-1) }, twin.EBADINPUT},
		"negative":       {func(q *twin.HistoryQuery) { q.Interval = -time.Minute }, twin.EBADINPUT},
		"agg":            {func(q *twin.HistoryQuery) { q.Agg = "P99" }, twin.EBADINPUT},
		"fill":           {func(q *twin.HistoryQuery) { q.Fill = "LINEAR" }, twin.EBADINPUT},
		"36h":            {func(q *twin.HistoryQuery) { q.Interval = 36 * time.Hour }, twin.EBADINPUT},
		"sub-second":     {func(q *twin.HistoryQuery) { q.Interval = time.Millisecond }, twin.EBADINPUT},
		"limit":          {func(q *twin.HistoryQuery) { q.Interval = time.Second }, twin.ELIMIT},
	} {
		q := ok
		c.mod(&q)
		err := twin.CheckHistoryQuery(q)
		if twin.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
	// 24 h at 10 s is 8,640 points: fine by default, LIMIT at 1,000 naming 2m.
	q := ok
	q.Interval = 10 * time.Second
	if err := twin.CheckHistoryQuery(q); err != nil {
		t.Errorf("24h@10s: %v", err)
	}
	err := twin.CheckHistoryQuery(q, 1000)
	if twin.ErrorCode(err) != twin.ELIMIT || !strings.Contains(twin.ErrorMessage(err), "use interval 2m or larger") {
		t.Errorf("24h@10s limit 1000: %v", err)
	}
	if s := twin.SuggestInterval(q.From, q.To, 1000); twin.CheckHistoryQuery(twin.HistoryQuery{Metric: "m", From: q.From, To: q.To, Interval: s, Agg: twin.AggAvg}, 1000) != nil {
		t.Errorf("suggested interval %v does not fit", s)
	}
	if err := twin.TooManyPoints(ok, 10001, 0); twin.ErrorCode(err) != twin.ELIMIT {
		t.Errorf("TooManyPoints: %v", err)
	}
}

func TestFillSeries(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	v := func(f float64) *float64 { return &f }
	pts := []twin.Point{{TS: t0.Add(time.Minute), Value: v(1)}, {TS: t0.Add(3 * time.Minute), Value: v(3)}}
	q := twin.HistoryQuery{From: t0.Add(30 * time.Second), To: t0.Add(5 * time.Minute), Interval: time.Minute, Fill: twin.FillPrevious}
	got := twin.FillSeries(pts, q)
	want := []*float64{nil, v(1), v(1), v(3), v(3)}
	if len(got) != len(want) {
		t.Fatalf("%d points, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].TS.Equal(t0.Add(time.Duration(i)*time.Minute)) || (got[i].Value == nil) != (want[i] == nil) || (want[i] != nil && *got[i].Value != *want[i]) {
			t.Errorf("point %d: %v %v", i, got[i].TS, got[i].Value)
		}
	}
	q.Fill = twin.FillNone
	if got := twin.FillSeries(pts, q); len(got) != 2 {
		t.Errorf("FillNone changed the points: %d", len(got))
	}
}
