package redis_test

import (
	"context"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
)

// After Redis drops the subscriber connection, the store resubscribes and
// notices flow again to the same subscriber channel.
func TestBus_Resubscribes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := MustOpen(t, testenv.Redis(t))
	ch, err := s.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client()
	if err := c.Do(ctx, c.B().ClientKill().TypePubsub().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case n, ok := <-ch:
			if !ok {
				t.Fatal("subscriber channel closed by a lost connection")
			}
			if n.State == nil || n.State.Asset != "plant/a" {
				t.Fatalf("unexpected notice %+v", n)
			}
			return
		case <-tick.C:
			if err := s.Publish(ctx, []twin.Notice{{State: twin.NewState("plant/a")}}); err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatal("no notice after the subscriber connection was killed")
		}
	}
}
