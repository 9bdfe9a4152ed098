package storetest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
)

// guard bounds how long a bus test waits for a delivery that must happen; it
// only turns a hang into a failure and is not a timing assertion.
const guard = 30 * time.Second

func recv(t *testing.T, ch <-chan twin.Notice, what string) (twin.Notice, bool) {
	t.Helper()
	select {
	case n, ok := <-ch:
		return n, ok
	case <-time.After(guard):
		t.Fatalf("%s: nothing received in %s", what, guard)
	}
	return twin.Notice{}, false
}

func notices(from, n int) []twin.Notice {
	out := make([]twin.Notice, n)
	for i := range out {
		k := from + i
		if k%2 == 0 {
			e := mkEvent(fmt.Sprintf("plant/a%d", k), twin.EventModeChanged, time.Unix(int64(k), 0).UTC(), k)
			e.Seq = int64(k + 1)
			out[i] = twin.Notice{Event: &e}
		} else {
			s := FullState(fmt.Sprintf("plant/a%d", k))
			out[i] = twin.Notice{State: s}
		}
	}
	return out
}

// TestBus runs the twin.Bus contract against buses from open.
func TestBus(t *testing.T, open func(t *testing.T) twin.Bus) {
	t.Run("DeliversInOrder", func(t *testing.T) {
		b := open(t)
		c, cancel := context.WithCancel(ctx(t))
		defer cancel()
		ch1, err := b.Subscribe(c, nil)
		must(t, "subscribe", err)
		ch2, err := b.Subscribe(c, nil)
		must(t, "subscribe", err)
		want := notices(0, 100)
		for i := 0; i < len(want); i += 10 {
			must(t, "publish", b.Publish(ctx(t), want[i:i+10]))
		}
		for _, ch := range []<-chan twin.Notice{ch1, ch2} {
			for i, w := range want {
				n, ok := recv(t, ch, fmt.Sprintf("notice %d", i))
				if !ok {
					t.Fatalf("channel closed after %d notices", i)
				}
				same(t, fmt.Sprintf("notice %d", i), n, w)
			}
		}
	})

	t.Run("ClosedWhenContextEnds", func(t *testing.T) {
		b := open(t)
		c, cancel := context.WithCancel(ctx(t))
		ch, err := b.Subscribe(c, nil)
		must(t, "subscribe", err)
		cancel()
		for {
			if _, ok := recv(t, ch, "close after cancel"); !ok {
				break
			}
		}
		must(t, "publish after cancel", b.Publish(ctx(t), notices(0, 3)))
	})

	t.Run("LossEndsSubscription", func(t *testing.T) {
		// The contract: a subscription that may have lost notices is closed,
		// never silently continued. A subscriber that stops reading loses
		// notices; what it received before the close must be an unbroken run
		// from the first notice published after Subscribe, so a consumer that
		// resumes from its last notice misses nothing.
		b := open(t)
		c, cancel := context.WithCancel(ctx(t))
		defer cancel()
		ch, err := b.Subscribe(c, nil)
		must(t, "subscribe", err)
		const total = twin.DefaultBusBuffer + 4000
		for i := 0; i < total; i += 100 {
			must(t, "publish", b.Publish(ctx(t), notices(i, 100)))
		}
		next := 0
		for {
			n, ok := recv(t, ch, "lagging subscriber")
			if !ok {
				break
			}
			if k := noticeNum(t, n); k != next {
				t.Fatalf("received notice %d after %d: notices %d..%d lost and the subscription continued", k, next-1, next, k-1)
			}
			next++
		}
		if next >= total {
			t.Fatalf("lagging subscriber received all %d notices; want it dropped", next)
		}
	})

	t.Run("RefusedNoticesTakeNoBuffer", func(t *testing.T) {
		// A subscriber that wants events only is not dropped by a flood of
		// states larger than any buffer, and gets the event after it; one that
		// wants states receives the states in order.
		b := open(t)
		c, cancel := context.WithCancel(ctx(t))
		defer cancel()
		events, err := b.Subscribe(c, func(n *twin.Notice) bool { return n.Event != nil })
		must(t, "subscribe events", err)
		states, err := b.Subscribe(c, func(n *twin.Notice) bool { return n.State != nil })
		must(t, "subscribe states", err)
		const flood = 2*twin.DefaultBusBuffer + 100
		seen := make(chan string, 1)
		go func() {
			next := 0
			for n := range states {
				if n.State == nil || n.State.Asset != fmt.Sprintf("plant/s%d", next) {
					seen <- fmt.Sprintf("states subscriber received %+v after %d states", n, next)
					return
				}
				next++
			}
			if next == 0 {
				seen <- "states subscriber received no state"
			}
			close(seen)
		}()
		batch := make([]twin.Notice, 0, 256)
		for i := range flood {
			batch = append(batch, twin.Notice{State: twin.NewState(fmt.Sprintf("plant/s%d", i))})
			if len(batch) == cap(batch) || i == flood-1 {
				must(t, "publish states", b.Publish(ctx(t), batch))
				batch = batch[:0]
			}
		}
		e := mkEvent("plant/a1", twin.EventModeChanged, time.Unix(1, 0).UTC(), 1)
		e.Seq = 1
		must(t, "publish event", b.Publish(ctx(t), []twin.Notice{{Event: &e}}))
		n, ok := recv(t, events, "the event after a flood of states")
		if !ok {
			t.Fatal("events-only subscriber dropped by states it did not want")
		}
		if n.Event == nil || n.Event.Seq != 1 {
			t.Fatalf("events-only subscriber received %+v, want the event", n)
		}
		cancel()
		// The states subscriber either kept up (all of them) or was dropped
		// after an unbroken run: never a gap.
		if msg, bad := <-seen; bad {
			t.Fatal(msg)
		}
	})

	t.Run("SlowSubscriberDropped", func(t *testing.T) {
		// A subscriber that never reads must not block Publish; it loses
		// notices and ends with its channel closed, while a reading one keeps
		// receiving.
		b := open(t)
		c, cancel := context.WithCancel(ctx(t))
		defer cancel()
		slow, err := b.Subscribe(c, nil)
		must(t, "subscribe slow", err)
		fast, err := b.Subscribe(c, nil)
		must(t, "subscribe fast", err)
		const total = twin.DefaultBusBuffer + 4000
		got := make(chan int)
		go func() {
			n := 0
			for range fast {
				n++
				if n == 10 {
					got <- n
				}
			}
		}()
		for i := 0; i < total; i += 100 {
			must(t, "publish", b.Publish(ctx(t), notices(i, 100)))
		}
		recvd := 0
		for {
			_, ok := recv(t, slow, "slow subscriber")
			if !ok {
				break
			}
			recvd++
		}
		if recvd >= total {
			t.Fatalf("slow subscriber received all %d notices; want it dropped", recvd)
		}
		select {
		case <-got:
		case <-time.After(guard):
			t.Fatal("reading subscriber received nothing")
		}
	})
}

