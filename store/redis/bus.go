package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/rueidis"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/fanout"
)

// maxNoticesPerMessage bounds one pub/sub message, so a large batch does not
// become one multi-megabyte message that stalls every subscriber's connection.
const maxNoticesPerMessage = 256

// Publish sends notices on the namespace's channel (EncodeNotices, at most
// maxNoticesPerMessage a message), pipelined in one round trip. Errors: INTERNAL.
func (s *Store) Publish(ctx context.Context, notices []twin.Notice) error {
	var cmds rueidis.Commands
	for lo := 0; lo < len(notices); lo += maxNoticesPerMessage {
		b, err := EncodeNotices(nil, notices[lo:min(lo+maxNoticesPerMessage, len(notices))])
		if err != nil {
			return internal("publish", err)
		}
		cmds = append(cmds, s.client.B().Publish().Channel(Channel(s.ns)).Message(rueidis.BinaryString(b)).Build())
	}
	if len(cmds) == 0 {
		return nil
	}
	return s.doAll(ctx, "publish", cmds...)
}

// noticesV1 is the first byte of a binary notice message.
const noticesV1 = 0x01

// EncodeNotices appends a notice message to dst: the byte 0x01, then per
// notice a kind byte ('s' a state, 'e' an event), the payload's length as a
// uvarint and the payload — a state in the binary encoding of EncodeState,
// an event as JSON (events are few; states change with every flush). States
// go out in their stored encoding because JSON was most of a flush's
// publishing time and of the gateway's decoding.
func EncodeNotices(dst []byte, notices []twin.Notice) ([]byte, error) {
	e := encoder{b: append(dst, noticesV1)}
	var scratch []byte
	for _, n := range notices {
		var err error
		switch {
		case n.State != nil:
			e.b = append(e.b, 's')
			scratch, err = EncodeState(scratch[:0], n.State)
		case n.Event != nil:
			e.b = append(e.b, 'e')
			scratch, err = json.Marshal(n.Event)
		default:
			err = errors.New("empty notice")
		}
		if err != nil {
			return dst, fmt.Errorf("encode notices: %w", err)
		}
		e.uvarint(uint64(len(scratch)))
		e.b = append(e.b, scratch...)
	}
	return e.b, nil
}

// DecodeNotices reads a notice message of EncodeNotices, or a JSON array of
// notices as gateways published before the binary message existed.
func DecodeNotices(msg string) ([]twin.Notice, error) {
	if strings.HasPrefix(msg, "[") {
		var out []twin.Notice
		err := json.Unmarshal([]byte(msg), &out)
		return out, err
	}
	if msg == "" || msg[0] != noticesV1 {
		return nil, errors.New("unknown notice message version")
	}
	d := decoder{s: msg, i: 1}
	var out []twin.Notice
	for d.err == nil && d.i < len(d.s) {
		kind := d.s[d.i]
		d.i++
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.s)-d.i) {
			return nil, errors.New("truncated notice message")
		}
		payload := d.s[d.i : d.i+int(n)]
		d.i += int(n)
		switch kind {
		case 's':
			st, err := DecodeState(payload)
			if err != nil {
				return nil, err
			}
			out = append(out, twin.Notice{State: st})
		case 'e':
			ev := new(twin.Event)
			if err := json.Unmarshal([]byte(payload), ev); err != nil {
				return nil, fmt.Errorf("decode event notice: %w", err)
			}
			out = append(out, twin.Notice{Event: ev})
		default:
			return nil, fmt.Errorf("unknown notice kind %q", kind)
		}
	}
	return out, d.err
}

// Subscribe returns the notices published on the namespace's channel from now
// on that match accepts (all when nil); the Redis subscription is confirmed before it returns. One Redis
// subscription per Store feeds every subscriber in process. The channel is
// closed when ctx ends, when the subscriber falls a full buffer behind
// (Options.SubscriberBuffer; it is dropped and counted), when the Redis
// subscription is lost, or on Close.
//
// A lost subscription ends every subscriber instead of resubscribing quietly:
// Redis pub/sub keeps nothing for a disconnected subscriber, so notices
// published until the resubscription would be missed without a sign, and a
// consumer that knows its channel ended can resume from the event store. The
// next Subscribe connects again. Notices are shared between subscribers and
// must not be modified. Errors: INTERNAL (Redis unreachable).
func (s *Store) Subscribe(ctx context.Context, match func(*twin.Notice) bool) (<-chan twin.Notice, error) {
	return s.bus.subscribe(ctx, match)
}

