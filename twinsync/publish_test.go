package twinsync_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/store/memory"
)

// seqlessEvents hands events that were already stored back without their Seq,
// as an event store that only reports the Seq of rows it inserted would.
type seqlessEvents struct {
	twin.EventStore
	mu   sync.Mutex
	seen map[string]bool
}

func (s *seqlessEvents) AppendEvents(ctx context.Context, es []twin.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.EventStore.AppendEvents(ctx, es); err != nil {
		return err
	}
	for i := range es {
		if s.seen[es[i].ID] {
			es[i].Seq = 0
		}
	}
	for i := range es {
		s.seen[es[i].ID] = true
	}
	return nil
}

// Events re-derived over an event store that already holds them (a fresh
// state namespace, or a replay after a flush that stored events but neither
// states nor notices) are published with the Seq the store gave them first,
// and never with Seq 0, whose cursor would replay the whole history.
func TestWorker_RederivedEventsPublishedWithStoredSeq(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	script := line3Script()
	produce(t, addr, "telemetry", script)

	for _, tc := range []struct {
		name    string
		events  twin.EventStore
		publish bool // whether re-derived events are published at all
	}{
		{"seq-written-back", memory.NewEventStore(), true},
		{"seq-missing", &seqlessEvents{EventStore: memory.NewEventStore(), seen: map[string]bool{}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := newStores()
			first.events = tc.events
			run(t, addr, tc.name+"-first", first, len(script))
			page, err := tc.events.ListEvents(context.Background(), twin.EventQuery{First: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Events) == 0 {
				t.Fatal("the script stored no events")
			}
			stored := map[string]int64{}
			for _, e := range page.Events {
				stored[e.ID] = e.Seq
			}

			// Fresh states and bus, the same events, another group: every
			// event is derived again.
			second := newStores()
			second.events = tc.events
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			notices, err := second.bus.Subscribe(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			run(t, addr, tc.name+"-second", second, len(script))
			cancel() // a flush publishes before it counts its records: all are buffered

			published := map[string]int64{}
			states := 0
			for n := range notices {
				if n.State != nil {
					states++
				}
				if n.Event == nil {
					continue
				}
				if n.Event.Seq != stored[n.Event.ID] {
					t.Errorf("event %s (%s) published with Seq %d, stored with %d", n.Event.ID, n.Event.Kind, n.Event.Seq, stored[n.Event.ID])
				}
				published[n.Event.ID] = n.Event.Seq
			}
			if states == 0 {
				t.Error("no state notices")
			}
			if tc.publish && len(published) != len(stored) {
				t.Errorf("%d of %d re-derived events published", len(published), len(stored))
			}
			if !tc.publish && len(published) != 0 {
				t.Errorf("%d events published without their Seq", len(published))
			}
			if p, _ := tc.events.ListEvents(context.Background(), twin.EventQuery{First: 1000}); len(p.Events) != len(page.Events) {
				t.Errorf("%d events stored after the second run, %d before", len(p.Events), len(page.Events))
			}
		})
	}
}

// flakyBus fails its first n publishes.
type flakyBus struct {
	twin.Bus
	fails atomic.Int64
}

func (b *flakyBus) Publish(ctx context.Context, ns []twin.Notice) error {
	if b.fails.Add(-1) >= 0 {
		return errDown
	}
	return b.Bus.Publish(ctx, ns)
}

// A publish that fails is retried like a store write, never skipped: a live
// subscriber whose own connection stays up must not miss an event silently.
func TestWorker_PublishFailureIsRetried(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	script := line3Script()
	produce(t, addr, "telemetry", script)

	s := newStores()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	notices, err := s.bus.Subscribe(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	fb := &flakyBus{Bus: s.bus}
	fb.fails.Store(4)
	s.bus = fb
	w := run(t, addr, "flaky-bus", s, len(script))
	cancel()

	page, err := s.events.ListEvents(context.Background(), twin.EventQuery{First: 1000})
	if err != nil || len(page.Events) == 0 {
		t.Fatalf("no events stored: %v", err)
	}
	published := map[string]bool{}
	for n := range notices {
		if n.Event != nil {
			published[n.Event.ID] = true
		}
	}
	for _, e := range page.Events {
		if !published[e.ID] {
			t.Errorf("event %s (%s) stored but never published", e.ID, e.Kind)
		}
	}
	if w.w.Stats().StoreErrors == 0 {
		t.Error("the failed publishes were not counted as flush errors")
	}
}
