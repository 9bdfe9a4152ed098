package resolvers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
	"github.com/twingraph/twingraph/store/memory"
)

// wsClient speaks graphql-transport-ws (or the legacy graphql-ws) to a server.
type wsClient struct {
	tb     testing.TB
	conn   *websocket.Conn
	legacy bool
}

type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func dialWS(tb testing.TB, srv *httptest.Server, protocol string) *wsClient {
	tb.Helper()
	d := websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/graphql", http.Header{"Origin": {"http://elsewhere.example"}})
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	if conn.Subprotocol() != protocol {
		tb.Fatalf("subprotocol = %q, want %q", conn.Subprotocol(), protocol)
	}
	c := &wsClient{tb: tb, conn: conn, legacy: protocol == "graphql-ws"}
	tb.Cleanup(func() { conn.Close() })
	c.send(wsMsg{Type: "connection_init", Payload: json.RawMessage(`{}`)})
	if m := c.read(); m.Type != "connection_ack" {
		tb.Fatalf("got %s, want connection_ack", m.Type)
	}
	return c
}

func (c *wsClient) send(m wsMsg) {
	c.tb.Helper()
	if err := c.conn.WriteJSON(m); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// read returns the next message that is not a keepalive.
func (c *wsClient) read() wsMsg {
	c.tb.Helper()
	for {
		// A generous bound so a broken server fails the test instead of hanging it.
		c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		var m wsMsg
		if err := c.conn.ReadJSON(&m); err != nil {
			c.tb.Fatalf("read: %v", err)
		}
		switch m.Type {
		case "ping":
			c.send(wsMsg{Type: "pong"})
			continue
		case "pong", "ka":
			continue
		}
		return m
	}
}

func (c *wsClient) subscribe(id, query string) {
	c.tb.Helper()
	typ := "subscribe"
	if c.legacy {
		typ = "start"
	}
	p, _ := json.Marshal(map[string]any{"query": query})
	c.send(wsMsg{ID: id, Type: typ, Payload: p})
}

// closed reads until the server closes the connection, each read within d;
// a data message before the close fails the test.
func (c *wsClient) closed(d time.Duration) {
	c.tb.Helper()
	for {
		c.conn.SetReadDeadline(time.Now().Add(d))
		var m wsMsg
		if err := c.conn.ReadJSON(&m); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				c.tb.Fatalf("read: %v, want the server to close the connection within %s", err, d)
			}
			return
		}
		if m.Type == "next" {
			c.tb.Fatalf("unexpected event %s", m.Payload)
		}
	}
}

// next reads the next data message of subscription id into out.
func (c *wsClient) next(id string, out any) {
	c.tb.Helper()
	m := c.read()
	want := "next"
	if c.legacy {
		want = "data"
	}
	if m.Type != want || m.ID != id {
		c.tb.Fatalf("got %s %s %s, want %s for %s", m.Type, m.ID, m.Payload, want, id)
	}
	var p struct {
		Data   json.RawMessage
		Errors []gqlError
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
		c.tb.Fatalf("payload %s: %v", m.Payload, err)
	}
	if err := json.Unmarshal(p.Data, out); err != nil {
		c.tb.Fatalf("data %s: %v", p.Data, err)
	}
}

