package resolvers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth"
	"github.com/twingraph/twingraph/store/memory"
)

// An API key in connection_init gets its scope on subscriptions, and the
// connection closes once the key is revoked.
func TestAuth_WebSocketAPIKey(t *testing.T) {
	keys := memory.NewAPIKeyStore()
	key, rec, err := auth.NewAPIKey("screen", []string{line3})
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.CreateAPIKey(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	a := newAuthEnv(t, func(c *auth.Config) { c.APIKeys = auth.NewAPIKeys(keys, 50*time.Millisecond, nil) })
	c, m, err := dialAuthWS(t, a, `{"Authorization":"Bearer `+key+`"}`)
	if err != nil || m.Type != "connection_ack" {
		t.Fatalf("init: %v %v", m, err)
	}
	t.Run("Scoped", func(t *testing.T) {
		c.subscribe("1", `subscription { twinEvents { asset kind } }`)
		waitSubscribers(t, a.bus, 1)
		a.appendAndPublish(t,
			twin.Event{Kind: twin.EventFaultRaised, Asset: "plant/jkt1/packaging/line1", TS: now, Code: "E0"},
			twin.Event{Kind: twin.EventFaultRaised, Asset: line3, TS: now, Code: "E1"},
		)
		var got struct{ TwinEvents struct{ Asset, Kind string } }
		c.next("1", &got)
		if got.TwinEvents.Asset != line3 {
			t.Fatalf("first event is of %s, want %s (line1's is outside the key's scope)", got.TwinEvents.Asset, line3)
		}
	})
	t.Run("ClosedOnRevocation", func(t *testing.T) {
		if err := keys.RevokeAPIKey(context.Background(), rec.ID); err != nil {
			t.Fatal(err)
		}
		for {
			c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			var m wsMsg
			if err := c.conn.ReadJSON(&m); err != nil {
				var ce *websocket.CloseError
				if !errors.As(err, &ce) {
					t.Fatalf("read: %v, want the server to close the connection within 5 s of the revocation", err)
				}
				return
			}
			if m.Type == "next" {
				t.Fatalf("unexpected event %s", m.Payload)
			}
		}
	})
}