// Dropped returns how many subscribers were dropped for falling behind.
func (s *Store) Dropped() int64 { return s.bus.out.Dropped() }

// Lost returns how many times the Redis subscription was lost (each time
// ending every subscriber then present).
func (s *Store) Lost() int64 { return s.bus.lost.Load() }

type bus struct {
	s      *Store
	out    *fanout.Fanout[twin.Notice] // the subscribers in this process
	lost   atomic.Int64
	mu     sync.Mutex
	closed bool
	// The shared Redis subscription; nil until a Subscribe, and again after
	// the connection is lost.
	conn   rueidis.DedicatedClient
	cancel func()
	// gen numbers the connections, so a message or a loss reported by an
	// earlier connection never reaches subscribers of a later one.
	gen  uint64
	stop chan struct{} // closed by close: ends the watch
}

func newBus(s *Store) *bus {
	return &bus{s: s, out: fanout.New[twin.Notice](s.opt.SubscriberBuffer), stop: make(chan struct{})}
}

func (b *bus) subscribe(ctx context.Context, match func(*twin.Notice) bool) (<-chan twin.Notice, error) {
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
		go b.watch(b.gen, wait)
	}
	return b.out.Subscribe(ctx, match), nil
}

// connectLocked opens a dedicated connection and subscribes the channel,
// returning once Redis confirmed the subscription.
func (b *bus) connectLocked(ctx context.Context) (<-chan error, error) {
	conn, _ := b.s.client.Dedicate()
	// Close, not the release func: a connection in subscribed mode must never
	// go back to the pool for ordinary commands.
	cancel := conn.Close
	gen := b.gen + 1
	confirmed := make(chan struct{}, 1)
	wait := conn.SetPubSubHooks(rueidis.PubSubHooks{
		OnMessage: func(m rueidis.PubSubMessage) { b.dispatch(gen, m) },
		OnSubscription: func(s rueidis.PubSubSubscription) {
			if s.Kind == "subscribe" {
				select {
				case confirmed <- struct{}{}:
				default:
				}
			}
		},
	})
	// On failure the connection is closed in the background: closing waits for
	// its reader, which may be in dispatch waiting for b.mu, held by our caller.
	if err := conn.Do(ctx, conn.B().Subscribe().Channel(Channel(b.s.ns)).Build()).Error(); err != nil {
		go cancel()
		return nil, internal("subscribe", err)
	}
	select {
	case <-confirmed:
	case err := <-wait:
		go cancel()
		return nil, internal("subscribe", fmt.Errorf("connection lost: %v", err))
	case <-ctx.Done():
		go cancel()
		return nil, internal("subscribe", ctx.Err())
	}
	b.conn, b.cancel, b.gen = conn, cancel, gen
	return wait, nil
}

// watch waits for connection gen to end. When it is lost (not closed by
// close), every current subscriber is ended, since notices published from
// now until some later resubscription would never reach them; the next
// Subscribe connects again.
func (b *bus) watch(gen uint64, wait <-chan error) {
	var err error
	select {
	case <-b.stop:
		return
	case err = <-wait:
	}
	b.mu.Lock()
	if b.closed || b.gen != gen || b.conn == nil {
		b.mu.Unlock()
		return
	}
	n := b.out.CloseAll()
	cancel := b.cancel
	b.conn, b.cancel = nil, nil
	b.mu.Unlock()
	b.lost.Add(1)
	slog.Warn("redis notice subscription lost; ending subscribers so they resume", "subscribers", n, "err", err)
	cancel() // outside b.mu, as in close
}

// dispatch decodes one message of connection gen and offers its notices to
// every subscriber without blocking, dropping those whose buffer is full.
func (b *bus) dispatch(gen uint64, m rueidis.PubSubMessage) {
	notices, err := DecodeNotices(m.Message)
	if err != nil {
		slog.Warn("undecodable notice message", "channel", m.Channel, "err", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gen != gen || b.conn == nil {
		return // a message the lost connection read before it ended
	}
	b.out.Publish(notices)
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
	b.out.CloseAll()
	cancel := b.cancel
	b.conn, b.cancel = nil, nil
	b.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
