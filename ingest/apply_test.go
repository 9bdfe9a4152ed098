package ingest_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/examples"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/ingest"
	"github.com/twingraph/twingraph/internal/testmodel"
)

// TestApplyBatch_RenamedAssetKeepsItsState: after line 3 is renamed, its
// first sample under the new id carries on the state kept under the old id,
// from the worker's cache or (a worker started after the rename) from the
// store: the mode change has the old mode's duration, no UNKNOWN start, a
// redelivered old record is still skipped, and the state is stamped with
// the model it was computed under.
func TestApplyBatch_RenamedAssetKeepsItsState(t *testing.T) {
	const oldID, newID = "plant/jkt1/packaging/line3", "plant/jkt1/packaging/line3-glass"
	before := testmodel.Demo(t)
	renamed := strings.Replace(string(examples.PlantYAML), "  - id: "+oldID+"\n", "  - id: "+newID+"\n    aliases: ["+oldID+"]\n", 1)
	after, err := hierarchy.Load("plant.yaml", []byte(renamed))
	if err != nil {
		t.Fatal(err)
	}
	rec := func(off int64, msg string) *ingest.Record {
		return &ingest.Record{Topic: "telemetry", Partition: 0, Offset: off, Value: []byte(msg),
			Produced: time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)}
	}
	first := []*ingest.Record{
		rec(0, `[{"asset":"`+oldID+`","signal":"power_on","value":true,"ts":"2026-11-24T06:00:00Z"},{"asset":"`+oldID+`","signal":"speed_units_per_min","value":120,"ts":"2026-11-24T06:00:00Z"}]`),
	}
	states := map[string]*twin.State{}
	if _, err := ingest.ApplyBatch(before, first, ingest.DecodeBatch(before, "log", first, ingest.Limits{}), states, nil); err != nil {
		t.Fatal(err)
	}
	if states[oldID] == nil || states[oldID].Mode != twin.ModeRunning {
		t.Fatalf("state before the rename = %+v", states[oldID])
	}
	// The old record again (a redelivery) and one new sample, under the old id.
	next := []*ingest.Record{first[0], rec(1, `{"asset":"`+oldID+`","signal":"speed_units_per_min","value":0,"ts":"2026-11-24T06:01:00Z"}`)}

	check := func(t *testing.T, res *ingest.Applied, err error, got map[string]*twin.State) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		st := got[newID]
		if st == nil || st.Asset != newID || st.Mode != twin.ModeIdle || st.Model != after.Stamp() {
			t.Fatalf("state after the rename = %+v, want %s IDLE stamped %s", st, newID, after.Stamp())
		}
		if len(res.Events) != 1 || res.Events[0].Asset != newID || res.Events[0].FromMode != twin.ModeRunning ||
			res.Events[0].DurationSeconds == nil || *res.Events[0].DurationSeconds != 60 {
			t.Fatalf("events = %+v, want one RUNNING→IDLE after 60 s under %s", res.Events, newID)
		}
	}
	t.Run("from the cache", func(t *testing.T) {
		cache := map[string]*twin.State{oldID: states[oldID].Clone()}
		res, err := ingest.ApplyBatch(after, next, ingest.DecodeBatch(after, "log", next, ingest.Limits{}), cache, nil)
		check(t, res, err, cache)
	})
	t.Run("from the store", func(t *testing.T) {
		stored := states[oldID].Clone()
		var asked []string
		load := func(ids []string) ([]*twin.State, error) {
			asked = append(asked, ids...)
			out := make([]*twin.State, len(ids))
			for i, id := range ids {
				if id == oldID {
					out[i] = stored
				}
			}
			return out, nil
		}
		cache := map[string]*twin.State{}
		res, err := ingest.ApplyBatch(after, next, ingest.DecodeBatch(after, "log", next, ingest.Limits{}), cache, load)
		check(t, res, err, cache)
		if len(asked) != 2 || asked[0] != newID || asked[1] != oldID {
			t.Errorf("loaded %v, want the new and the old id in one call", asked)
		}
		if stored.Asset != oldID {
			t.Error("the stored state was modified")
		}
	})
}