// waitSubscribers waits until the bus has n subscribers: the hub subscribes
// when its first subscription starts and lets go when the last one ends.
func waitSubscribers(tb testing.TB, b *memory.Bus, n int) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.Subscribers() != n {
		if time.Now().After(deadline) {
			tb.Fatalf("bus has %d subscribers, want %d", b.Subscribers(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type modeChangedMsg struct {
	ModeChanged struct {
		Cursor          string
		Asset           string
		AssetNode       struct{ ID, Name string }
		FromMode        string
		ToMode          string
		TS              string
		DurationSeconds *float64
	}
}

// wsRuns are the WebSocket protocols, each with subscriptions executing
// alone and sharing one execution.
var wsRuns = []struct {
	protocol string
	share    bool
}{{"graphql-transport-ws", false}, {"graphql-ws", false}, {"graphql-transport-ws", true}, {"graphql-ws", true}}

func TestSubscription_ModeChangedLive(t *testing.T) {
	for _, run := range wsRuns {
		protocol := run.protocol
		t.Run(fmt.Sprintf("%s share %v", protocol, run.share), func(t *testing.T) {
			e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.ShareSubscriptions = run.share })
			srv := httptest.NewServer(e.h)
			defer srv.Close()
			c := dialWS(t, srv, protocol)
			c.subscribe("1", `subscription { modeChanged(under: "plant/jkt1/packaging") { cursor asset assetNode { id name } fromMode toMode ts durationSeconds } }`)
			waitSubscribers(t, e.bus, 1)

			stored := e.appendAndPublish(t,
				modeChange("plant/jkt1/processing/cooking", twin.ModeIdle, twin.ModeRunning, now, 1), // not under packaging
				twin.Event{Kind: twin.EventFaultRaised, Asset: line3, TS: now, Code: "E1"},           // not a mode change
				modeChange(line3, twin.ModeRunning, twin.ModeFault, now, 42),
			)
			var m modeChangedMsg
			c.next("1", &m)
			mc := m.ModeChanged
			if mc.Asset != line3 || mc.AssetNode.ID != line3 || mc.AssetNode.Name == "" || mc.FromMode != "RUNNING" || mc.ToMode != "FAULT" || mc.DurationSeconds == nil || *mc.DurationSeconds != 42 ||
				mc.TS != "2026-11-24T07:00:00Z" || mc.Cursor != resolvers.EventCursor(stored[2].Seq) {
				t.Errorf("modeChanged = %+v", mc)
			}
		})
	}
}

func TestSubscription_ResumeDeliversExactlyTheMissed(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	q := func(after string) string {
		a := ""
		if after != "" {
			a = `, after: "` + after + `"`
		}
		return `subscription { twinEvents(under: "plant/jkt1/packaging/line3"` + a + `) { id kind cursor asset toMode } }`
	}
	type msg struct {
		TwinEvents struct {
			ID, Kind, Cursor string
			Asset            string
			ToMode           *string
		}
	}

	c := dialWS(t, srv, "graphql-transport-ws")
	c.subscribe("a", q(""))
	waitSubscribers(t, e.bus, 1)
	e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 1))
	var first msg
	c.next("a", &first)
	cursor := first.TwinEvents.Cursor
	c.conn.Close()
	waitSubscribers(t, e.bus, 0)

	// Three transitions while nobody listens, plus one elsewhere.
	missed := e.appendAndPublish(t,
		modeChange(line3, twin.ModeRunning, twin.ModeFault, now.Add(time.Second), 1),
		modeChange("plant/jkt1/processing/cooking", twin.ModeIdle, twin.ModeRunning, now, 1),
		modeChange(line3, twin.ModeFault, twin.ModeIdle, now.Add(2*time.Second), 1),
		modeChange(line3, twin.ModeIdle, twin.ModeRunning, now.Add(3*time.Second), 1),
	)

	c2 := dialWS(t, srv, "graphql-transport-ws")
	c2.subscribe("b", q(cursor))
	for _, want := range []twin.Event{missed[0], missed[2], missed[3]} {
		var m msg
		c2.next("b", &m)
		if m.TwinEvents.ID != want.ID || m.TwinEvents.Cursor != resolvers.EventCursor(want.Seq) {
			t.Fatalf("resumed with %+v, want event seq %d", m.TwinEvents, want.Seq)
		}
	}
	// Then live, with nothing repeated in between: an old event published again
	// (a worker re-derived it on a replay, with its original Seq) is skipped.
	waitSubscribers(t, e.bus, 1)
	e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 1))
	live := e.appendAndPublish(t, modeChange(line3, twin.ModeRunning, twin.ModeStop, now.Add(4*time.Second), 1))
	var m msg
	c2.next("b", &m)
	if m.TwinEvents.ID != live[0].ID {
		t.Fatalf("after the replay got %+v, want the live event", m.TwinEvents)
	}
}

func TestSubscription_ResumeOverlapsLiveWithoutDuplicates(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	old := e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 1))
	missed := e.appendAndPublish(t, modeChange(line3, twin.ModeRunning, twin.ModeIdle, now.Add(time.Second), 1))

	// An event committed while the replay reads the store reaches the
	// subscriber twice (store and bus); it must be delivered once.
	duringc := make(chan []twin.Event, 1)
	e.events.onNextList(func() {
		duringc <- e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeFault, now.Add(2*time.Second), 1))
	})
	c := dialWS(t, srv, "graphql-transport-ws")
	c.subscribe("r", `subscription { twinEvents(after: "`+resolvers.EventCursor(old[0].Seq)+`") { id } }`)
	var got []string
	for range 2 {
		var m struct{ TwinEvents struct{ ID string } }
		c.next("r", &m)
		got = append(got, m.TwinEvents.ID)
	}
	after := e.appendAndPublish(t, modeChange(line3, twin.ModeFault, twin.ModeStop, now.Add(3*time.Second), 1))
	var m struct{ TwinEvents struct{ ID string } }
	c.next("r", &m)
	got = append(got, m.TwinEvents.ID)
	during := <-duringc
	want := []string{missed[0].ID, during[0].ID, after[0].ID}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delivered %v, want %v", got, want)
		}
	}
}

