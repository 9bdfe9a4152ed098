package alias_test

import (
	"context"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/alias"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/store/memory"
)

// The line was "s/line3" with signal "speed" before the rename.
const model = `types:
  line:
    signals: [{name: speed_units_per_min, aliases: [speed]}]
assets:
  - {id: s/line3-glass, aliases: [s/line3], type: line}
  - {id: s/line2, type: line}
`

func mustModel(t *testing.T) *hierarchy.Model {
	t.Helper()
	m, err := hierarchy.Load("m.yaml", []byte(model))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var t0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

func sample(asset, signal string, sec int, v float64) twin.Sample {
	return twin.Sample{Asset: asset, Signal: signal, TS: t0.Add(time.Duration(sec) * time.Second), Value: twin.Number(v)}
}

// TestHistory_MergesEarlierIDs: samples under the old id and signal name
// and under the new ones are one series under the new; every aggregate is
// exact where both fall in one bucket, and gap filling follows the merge.
func TestHistory_MergesEarlierIDs(t *testing.T) {
	ctx := context.Background()
	store := memory.NewHistoryStore()
	if err := store.AppendSamples(ctx, []twin.Sample{
		sample("s/line3", "speed", 0, 10),
		sample("s/line3", "speed", 10, 20),
		sample("s/line3", "speed", 20, 30),
		sample("s/line3-glass", "speed_units_per_min", 40, 100), // same minute, after the rename
		sample("s/line3-glass", "speed_units_per_min", 180, 50),
	}); err != nil {
		t.Fatal(err)
	}
	h := alias.History{HistoryStore: store, Model: mustModel(t)}
	q := twin.HistoryQuery{Asset: "s/line3", Metric: "speed", From: t0, To: t0.Add(4 * time.Minute), Interval: time.Minute}
	cases := []struct {
		agg  twin.Agg
		fill twin.Fill
		want []float64 // per bucket; -1 is null
	}{
		{twin.AggAvg, "", []float64{40, 50}}, // (10+20+30+100)/4, not the mean of 20 and 100
		{twin.AggMin, "", []float64{10, 50}},
		{twin.AggMax, "", []float64{100, 50}},
		{twin.AggSum, "", []float64{160, 50}},
		{twin.AggCount, "", []float64{4, 1}},
		{twin.AggFirst, "", []float64{10, 50}},
		{twin.AggLast, "", []float64{100, 50}},
		{twin.AggAvg, twin.FillNull, []float64{40, -1, -1, 50}},
		{twin.AggAvg, twin.FillPrevious, []float64{40, 40, 40, 50}},
	}
	for _, c := range cases {
		t.Run(string(c.agg)+"/"+string(c.fill), func(t *testing.T) {
			qq := q
			qq.Agg, qq.Fill = c.agg, c.fill
			got, err := h.QueryHistory(ctx, []twin.HistoryQuery{qq})
			if err != nil {
				t.Fatal(err)
			}
			var vals []float64
			for _, p := range got[0].Points {
				if p.Value == nil {
					vals = append(vals, -1)
				} else {
					vals = append(vals, *p.Value)
				}
			}
			if len(vals) != len(c.want) {
				t.Fatalf("points %v, want %v", vals, c.want)
			}
			for i := range vals {
				if vals[i] != c.want[i] {
					t.Fatalf("points %v, want %v", vals, c.want)
				}
			}
			if got[0].Asset != "s/line3" || got[0].Metric != "speed" {
				t.Errorf("series echoes %s %s, want the query's", got[0].Asset, got[0].Metric)
			}
		})
	}
	t.Run("raw", func(t *testing.T) {
		qq := q
		qq.Interval = 0
		got, err := h.QueryHistory(ctx, []twin.HistoryQuery{qq, {Asset: "s/line2", Metric: "speed_units_per_min", From: t0, To: t0.Add(time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || len(got[0].Points) != 5 || len(got[1].Points) != 0 {
			t.Fatalf("raw series: %+v", got)
		}
	})
}

func TestEvents_ListsEarlierIDs(t *testing.T) {
	ctx := context.Background()
	store := memory.NewEventStore()
	evs := []twin.Event{
		{Kind: twin.EventModeChanged, TS: t0, Asset: "s/line3", ToMode: twin.ModeIdle},
		{Kind: twin.EventModeChanged, TS: t0.Add(time.Minute), Asset: "s/line3-glass", ToMode: twin.ModeRunning},
		{Kind: twin.EventModeChanged, TS: t0, Asset: "s/line2", ToMode: twin.ModeIdle},
	}
	for i := range evs {
		evs[i].ID = twin.EventID(&evs[i])
	}
	if err := store.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	e := alias.Events{EventStore: store, Model: mustModel(t)}
	for _, asked := range []string{"s/line3", "s/line3-glass"} {
		p, err := e.ListEvents(ctx, twin.EventQuery{Assets: []string{asked}, First: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) != 2 || p.Events[0].Asset != "s/line3-glass" || p.Events[1].Asset != "s/line3-glass" || p.Events[0].ID != evs[0].ID {
			t.Errorf("events of %s = %+v, want both under the new id, ids kept", asked, p.Events)
		}
	}
	all, _ := e.ListEvents(ctx, twin.EventQuery{First: 10})
	if len(all.Events) != 3 || all.Events[0].Asset != "s/line3-glass" {
		t.Errorf("every event = %+v", all.Events)
	}
}

func TestStates_FallBackToEarlierID(t *testing.T) {
	ctx := context.Background()
	store := memory.NewStateStore()
	old := twin.NewState("s/line3")
	old.Mode = twin.ModeRunning
	if err := store.PutStates(ctx, []*twin.State{old, twin.NewState("s/line2")}); err != nil {
		t.Fatal(err)
	}
	s := alias.States{StateStore: store, Model: mustModel(t)}
	got, err := s.GetStates(ctx, []string{"s/line3-glass", "s/line3", "s/line2", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"s/line3-glass", "s/line3-glass", "s/line2"} {
		if got[i] == nil || got[i].Asset != id {
			t.Errorf("state %d = %+v, want %s's", i, got[i], id)
		}
	}
	if got[0].Mode != twin.ModeRunning || got[3] != nil {
		t.Errorf("states = %+v", got)
	}
	// Once the current id has a state of its own, it wins.
	cur := twin.NewState("s/line3-glass")
	cur.Mode = twin.ModeStop
	if err := store.PutStates(ctx, []*twin.State{cur}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetStates(ctx, []string{"s/line3"})
	if got[0].Mode != twin.ModeStop {
		t.Errorf("state = %+v, want the current id's", got[0])
	}
}

// TestRelabelState: a state kept under an earlier id and signal name reads
// under the current ones, the newer value winning where both names have
// one; the stored state is not modified.
func TestRelabelState(t *testing.T) {
	m := mustModel(t)
	st := twin.NewState("s/line3")
	st.Metrics["speed"] = twin.Metric{Value: twin.Number(1), TS: t0.Add(time.Minute)}
	got := alias.RelabelState(m, st)
	if got.Asset != "s/line3-glass" || got.Metrics["speed_units_per_min"].Value.Num != 1 || len(got.Metrics) != 1 {
		t.Errorf("relabelled = %+v", got)
	}
	if st.Asset != "s/line3" || len(st.Metrics) != 1 || st.Metrics["speed"].Value.Num != 1 {
		t.Errorf("the original changed: %+v", st)
	}
	both := twin.NewState("s/line3-glass")
	both.Metrics["speed"] = twin.Metric{Value: twin.Number(1), TS: t0}
	both.Metrics["speed_units_per_min"] = twin.Metric{Value: twin.Number(2), TS: t0.Add(time.Second)}
	if got := alias.RelabelState(m, both); got.Metrics["speed_units_per_min"].Value.Num != 2 || len(got.Metrics) != 1 {
		t.Errorf("with both names = %+v, want the newer value", got.Metrics)
	}
	plain := twin.NewState("s/line2")
	if alias.RelabelState(m, plain) != plain {
		t.Error("a state with nothing to relabel was copied")
	}
}
