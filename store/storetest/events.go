package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
)

// mkEvent returns an event with its deterministic id.
func mkEvent(asset string, kind twin.EventKind, ts time.Time, i int) twin.Event {
	e := twin.Event{Kind: kind, TS: ts, Asset: asset}
	switch kind {
	case twin.EventModeChanged:
		e.FromMode, e.ToMode = twin.ModeIdle, twin.ModeRunning
		e.DurationSeconds = ptr(float64(i) + 0.25)
	case twin.EventFaultRaised, twin.EventFaultCleared:
		e.Code = fmt.Sprintf("E%d", i)
	case twin.EventBatchStarted, twin.EventBatchEnded:
		e.Batch, e.Product = fmt.Sprintf("B%d", i), "SKU-ü"
	case twin.EventProductChanged:
		e.Product = fmt.Sprintf("SKU-%d", i)
	}
	e.ID = twin.EventID(&e)
	return e
}

// listAll pages through every event matching q with pages of size first.
func listAll(t *testing.T, s twin.EventStore, q twin.EventQuery) []twin.Event {
	t.Helper()
	var all []twin.Event
	for range 100000 {
		p, err := s.ListEvents(ctx(t), q)
		must(t, "list", err)
		if len(p.Events) > q.First {
			t.Fatalf("page of %d events for first=%d", len(p.Events), q.First)
		}
		all = append(all, p.Events...)
		if !p.HasNext {
			return all
		}
		if len(p.Events) == 0 {
			t.Fatalf("empty page with HasNext")
		}
		q.AfterSeq = p.Events[len(p.Events)-1].Seq
	}
	t.Fatal("paging does not end")
	return nil
}

// listAllBackward pages back from the end through every event matching q,
// then returns them in Seq order.
func listAllBackward(t *testing.T, s twin.EventStore, q twin.EventQuery) []twin.Event {
	t.Helper()
	q.Backward = true
	var pages [][]twin.Event
	for range 100000 {
		p, err := s.ListEvents(ctx(t), q)
		must(t, "list backward", err)
		if len(p.Events) > q.First {
			t.Fatalf("backward page of %d events for first=%d", len(p.Events), q.First)
		}
		for i := 1; i < len(p.Events); i++ {
			if p.Events[i].Seq <= p.Events[i-1].Seq {
				t.Fatalf("backward page not in Seq order: %d then %d", p.Events[i-1].Seq, p.Events[i].Seq)
			}
		}
		pages = append(pages, p.Events)
		if !p.HasNext {
			all := []twin.Event{}
			for i := len(pages) - 1; i >= 0; i-- {
				all = append(all, pages[i]...)
			}
			return all
		}
		if len(p.Events) == 0 {
			t.Fatalf("empty backward page with HasNext")
		}
		q.BeforeSeq = p.Events[0].Seq
	}
	t.Fatal("paging back does not end")
	return nil
}

func withoutSeq(es []twin.Event) []twin.Event {
	out := slices.Clone(es)
	for i := range out {
		out[i].Seq = 0
	}
	return out
}