func TestSubscription_AssetState(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	e.putState(runningLine3())
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	c := dialWS(t, srv, "graphql-transport-ws")
	c.subscribe("s", `subscription { assetState(id: "plant/jkt1/packaging/line3") { mode uptimeSecondsToday metric(name: "press1_bar") { value } } }`)
	type msg struct {
		AssetState struct {
			Mode               string
			UptimeSecondsToday float64
			Metric             struct{ Value float64 }
		}
	}
	var m msg
	c.next("s", &m)
	if m.AssetState.Mode != "RUNNING" || m.AssetState.Metric.Value != 6.2 {
		t.Fatalf("current state = %+v", m.AssetState)
	}
	waitSubscribers(t, e.bus, 1)
	st := runningLine3()
	st.Mode = twin.ModeFault
	st.UpdatedAt = now
	other := twin.NewState(line3 + "/capper")
	e.bus.Publish(context.Background(), []twin.Notice{{State: other}, {State: st}})
	c.next("s", &m)
	if m.AssetState.Mode != "FAULT" {
		t.Fatalf("new state = %+v", m.AssetState)
	}
}

func TestSubscription_Errors(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	c := dialWS(t, srv, "graphql-transport-ws")
	c.subscribe("x", `subscription { assetState(id: "no/such") { mode } }`)
	m := c.read()
	if m.Type != "error" && m.Type != "next" {
		t.Fatalf("got %s %s", m.Type, m.Payload)
	}
	if !strings.Contains(string(m.Payload), twin.ENOTFOUND) {
		t.Errorf("unknown asset: %s, want NOT_FOUND", m.Payload)
	}
	c.subscribe("y", `subscription { twinEvents(after: "garbage") { id } }`)
	m = c.read()
	for m.Type == "complete" {
		m = c.read()
	}
	if !strings.Contains(string(m.Payload), twin.EBADINPUT) {
		t.Errorf("bad cursor: %s %s, want BAD_INPUT", m.Type, m.Payload)
	}
}

func TestSubscription_SSE(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	sse := openSSE(t, srv, nil, `{"query":"subscription { modeChanged { asset toMode } }"}`, nil)
	waitSubscribers(t, e.bus, 1)
	e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 1))
	if ev := sse.next(); ev.event != "next" || !strings.Contains(ev.data, line3) || !strings.Contains(ev.data, "RUNNING") {
		t.Errorf("event %+v", ev)
	}
}

func TestHub_DropsSlowSubscriber(t *testing.T) {
	bus := memory.NewBus()
	drops := 0
	hub := resolvers.NewHub(bus, 4, nil, func() { drops++ })
	defer hub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fast, err := hub.Subscribe(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := hub.Subscribe(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		bus.Publish(ctx, []twin.Notice{{Event: &twin.Event{Seq: int64(i + 1)}}})
		if n := <-fast; n.Event.Seq != int64(i+1) {
			t.Fatalf("fast subscriber got seq %d, want %d", n.Event.Seq, i+1)
		}
	}
	got := 0
	for range slow {
		got++
	}
	if got != 4 || hub.Dropped() != 1 || drops != 1 {
		t.Errorf("slow subscriber got %d notices before being dropped, dropped = %d/%d; want 4 and 1", got, hub.Dropped(), drops)
	}
	cancel()
	waitSubscribers(t, bus, 0)
}

func TestSubscription_MessagesReadFreshState(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	e.putState(runningLine3())
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	c := dialWS(t, srv, "graphql-transport-ws")
	c.subscribe("f", `subscription { modeChanged { toMode assetNode { state { mode } } } }`)
	waitSubscribers(t, e.bus, 1)
	type msg struct {
		ModeChanged struct {
			ToMode    string
			AssetNode struct{ State struct{ Mode string } }
		}
	}
	e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 1))
	var m msg
	c.next("f", &m)
	if m.ModeChanged.AssetNode.State.Mode != "RUNNING" {
		t.Fatalf("first message = %+v", m)
	}
	st := runningLine3()
	st.Mode = twin.ModeFault
	e.putState(st)
	e.appendAndPublish(t, modeChange(line3, twin.ModeRunning, twin.ModeFault, now.Add(time.Second), 1))
	c.next("f", &m)
	if m.ModeChanged.ToMode != "FAULT" || m.ModeChanged.AssetNode.State.Mode != "FAULT" {
		t.Fatalf("second message = %+v, want the state read afresh", m)
	}
}

