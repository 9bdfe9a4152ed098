package resolvers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth"
	"github.com/twingraph/twingraph/auth/authtest"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
)

// authEnv is an env with authorization on, served over HTTP behind the
// auth middleware as the gateway mounts it.
type authEnv struct {
	*env
	is  *authtest.Issuer
	srv *httptest.Server
}

func newAuthEnv(t *testing.T, opts ...func(*auth.Config)) *authEnv {
	t.Helper()
	return newAuthEnvWith(t, opts)
}

// newAuthEnvWith is newAuthEnv with the handler's config changed by envOpts too.
func newAuthEnvWith(t *testing.T, opts []func(*auth.Config), envOpts ...envOpt) *authEnv {
	t.Helper()
	is := authtest.New(t)
	cfg := is.Config()
	for _, o := range opts {
		o(&cfg)
	}
	v, err := auth.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, testmodel.Demo(t), append([]envOpt{func(c *resolvers.Config) { c.Auth = v }}, envOpts...)...)
	h := auth.Middleware{
		Verifier: v,
		Deny: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, twin.ErrorCode(err), http.StatusUnauthorized)
		},
		DeferWebSocket: true,
	}.Wrap(e.h)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &authEnv{env: e, is: is, srv: srv}
}

// wantScopedEvents subscribes c, a caller scoped to line3, to twinEvents as
// subscription 1 and publishes a fault of line1, then one of line3: the
// first event c gets is line3's.
func (a *authEnv) wantScopedEvents(t *testing.T, c *wsClient) {
	t.Helper()
	c.subscribe("1", `subscription { twinEvents { asset kind } }`)
	waitSubscribers(t, a.bus, 1)
	a.appendAndPublish(t,
		twin.Event{Kind: twin.EventFaultRaised, Asset: "plant/jkt1/packaging/line1", TS: now, Code: "E0"},
		twin.Event{Kind: twin.EventFaultRaised, Asset: line3, TS: now, Code: "E1"},
	)
	var got struct{ TwinEvents struct{ Asset, Kind string } }
	c.next("1", &got)
	if got.TwinEvents.Asset != line3 {
		t.Errorf("first event is of %s, want %s (line1's is outside the scope)", got.TwinEvents.Asset, line3)
	}
}

// query posts q with the token (none when "") and returns the HTTP status,
// the data and the errors.
func (a *authEnv) query(t *testing.T, token, q string) (int, map[string]any, []gqlError) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q})
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", authtest.Bearer(token))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, nil
	}
	var out struct {
		Data   map[string]any
		Errors []gqlError
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out.Data, out.Errors
}

// ids collects the "id" fields of a list of objects.
func ids(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(map[string]any)["id"].(string))
	}
	return out
}

func TestAuth_ScopedQueries(t *testing.T) {
	a := newAuthEnv(t)
	scoped := a.is.HS256(authtest.Claims{Scope: []string{line3}})
	all := a.is.RS256(authtest.Claims{})

	t.Run("no token", func(t *testing.T) {
		if code, _, _ := a.query(t, "", `{ roots { id } }`); code != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", code)
		}
	})
	t.Run("unscoped sees everything", func(t *testing.T) {
		_, data, errs := a.query(t, all, `{ roots { id } assets(first: 100) { edges { node { id } } } }`)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if got := ids(data["roots"]); !slices.Equal(got, []string{"plant/jkt1"}) {
			t.Errorf("roots = %v", got)
		}
		if n := len(data["assets"].(map[string]any)["edges"].([]any)); n != len(a.model.Assets()) {
			t.Errorf("assets: %d, want %d", n, len(a.model.Assets()))
		}
	})
	t.Run("roots are the scope roots", func(t *testing.T) {
		_, data, errs := a.query(t, scoped, `{ roots { id ancestors { id } parents { id } descendants { id } } }`)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		roots := data["roots"].([]any)
		if got := ids(roots); !slices.Equal(got, []string{line3}) {
			t.Fatalf("roots = %v", got)
		}
		r := roots[0].(map[string]any)
		if len(r["ancestors"].([]any)) != 0 || len(r["parents"].([]any)) != 0 {
			t.Errorf("ancestors or parents outside the scope shown: %v", r)
		}
		desc := ids(r["descendants"])
		want := a.model.Descendants(line3, "", 0)
		if len(desc) != len(want) || !slices.Contains(desc, "plant/jkt1/packaging/palletizer1") {
			t.Errorf("descendants = %v", desc)
		}
	})
	t.Run("a shared child shows only the visible parent", func(t *testing.T) {
		_, data, errs := a.query(t, scoped, `{ asset(id: "plant/jkt1/packaging/palletizer1") { parents { id } } }`)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if got := ids(data["asset"].(map[string]any)["parents"]); !slices.Equal(got, []string{line3}) {
			t.Errorf("parents = %v", got)
		}
	})
	t.Run("assets connection is filtered", func(t *testing.T) {
		_, data, errs := a.query(t, scoped, `{ assets(first: 100) { edges { node { id } } } }`)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		for _, edge := range data["assets"].(map[string]any)["edges"].([]any) {
			id := edge.(map[string]any)["node"].(map[string]any)["id"].(string)
			if !a.model.IsUnder(id, line3) {
				t.Errorf("assets shows %s", id)
			}
		}
	})
	forbidden := map[string]string{
		"asset":       `{ asset(id: "plant/jkt1/packaging/line1") { id } }`,
		"ancestor":    `{ asset(id: "plant/jkt1") { id } }`,
		"node":        `{ node(id: "plant/jkt1/processing") { id } }`,
		"assets":      `{ assets(under: "plant/jkt1", first: 10) { edges { node { id } } } }`,
		"shiftReport": `{ shiftReport(under: "plant/jkt1", from: "2026-11-24T00:00:00Z", to: "2026-11-24T08:00:00Z") { from } }`,
	}
	// Existence is hidden by default: like an unknown id (TestAuth_HideExistence
	// compares the two answers; FORBIDDEN is for RevealOutOfScope).
	for name, q := range forbidden {
		t.Run("outside scope/"+name, func(t *testing.T) {
			_, data, errs := a.query(t, scoped, q)
			switch name {
			case "asset", "ancestor", "node":
				if len(errs) > 0 || data["asset"] != nil || data["node"] != nil {
					t.Errorf("data %v errors %v, want null", data, errs)
				}
			default:
				if len(errs) == 0 || codeOf(errs) != twin.ENOTFOUND {
					t.Errorf("errors = %v, want NOT_FOUND", errs)
				}
			}
		})
	}
	t.Run("unknown asset is still null", func(t *testing.T) {
		_, data, errs := a.query(t, scoped, `{ asset(id: "nope") { id } }`)
		if len(errs) > 0 || data["asset"] != nil {
			t.Errorf("data %v errors %v", data, errs)
		}
	})
	t.Run("expired token", func(t *testing.T) {
		tok := a.is.HS256(authtest.Claims{Expires: time.Now().Add(-time.Hour)})
		if code, _, _ := a.query(t, tok, `{ roots { id } }`); code != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", code)
		}
	})
}

