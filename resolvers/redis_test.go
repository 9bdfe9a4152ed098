package resolvers_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
	"github.com/twingraph/twingraph/store/memory"
	"github.com/twingraph/twingraph/store/redis"
)

// gateway is one GraphQL gateway replica with its own Redis connections.
type gateway struct {
	store *redis.Store
	h     *resolvers.Handler
	srv   *httptest.Server
}

func openRedis(t *testing.T, url, ns string) *redis.Store {
	t.Helper()
	s, err := redis.Open(context.Background(), url, redis.Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newGateway(t *testing.T, m twin.Model, url, ns string, events twin.EventStore) *gateway {
	t.Helper()
	s := openRedis(t, url, ns)
	h, err := resolvers.New(resolvers.Config{Model: m, States: s, Events: events, Bus: s, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{store: s, h: h, srv: httptest.NewServer(h)}
	// Cleanups run last first: the server, then the handler, then Redis.
	t.Cleanup(s.Close)
	t.Cleanup(h.Close)
	t.Cleanup(g.srv.Close)
	return g
}

// waitRedisSubscribers waits until the notice channel has n subscribed
// connections: each gateway's Redis store subscribes once, when its hub
// takes its first subscriber, and the hub has that subscriber registered by
// then, so a notice published afterwards reaches it.
func waitRedisSubscribers(t *testing.T, s *redis.Store, n int64) {
	t.Helper()
	c := s.Client()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := c.Do(context.Background(), c.B().PubsubNumsub().Channel(redis.Channel(s.Namespace())).Build()).AsIntMap()
		if err != nil {
			t.Fatal(err)
		}
		if m[redis.Channel(s.Namespace())] == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Redis subscribers, want %d", m[redis.Channel(s.Namespace())], n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSubscription_TwoGatewaysShareRedis runs two gateway replicas over one
// Redis (as their bus) and one event store: a notice published once by the
// sync side reaches subscribers on both, and a client that saw events on one
// gateway resumes its cursor on the other, which never saw them.
func TestSubscription_TwoGatewaysShareRedis(t *testing.T) {
	url := testenv.Redis(t)
	ns := testenv.RedisNamespace(t)
	model := testmodel.Demo(t)
	events := memory.NewEventStore()
	a := newGateway(t, model, url, ns, events)
	b := newGateway(t, model, url, ns, events)
	// The sync worker's side: its own connection, appending then announcing.
	syncSide := openRedis(t, url, ns)
	t.Cleanup(syncSide.Close)
	publish := func(evs ...twin.Event) []twin.Event {
		t.Helper()
		ctx := context.Background()
		if err := events.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		notices := make([]twin.Notice, len(evs))
		for i := range evs {
			notices[i] = twin.Notice{Event: &evs[i]}
		}
		if err := syncSide.Publish(ctx, notices); err != nil {
			t.Fatal(err)
		}
		return evs
	}
	const q = `{ cursor asset assetNode { id } fromMode toMode ts durationSeconds } }`
	sub := `subscription { modeChanged(under: "plant/jkt1") ` + q

	ca := dialWS(t, a.srv, "graphql-transport-ws")
	ca.subscribe("1", sub)
	cb := dialWS(t, b.srv, "graphql-ws") // the legacy protocol on the other replica
	cb.subscribe("1", sub)
	waitRedisSubscribers(t, syncSide, 2)

	first := publish(modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 5))
	var ma, mb modeChangedMsg
	ca.next("1", &ma)
	cb.next("1", &mb)
	want := resolvers.EventCursor(first[0].Seq)
	for name, got := range map[string]modeChangedMsg{"a": ma, "b": mb} {
		mc := got.ModeChanged
		if mc.Cursor != want || mc.Asset != line3 || mc.AssetNode.ID != line3 || mc.FromMode != "IDLE" || mc.ToMode != "RUNNING" {
			t.Errorf("gateway %s delivered %+v, want line3 IDLE→RUNNING at cursor %s", name, mc, want)
		}
	}

	// Both clients go away; three transitions (and one elsewhere) happen meanwhile.
	ca.conn.Close()
	cb.conn.Close()
	missed := publish(
		modeChange(line3, twin.ModeRunning, twin.ModeFault, now.Add(time.Second), 1),
		modeChange("plant/bdg2/line1", twin.ModeIdle, twin.ModeRunning, now, 1), // not under plant/jkt1
		modeChange(line3, twin.ModeFault, twin.ModeIdle, now.Add(2*time.Second), 1),
		modeChange(line3+"/capper", twin.ModeIdle, twin.ModeRunning, now.Add(3*time.Second), 1),
	)

	// The client that was on gateway a resumes on gateway b.
	cr := dialWS(t, b.srv, "graphql-transport-ws")
	cr.subscribe("r", `subscription { modeChanged(under: "plant/jkt1", after: "`+ma.ModeChanged.Cursor+`") `+q)
	for _, w := range []twin.Event{missed[0], missed[2], missed[3]} {
		var m modeChangedMsg
		cr.next("r", &m)
		if m.ModeChanged.Cursor != resolvers.EventCursor(w.Seq) || m.ModeChanged.Asset != w.Asset || m.ModeChanged.ToMode != string(w.ToMode) {
			t.Fatalf("resumed with %+v, want %s → %s at seq %d", m.ModeChanged, w.Asset, w.ToMode, w.Seq)
		}
	}
	// Then live on b, published once, delivered once.
	live := publish(modeChange(line3, twin.ModeIdle, twin.ModeStop, now.Add(4*time.Second), 2))
	var m modeChangedMsg
	cr.next("r", &m)
	if m.ModeChanged.Cursor != resolvers.EventCursor(live[0].Seq) || m.ModeChanged.ToMode != "STOP" {
		t.Fatalf("after the replay got %+v, want the live change", m.ModeChanged)
	}
}
