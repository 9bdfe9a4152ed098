package twinsync

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/alias"
	"github.com/twingraph/twingraph/ingest"
)

// record is one telemetry message taken from the log.
type record struct {
	topic     string
	partition int32
	offset    int64
	key       []byte
	value     []byte
	// produced is when the record was produced, as far as the reader can
	// trust it: its Kafka timestamp, but never after the time it was read.
	// Sample timestamps are judged "in the future" against it.
	produced time.Time
	// read is when the worker polled the record (the age of what is unapplied).
	read time.Time
}

// producedAt is a record's produced time: its Kafka timestamp capped at the
// reader's clock (a producer with a clock far ahead cannot vouch for samples
// from the future), or the reader's clock when the record carries none.
func producedAt(kafkaTS, now time.Time) time.Time {
	if kafkaTS.IsZero() || kafkaTS.Unix() <= 0 || kafkaTS.After(now) {
		return now
	}
	return kafkaTS
}

// reasonCode returns the stable code of a ingest.Reject reason ("bad_json: ..." → "bad_json"),
// the label its DLQ counter carries.
func reasonCode(reason string) string {
	if i := strings.IndexByte(reason, ':'); i > 0 {
		return reason[:i]
	}
	return "other"
}

// applied is what one batch of records did: everything the flush writes.
type applied struct {
	// samples are every decoded sample in log order, late and bad ones included:
	// history keeps them all.
	samples []twin.Sample
	// events are the business events in per-asset log order.
	events []twin.Event
	// states are the new states of the assets the batch touched.
	states []*twin.State
	// dead are the records with refused elements: one dead letter each.
	dead []*deadLetter
	// next is the offset to commit per partition (last offset + 1).
	next map[int32]int64
	// records is how many records the batch held.
	records int
}

// decoded is the decode result of one record.
type decoded struct {
	samples []twin.Sample
	rejects []ingest.Reject
}

// snapshot returns the model as it is now when m can change (hierarchy.Live),
// else m.
func snapshot(m twin.Model) twin.Model {
	if s, ok := m.(interface{ Snapshot() twin.Model }); ok {
		return s.Snapshot()
	}
	return m
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

// decodeAll decodes records in parallel, keeping their order, and stamps each
// sample with its log position.
func decodeAll(m twin.Model, log string, recs []*record, lim ingest.Limits) []decoded {
	out := make([]decoded, len(recs))
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
				s, rj := ingest.DecodeAt(m, r.value, r.produced, lim)
				pos := twin.LogPos{Log: log, Partition: r.partition, Offset: r.offset}
				for j := range s {
					s[j].Pos = pos
				}
				out[i] = decoded{samples: s, rejects: rj}
			}
		})
	}
	wg.Wait()
	return out
}

// applyBatch runs every touched asset's samples, in log order,
// through ingest.Transition, asset by asset in parallel. states holds the current
// state per asset and is updated in place; load fetches the states of assets
// not in it (nil result entries mean no state yet). It returns an error only
// when load fails, leaving states unchanged.
//
// dec is decodeAll's result for recs, done beforehand so that decoding the
// next batch overlaps writing this one.
func applyBatch(m twin.Model, recs []*record, dec []decoded, states map[string]*twin.State,
	load func(ids []string) ([]*twin.State, error)) (*applied, error) {
	res := &applied{next: map[int32]int64{}, records: len(recs)}
	byAsset := map[string][]twin.Sample{}
	var order []string
	n := 0
	for i := range dec {
		n += len(dec[i].samples)
	}
	res.samples = make([]twin.Sample, 0, n)
	for i, d := range dec {
		r := recs[i]
		if next := r.offset + 1; next > res.next[r.partition] {
			res.next[r.partition] = next
		}
		if len(d.rejects) > 0 {
			res.dead = append(res.dead, &deadLetter{rec: r, rejects: d.rejects})
		}
		for _, s := range d.samples {
			res.samples = append(res.samples, s)
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
		st, evs := ingest.Transition(a, m.Type(a.Type), st, byAsset[id])
		st.Model = stamp
		outs[i] = out{st, evs}
	}
	par := parallelism()
	if len(order) < 2*par || len(res.samples) < 256 {
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
		res.states = append(res.states, outs[i].st)
		res.events = append(res.events, outs[i].evs...)
	}
	return res, nil
}