// TestEventStore runs the twin.EventStore contract against stores from open.
func TestEventStore(t *testing.T, open func(t *testing.T) twin.EventStore) {
	t0 := time.Date(2026, 11, 24, 6, 0, 0, 500, time.UTC)

	t.Run("AppendAndList", func(t *testing.T) {
		s := open(t)
		var evs []twin.Event
		for i, k := range twin.EventKinds {
			evs = append(evs, mkEvent("plant/jkt1/packaging/line3", k, t0.Add(time.Duration(i)*time.Second), i))
		}
		must(t, "append", s.AppendEvents(ctx(t), evs))
		for i := range evs {
			if evs[i].Seq <= 0 || (i > 0 && evs[i].Seq <= evs[i-1].Seq) {
				t.Fatalf("event %d: Seq %d not assigned in increasing order", i, evs[i].Seq)
			}
		}
		p, err := s.ListEvents(ctx(t), twin.EventQuery{First: 100})
		must(t, "list", err)
		if p.HasNext {
			t.Fatal("HasNext on the only page")
		}
		same(t, "events", p.Events, evs)
	})

	t.Run("Idempotent", func(t *testing.T) {
		s := open(t)
		evs := []twin.Event{mkEvent("a", twin.EventFaultRaised, t0, 1), mkEvent("a", twin.EventFaultCleared, t0.Add(time.Second), 1)}
		must(t, "append", s.AppendEvents(ctx(t), slices.Clone(evs)))
		again := append(slices.Clone(evs), mkEvent("a", twin.EventModeChanged, t0.Add(2*time.Second), 3))
		must(t, "append again", s.AppendEvents(ctx(t), again))
		must(t, "append twice in one batch", s.AppendEvents(ctx(t), []twin.Event{again[2], again[2]}))
		got := listAll(t, s, twin.EventQuery{First: 2})
		same(t, "events after replays", withoutSeq(got), withoutSeq(again))
		if again[2].Seq <= got[1].Seq {
			t.Fatalf("new event Seq %d not after %d", again[2].Seq, got[1].Seq)
		}
	})

	t.Run("ReappendWritesBackSeq", func(t *testing.T) {
		// AppendEvents of already-stored events writes back their original
		// Seq, and does not change pages. A re-derived event (a replay after
		// an interrupted flush, a fresh state namespace over the same event
		// store) arrives with Seq 0 or a stale value; left so, it would be
		// published with a cursor that replays the whole history.
		s := open(t)
		var evs []twin.Event
		for i := range 6 {
			evs = append(evs, mkEvent("plant/a", twin.EventModeChanged, t0.Add(time.Duration(i)*time.Second), i))
		}
		must(t, "append", s.AppendEvents(ctx(t), slices.Clone(evs[:4])))
		before := listAll(t, s, twin.EventQuery{First: 100})
		if len(before) != 4 {
			t.Fatalf("stored %d events, want 4", len(before))
		}
		orig := map[string]int64{}
		for _, e := range before {
			orig[e.ID] = e.Seq
		}

		// Only stored ones, one without its id, one with a wrong Seq, one twice.
		again := withoutSeq(evs[:4])
		again[1].ID = ""
		again[2].Seq = 999999
		again = append(again, again[0])
		must(t, "append again", s.AppendEvents(ctx(t), again))
		for i, e := range again {
			if want := orig[evs[i%4].ID]; e.Seq != want {
				t.Fatalf("re-appended event %d: Seq %d, want the original %d", i, e.Seq, want)
			}
		}
		same(t, "events after re-append", listAll(t, s, twin.EventQuery{First: 3}), before)

		// Stored and new in one batch: each gets its own, new ones after all.
		mixed := withoutSeq([]twin.Event{evs[4], evs[1], evs[5], evs[3]})
		must(t, "append mixed", s.AppendEvents(ctx(t), mixed))
		if mixed[1].Seq != orig[evs[1].ID] || mixed[3].Seq != orig[evs[3].ID] {
			t.Fatalf("stored events in a mixed batch: Seq %d and %d, want %d and %d", mixed[1].Seq, mixed[3].Seq, orig[evs[1].ID], orig[evs[3].ID])
		}
		if mixed[0].Seq <= before[3].Seq || mixed[2].Seq <= mixed[0].Seq {
			t.Fatalf("new events in a mixed batch: Seq %d and %d, want increasing after %d", mixed[0].Seq, mixed[2].Seq, before[3].Seq)
		}
		all := listAll(t, s, twin.EventQuery{First: 100})
		same(t, "events after mixed append", all, append(slices.Clone(before), mixed[0], mixed[2]))
	})

	t.Run("Filters", func(t *testing.T) {
		s := open(t)
		var evs []twin.Event
		for i := range 60 {
			asset := []string{"plant/a", "plant/b", "plant/c"}[i%3]
			evs = append(evs, mkEvent(asset, twin.EventKinds[i%len(twin.EventKinds)], t0.Add(time.Duration(i)*time.Minute), i))
		}
		must(t, "append", s.AppendEvents(ctx(t), evs))
		cases := []struct {
			name string
			q    twin.EventQuery
			keep func(e twin.Event) bool
		}{
			{"all", twin.EventQuery{}, func(twin.Event) bool { return true }},
			{"assets", twin.EventQuery{Assets: []string{"plant/a", "plant/c"}}, func(e twin.Event) bool { return e.Asset != "plant/b" }},
			{"no assets", twin.EventQuery{Assets: []string{}}, func(twin.Event) bool { return false }},
			{"kinds", twin.EventQuery{Kinds: []twin.EventKind{twin.EventModeChanged, twin.EventBatchEnded}}, func(e twin.Event) bool {
				return e.Kind == twin.EventModeChanged || e.Kind == twin.EventBatchEnded
			}},
			{"range", twin.EventQuery{From: t0.Add(10 * time.Minute), To: t0.Add(20 * time.Minute)}, func(e twin.Event) bool {
				return !e.TS.Before(t0.Add(10*time.Minute)) && e.TS.Before(t0.Add(20*time.Minute))
			}},
			{"everything", twin.EventQuery{Assets: []string{"plant/b"}, Kinds: []twin.EventKind{twin.EventFaultRaised}, From: t0.Add(5 * time.Minute)},
				func(e twin.Event) bool {
					return e.Asset == "plant/b" && e.Kind == twin.EventFaultRaised && !e.TS.Before(t0.Add(5*time.Minute))
				}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				want := []twin.Event{}
				for _, e := range evs {
					if c.keep(e) {
						want = append(want, e)
					}
				}
				for _, first := range []int{1, 7, 1000} {
					q := c.q
					q.First = first
					got := listAll(t, s, q)
					if got == nil {
						got = []twin.Event{}
					}
					same(t, fmt.Sprintf("%s first=%d", c.name, first), got, want)
					same(t, fmt.Sprintf("%s backward first=%d", c.name, first), listAllBackward(t, s, q), want)
				}
			})
		}
	})

	t.Run("HasNextExact", func(t *testing.T) {
		s := open(t)
		evs := []twin.Event{mkEvent("a", twin.EventFaultRaised, t0, 1), mkEvent("a", twin.EventFaultRaised, t0, 2)}
		must(t, "append", s.AppendEvents(ctx(t), evs))
		p, err := s.ListEvents(ctx(t), twin.EventQuery{First: 2})
		must(t, "list", err)
		if len(p.Events) != 2 || p.HasNext {
			t.Fatalf("page of exactly all events: %d events, HasNext %v", len(p.Events), p.HasNext)
		}
		p, err = s.ListEvents(ctx(t), twin.EventQuery{First: 1})
		must(t, "list", err)
		if len(p.Events) != 1 || !p.HasNext {
			t.Fatalf("first of two: %d events, HasNext %v", len(p.Events), p.HasNext)
		}
		p, err = s.ListEvents(ctx(t), twin.EventQuery{First: 5, AfterSeq: evs[1].Seq})
		must(t, "list", err)
		if len(p.Events) != 0 || p.HasNext {
			t.Fatalf("after the last: %d events, HasNext %v", len(p.Events), p.HasNext)
		}
	})

	t.Run("BetweenCursors", func(t *testing.T) {
		// AfterSeq and BeforeSeq bound a page from both sides, in either
		// direction; the newest page is the backward page without bounds.
		s := open(t)
		var evs []twin.Event
		for i := range 10 {
			evs = append(evs, mkEvent("a", twin.EventFaultRaised, t0.Add(time.Duration(i)*time.Second), i))
		}
		must(t, "append", s.AppendEvents(ctx(t), evs))
		for _, c := range []struct {
			name     string
			q        twin.EventQuery
			want     []twin.Event
			wantNext bool
		}{
			{"newest three", twin.EventQuery{First: 3, Backward: true}, evs[7:], true},
			{"three before the 8th", twin.EventQuery{First: 3, Backward: true, BeforeSeq: evs[7].Seq}, evs[4:7], true},
			{"back to the start", twin.EventQuery{First: 3, Backward: true, BeforeSeq: evs[3].Seq}, evs[:3], false},
			{"between forward", twin.EventQuery{First: 2, AfterSeq: evs[2].Seq, BeforeSeq: evs[6].Seq}, evs[3:5], true},
			{"between forward exact", twin.EventQuery{First: 3, AfterSeq: evs[2].Seq, BeforeSeq: evs[6].Seq}, evs[3:6], false},
			{"between backward", twin.EventQuery{First: 2, Backward: true, AfterSeq: evs[2].Seq, BeforeSeq: evs[6].Seq}, evs[4:6], true},
			{"between backward exact", twin.EventQuery{First: 5, Backward: true, AfterSeq: evs[2].Seq, BeforeSeq: evs[6].Seq}, evs[3:6], false},
			{"empty range", twin.EventQuery{First: 5, AfterSeq: evs[4].Seq, BeforeSeq: evs[5].Seq}, []twin.Event{}, false},
		} {
			t.Run(c.name, func(t *testing.T) {
				p, err := s.ListEvents(ctx(t), c.q)
				must(t, "list", err)
				if p.Events == nil {
					p.Events = []twin.Event{}
				}
				same(t, "events", p.Events, c.want)
				if p.HasNext != c.wantNext {
					t.Fatalf("HasNext %v, want %v", p.HasNext, c.wantNext)
				}
			})
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		s := open(t)
		_, err := s.ListEvents(ctx(t), twin.EventQuery{First: 0})
		wantCode(t, "first=0", err, twin.EBADINPUT)
		_, err = s.ListEvents(ctx(t), twin.EventQuery{First: -1})
		wantCode(t, "first=-1", err, twin.EBADINPUT)
	})

	t.Run("ConcurrentPaging", func(t *testing.T) {
		// Writers append while a reader pages with cursors: every event must be
		// read exactly once, in increasing Seq, none skipped.
		s := open(t)
		const writers, batches, perBatch = 4, 25, 4
		var wg sync.WaitGroup
		done := make(chan struct{})
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(w), 1))
				for b := range batches {
					var evs []twin.Event
					for i := range perBatch {
						n := (b*perBatch + i)
						evs = append(evs, mkEvent(fmt.Sprintf("plant/w%d", w), twin.EventKinds[r.IntN(len(twin.EventKinds))], t0.Add(time.Duration(n)*time.Second), n))
					}
					if err := s.AppendEvents(ctx(t), evs); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		go func() { wg.Wait(); close(done) }()
		seen := map[string]int64{}
		var after int64
		read := func() int {
			p, err := s.ListEvents(ctx(t), twin.EventQuery{First: 7, AfterSeq: after})
			must(t, "list", err)
			for _, e := range p.Events {
				if e.Seq <= after {
					t.Fatalf("event %s Seq %d not after cursor %d", e.ID, e.Seq, after)
				}
				if prev, dup := seen[e.ID]; dup {
					t.Fatalf("event %s read twice (Seq %d and %d)", e.ID, prev, e.Seq)
				}
				seen[e.ID] = e.Seq
				after = e.Seq
			}
			return len(p.Events)
		}
	loop:
		for {
			select {
			case <-done:
				break loop
			default:
				read()
			}
		}
		close(errs)
		for err := range errs {
			t.Fatalf("writer: %v", err)
		}
		for read() > 0 {
		}
		if want := writers * batches * perBatch; len(seen) != want {
			t.Fatalf("read %d distinct events, want %d (skipped %d)", len(seen), want, want-len(seen))
		}
	})
}
