// Package fanout hands notices to in-process subscribers without ever blocking
// the publisher: the one mechanism behind the memory bus, the Redis bus's local
// delivery and the gateway's subscription hub.
//
// A subscriber whose buffer is full is dropped — its channel closed — and
// counted, rather than skipped: a consumer whose channel ends knows it may have
// missed notices and resumes from the event store, while one that stayed open
// would miss them without a sign.
package fanout

import (
	"context"
	"sync"
	"sync/atomic"

	twin "github.com/twingraph/twingraph"
)

// Fanout is a set of subscribers. The zero value is not usable; call New.
type Fanout struct {
	buffer int
	// OnDrop, when set before use, is called (with the fan-out's lock held:
	// it must be quick and must not call back into the Fanout) each time a
	// slow subscriber is dropped.
	OnDrop func()
	// OnLeave, when set before use, is called without locks held after a
	// subscriber left because its context ended, with the number remaining.
	OnLeave func(remaining int)

	mu      sync.Mutex
	subs    map[*sub]struct{}
	dropped atomic.Int64
}

type sub struct {
	ch    chan twin.Notice
	match func(*twin.Notice) bool // nil takes every notice
	stop  func() bool             // stops the context.AfterFunc that removes it
}

// New returns an empty fan-out whose subscribers buffer n notices (at least 1).
func New(n int) *Fanout {
	return &Fanout{buffer: max(n, 1), subs: map[*sub]struct{}{}}
}

// Subscribe returns a channel of the notices published from now on that
// match accepts (all when match is nil). match runs on the publish path, so
// only matching notices take buffer space; it must be quick and must not
// modify the notice. The channel is closed when ctx ends, when the subscriber
// falls a full buffer behind, or by CloseAll.
func (f *Fanout) Subscribe(ctx context.Context, match func(*twin.Notice) bool) <-chan twin.Notice {
	return f.SubscribeBuffer(ctx, match, f.buffer)
}

// SubscribeBuffer is Subscribe with a buffer of n notices (at least 1) for
// this subscriber, e.g. one that will not read for a while.
func (f *Fanout) SubscribeBuffer(ctx context.Context, match func(*twin.Notice) bool, n int) <-chan twin.Notice {
	s := &sub{ch: make(chan twin.Notice, max(n, 1)), match: match}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[s] = struct{}{}
	// Registered under the lock so whoever closes s can stop the callback;
	// the callback runs in its own goroutine and waits for the lock.
	s.stop = context.AfterFunc(ctx, func() {
		f.mu.Lock()
		left := f.removeLocked(s)
		n := len(f.subs)
		f.mu.Unlock()
		if left && f.OnLeave != nil {
			f.OnLeave(n)
		}
	})
	return s.ch
}

// Publish offers notices to every subscriber without blocking, dropping those
// whose buffer is full. It returns how many subscribers remain.
func (f *Fanout) Publish(notices []twin.Notice) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
	send:
		for i := range notices {
			if s.match != nil && !s.match(&notices[i]) {
				continue
			}
			select {
			case s.ch <- notices[i]:
			default:
				f.removeLocked(s)
				f.dropped.Add(1)
				if f.OnDrop != nil {
					f.OnDrop()
				}
				break send
			}
		}
	}
	return len(f.subs)
}

// CloseAll ends every subscription and returns how many there were.
func (f *Fanout) CloseAll() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.subs)
	for s := range f.subs {
		f.removeLocked(s)
	}
	return n
}

// Len returns the number of subscribers.
func (f *Fanout) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// Dropped returns how many subscribers were dropped for falling behind.
func (f *Fanout) Dropped() int64 { return f.dropped.Load() }

// removeLocked closes and forgets s once, reporting whether it was there;
// f.mu must be held.
func (f *Fanout) removeLocked(s *sub) bool {
	if _, ok := f.subs[s]; !ok {
		return false
	}
	delete(f.subs, s)
	close(s.ch)
	s.stop()
	return true
}
