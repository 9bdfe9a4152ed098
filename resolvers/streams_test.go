package resolvers_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
)

const modeSub = `subscription { modeChanged { asset toMode } }`

// until reads messages up to the first one of subscription id.
func (c *wsClient) until(id string) wsMsg {
	c.tb.Helper()
	for {
		if m := c.read(); m.ID == id {
			return m
		}
	}
}

// refusedCode returns the extensions.code of an errors payload, "" for data.
func refusedCode(tb testing.TB, m wsMsg) (code, limit string) {
	tb.Helper()
	var p struct{ Errors []gqlError }
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		tb.Fatalf("payload %s: %v", m.Payload, err)
	}
	if len(p.Errors) == 0 {
		return "", ""
	}
	l, _ := p.Errors[0].Extensions["limit"].(string)
	return codeOf(p.Errors), l
}

// publishing announces a mode change every few milliseconds until the
// test ends, so every live subscription soon gets a message.
func publishing(t *testing.T, e *env) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now.Add(time.Duration(i)*time.Second), 1))
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// outcomes reads messages until n subscriptions of ids have either
// delivered data or been refused; it returns the refused ones' codes and
// limits, and the ids that delivered.
func (c *wsClient) outcomes(n int, ids ...string) (refused map[string]string, live []string) {
	c.tb.Helper()
	refused = map[string]string{}
	seen := map[string]bool{}
	for len(seen) < n {
		m := c.read()
		if !slices.Contains(ids, m.ID) || seen[m.ID] || m.Type == "complete" {
			continue
		}
		seen[m.ID] = true
		if code, limit := refusedCode(c.tb, m); code != "" {
			refused[m.ID] = code + " " + limit
		} else {
			live = append(live, m.ID)
		}
	}
	return refused, live
}

// The caps count every subscription, those sharing an execution
// (Config.ShareSubscriptions: modeSub may share) included.
func TestHandler_SubscriptionCaps(t *testing.T) {
	for _, share := range []bool{false, true} {
		t.Run(fmt.Sprintf("share %v", share), func(t *testing.T) {
			testSubscriptionCaps(t, func(c *resolvers.Config) { c.ShareSubscriptions = share })
		})
	}
}

func testSubscriptionCaps(t *testing.T, share envOpt) {
	t.Run("per connection", func(t *testing.T) {
		e := newEnv(t, testmodel.Demo(t), share, func(c *resolvers.Config) { c.MaxSubscriptionsPerConnection = 2 })
		srv := httptest.NewServer(e.h)
		defer srv.Close()
		publishing(t, e)
		c := dialWS(t, srv, "graphql-transport-ws")
		for _, id := range []string{"1", "2", "3"} {
			c.subscribe(id, modeSub)
		}
		refused, live := c.outcomes(3, "1", "2", "3")
		if len(refused) != 1 || len(live) != 2 {
			t.Fatalf("refused %v, live %v: want one of three refused", refused, live)
		}
		for id, why := range refused {
			if why != "LIMIT subscriptionsPerConnection" {
				t.Errorf("subscription %s refused with %s, want LIMIT subscriptionsPerConnection", id, why)
			}
		}
		// Another connection has its own count.
		other := dialWS(t, srv, "graphql-transport-ws")
		other.subscribe("1", modeSub)
		if refused, _ := other.outcomes(1, "1"); len(refused) != 0 {
			t.Errorf("another connection refused: %v", refused)
		}
		// Ending one frees its slot.
		c.send(wsMsg{ID: live[0], Type: "complete"})
		subscribeUntilAccepted(t, c)
	})
	t.Run("per gateway", func(t *testing.T) {
		e := newEnv(t, testmodel.Demo(t), share, func(c *resolvers.Config) { c.MaxSubscriptions = 1 })
		srv := httptest.NewServer(e.h)
		defer srv.Close()
		publishing(t, e)
		a, b := dialWS(t, srv, "graphql-transport-ws"), dialWS(t, srv, "graphql-transport-ws")
		a.subscribe("1", modeSub)
		if refused, _ := a.outcomes(1, "1"); len(refused) != 0 {
			t.Fatalf("first subscription refused: %v", refused)
		}
		b.subscribe("1", modeSub)
		if refused, _ := b.outcomes(1, "1"); refused["1"] != "LIMIT subscriptions" {
			t.Errorf("second subscription: %v, want LIMIT subscriptions", refused)
		}
		a.conn.Close() // a closed connection frees its subscriptions
		subscribeUntilAccepted(t, b)
	})
}

// subscribeUntilAccepted subscribes until the server takes one: a slot is
// freed asynchronously once a subscription ends.
func subscribeUntilAccepted(t *testing.T, c *wsClient) {
	t.Helper()
	for i := range 500 {
		id := fmt.Sprintf("retry%d", i)
		c.subscribe(id, modeSub)
		if refused, _ := c.outcomes(1, id); len(refused) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no subscription accepted after a slot was freed")
}

func TestHandler_StreamCap(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.MaxStreams = 1 })
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	first := dialWS(t, srv, "graphql-transport-ws")
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/graphql"
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 10 * time.Second}
	_, resp, err := d.Dial(url, nil)
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
		t.Fatalf("second stream: %v, want a refused handshake", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"code":"LIMIT"`) || !strings.Contains(string(body), `"limit":"streams"`) {
		t.Errorf("second stream: %d %s, want 503 LIMIT streams", resp.StatusCode, body)
	}
	// Plain queries are not streams.
	var ok struct{ Asset struct{ ID string } }
	e.post(t, `{ asset(id: "plant/jkt1") { id } }`, &ok)

	first.conn.Close()
	for i := 0; ; i++ {
		conn, resp, err := d.Dial(url, nil)
		if err == nil {
			resp.Body.Close()
			conn.Close()
			break
		}
		if i == 500 {
			t.Fatalf("no stream accepted after the first closed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHandler_WebSocketInitTimeout(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.InitTimeout = 50 * time.Millisecond })
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/graphql", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer conn.Close()
	// Send nothing. The bound only keeps a broken server from hanging the test.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("read: %v, want the server to close the silent connection", err)
		}
		if !strings.Contains(ce.Text, "timeout") {
			t.Errorf("closed with %d %q, want the init timeout", ce.Code, ce.Text)
		}
		return
	}
}

func TestHandler_SubscriptionNeedsAStream(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	// Over plain POST it would wait for the first event, holding the connection.
	r := e.do(t, map[string]any{"query": modeSub})
	if len(r.Errors) == 0 || codeOf(r.Errors) != twin.EBADINPUT {
		t.Errorf("subscription over POST: %d %+v, want BAD_INPUT at once", r.Status, r.Errors)
	}
}
