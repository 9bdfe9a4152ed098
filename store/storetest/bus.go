package storetest

import (
	"context"
	"fmt"
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
		ch1, err := b.Subscribe(c)
		must(t, "subscribe", err)
		ch2, err := b.Subscribe(c)
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
		ch, err := b.Subscribe(c)
		must(t, "subscribe", err)
		cancel()
		for {
			if _, ok := recv(t, ch, "close after cancel"); !ok {
				break
			}
		}
		must(t, "publish after cancel", b.Publish(ctx(t), notices(0, 3)))
	})

	t.Run("SlowSubscriberDropped", func(t *testing.T) {
		// A subscriber that never reads must not block Publish; it loses
		// notices and ends with its channel closed, while a reading one keeps
		// receiving.
		b := open(t)
		c, cancel := context.WithCancel(ctx(t))
		defer cancel()
		slow, err := b.Subscribe(c)
		must(t, "subscribe slow", err)
		fast, err := b.Subscribe(c)
		must(t, "subscribe fast", err)
		const total = 20000
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
