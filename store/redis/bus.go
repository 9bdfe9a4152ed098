package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	twin "github.com/twingraph/twingraph"
)

// maxNoticesPerMessage bounds one pub/sub message, so a large batch does not
// become one multi-megabyte message that stalls every subscriber's connection.
const maxNoticesPerMessage = 256

// Publish sends notices on the namespace's channel as JSON arrays, pipelined
// in one round trip. Errors: INTERNAL.
func (s *Store) Publish(ctx context.Context, notices []twin.Notice) error {
	var cmds rueidis.Commands
	for lo := 0; lo < len(notices); lo += maxNoticesPerMessage {
		b, err := json.Marshal(notices[lo:min(lo+maxNoticesPerMessage, len(notices))])
		if err != nil {
			return internal("publish", fmt.Errorf("encode notices: %w", err))
		}
		cmds = append(cmds, s.client.B().Publish().Channel(Channel(s.ns)).Message(string(b)).Build())
	}
	if len(cmds) == 0 {
		return nil
	}
	return s.doAll(ctx, "publish", cmds...)
}

// Subscribe returns the notices published on the namespace's channel from now
// on; the Redis subscription is confirmed before it returns. One Redis
// subscription per Store feeds every subscriber in process. The channel is
// closed when ctx ends, when the subscriber falls a full buffer behind
// (Options.SubscriberBuffer; it is dropped and counted), or on Close.
// Notices are shared between subscribers and must not be modified.
// Errors: INTERNAL (Redis unreachable).
func (s *Store) Subscribe(ctx context.Context) (<-chan twin.Notice, error) {
	return s.bus.subscribe(ctx)
}

// Dropped returns how many subscribers were dropped for falling behind.
func (s *Store) Dropped() int64 { return s.bus.dropped.Load() }

type bus struct {
	s       *Store
	mu      sync.Mutex
	subs    map[*sub]struct{}
	dropped atomic.Int64
	closed  bool
	// The shared Redis subscription; nil until the first Subscribe.
	conn   rueidis.DedicatedClient
	cancel func()
	stop   chan struct{} // closed by close: ends the reconnect loop
}

type sub struct {
	ch   chan twin.Notice
	stop func() bool
}

func newBus(s *Store) *bus {
	return &bus{s: s, subs: map[*sub]struct{}{}, stop: make(chan struct{})}
}

func (b *bus) subscribe(ctx context.Context) (<-chan twin.Notice, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, internal("subscribe", rueidis.ErrClosing)
	}
	if b.conn == nil {
		wait, err := b.connectLocked(ctx)
		if err != nil {
			return nil, err
		}
		go b.watch(wait)
	}
	sb := &sub{ch: make(chan twin.Notice, b.s.opt.SubscriberBuffer)}
	b.subs[sb] = struct{}{}
	sb.stop = context.AfterFunc(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.removeLocked(sb)
	})
	return sb.ch, nil
}

// connectLocked opens a dedicated connection and subscribes the channel,
// returning once Redis confirmed the subscription.
func (b *bus) connectLocked(ctx context.Context) (<-chan error, error) {
	conn, _ := b.s.client.Dedicate()
	// Close, not the release func: a connection in subscribed mode must never
	// go back to the pool for ordinary commands.
	cancel := conn.Close
	confirmed := make(chan struct{}, 1)
	wait := conn.SetPubSubHooks(rueidis.PubSubHooks{
		OnMessage: b.dispatch,
		OnSubscription: func(s rueidis.PubSubSubscription) {
			if s.Kind == "subscribe" {
				select {
				case confirmed <- struct{}{}:
				default:
				}
			}
		},
	})
	if err := conn.Do(ctx, conn.B().Subscribe().Channel(Channel(b.s.ns)).Build()).Error(); err != nil {
		cancel()
		return nil, internal("subscribe", err)
	}
	select {
	case <-confirmed:
	case err := <-wait:
		cancel()
		return nil, internal("subscribe", fmt.Errorf("connection lost: %v", err))
	case <-ctx.Done():
		cancel()
		return nil, internal("subscribe", ctx.Err())
	}
	b.conn, b.cancel = conn, cancel
	return wait, nil
}

// watch resubscribes after a lost connection, with backoff, until close.
// Notices published while disconnected are lost; subscribers resume events
// from the event store.
func (b *bus) watch(wait <-chan error) {
	backoff := 100 * time.Millisecond
	for {
		select {
		case <-b.stop:
			return
		case err := <-wait:
			select {
			case <-b.stop:
				return
			default:
			}
			slog.Warn("redis notice subscription lost; resubscribing", "err", err)
			b.mu.Lock()
			old := b.cancel
			b.conn, b.cancel = nil, nil
			b.mu.Unlock()
			if old != nil {
				old() // outside b.mu, as in close
			}
			for {
				select {
				case <-b.stop:
					return
				case <-time.After(backoff):
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				b.mu.Lock()
				var err error
				if !b.closed {
					wait, err = b.connectLocked(ctx)
				}
				closed := b.closed
				b.mu.Unlock()
				cancel()
				if closed {
					return
				}
				if err == nil {
					backoff = 100 * time.Millisecond
					break
				}
				backoff = min(2*backoff, 5*time.Second)
			}
		}
	}
}

// dispatch decodes one message and offers its notices to every subscriber
// without blocking, dropping those whose buffer is full.
func (b *bus) dispatch(m rueidis.PubSubMessage) {
	var notices []twin.Notice
	if err := json.Unmarshal([]byte(m.Message), &notices); err != nil {
		slog.Warn("undecodable notice message", "channel", m.Channel, "err", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for sb := range b.subs {
	send:
		for _, n := range notices {
			select {
			case sb.ch <- n:
			default:
				b.removeLocked(sb)
				b.dropped.Add(1)
				break send
			}
		}
	}
}

func (b *bus) removeLocked(sb *sub) {
	if _, ok := b.subs[sb]; !ok {
		return
	}
	delete(b.subs, sb)
	close(sb.ch)
	if sb.stop != nil {
		sb.stop()
	}
}

// close ends every subscription. The connection is closed after releasing
// b.mu: closing waits for its reader, which may be in dispatch waiting for b.mu.
func (b *bus) close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	close(b.stop)
	for sb := range b.subs {
		b.removeLocked(sb)
	}
	cancel := b.cancel
	b.conn, b.cancel = nil, nil
	b.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
