package redis_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/store/redis"
	"github.com/twingraph/twingraph/store/storetest"
)

// privateRedis opens a store on a redis-server of the test's own, even when
// TWIN_TEST_REDIS_URL names a shared one: killing pub/sub connections there
// would end the subscriptions of every other test using it.
func privateRedis(t *testing.T) *redis.Store {
	t.Helper()
	t.Setenv("TWIN_TEST_REDIS_URL", "")
	return MustOpen(t, testenv.Redis(t))
}

// killPubSub drops every pub/sub connection of the server, as a network
// failure or a Redis restart would.
func killPubSub(t *testing.T, s *redis.Store) {
	t.Helper()
	c := s.Client()
	if err := c.Do(context.Background(), c.B().ClientKill().TypePubsub().Build()).Error(); err != nil {
		t.Fatal(err)
	}
}

// A lost Redis subscription ends the subscriptions that may have missed
// notices; it never resubscribes behind their back.
func TestBus_LossEndsSubscriptions(t *testing.T) {
	s := privateRedis(t)
	storetest.TestBusLoss(t, s, func(t *testing.T) { killPubSub(t, s) })
	if s.Lost() == 0 {
		t.Fatal("Lost() = 0 after the subscription connection was killed")
	}
}

// Every subscriber is ended by a lost connection, whether or not a notice was
// published meanwhile, and the next Subscribe connects again.
func TestBus_LossEndsEverySubscriber(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := privateRedis(t)
	var chans []<-chan twin.Notice
	for range 3 {
		ch, err := s.Subscribe(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
	}
	killPubSub(t, s)
	for i, ch := range chans {
		select {
		case n, ok := <-ch:
			if ok {
				t.Fatalf("subscriber %d: notice %+v, none was published", i, n)
			}
		case <-time.After(30 * time.Second): // a guard against a hang, not a timing assertion
			t.Fatalf("subscriber %d still open after its connection was killed", i)
		}
	}
	ch, err := s.Subscribe(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, []twin.Notice{{State: twin.NewState("plant/a")}}); err != nil {
		t.Fatal(err)
	}
	select {
	case n, ok := <-ch:
		if !ok || n.State == nil || n.State.Asset != "plant/a" {
			t.Fatalf("after resubscribing: %+v, %v", n, ok)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no notice after subscribing again")
	}
}

// TestNotices_RoundTrip: a notice message carries states in their binary
// encoding and events as JSON, in order; a JSON array (the older message)
// still decodes; a cut message is an error, not a partial list.
func TestNotices_RoundTrip(t *testing.T) {
	st := storetest.FullState("plant/jkt1/packaging/line3")
	ev := &twin.Event{ID: "e1", Seq: 7, Kind: twin.EventModeChanged, Asset: "plant/jkt1/packaging/line3",
		TS: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC), FromMode: twin.ModeIdle, ToMode: twin.ModeRunning}
	in := []twin.Notice{{State: st}, {Event: ev}, {State: twin.NewState("plant/a")}}
	msg, err := redis.EncodeNotices(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := redis.DecodeNotices(string(msg))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(in)
	got, _ := json.Marshal(out)
	if string(got) != string(want) {
		t.Fatalf("notices changed on the way:\n got %s\nwant %s", got, want)
	}
	legacy, _ := json.Marshal(in)
	if out, err := redis.DecodeNotices(string(legacy)); err != nil || len(out) != 3 {
		t.Fatalf("JSON message: %d notices, %v", len(out), err)
	}
	for _, cut := range []int{2, 3, len(msg) - 1} {
		if _, err := redis.DecodeNotices(string(msg[:cut])); err == nil {
			t.Errorf("message cut to %d bytes decoded without an error", cut)
		}
	}
}