// noticeNum returns k of a notice made by notices.
func noticeNum(t *testing.T, n twin.Notice) int {
	t.Helper()
	if n.Event != nil {
		return int(n.Event.Seq - 1)
	}
	if n.State != nil {
		if k, err := strconv.Atoi(strings.TrimPrefix(n.State.Asset, "plant/a")); err == nil {
			return k
		}
	}
	t.Fatalf("notice not from this test: %+v", n)
	return -1
}

// TestBusLoss runs the part of the twin.Bus contract that concerns a lost
// transport: a subscription that may have lost notices is closed, never
// silently continued, and a later Subscribe delivers again. disrupt breaks
// the transport of b under its subscriptions (for Redis: CLIENT KILL TYPE
// pubsub); notices are published throughout.
//
// Each round subscribes, checks that a notice gets through, disrupts, and then
// reads while a publisher keeps going: every notice must follow the previous
// one received without a gap until the channel closes. A bus that
// resubscribes quietly fails on the first notice after the gap; one that
// neither closes nor delivers runs into the guard.
func TestBusLoss(t *testing.T, b twin.Bus, disrupt func(t *testing.T)) {
	const rounds = 5
	c, cancel := context.WithCancel(ctx(t))
	defer cancel()
	k := 0 // the next notice to publish
	for r := range rounds {
		sub, unsub := context.WithCancel(c)
		ch, err := b.Subscribe(sub, nil)
		must(t, "subscribe", err)
		// The subscription is in place when Subscribe returns, so the first
		// notice published now is the first one received.
		first := k
		must(t, "publish", b.Publish(ctx(t), notices(k, 1)))
		k++
		n, ok := recv(t, ch, fmt.Sprintf("round %d: first notice", r))
		if !ok {
			t.Fatalf("round %d: subscription closed before any loss", r)
		}
		if got := noticeNum(t, n); got != first {
			t.Fatalf("round %d: first notice %d, want %d", r, got, first)
		}
		disrupt(t)

		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		from, end := k, k
		go func() {
			defer wg.Done()
			for i := from; ; i++ {
				end = i // read after wg.Wait
				select {
				case <-stop:
					return
				default:
				}
				if err := b.Publish(ctx(t), notices(i, 1)); err != nil {
					t.Errorf("publish: %v", err)
					return
				}
				// Pacing only, so the loop does not flood the transport.
				time.Sleep(time.Millisecond)
			}
		}()
		last := first
		for {
			n, ok := recv(t, ch, fmt.Sprintf("round %d: after the disruption", r))
			if !ok {
				break
			}
			got := noticeNum(t, n)
			if got != last+1 {
				close(stop)
				wg.Wait()
				t.Fatalf("round %d: received notice %d after %d: notices %d..%d lost and the subscription continued", r, got, last, last+1, got-1)
			}
			last = got
		}
		close(stop)
		wg.Wait()
		unsub()
		k = end
		if last+1 > k {
			t.Fatalf("round %d: received notice %d, never published", r, last)
		}
	}
}
