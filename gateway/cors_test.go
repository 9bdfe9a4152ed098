package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/twingraph/twingraph/gateway"
	"github.com/twingraph/twingraph/resolvers"
	"github.com/twingraph/twingraph/store/memory"
)

// newOriginFixture is the fixture's gateway with the real GraphQL handler
// and the given allow-list of origins.
func newOriginFixture(t *testing.T, origins []string) *fixture {
	t.Helper()
	f := newFixture(t)
	gql, err := resolvers.New(resolvers.Config{
		Model: f.cfg.Model, States: f.cfg.States, History: f.cfg.History, Events: f.cfg.Events,
		Bus: memory.NewBus(), Now: f.cfg.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gql.Close)
	cfg := f.cfg
	cfg.GraphQL, cfg.CORSOrigins, cfg.Registerer = gql, origins, nil
	f.srv = httptest.NewServer(newGateway(t, cfg))
	t.Cleanup(f.srv.Close)
	return f
}

func TestGateway_CORS(t *testing.T) {
	f := newOriginFixture(t, gateway.DevCORSOrigins)
	preflight := func(t *testing.T, path, origin string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, f.srv.URL+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type") // sorted, as browsers send it
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for _, tc := range []struct {
		name, path, origin string
		allowed            bool
	}{
		{"dev server on localhost", "/graphql", "http://localhost:3000", true},
		{"127.0.0.1 over https", "/graphql", "https://127.0.0.1:8443", true},
		{"localhost without a port", "/twin/x", "http://localhost", true},
		{"another site", "/graphql", "https://evil.example", false},
		{"a look-alike host", "/graphql", "http://localhost.evil.example", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := preflight(t, tc.path, tc.origin)
			got := res.Header.Get("Access-Control-Allow-Origin")
			if tc.allowed {
				if got != tc.origin || !strings.Contains(strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")), "authorization") {
					t.Errorf("preflight from %s: Allow-Origin %q, Allow-Headers %q", tc.origin, got, res.Header.Get("Access-Control-Allow-Headers"))
				}
			} else if got != "" {
				t.Errorf("preflight from %s: Allow-Origin %q, want none", tc.origin, got)
			}
		})
	}

	t.Run("actual request carries the header", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/graphql", strings.NewReader(`{"query":"{__typename}"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://localhost:5173")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
			t.Errorf("POST from localhost:5173 = %d, Allow-Origin %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
		}
	})

	t.Run("no list allows no other origin", func(t *testing.T) {
		f := newOriginFixture(t, nil)
		req, _ := http.NewRequest(http.MethodOptions, f.srv.URL+"/graphql", nil)
		req.Header.Set("Origin", "http://localhost:3000")
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Allow-Origin %q with no list", got)
		}
	})
}

func TestGateway_WebSocketOrigin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		origins []string
		origin  string // "" sends none; "SELF" the server's own
		ok      bool
	}{
		{"no Origin (not a browser)", nil, "", true},
		{"same origin (GraphiQL)", nil, "SELF", true},
		{"other origin, no list", nil, "http://localhost:3000", false},
		{"allowed origin", gateway.DevCORSOrigins, "http://localhost:3000", true},
		{"origin not in the list", gateway.DevCORSOrigins, "https://evil.example", false},
		{"any origin", []string{"*"}, "https://evil.example", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newOriginFixture(t, tc.origins)
			hdr := http.Header{}
			switch tc.origin {
			case "":
			case "SELF":
				hdr.Set("Origin", f.srv.URL)
			default:
				hdr.Set("Origin", tc.origin)
			}
			d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 10 * time.Second}
			c, res, err := d.Dial("ws"+strings.TrimPrefix(f.srv.URL, "http")+"/graphql", hdr)
			if !tc.ok {
				if err == nil {
					c.Close()
				}
				if res == nil || res.StatusCode != http.StatusForbidden {
					t.Fatalf("dial from %q = %v, %v; want 403", tc.origin, res, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("dial from %q: %v", tc.origin, err)
			}
			defer c.Close()
			c.WriteMessage(websocket.TextMessage, []byte(`{"type":"connection_init"}`))
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			var m struct{ Type string }
			if err := c.ReadJSON(&m); err != nil || m.Type != "connection_ack" {
				t.Errorf("after init: %q, %v", m.Type, err)
			}
		})
	}
}
