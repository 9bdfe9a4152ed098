package resolvers

import (
	"context"
	"log/slog"
	gosync "sync"
	"sync/atomic"

	twin "github.com/twingraph/twingraph"
)

// Hub fans the bus out to subscriptions: it subscribes to the bus once while
// it has subscribers (and lets go of it when the last one leaves), and hands
// each notice to every subscriber with a non-blocking send. A subscriber whose
// buffer is full is dropped — its channel is closed, which ends its
// subscription — and counted; the publisher and the other subscribers never wait.
type Hub struct {
	bus    twin.Bus
	buffer int
	logger *slog.Logger
	onDrop func()

	mu     gosync.Mutex
	subs   map[*hubSub]struct{}
	cancel context.CancelFunc // ends the bus subscription; nil while there is none
	done   chan struct{}      // closed when the fan-out loop has returned
	gen    int                // the current bus subscription; an older loop still draining delivers nothing

	dropped atomic.Int64
}

type hubSub struct {
	ch     chan twin.Notice
	match  func(*twin.Notice) bool // nil takes every notice
	closed bool                    // under Hub.mu
	stop   func() bool             // stops the context.AfterFunc that removes it
}

// closeLocked closes the subscriber's channel once; Hub.mu must be held.
func (s *hubSub) closeLocked() {
	if s.closed {
		return
	}
	s.closed = true
	close(s.ch)
	if s.stop != nil {
		s.stop()
	}
}

// NewHub returns a hub over bus whose subscribers buffer up to buffer notices.
// onDrop, when not nil, is called each time a slow subscriber is dropped.
func NewHub(bus twin.Bus, buffer int, logger *slog.Logger, onDrop func()) *Hub {
	if buffer <= 0 {
		buffer = 256
	}
	return &Hub{bus: bus, buffer: buffer, logger: logger, onDrop: onDrop, subs: map[*hubSub]struct{}{}}
}

// Dropped returns how many slow subscribers have been dropped so far.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// Subscribe registers a subscriber and returns its channel: every notice the
// bus delivers from now on that match accepts (all when match is nil), until
// ctx ends or the subscriber falls behind; the channel is closed then. match
// runs on the fan-out path, so only matching notices take buffer space (a
// mode-change subscriber is not dropped for the state notices it ignores);
// it must be quick and must not modify the notice. The bus subscription is in
// place when Subscribe returns, so a caller can replay history afterwards
// without a gap.
func (h *Hub) Subscribe(ctx context.Context, match func(*twin.Notice) bool) (<-chan twin.Notice, error) {
	if h.bus == nil {
		return nil, twin.Errorf(twin.EINTERNAL, "subscriptions are not configured")
	}
	s := &hubSub{ch: make(chan twin.Notice, h.buffer), match: match}
	h.mu.Lock()
	if h.cancel == nil {
		bctx, cancel := context.WithCancel(context.Background())
		in, err := h.bus.Subscribe(bctx)
		if err != nil {
			cancel()
			h.mu.Unlock()
			return nil, err
		}
		h.cancel = cancel
		h.done = make(chan struct{})
		h.gen++
		go h.run(in, h.done, h.gen)
	}
	h.subs[s] = struct{}{}
	// Set under the lock so whoever closes s can stop the callback.
	s.stop = context.AfterFunc(ctx, func() { h.remove(s) })
	h.mu.Unlock()
	return s.ch, nil
}

// remove deregisters s and closes its channel; the last subscriber out ends
// the bus subscription.
func (h *Hub) remove(s *hubSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	s.closeLocked()
	if len(h.subs) == 0 && h.cancel != nil {
		h.cancel()
		h.cancel = nil
	}
}

func (h *Hub) run(in <-chan twin.Notice, done chan struct{}, gen int) {
	defer close(done)
	defer h.lost(gen)
	for n := range in {
		h.mu.Lock()
		if h.gen != gen {
			h.mu.Unlock()
			continue
		}
		for s := range h.subs {
			if s.closed || (s.match != nil && !s.match(&n)) {
				continue
			}
			select {
			case s.ch <- n:
			default:
				// Too slow: drop it rather than block everyone else.
				h.dropped.Add(1)
				if h.onDrop != nil {
					h.onDrop()
				}
				delete(h.subs, s)
				s.closeLocked()
				if h.logger != nil {
					h.logger.Warn("slow subscriber dropped", "buffer", h.buffer)
				}
			}
		}
		if len(h.subs) == 0 && h.cancel != nil {
			h.cancel()
			h.cancel = nil
		}
		h.mu.Unlock()
	}
}

// lost ends every subscriber when the bus closed the hub's subscription on its
// own (the bus dropped the hub, or the bus went away): a subscriber that stays
// open would silently miss notices, while an ended one resumes with its cursor.
func (h *Hub) lost(gen int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen != gen || h.cancel == nil {
		return // ended on purpose
	}
	if h.logger != nil {
		h.logger.Warn("bus subscription lost; ending subscriptions so clients resume", "subscribers", len(h.subs))
	}
	for s := range h.subs {
		delete(h.subs, s)
		s.closeLocked()
	}
	h.cancel()
	h.cancel = nil
}

// Close ends the bus subscription and every subscriber, and waits for the
// fan-out loop to return.
func (h *Hub) Close() {
	h.mu.Lock()
	for s := range h.subs {
		delete(h.subs, s)
		s.closeLocked()
	}
	cancel, done := h.cancel, h.done
	h.cancel = nil
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}
