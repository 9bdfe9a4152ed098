package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
)

func makeEvents(writer, batch, n int) []twin.Event {
	base := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	out := make([]twin.Event, n)
	for i := range out {
		e := twin.Event{
			Kind:  twin.EventFaultRaised,
			TS:    base.Add(time.Duration(batch*n+i) * time.Second),
			Asset: fmt.Sprintf("plant/m%d", writer),
			Code:  fmt.Sprintf("E%d-%d-%d", writer, batch, i),
		}
		e.ID = twin.EventID(&e)
		out[i] = e
	}
	return out
}

// TestListEvents_ConcurrentWriters pages through events while several writers
// append (and replay) batches: every event is returned exactly once, in Seq
// order, although writers commit in an order the reader cannot predict.
func TestListEvents_ConcurrentWriters(t *testing.T) {
	forEngines(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := MustOpen(t, url)
		const writers, batches, per = 4, 15, 5
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		done := make(chan struct{})
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range batches {
					evs := makeEvents(w, b, per)
					if err := s.AppendEvents(ctx, evs); err != nil {
						errs <- err
						return
					}
					// A replay is a no-op and hands back the original Seq,
					// while other writers insert around it.
					if b%3 == 0 {
						again := makeEvents(w, b, per)
						if err := s.AppendEvents(ctx, again); err != nil {
							errs <- err
							return
						}
						for i := range again {
							if again[i].Seq != evs[i].Seq {
								errs <- fmt.Errorf("replayed event got seq %d, stored with %d", again[i].Seq, evs[i].Seq)
								return
							}
						}
					}
				}
			}()
		}
		go func() { wg.Wait(); close(done) }()

		seen := map[string]int64{}
		var after int64
		finished := false
		for {
			select {
			case <-done:
				finished = true
			default:
			}
			page, err := s.ListEvents(ctx, twin.EventQuery{AfterSeq: after, First: 7})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Events {
				if e.Seq <= after {
					t.Fatalf("seq %d not after cursor %d", e.Seq, after)
				}
				if _, dup := seen[e.ID]; dup {
					t.Fatalf("event %s returned twice", e.ID)
				}
				seen[e.ID] = e.Seq
				after = e.Seq
			}
			if finished && !page.HasNext && len(page.Events) == 0 {
				break
			}
		}
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(seen) != writers*batches*per {
			t.Fatalf("paged %d events, want %d (a page skipped a late commit)", len(seen), writers*batches*per)
		}
		// Filters: one asset, a time window, a kind that matches nothing.
		page, err := s.ListEvents(ctx, twin.EventQuery{Assets: []string{"plant/m1"}, First: 1000})
		if err != nil || len(page.Events) != batches*per || page.HasNext {
			t.Fatalf("asset filter: %d events, hasNext %v, err %v", len(page.Events), page.HasNext, err)
		}
		for _, e := range page.Events {
			if e.Asset != "plant/m1" || e.Kind != twin.EventFaultRaised || e.ID != twin.EventID(&e) {
				t.Fatalf("event round trip: %+v", e)
			}
		}
		page, err = s.ListEvents(ctx, twin.EventQuery{Kinds: []twin.EventKind{twin.EventModeChanged}, First: 10})
		if err != nil || len(page.Events) != 0 {
			t.Fatalf("kind filter: %d events, err %v", len(page.Events), err)
		}
		from := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
		page, err = s.ListEvents(ctx, twin.EventQuery{From: from, To: from.Add(per * time.Second), First: 100})
		if err != nil || len(page.Events) != writers*per {
			t.Fatalf("time filter: %d events, err %v", len(page.Events), err)
		}
		if _, err := s.ListEvents(ctx, twin.EventQuery{First: 0}); twin.ErrorCode(err) != twin.EBADINPUT {
			t.Fatalf("first 0: %v, want BAD_INPUT", err)
		}
	})
}
