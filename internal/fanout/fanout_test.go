package fanout_test

import (
	"context"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/fanout"
)

func notice(asset string) twin.Notice { return twin.Notice{State: &twin.State{Asset: asset}} }

func TestFanout(t *testing.T) {
	f := fanout.New[twin.Notice](2)
	drops := 0
	f.OnDrop = func() { drops++ }
	left := make(chan int, 1)
	f.OnLeave = func(n int) { left <- n }

	ctx, cancel := context.WithCancel(context.Background())
	all := f.Subscribe(ctx, nil)
	onlyA := f.Subscribe(context.Background(), func(n *twin.Notice) bool { return n.State.Asset == "a" })

	// Only matching notices take buffer space: b, b, a fits onlyA's buffer of 2.
	if n := f.Publish([]twin.Notice{notice("b"), notice("a")}); n != 2 {
		t.Fatalf("%d subscribers after the first publish, want 2", n)
	}
	if got := (<-onlyA).State.Asset; got != "a" {
		t.Errorf("filtered subscriber got %q", got)
	}
	// all has b and a buffered; one more overflows it: dropped, not skipped.
	if n := f.Publish([]twin.Notice{notice("c")}); n != 1 || drops != 1 || f.Dropped() != 1 {
		t.Fatalf("after overflow: %d subscribers, %d drops, want 1 and 1", n, drops)
	}
	got := 0
	for range all {
		got++
	}
	if got != 2 {
		t.Errorf("dropped subscriber drained %d notices, want the 2 buffered before it fell behind", got)
	}
	cancel() // all is gone already: no OnLeave for it

	ctx2, cancel2 := context.WithCancel(context.Background())
	f.Subscribe(ctx2, nil)
	cancel2()
	select {
	case n := <-left:
		if n != 1 {
			t.Errorf("OnLeave reported %d remaining, want 1", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OnLeave after the context ended")
	}
	if n := f.CloseAll(); n != 1 {
		t.Errorf("CloseAll closed %d, want 1", n)
	}
	if _, ok := <-onlyA; ok {
		t.Error("channel still open after CloseAll")
	}
	if f.Len() != 0 {
		t.Errorf("Len = %d after CloseAll", f.Len())
	}
}