// A handler with authorization on refuses operations that reach it without
// a principal, even when mounted without the middleware.
func TestAuth_HandlerAloneRefuses(t *testing.T) {
	v := authtest.New(t).Verifier()
	e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.Auth = v })
	if errs := e.errorsOf(t, `{ roots { id } }`); codeOf(errs) != twin.EFORBIDDEN {
		t.Errorf("errors = %v", errs)
	}
}

// dialAuthWS opens a graphql-transport-ws connection and sends
// connection_init with the payload; it returns the connection and the reply.
func dialAuthWS(t *testing.T, a *authEnv, payload string) (*wsClient, wsMsg, error) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(a.srv.URL, "http")+"/graphql", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	c := &wsClient{tb: t, conn: conn}
	c.send(wsMsg{Type: "connection_init", Payload: json.RawMessage(payload)})
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var m wsMsg
	err = conn.ReadJSON(&m)
	return c, m, err
}

func TestAuth_WebSocket(t *testing.T) {
	a := newAuthEnv(t)
	scoped := a.is.HS256(authtest.Claims{Scope: []string{line3}})

	t.Run("no token refused", func(t *testing.T) {
		_, m, err := dialAuthWS(t, a, `{}`)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4403 || !strings.Contains(ce.Text, "authentication required") {
			t.Fatalf("got %s %s, %v; want close 4403 saying authentication is required", m.Type, m.Payload, err)
		}
	})
	t.Run("bad token refused", func(t *testing.T) {
		_, m, err := dialAuthWS(t, a, `{"Authorization":"Bearer nope"}`)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4403 {
			t.Fatalf("got %s %s, %v; want close 4403", m.Type, m.Payload, err)
		}
	})
	t.Run("token in connection_init, events filtered", func(t *testing.T) {
		c, m, err := dialAuthWS(t, a, `{"Authorization":"Bearer `+scoped+`"}`)
		if err != nil || m.Type != "connection_ack" {
			t.Fatalf("init: %v %v", m, err)
		}
		a.wantScopedEvents(t, c)
		for id, q := range map[string]string{
			"2": `subscription { modeChanged(under: "plant/jkt1/packaging") { asset } }`,
			"3": `subscription { assetState(id: "plant/jkt1/processing/cooking") { mode } }`,
		} {
			c.subscribe(id, q)
			m := c.read()
			for m.Type == "complete" {
				m = c.read()
			}
			// Existence hidden (the default): answered like an unknown id.
			if m.ID != id || !strings.Contains(string(m.Payload), twin.ENOTFOUND) {
				t.Errorf("subscription outside the scope: %s %s %s, want NOT_FOUND", m.ID, m.Type, m.Payload)
			}
		}
	})
	t.Run("resume replays only visible events", func(t *testing.T) {
		c, m, err := dialAuthWS(t, a, `{"Authorization":"Bearer `+scoped+`"}`)
		if err != nil || m.Type != "connection_ack" {
			t.Fatalf("init: %v %v", m, err)
		}
		c.subscribe("1", `subscription { twinEvents(after: "`+resolvers.EventCursor(0)+`") { asset code } }`)
		var got struct{ TwinEvents struct{ Asset, Code string } }
		c.next("1", &got)
		if got.TwinEvents.Asset != line3 || got.TwinEvents.Code != "E1" {
			t.Errorf("replayed %+v, want line3's E1", got.TwinEvents)
		}
	})
}

// A subscription does not outlive its token: the connection closes at exp.
func TestAuth_WebSocketEndsWhenTheTokenExpires(t *testing.T) {
	a := newAuthEnv(t, func(c *auth.Config) { c.Skew = -1 })
	tok := a.is.HS256(authtest.Claims{Expires: time.Now().Add(2 * time.Second)})
	c, m, err := dialAuthWS(t, a, `{"Authorization":"Bearer `+tok+`"}`)
	if err != nil || m.Type != "connection_ack" {
		t.Fatalf("init: %v %v", m, err)
	}
	c.subscribe("1", `subscription { twinEvents { asset } }`)
	c.closed(30 * time.Second)
}