// TestApplyBatch: what one batch yields, read from records alone: every
// sample in log order stamped with its log position, the touched assets'
// states in first-touch order stamped with the model, one dead letter per
// record with refused elements (its good elements still applied), and per
// partition the offset after the last record.
func TestApplyBatch(t *testing.T) {
	const line1, line2 = "plant/jkt1/packaging/line1", "plant/jkt1/packaging/line2"
	m := testmodel.Demo(t)
	produced := time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)
	rec := func(part int32, off int64, msg string) *ingest.Record {
		return &ingest.Record{Topic: "telemetry", Partition: part, Offset: off, Value: []byte(msg), Produced: produced}
	}
	sample := func(asset, signal, value string) string {
		return `{"asset":"` + asset + `","signal":"` + signal + `","value":` + value + `,"ts":"2026-11-24T06:00:00Z"}`
	}
	cases := []struct {
		name    string
		recs    []*ingest.Record
		samples []string // "asset signal partition/offset", in log order
		states  []string
		dead    []string // "partition/offset index:code ..."
		next    map[int32]int64
	}{
		{name: "empty", next: map[int32]int64{}},
		{
			name: "two partitions",
			recs: []*ingest.Record{
				rec(0, 5, sample(line2, "power_on", "true")),
				rec(1, 2, sample(line1, "power_on", "true")),
				rec(0, 6, sample(line2, "speed_units_per_min", "120")),
			},
			samples: []string{line2 + " power_on 0/5", line1 + " power_on 1/2", line2 + " speed_units_per_min 0/6"},
			states:  []string{line2, line1},
			next:    map[int32]int64{0: 7, 1: 3},
		},
		{
			name:    "a refused element",
			recs:    []*ingest.Record{rec(0, 0, "["+sample(line1, "power_on", "true")+","+sample(line1, "no_such_signal", "1")+"]")},
			samples: []string{line1 + " power_on 0/0"},
			states:  []string{line1},
			dead:    []string{"0/0 1:unknown_signal"},
			next:    map[int32]int64{0: 1},
		},
		{
			name: "a refused record",
			recs: []*ingest.Record{rec(3, 9, `{"asset":`), rec(3, 10, sample("plant/nowhere", "power_on", "true"))},
			dead: []string{"3/9 0:bad_json", "3/10 0:unknown_asset"},
			next: map[int32]int64{3: 11},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			states := map[string]*twin.State{}
			res, err := ingest.ApplyBatch(m, c.recs, ingest.DecodeBatch(m, "log", c.recs, ingest.Limits{}), states, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Records != len(c.recs) {
				t.Errorf("Records = %d, want %d", res.Records, len(c.recs))
			}
			var samples, ids, dead []string
			for _, s := range res.Samples {
				if s.Pos.Log != "log" {
					t.Errorf("sample %+v not stamped with the log", s)
				}
				samples = append(samples, fmt.Sprintf("%s %s %d/%d", s.Asset, s.Signal, s.Pos.Partition, s.Pos.Offset))
			}
			for _, st := range res.States {
				if st.Model != m.Stamp() || states[st.Asset] != st {
					t.Errorf("state %s: stamped %q (want %q), kept in states: %v", st.Asset, st.Model, m.Stamp(), states[st.Asset] == st)
				}
				ids = append(ids, st.Asset)
			}
			for _, dl := range res.Dead {
				if !slices.Contains(c.recs, dl.Record) {
					t.Errorf("dead letter of a record not in the batch: %+v", dl.Record)
				}
				d := fmt.Sprintf("%d/%d", dl.Record.Partition, dl.Record.Offset)
				for _, rj := range dl.Rejects {
					d += fmt.Sprintf(" %d:%s", rj.Index, rj.Reason[:strings.IndexByte(rj.Reason, ':')])
				}
				dead = append(dead, d)
			}
			if !slices.Equal(samples, c.samples) {
				t.Errorf("samples = %q, want %q", samples, c.samples)
			}
			if !slices.Equal(ids, c.states) {
				t.Errorf("states = %q, want %q", ids, c.states)
			}
			if !slices.Equal(dead, c.dead) {
				t.Errorf("dead letters = %q, want %q", dead, c.dead)
			}
			if !maps.Equal(res.Next, c.next) {
				t.Errorf("next offsets = %v, want %v", res.Next, c.next)
			}
		})
	}
}

// TestApplyBatch_LoadFails: when the states it lacks cannot be read, the
// batch applies nothing, so that it can be retried as it was.
func TestApplyBatch_LoadFails(t *testing.T) {
	const line1 = "plant/jkt1/packaging/line1"
	m := testmodel.Demo(t)
	recs := []*ingest.Record{{Value: []byte(`{"asset":"` + line1 + `","signal":"power_on","value":true,"ts":"2026-11-24T06:00:00Z"}`),
		Produced: time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)}}
	states := map[string]*twin.State{}
	down := errors.New("store down")
	res, err := ingest.ApplyBatch(m, recs, ingest.DecodeBatch(m, "log", recs, ingest.Limits{}), states,
		func([]string) ([]*twin.State, error) { return nil, down })
	if !errors.Is(err, down) || res != nil {
		t.Fatalf("ApplyBatch = %v, %v; want the load error", res, err)
	}
	if len(states) != 0 {
		t.Errorf("states changed: %v", states)
	}
}
