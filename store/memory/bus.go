package memory

import (
	"context"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/fanout"
)

// Bus is an in-process twin.Bus. Publish never blocks: a subscriber whose
// buffer is full is dropped (its channel closed) and counted, so one slow
// client cannot stall the sync worker. As with every bus, a subscription that
// may have lost notices is closed, never silently continued, so its consumer
// knows to resume from the event store. Notices are shared between
// subscribers and must not be modified.
type Bus struct {
	out *fanout.Fanout[twin.Notice]
}

var _ twin.Bus = (*Bus)(nil)

// NewBus returns a bus whose subscribers buffer twin.DefaultBusBuffer notices.
func NewBus() *Bus { return NewBusBuffer(twin.DefaultBusBuffer) }

// NewBusBuffer returns a bus whose subscribers buffer n notices (at least 1).
func NewBusBuffer(n int) *Bus { return &Bus{out: fanout.New[twin.Notice](n)} }

// Publish delivers notices to every current subscriber without blocking.
func (b *Bus) Publish(ctx context.Context, notices []twin.Notice) error {
	b.out.Publish(notices)
	return nil
}

// Subscribe returns a channel of the notices published from now on that
// match accepts (all when nil); it is closed when ctx ends or when the
// subscriber falls a full buffer behind.
func (b *Bus) Subscribe(ctx context.Context, match func(*twin.Notice) bool) (<-chan twin.Notice, error) {
	return b.out.Subscribe(ctx, match), nil
}

// Dropped returns how many subscribers were dropped for falling behind.
func (b *Bus) Dropped() int64 { return b.out.Dropped() }

// Subscribers returns the number of current subscribers.
func (b *Bus) Subscribers() int { return b.out.Len() }
