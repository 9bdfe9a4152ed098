package resolvers_test

import (
	"context"
	"testing"
	"time"

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
		a.wantScopedEvents(t, c)
	})
	t.Run("ClosedOnRevocation", func(t *testing.T) {
		if err := keys.RevokeAPIKey(context.Background(), rec.ID); err != nil {
			t.Fatal(err)
		}
		c.closed(5 * time.Second) // of the revocation
	})
}
