package ingest_test

import (
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
