package resolvers

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/fanout"
)

// Hub fans the bus out to subscriptions: it subscribes to the bus once while
// it has subscribers (and lets go of it when the last one leaves), and hands
// each notice to every subscriber with a non-blocking send. A subscriber whose
// buffer is full is dropped — its channel is closed, which ends its
// subscription — and counted; the publisher and the other subscribers never wait.
//
// State notices are taken from the bus only while some subscriber wants them
// (SubscribeStates): every flush announces a state per changed asset, and a
// gateway whose subscribers all follow events should neither decode nor
// queue those, nor be dropped by the bus for falling behind on them.
type Hub struct {
	bus    twin.Bus
	logger *slog.Logger
	out    *fanout.Fanout[twin.Notice]
	states atomic.Int64 // subscribers that want state notices

	mu     sync.Mutex
	cancel context.CancelFunc // ends the bus subscription; nil while there is none
	done   chan struct{}      // closed when the fan-out loop has returned
	gen    int                // the current bus subscription; an older loop still draining delivers nothing
	closed bool               // Close was called: no new subscribers
}

// NewHub returns a hub over bus whose subscribers buffer up to buffer notices.
// onDrop, when not nil, is called each time a slow subscriber is dropped.
func NewHub(bus twin.Bus, buffer int, logger *slog.Logger, onDrop func()) *Hub {
	if buffer <= 0 {
		buffer = DefaultSubscriberBuffer
	}
	h := &Hub{bus: bus, logger: logger, out: fanout.New[twin.Notice](buffer)}
	h.out.OnDrop = func() {
		if onDrop != nil {
			onDrop()
		}
		if logger != nil {
			logger.Warn("slow subscriber dropped", "buffer", buffer)
		}
	}
	h.out.OnLeave = func(remaining int) {
		if remaining == 0 {
			h.mu.Lock()
			h.releaseIfIdleLocked()
			h.mu.Unlock()
		}
	}
	return h
}

// Dropped returns how many slow subscribers have been dropped so far.
func (h *Hub) Dropped() int64 { return h.out.Dropped() }

// Subscribe registers a subscriber and returns its channel: every notice the
// bus delivers from now on that match accepts (all when match is nil), until
// ctx ends or the subscriber falls behind; the channel is closed then. match
// runs on the fan-out path, so only matching notices take buffer space (a
// mode-change subscriber is not dropped for the state notices it ignores);
// it must be quick and must not modify the notice. The bus subscription is in
// place when Subscribe returns, so a caller can replay history afterwards
// without a gap.
func (h *Hub) Subscribe(ctx context.Context, match func(*twin.Notice) bool) (<-chan twin.Notice, error) {
	return h.SubscribeBuffer(ctx, match, 0)
}

// SubscribeStates is Subscribe for a subscriber that wants state notices.
// From its return on, every state notice the bus delivers reaches the hub, so
// a state the caller reads afterwards is never older than the notices it misses.
func (h *Hub) SubscribeStates(ctx context.Context, match func(*twin.Notice) bool) (<-chan twin.Notice, error) {
	h.states.Add(1)
	ch, err := h.SubscribeBuffer(ctx, match, 0)
	if err != nil {
		h.states.Add(-1)
		return nil, err
	}
	context.AfterFunc(ctx, func() { h.states.Add(-1) })
	return ch, nil
}

// wanted is the hub's filter on the bus: events always, states while a
// subscriber wants them.
func (h *Hub) wanted(n *twin.Notice) bool {
	return n.State == nil || h.states.Load() > 0
}

// SubscribeBuffer is Subscribe with a buffer of n notices for this subscriber
// (the hub's own when n <= 0).
func (h *Hub) SubscribeBuffer(ctx context.Context, match func(*twin.Notice) bool, n int) (<-chan twin.Notice, error) {
	if h.bus == nil {
		return nil, twin.Errorf(twin.EINTERNAL, "subscriptions are not configured")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		// The gateway is draining: the client resumes on another replica.
		return nil, twin.Errorf(twin.EUNAVAILABLE, "the gateway is shutting down: subscribe again (with your last cursor) to resume")
	}
	if h.cancel == nil {
		bctx, cancel := context.WithCancel(context.Background())
		in, err := h.bus.Subscribe(bctx, h.wanted)
		if err != nil {
			cancel()
			return nil, err
		}
		h.cancel = cancel
		h.done = make(chan struct{})
		h.gen++
		go h.run(in, h.done, h.gen)
	}
	if n <= 0 {
		return h.out.Subscribe(ctx, match), nil
	}
	return h.out.SubscribeBuffer(ctx, match, n), nil
}

// releaseIfIdleLocked ends the bus subscription when no subscriber is left;
// h.mu must be held.
func (h *Hub) releaseIfIdleLocked() {
	if h.cancel != nil && h.out.Len() == 0 {
		h.cancel()
		h.cancel = nil
	}
}

func (h *Hub) run(in <-chan twin.Notice, done chan struct{}, gen int) {
	defer close(done)
	defer h.lost(gen)
	for n := range in {
		h.mu.Lock()
		if h.gen == gen {
			h.out.Publish([]twin.Notice{n})
			h.releaseIfIdleLocked()
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
	n := h.out.CloseAll()
	if h.logger != nil {
		h.logger.Warn("bus subscription lost; ending subscriptions so clients resume", "subscribers", n)
	}
	h.cancel()
	h.cancel = nil
}

// Close ends the bus subscription and every subscriber (their streams
// complete, so clients resume by cursor elsewhere), refuses new ones, and
// waits for the fan-out loop to return.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	h.out.CloseAll()
	cancel, done := h.cancel, h.done
	h.cancel = nil
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}