// closingBus hands out one channel the test can close, as a bus does when it
// drops a subscriber that fell behind.
type closingBus struct{ ch chan twin.Notice }

func (b *closingBus) Publish(ctx context.Context, ns []twin.Notice) error { return nil }

func (b *closingBus) Subscribe(ctx context.Context, match func(*twin.Notice) bool) (<-chan twin.Notice, error) {
	return b.ch, nil
}

func TestHub_EndsSubscribersWhenBusDropsIt(t *testing.T) {
	bus := &closingBus{ch: make(chan twin.Notice)}
	hub := resolvers.NewHub(bus, 4, nil, nil)
	defer hub.Close()
	sub, err := hub.Subscribe(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bus.ch <- twin.Notice{Event: &twin.Event{Seq: 1}}
	if n := <-sub; n.Event.Seq != 1 {
		t.Fatalf("got %+v", n)
	}
	close(bus.ch)
	if _, ok := <-sub; ok {
		t.Fatal("subscriber still open after the bus dropped the hub")
	}
}

func TestHub_FilteredSubscriberIgnoresOtherNotices(t *testing.T) {
	bus := memory.NewBus()
	hub := resolvers.NewHub(bus, 2, nil, nil)
	defer hub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := hub.Subscribe(ctx, func(n *twin.Notice) bool { return n.Event != nil })
	if err != nil {
		t.Fatal(err)
	}
	// Far more state notices than the buffer holds: the event subscriber must
	// not be dropped for notices it never wanted.
	for range 50 {
		bus.Publish(ctx, []twin.Notice{{State: twin.NewState(line3)}})
	}
	bus.Publish(ctx, []twin.Notice{{Event: &twin.Event{Seq: 7}}})
	if n, ok := <-events; !ok || n.Event.Seq != 7 {
		t.Fatalf("got %+v (open %v), want the event", n, ok)
	}
	if hub.Dropped() != 0 {
		t.Errorf("dropped %d subscribers", hub.Dropped())
	}
	cancel()
	waitSubscribers(t, bus, 0)
}

func TestHub_TakesStatesFromTheBusOnlyWhileWanted(t *testing.T) {
	// The bus holds 8 notices per subscriber: a hub taking every state of a
	// flush would be dropped by it, ending every subscription.
	bus := memory.NewBusBuffer(8)
	hub := resolvers.NewHub(bus, 8, nil, nil)
	defer hub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := hub.Subscribe(ctx, func(n *twin.Notice) bool { return n.Event != nil })
	if err != nil {
		t.Fatal(err)
	}
	flush := func(seq int64) {
		t.Helper()
		states := make([]twin.Notice, 100)
		for i := range states {
			states[i] = twin.Notice{State: twin.NewState(fmt.Sprintf("plant/a%d", i))}
		}
		bus.Publish(ctx, append(states, twin.Notice{Event: &twin.Event{Seq: seq}}))
		if n, ok := <-events; !ok || n.Event.Seq != seq {
			t.Fatalf("got %+v (open %v), want event %d", n, ok, seq)
		}
		if bus.Dropped() != 0 {
			t.Fatalf("the bus dropped the hub (%d)", bus.Dropped())
		}
	}
	flush(1)

	sctx, leave := context.WithCancel(ctx)
	states, err := hub.SubscribeStates(sctx, func(n *twin.Notice) bool { return n.State != nil })
	if err != nil {
		t.Fatal(err)
	}
	bus.Publish(ctx, []twin.Notice{{State: twin.NewState(line3)}})
	if n, ok := <-states; !ok || n.State.Asset != line3 {
		t.Fatalf("state subscriber got %+v (open %v)", n, ok)
	}
	leave()
	deadline := time.Now().Add(10 * time.Second)
	for hub.WantsStatesForTest() {
		if time.Now().After(deadline) {
			t.Fatal("the hub still takes states after their last subscriber left")
		}
		time.Sleep(5 * time.Millisecond)
	}
	flush(2)
}

func TestSubscription_TwinEventsFilters(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	c := dialWS(t, srv, "graphql-transport-ws")
	// The palletizer sits under line2 and line3: it is under either.
	c.subscribe("k", `subscription { twinEvents(under: "plant/jkt1/packaging/line2", kinds: [FAULT_RAISED]) { kind code asset assetNode { id } } }`)
	waitSubscribers(t, e.bus, 1)
	pal := "plant/jkt1/packaging/palletizer1"
	e.appendAndPublish(t,
		twin.Event{Kind: twin.EventFaultRaised, Asset: line3, TS: now, Code: "X"}, // not under line2
		modeChange(pal, twin.ModeRunning, twin.ModeFault, now, 1),                 // not the kind
		twin.Event{Kind: twin.EventFaultRaised, Asset: pal, TS: now, Code: "JAM"}, // wanted
	)
	var m struct {
		TwinEvents struct {
			Kind, Code string
			Asset      string
			AssetNode  struct{ ID string }
		}
	}
	c.next("k", &m)
	if m.TwinEvents.Kind != "FAULT_RAISED" || m.TwinEvents.Code != "JAM" || m.TwinEvents.Asset != pal || m.TwinEvents.AssetNode.ID != pal {
		t.Errorf("got %+v, want the palletizer's fault", m.TwinEvents)
	}
}

// Live events arriving while a resumed subscription replays queue behind the
// replay instead of overflowing the hub's per-subscriber buffer: the stream
// switches to live with nothing lost instead of being dropped as slow.
func TestSubscription_ResumeUnderLiveLoad(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.SubscriberBuffer = 8 })
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	old := e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 1))
	missed := e.appendAndPublish(t, modeChange(line3, twin.ModeRunning, twin.ModeIdle, now.Add(time.Second), 1))

	const burst = 50 // far more than the hub buffer of 8
	duringc := make(chan []twin.Event, 1)
	e.events.onNextList(func() {
		var evs []twin.Event
		for i := range burst {
			evs = append(evs, e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now.Add(time.Duration(10+i)*time.Second), 1))...)
			time.Sleep(time.Millisecond) // live traffic arrives over time, not in one instant
		}
		duringc <- evs
	})
	c := dialWS(t, srv, "graphql-transport-ws")
	c.subscribe("r", `subscription { twinEvents(after: "`+resolvers.EventCursor(old[0].Seq)+`") { id } }`)
	var got []string
	for range 1 + burst {
		var m struct{ TwinEvents struct{ ID string } }
		c.next("r", &m)
		got = append(got, m.TwinEvents.ID)
	}
	during := <-duringc
	want := []string{missed[0].ID}
	for _, ev := range during {
		want = append(want, ev.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %d events %v, want %d %v", len(got), got, len(want), want)
	}
	after := e.appendAndPublish(t, modeChange(line3, twin.ModeRunning, twin.ModeStop, now.Add(time.Hour), 1))
	var m struct{ TwinEvents struct{ ID string } }
	c.next("r", &m)
	if m.TwinEvents.ID != after[0].ID {
		t.Fatalf("after the burst got %+v, want the live event", m.TwinEvents)
	}
}

