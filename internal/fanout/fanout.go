// Package fanout hands values to in-process subscribers without ever blocking
// the publisher: the one mechanism behind the memory bus, the Redis bus's local
// delivery, the gateway's subscription hub (all of notices) and the responses
// a shared subscription execution hands its members.
//
// A subscriber whose buffer is full is dropped — its channel closed — and
// counted, rather than skipped: a consumer whose channel ends knows it may have
// missed values and resumes from the event store, while one that stayed open
// would miss them without a sign.
package fanout

import (
	"context"
	"sync"
	"sync/atomic"
)

// Fanout is a set of subscribers to values of type T (twin.Notice for the
// buses and the hub). The zero value is not usable; call New.
type Fanout[T any] struct {
	buffer int
	// OnDrop, when set before use, is called (with the fan-out's lock held:
	// it must be quick and must not call back into the Fanout) each time a
	// slow subscriber is dropped.
	OnDrop func()
	// OnLeave, when set before use, is called without locks held after a
	// subscriber left because its context ended, with the number remaining.
	OnLeave func(remaining int)

	mu      sync.Mutex
	subs    map[*sub[T]]struct{}
	dropped atomic.Int64
}

type sub[T any] struct {
	ch    chan T
	match func(*T) bool // nil takes every value
	stop  func() bool   // stops the context.AfterFunc that removes it
}

// New returns an empty fan-out whose subscribers buffer n values (at least 1).
func New[T any](n int) *Fanout[T] {
	return &Fanout[T]{buffer: max(n, 1), subs: map[*sub[T]]struct{}{}}
}

// Subscribe returns a channel of the values published from now on that
// match accepts (all when match is nil). match runs on the publish path, so
// only matching values take buffer space; it must be quick and must not
// modify the value. The channel is closed when ctx ends, when the subscriber
// falls a full buffer behind, or by CloseAll.
func (f *Fanout[T]) Subscribe(ctx context.Context, match func(*T) bool) <-chan T {
	return f.SubscribeBuffer(ctx, match, f.buffer)
}

// SubscribeBuffer is Subscribe with a buffer of n values (at least 1) for
// this subscriber, e.g. one that will not read for a while.
func (f *Fanout[T]) SubscribeBuffer(ctx context.Context, match func(*T) bool, n int) <-chan T {
	s := &sub[T]{ch: make(chan T, max(n, 1)), match: match}
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

// Publish offers values to every subscriber without blocking, dropping those
// whose buffer is full. It returns how many subscribers remain.
func (f *Fanout[T]) Publish(values []T) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
	send:
		for i := range values {
			if s.match != nil && !s.match(&values[i]) {
				continue
			}
			select {
			case s.ch <- values[i]:
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
func (f *Fanout[T]) CloseAll() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.subs)
	for s := range f.subs {
		f.removeLocked(s)
	}
	return n
}

// Len returns the number of subscribers.
func (f *Fanout[T]) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// Dropped returns how many subscribers were dropped for falling behind.
func (f *Fanout[T]) Dropped() int64 { return f.dropped.Load() }

// removeLocked closes and forgets s once, reporting whether it was there;
// f.mu must be held.
func (f *Fanout[T]) removeLocked(s *sub[T]) bool {
	if _, ok := f.subs[s]; !ok {
		return false
	}
	delete(f.subs, s)
	close(s.ch)
	s.stop()
	return true
}
