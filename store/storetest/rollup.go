package storetest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/hierarchy"
)

// rollupModel has lines whose rolled-up signals come from their machines; a
// machine shared by both lines (the DAG) and a sensor that only the area's
// rollup takes (the lines' over leaves it out).
const rollupModel = `
types:
  area:
    rollups:
      - {name: units, from: count, agg: sum}
      - {name: speed_max, from: speed, agg: max}
  line:
    rollups:
      - {name: units, from: count, agg: sum, over: [machine]}
      - {name: speed, from: speed, agg: avg}
      - {name: speed_min, from: speed, agg: min}
  machine:
    signals: [{name: count}, {name: speed}]
  sensor:
    signals: [{name: count}]
assets:
  - {id: a, type: area}
  - {id: a/l1, type: line, parent: a}
  - {id: a/l2, type: line, parent: a}
  - {id: a/l1/m1, type: machine, parent: a/l1}
  - {id: a/l1/m2, type: machine, parent: a/l1}
  - {id: a/l2/m3, type: machine, parent: a/l2}
  - {id: a/shared, type: machine, parents: [a/l1, a/l2]}
  - {id: a/l1/s1, type: sensor, parent: a/l1}
`

// RollupModel returns the model TestRollupHistory queries.
func RollupModel(t testing.TB) twin.Model {
	t.Helper()
	m, err := hierarchy.Load("rollup.yaml", []byte(rollupModel))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var rollupBase = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

// rollupSamples generates two days of count and speed samples of every
// member, whole numbers (so every sum is exact in any order), ~5% bad.
func rollupSamples() []twin.Sample {
	r := rand.New(rand.NewPCG(14, 2026))
	var out []twin.Sample
	for _, a := range []string{"a/l1/m1", "a/l1/m2", "a/l2/m3", "a/shared", "a/l1/s1"} {
		for _, sig := range []string{"count", "speed"} {
			if a == "a/l1/s1" && sig == "speed" {
				continue
			}
			seen := map[int64]bool{}
			for range 400 {
				ts := rollupBase.Add(time.Duration(r.Int64N(int64(48 * time.Hour)))).Truncate(time.Second)
				if seen[ts.Unix()] {
					continue
				}
				seen[ts.Unix()] = true
				q := twin.QualityGood
				if r.IntN(20) == 0 {
					q = twin.QualityBad
				}
				out = append(out, twin.Sample{Asset: a, Signal: sig, TS: ts, Value: twin.Number(float64(r.IntN(200))), Quality: q})
			}
		}
	}
	return out
}

// rollupOracle computes a rolled-up series by brute force from the stored
// rows: per member and bucket the query's aggregate, combined across members.
func rollupOracle(rows map[string]twin.Sample, members []string, signal string, q twin.HistoryQuery, comb twin.Agg) map[time.Time]float64 {
	var samples []twin.Sample
	for _, s := range rows {
		samples = append(samples, s)
	}
	vals := map[time.Time][]float64{}
	for _, m := range members {
		mq := q
		mq.Asset, mq.Metric = m, signal
		for _, p := range Reference(samples, mq) {
			vals[p.TS] = append(vals[p.TS], *p.Value)
		}
	}
	out := map[time.Time]float64{}
	for b, vs := range vals {
		c := vs[0]
		for _, v := range vs[1:] {
			switch comb {
			case twin.AggMin:
				c = math.Min(c, v)
			case twin.AggMax:
				c = math.Max(c, v)
			default:
				c += v
			}
		}
		if comb == twin.AggAvg {
			c /= float64(len(vs))
		}
		out[b] = c
	}
	return out
}

// TestRollupHistory runs the line-level history contract: the store from
// open, wrapped by twin.HistoryWithRollups over RollupModel, answers rolled-up
// signals exactly (per member, then combined), counts a machine that two
// lines share once in the area above them, follows late samples exactly and
// ignores replays, with every tier-friendly interval, aggregate and fill.
func TestRollupHistory(t *testing.T, open func(t *testing.T) twin.HistoryStore) {
	m := RollupModel(t)
	h := twin.HistoryWithRollups(open(t), func() twin.Model { return m })
	c := ctx(t)
	samples := rollupSamples()
	rows := map[string]twin.Sample{}
	key := func(s twin.Sample) string { return s.Asset + "\x00" + s.Signal + "\x00" + s.TS.String() }
	write := func(batch []twin.Sample) {
		t.Helper()
		must(t, "append", h.AppendSamples(c, batch))
		for _, s := range batch {
			if _, ok := rows[key(s)]; !ok {
				rows[key(s)] = s
			}
		}
	}
	// Two batches; the second holds the first day's late rows, written after
	// the second day's.
	var day1, day2 []twin.Sample
	for _, s := range samples {
		if s.TS.Before(rollupBase.Add(24 * time.Hour)) {
			day1 = append(day1, s)
		} else {
			day2 = append(day2, s)
		}
	}
	write(day2)
	write(day1)

	type series struct {
		asset, metric string
		members       []string
		from          string
		comb          twin.Agg
	}
	all := []series{
		{"a/l1", "units", []string{"a/l1/m1", "a/l1/m2", "a/shared"}, "count", twin.AggSum},
		{"a/l2", "units", []string{"a/l2/m3", "a/shared"}, "count", twin.AggSum},
		{"a", "units", []string{"a/l1/m1", "a/l1/m2", "a/l2/m3", "a/shared", "a/l1/s1"}, "count", twin.AggSum},
		{"a/l1", "speed", []string{"a/l1/m1", "a/l1/m2", "a/shared"}, "speed", twin.AggAvg},
		{"a/l1", "speed_min", []string{"a/l1/m1", "a/l1/m2", "a/shared"}, "speed", twin.AggMin},
		{"a", "speed_max", []string{"a/l1/m1", "a/l1/m2", "a/l2/m3", "a/shared"}, "speed", twin.AggMax},
	}
	for _, s := range all {
		a := m.Asset(s.asset)
		got := twin.RollupMembers(m, s.asset, m.Type(a.Type).HistorySignal(s.metric))
		if !slices.Equal(sorted(got), sorted(s.members)) {
			t.Fatalf("members of %s %s = %v, want %v", s.asset, s.metric, got, s.members)
		}
	}

	check := func(t *testing.T, what string, from, to time.Time) {
		t.Helper()
		var qs []twin.HistoryQuery
		var want []map[time.Time]float64
		for _, s := range all {
			for _, iv := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 24 * time.Hour} {
				for _, agg := range twin.Aggs {
					q := twin.HistoryQuery{Asset: s.asset, Metric: s.metric, From: from, To: to, Interval: iv, Agg: agg}
					qs = append(qs, q)
					want = append(want, rollupOracle(rows, s.members, s.from, q, s.comb))
				}
			}
		}
		// A plain series in the same call keeps its place.
		plain := twin.HistoryQuery{Asset: "a/l1/m1", Metric: "count", From: from, To: to, Interval: time.Hour, Agg: twin.AggSum}
		qs = append(qs, plain)
		want = append(want, rollupOracle(rows, []string{"a/l1/m1"}, "count", plain, twin.AggSum))
		got, err := h.QueryHistory(c, qs)
		must(t, what+": query", err)
		if len(got) != len(qs) {
			t.Fatalf("%s: %d series for %d queries", what, len(got), len(qs))
		}
		for i, q := range qs {
			w := want[i]
			g := got[i]
			if g.Asset != q.Asset || g.Metric != q.Metric || g.Interval != q.Interval || g.Agg != q.Agg {
				t.Errorf("%s: series %d echoes %s %s %s %s, want %s", what, i, g.Asset, g.Metric, g.Interval, g.Agg, q)
			}
			if len(g.Points) != len(w) {
				t.Errorf("%s: %s: %d points, want %d", what, q, len(g.Points), len(w))
				continue
			}
			for _, p := range g.Points {
				wv, ok := w[p.TS.UTC()]
				if !ok || p.Value == nil || math.Abs(*p.Value-wv) > 1e-9*math.Max(1, math.Abs(wv)) {
					t.Errorf("%s: %s at %s = %v, want %v (present %v)", what, q, p.TS.UTC().Format(time.RFC3339), deref(p.Value), wv, ok)
					break
				}
			}
		}
	}
	check(t, "after late rows", rollupBase, rollupBase.Add(48*time.Hour))

	t.Run("SharedMachineCountedOnce", func(t *testing.T) {
		q := func(asset string) float64 {
			s, err := h.QueryHistory(c, []twin.HistoryQuery{{Asset: asset, Metric: "units", From: rollupBase,
				To: rollupBase.Add(48 * time.Hour), Interval: 48 * time.Hour, Agg: twin.AggSum}})
			must(t, "query", err)
			var sum float64
			for _, p := range s[0].Points {
				sum += *p.Value
			}
			return sum
		}
		var total, shared, sensor float64
		for _, s := range rows {
			if s.Signal == "count" && s.Quality == twin.QualityGood {
				total += s.Value.Num
				switch s.Asset {
				case "a/shared":
					shared += s.Value.Num
				case "a/l1/s1":
					sensor += s.Value.Num
				}
			}
		}
		if shared == 0 {
			t.Fatal("no samples of the shared machine")
		}
		l1, l2, area := q("a/l1"), q("a/l2"), q("a")
		if area != total {
			t.Errorf("area units = %v, want every distinct member's sum %v", area, total)
		}
		if l1+l2 != area-sensor+shared {
			t.Errorf("lines' units %v + %v: the shared machine (%v) must count in both lines and once in the area (%v)", l1, l2, shared, area)
		}
	})

	t.Run("LateSample", func(t *testing.T) {
		// Into a bucket that already has data: the line's sum moves by exactly the value.
		late := twin.Sample{Asset: "a/l1/m2", Signal: "count", TS: rollupBase.Add(3*time.Hour + 7*time.Minute + 13*time.Second),
			Value: twin.Number(1000), Quality: twin.QualityGood}
		if _, dup := rows[key(late)]; dup {
			t.Fatal("late sample collides with a generated one")
		}
		q := twin.HistoryQuery{Asset: "a/l1", Metric: "units", From: rollupBase, To: rollupBase.Add(24 * time.Hour), Interval: time.Hour, Agg: twin.AggSum}
		before, err := h.QueryHistory(c, []twin.HistoryQuery{q})
		must(t, "query", err)
		write([]twin.Sample{late})
		after, err := h.QueryHistory(c, []twin.HistoryQuery{q})
		must(t, "query", err)
		b, a := pointAt(before[0], rollupBase.Add(3*time.Hour)), pointAt(after[0], rollupBase.Add(3*time.Hour))
		if a-b != 1000 {
			t.Errorf("03:00 bucket went from %v to %v, want +1000 exactly", b, a)
		}
		check(t, "after a late sample", rollupBase, rollupBase.Add(48*time.Hour))
	})

	t.Run("Replay", func(t *testing.T) {
		// The same rows again, with other values: first write wins, nothing moves.
		replay := slices.Clone(day1)
		for i := range replay {
			replay[i].Value = twin.Number(replay[i].Value.Num + 1)
		}
		write(replay)
		check(t, "after a replay", rollupBase, rollupBase.Add(48*time.Hour))
	})

	t.Run("UnalignedRangeAndFill", func(t *testing.T) {
		from, to := rollupBase.Add(7*time.Minute+30*time.Second), rollupBase.Add(30*time.Hour+15*time.Minute)
		check(t, "unaligned range", from, to)
		q := twin.HistoryQuery{Asset: "a/l2", Metric: "units", From: from, To: to, Interval: time.Minute, Agg: twin.AggCount, Fill: twin.FillNull}
		s, err := h.QueryHistory(c, []twin.HistoryQuery{q})
		must(t, "query", err)
		if n := int64(len(s[0].Points)); n != twin.CountBuckets(from, to, time.Minute, nil) {
			t.Errorf("fill NULL: %d points, want every bucket (%d)", n, twin.CountBuckets(from, to, time.Minute, nil))
		}
	})

	t.Run("RawRefused", func(t *testing.T) {
		_, err := h.QueryHistory(c, []twin.HistoryQuery{{Asset: "a/l1", Metric: "units", From: rollupBase, To: rollupBase.Add(time.Hour), Agg: twin.AggSum}})
		if twin.ErrorCode(err) != twin.EBADINPUT {
			t.Errorf("raw rolled-up query: %v, want BAD_INPUT", err)
		}
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// pointAt returns the value of the point at ts, or 0.
func pointAt(s twin.Series, ts time.Time) float64 {
	for _, p := range s.Points {
		if p.TS.Equal(ts) && p.Value != nil {
			return *p.Value
		}
	}
	return 0
}
