package ingest

import (
	"runtime"
	"slices"
	"sync"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/alias"
)

// Record is one telemetry message taken from the log. It holds no client
// types, so a log reader of any kind (the Kafka worker, a replay, a test)
// can feed ApplyBatch.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	// Produced is when the record was produced, as far as the reader can
	// trust it (never after the time it was read). Sample timestamps are
	// judged "in the future" against it.
	Produced time.Time
	// Read is when the reader took the record (the age of what is unapplied).
	Read time.Time
}

// Decoded is the decode result of one record.
type Decoded struct {
	Samples []twin.Sample
	Rejects []Reject
}

// DeadLetter is one record with refused elements: what a reader sends to its
// dead-letter destination.
type DeadLetter struct {
	Record  *Record
	Rejects []Reject // refused elements in message order; never empty
}

// Applied is what one batch of records did: everything a reader writes.
type Applied struct {
	// Samples are every decoded sample in log order, late and bad ones
	// included: history keeps them all.
	Samples []twin.Sample
	// Events are the business events in per-asset log order.
	Events []twin.Event
	// States are the new states of the assets the batch touched.
	States []*twin.State
	// Dead are the records with refused elements, in log order.
	Dead []DeadLetter
	// Next is the offset to commit per partition (last offset + 1).
	Next map[int32]int64
	// Records is how many records the batch held.
	Records int
}

// stampOf returns the model's stamp for states ("" when it has none).
func stampOf(m twin.Model) string {
	if s, ok := m.(interface{ Stamp() string }); ok {
		return s.Stamp()
	}
	return ""
}

// adopt gives each asset in ids without a state the state of an earlier id
// (an alias: the asset was renamed) from states, relabelled: its offsets
// skip what was applied under the old id, and its mode, uptime and faults
// carry on instead of starting over from UNKNOWN. It returns the ids still
// without a state.
func adopt(m twin.Model, ids []string, states map[string]*twin.State) []string {
	var rest []string
	for _, id := range ids {
		if a := m.Asset(id); a != nil {
			if st := adoptable(m, a, states); st != nil {
				states[id] = st
				continue
			}
		}
		rest = append(rest, id)
	}
	return rest
}

// adoptable returns the state of one of a's earlier ids, relabelled as a's
// (a copy: the original is not modified).
func adoptable(m twin.Model, a *twin.Asset, states map[string]*twin.State) *twin.State {
	for _, old := range a.Aliases {
		if st := states[old]; st != nil {
			c := alias.RelabelState(m, st)
			if c == st {
				c = st.Clone()
				c.Asset = a.ID
			}
			return c
		}
	}
	return nil
}

// parallelism is how many goroutines decode and transition a batch.
func parallelism() int { return max(1, runtime.GOMAXPROCS(0)) }

// DecodeBatch decodes recs with DecodeAt in parallel, keeping their order,
// and stamps each sample with its log position (log is LogPos.Log).
func DecodeBatch(m twin.Model, log string, recs []*Record, lim Limits) []Decoded {
	out := make([]Decoded, len(recs))
	par := parallelism()
	if len(recs) < 64 {
		par = 1
	}
	chunk := (len(recs) + par - 1) / par
	var wg sync.WaitGroup
	for lo := 0; lo < len(recs); lo += chunk {
		hi := min(lo+chunk, len(recs))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				r := recs[i]
				s, rj := DecodeAt(m, r.Value, r.Produced, lim)
				pos := twin.LogPos{Log: log, Partition: r.Partition, Offset: r.Offset}
				for j := range s {
					s[j].Pos = pos
				}
				out[i] = Decoded{Samples: s, Rejects: rj}
			}
		})
	}
	wg.Wait()
	return out
}

// ApplyBatch runs every touched asset's samples, in log order, through
// Transition, asset by asset in parallel. states holds the current state
// per asset and is updated in place; load fetches the states of assets not
// in it (nil result entries mean no state yet; a nil load means none are
// stored). It returns an error only when load fails, leaving states unchanged.
//
// dec is DecodeBatch's result for recs under the same model m, done
// beforehand so that a reader can decode the next batch while it writes this one.
func ApplyBatch(m twin.Model, recs []*Record, dec []Decoded, states map[string]*twin.State,
	load func(ids []string) ([]*twin.State, error)) (*Applied, error) {
	res := &Applied{Next: map[int32]int64{}, Records: len(recs)}
	byAsset := map[string][]twin.Sample{}
	var order []string
	n := 0
	for i := range dec {
		n += len(dec[i].Samples)
	}
	res.Samples = make([]twin.Sample, 0, n)
	for i, d := range dec {
		r := recs[i]
		if next := r.Offset + 1; next > res.Next[r.Partition] {
			res.Next[r.Partition] = next
		}
		if len(d.Rejects) > 0 {
			res.Dead = append(res.Dead, DeadLetter{Record: r, Rejects: d.Rejects})
		}
		for _, s := range d.Samples {
			res.Samples = append(res.Samples, s)
			if _, ok := byAsset[s.Asset]; !ok {
				order = append(order, s.Asset)
			}
			byAsset[s.Asset] = append(byAsset[s.Asset], s)
		}
	}

	var missing []string
	for _, id := range order {
		if _, ok := states[id]; !ok {
			missing = append(missing, id)
		}
	}
	missing = adopt(m, missing, states)
	if len(missing) > 0 && load != nil {
		// An asset renamed since its state was written has it under an
		// earlier id: those are read in the same round trip.
		ids := slices.Clip(missing)
		for _, id := range missing {
			if a := m.Asset(id); a != nil {
				ids = append(ids, a.Aliases...)
			}
		}
		got, err := load(ids)
		if err != nil {
			return nil, err
		}
		loaded := make(map[string]*twin.State, len(ids))
		for i, id := range ids {
			if i < len(got) && got[i] != nil {
				loaded[id] = got[i]
			}
		}
		for _, id := range missing {
			if st := loaded[id]; st != nil && st.Asset == id {
				states[id] = st
			} else if a := m.Asset(id); a != nil {
				if st := adoptable(m, a, loaded); st != nil {
					states[id] = st
				}
			}
		}
	}
	stamp := stampOf(m)
	aliased := true
	if am, ok := m.(interface{ Aliased() bool }); ok {
		aliased = am.Aliased()
	}

	type out struct {
		st  *twin.State
		evs []twin.Event
	}
	outs := make([]out, len(order))
	run := func(i int) {
		id := order[i]
		a := m.Asset(id)
		if a == nil {
			return // Decode only yields samples of known assets
		}
		st := states[id]
		if aliased {
			// Values kept under a signal's earlier name carry on under its current one.
			st = alias.RelabelState(m, st)
		}
		st, evs := Transition(a, m.Type(a.Type), st, byAsset[id])
		st.Model = stamp
		outs[i] = out{st, evs}
	}
	par := parallelism()
	if len(order) < 2*par || len(res.Samples) < 256 {
		for i := range order {
			run(i)
		}
	} else {
		var wg sync.WaitGroup
		for w := 0; w < par; w++ {
			wg.Go(func() {
				for i := w; i < len(order); i += par {
					run(i)
				}
			})
		}
		wg.Wait()
	}
	for i, id := range order {
		if outs[i].st == nil {
			continue
		}
		states[id] = outs[i].st
		res.States = append(res.States, outs[i].st)
		res.Events = append(res.Events, outs[i].evs...)
	}
	return res, nil
}
