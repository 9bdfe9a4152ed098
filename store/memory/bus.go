package memory

import (
	"context"
	"sync"
	"sync/atomic"

	twin "github.com/twingraph/twingraph"
)

// DefaultBusBuffer is the channel capacity of a Bus subscriber.
const DefaultBusBuffer = 1024

// Bus is an in-process twin.Bus. Publish never blocks: a subscriber whose
// buffer is full is dropped (its channel closed) and counted, so one slow
// client cannot stall the sync worker. As with every bus, a subscription that
// may have lost notices is closed, never silently continued, so its consumer
// knows to resume from the event store. Notices are shared between
// subscribers and must not be modified.
type Bus struct {
	buffer  int
	mu      sync.Mutex
	subs    map[*busSub]struct{}
	dropped atomic.Int64
}

type busSub struct {
	ch   chan twin.Notice
	stop func() bool
}

var _ twin.Bus = (*Bus)(nil)

// NewBus returns a bus whose subscribers buffer DefaultBusBuffer notices.
func NewBus() *Bus { return NewBusBuffer(DefaultBusBuffer) }

// NewBusBuffer returns a bus whose subscribers buffer n notices (at least 1).
func NewBusBuffer(n int) *Bus {
	return &Bus{buffer: max(n, 1), subs: map[*busSub]struct{}{}}
}

// Publish delivers notices to every current subscriber without blocking.
func (b *Bus) Publish(ctx context.Context, notices []twin.Notice) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
	send:
		for _, n := range notices {
			select {
			case s.ch <- n:
			default:
				b.removeLocked(s)
				b.dropped.Add(1)
				break send
			}
		}
	}
	return nil
}

// Subscribe returns a channel of the notices published from now on; it is
// closed when ctx ends or when the subscriber falls a full buffer behind.
func (b *Bus) Subscribe(ctx context.Context) (<-chan twin.Notice, error) {
	s := &busSub{ch: make(chan twin.Notice, b.buffer)}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[s] = struct{}{}
	// Registered under the lock so Publish never sees s without its stop;
	// the callback runs in its own goroutine and waits for the lock.
	s.stop = context.AfterFunc(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.removeLocked(s)
	})
	return s.ch, nil
}

// removeLocked closes and forgets s once; b.mu must be held.
func (b *Bus) removeLocked(s *busSub) {
	if _, ok := b.subs[s]; !ok {
		return
	}
	delete(b.subs, s)
	close(s.ch)
	if s.stop != nil {
		s.stop()
	}
}

// Dropped returns how many subscribers were dropped for falling behind.
func (b *Bus) Dropped() int64 { return b.dropped.Load() }

// Subscribers returns the number of current subscribers.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}