// TestHandler_CloseCompletesSubscriptions: a draining gateway ends every
// subscription with a complete (both protocols), so clients resume by
// cursor elsewhere, and refuses new ones UNAVAILABLE.
func TestHandler_CloseCompletesSubscriptions(t *testing.T) {
	for _, run := range wsRuns {
		protocol := run.protocol
		t.Run(fmt.Sprintf("%s share %v", protocol, run.share), func(t *testing.T) {
			e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.ShareSubscriptions = run.share })
			srv := httptest.NewServer(e.h)
			defer srv.Close()
			c := dialWS(t, srv, protocol)
			c.subscribe("1", `subscription { twinEvents { id cursor } }`)
			waitSubscribers(t, e.bus, 1)
			e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 1))
			var m struct{ TwinEvents struct{ ID, Cursor string } }
			c.next("1", &m)

			e.h.Close()
			if got := c.read(); got.Type != "complete" || got.ID != "1" {
				t.Fatalf("after Close got %s %s %s, want complete for 1", got.Type, got.ID, got.Payload)
			}
			c.subscribe("2", `subscription { twinEvents(after: "`+m.TwinEvents.Cursor+`") { id } }`)
			got := c.read()
			if !strings.Contains(string(got.Payload), `"UNAVAILABLE"`) {
				t.Errorf("a subscription on a closed handler got %s %s, want an UNAVAILABLE error", got.Type, got.Payload)
			}
		})
	}
}
