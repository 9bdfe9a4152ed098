package ingest_test

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/ingest"
)

// randomLog returns n records (messages) of line telemetry: each record holds
// one to three samples of distinct signals at one timestamp, which mostly
// advances but sometimes jumps back (late data); some speeds are out of range.
// Each record has a timestamp of its own: an instant is one message, which
// the worker never splits across Transition calls.
func randomLog(r *rand.Rand, n int) [][]twin.Sample {
	signals := []string{"power_on", "speed_units_per_min", "fault_codes", "batch", "product", "temp1_c"}
	log := make([][]twin.Sample, 0, n)
	used := map[time.Time]bool{}
	ts := t0
	for i := range n {
		for used[ts] {
			if r.IntN(10) == 0 {
				ts = ts.Add(-time.Duration(1+r.IntN(30)) * time.Second)
			} else {
				ts = ts.Add(time.Duration(1+r.IntN(20)) * time.Second)
			}
		}
		used[ts] = true
		var rec []twin.Sample
		for _, k := range r.Perm(len(signals))[:1+r.IntN(3)] {
			s := twin.Sample{Asset: line.ID, Signal: signals[k], TS: ts, Quality: twin.QualityGood,
				Pos: twin.LogPos{Log: "telemetry@clean", Offset: int64(i)}}
			switch s.Signal {
			case "power_on":
				s.Value = twin.Bool(r.IntN(8) != 0)
			case "speed_units_per_min":
				s.Value = twin.Number(float64(r.IntN(3) * 100))
				if r.IntN(20) == 0 {
					s.Value, s.Quality = twin.Number(900), twin.QualityBad
				}
			case "fault_codes":
				var codes []string
				for _, c := range []string{"E1", "E2", "E3"} {
					if r.IntN(4) == 0 {
						codes = append(codes, c)
					}
				}
				s.Value = twin.NewList(codes)
			case "batch":
				s.Value = twin.String([]string{"", "B1", "B2", "B3"}[r.IntN(4)])
			case "product":
				s.Value = twin.String([]string{"P1", "P2"}[r.IntN(2)])
			case "temp1_c":
				s.Value = twin.Number(float64(20 + r.IntN(5)))
			}
			rec = append(rec, s)
		}
		log = append(log, rec)
	}
	return log
}

// dirty returns the log as an at-least-once pipeline might deliver it, on a
// log of its own: records re-consumed at their offsets after a rewind, and
// records produced again (same payload, new offsets) by a retrying gateway.
func dirty(r *rand.Rand, clean [][]twin.Sample) [][]twin.Sample {
	var out [][]twin.Sample
	next := int64(0)
	at := func(rec []twin.Sample) []twin.Sample {
		c := cloneSamples(rec)
		for i := range c {
			c[i].Pos = twin.LogPos{Log: "telemetry@dirty", Offset: next}
		}
		next++
		return c
	}
	for i, rec := range clean {
		out = append(out, at(rec))
		if r.IntN(8) == 0 { // rewind: the last few records again, same offsets
			k := min(len(out), 1+r.IntN(5))
			for _, again := range out[len(out)-k:] {
				out = append(out, cloneSamples(again))
			}
		}
		if r.IntN(8) == 0 { // a gateway resends an earlier message
			out = append(out, at(clean[r.IntN(i+1)]))
		}
	}
	return out
}

// run applies records in random chunks, as a worker's batches would.
func run(r *rand.Rand, typ *twin.AssetType, log [][]twin.Sample) (*twin.State, []twin.Event) {
	var st *twin.State
	var events []twin.Event
	for len(log) > 0 {
		k := min(len(log), 1+r.IntN(8))
		var batch []twin.Sample
		for _, rec := range log[:k] {
			batch = append(batch, rec...)
		}
		log = log[k:]
		var evs []twin.Event
		st, evs = ingest.Transition(line, typ, st, batch)
		events = append(events, evs...)
	}
	return st, events
}

func TestTransition_duplicatesAndRedeliveries(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		typ := lineType(time.Duration(r.IntN(2)*5) * time.Second)
		clean := randomLog(r, 150)
		want, wantEvents := run(r, typ, clean)
		got, gotEvents := run(r, typ, dirty(r, clean))
		if len(wantEvents) == 0 {
			t.Fatalf("seed %d: clean log made no events", seed)
		}
		if !slices.Equal(evStrings(gotEvents), evStrings(wantEvents)) || !reflect.DeepEqual(gotEvents, wantEvents) {
			t.Fatalf("seed %d: events differ:\n got %q\nwant %q", seed, evStrings(gotEvents), evStrings(wantEvents))
		}
		if got.Offsets["telemetry@dirty/0"] == 0 || want.Offsets["telemetry@clean/0"] != 149 {
			t.Fatalf("seed %d: offsets %v / %v", seed, got.Offsets, want.Offsets)
		}
		got.Offsets, want.Offsets = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: state differs:\n got %+v\nwant %+v", seed, got, want)
		}
		// Re-consuming the whole clean log over its own final state changes nothing.
		st, _ := run(r, typ, clean)
		replayed, evs := ingest.Transition(line, typ, st, slices.Concat(clean...))
		if len(evs) != 0 || !reflect.DeepEqual(replayed, st) {
			t.Fatalf("seed %d: replay of the whole log changed the state or emitted %q", seed, evStrings(evs))
		}
	}
}
