package gateway_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth/authtest"
	"github.com/twingraph/twingraph/resolvers"
	"github.com/twingraph/twingraph/store/memory"
)

// authFixture is the fixture's gateway with authorization on and the real
// GraphQL handler behind it.
type authFixture struct {
	*fixture
	is *authtest.Issuer
}

func newAuthFixture(t *testing.T) *authFixture { return newAuthFixtureRevealing(t, false) }

// newAuthFixtureRevealing is newAuthFixture with RevealOutOfScope set to reveal.
func newAuthFixtureRevealing(t *testing.T, reveal bool) *authFixture {
	t.Helper()
	f := newFixture(t)
	is := authtest.New(t)
	v := is.Verifier()
	gql, err := resolvers.New(resolvers.Config{
		Model: f.cfg.Model, States: f.cfg.States, History: f.cfg.History, Events: f.cfg.Events,
		Bus: memory.NewBus(), Now: f.cfg.Now, Auth: v, RevealOutOfScope: reveal,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gql.Close)
	cfg := f.cfg
	cfg.GraphQL = gql
	cfg.Auth = v
	cfg.RevealOutOfScope = reveal
	cfg.Registerer = nil
	f.srv = httptest.NewServer(newGateway(t, cfg))
	t.Cleanup(f.srv.Close)
	return &authFixture{fixture: f, is: is}
}

// do sends a request with the bearer token (none when "") and returns the
// status and the JSON body (nil when it is not JSON).
func (f *authFixture) do(t *testing.T, method, path, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", authtest.Bearer(token))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var v map[string]any
	json.Unmarshal(b, &v)
	return res.StatusCode, v, res.Header
}

func graphqlCode(body map[string]any) string {
	errs, _ := body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
	c, _ := ext["code"].(string)
	return c
}

func TestGateway_AuthRequired(t *testing.T) {
	f := newAuthFixture(t)
	expired := f.is.HS256(authtest.Claims{Expires: time.Now().Add(-time.Hour)})
	valid := f.is.HS256(authtest.Claims{})
	for _, tok := range []string{"", "garbage", expired} {
		status, body, hdr := f.do(t, "GET", "/twin/"+line3, tok, "")
		wantError(t, status, body, http.StatusUnauthorized, twin.EFORBIDDEN, "")
		if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate = %q", hdr.Get("WWW-Authenticate"))
		}
		status, body, _ = f.do(t, "POST", "/graphql", tok, `{"query":"{ roots { id } }"}`)
		if status != http.StatusUnauthorized || graphqlCode(body) != twin.EFORBIDDEN || body["data"] != nil {
			t.Errorf("POST /graphql with token %.10q: %d %v", tok, status, body)
		}
	}
	// The token never comes from the URL: it would end up in access logs.
	status, body, _ := f.do(t, "GET", "/twin/"+line3+"?access_token="+url.QueryEscape(valid), "", "")
	wantError(t, status, body, http.StatusUnauthorized, twin.EFORBIDDEN, "")
	status, _, _ = f.do(t, "GET", "/graphql?query=%7Broots%7Bid%7D%7D&access_token="+url.QueryEscape(valid), "", "")
	if status != http.StatusUnauthorized {
		t.Errorf("GET /graphql?access_token= = %d, want 401", status)
	}

	if status, body, _ := f.do(t, "GET", "/twin/"+line3, valid, ""); status != http.StatusOK || body["id"] != line3 {
		t.Errorf("GET /twin with a token = %d %v", status, body)
	}
	status, body, _ = f.do(t, "POST", "/graphql", valid, `{"query":"{ roots { id } }"}`)
	if status != http.StatusOK || graphqlCode(body) != "" {
		t.Errorf("POST /graphql with a token = %d %v", status, body)
	}

	// What stays open.
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/"} {
		if status, _, _ := f.do(t, "GET", path, "", ""); status != http.StatusOK {
			t.Errorf("GET %s without a token = %d, want 200", path, status)
		}
	}
}

func TestGateway_AuthScope(t *testing.T) {
	outside := []struct{ path, id string }{
		{"/twin/plant/jkt1/packaging/line1", "plant/jkt1/packaging/line1"},
		{"/twin/plant%2Fjkt1/events", "plant/jkt1"},
		{"/twin/plant/jkt1/processing/history?metric=x", "plant/jkt1/processing"},
	}
	unknown := []struct{ path, id string }{
		{"/twin/no/such", "no/such"},
		{"/twin/no%2Fsuch/events", "no/such"},
		{"/twin/plant/jkt1/nope/history?metric=x", "plant/jkt1/nope"},
	}

	// By default an asset outside the scope answers byte for byte like an
	// unknown one, so a scoped token cannot probe which ids exist.
	t.Run("existence hidden", func(t *testing.T) {
		f := newAuthFixture(t)
		tok := f.is.RS256(authtest.Claims{Scope: []string{line3}})
		if status, body, _ := f.do(t, "GET", "/twin/"+line3+"/events", tok, ""); status != http.StatusOK || len(body["events"].([]any)) != 4 {
			t.Errorf("events in scope = %d %v", status, body)
		}
		for _, c := range append(outside, unknown...) {
			t.Run(c.path, func(t *testing.T) {
				status, body, _ := f.do(t, "GET", c.path, tok, "")
				wantError(t, status, body, http.StatusNotFound, twin.ENOTFOUND, "")
				if msg := body["error"].(map[string]any)["message"]; msg != `asset "`+c.id+`" not found` {
					t.Errorf("message %q, want the unknown-id message", msg)
				}
			})
		}
		for _, id := range []string{"plant/jkt1", "no/such"} {
			status, body, _ := f.do(t, "POST", "/graphql", tok, `{"query":"{ asset(id: \"`+id+`\") { id } node(id: \"`+id+`\") { id } }"}`)
			data, _ := body["data"].(map[string]any)
			if status != http.StatusOK || body["errors"] != nil || data["asset"] != nil || data["node"] != nil {
				t.Errorf("GraphQL asset %s = %d %v, want nulls and no error", id, status, body)
			}
		}
	})

	t.Run("existence revealed", func(t *testing.T) {
		f := newAuthFixtureRevealing(t, true)
		tok := f.is.RS256(authtest.Claims{Scope: []string{line3}})
		for _, c := range outside {
			status, body, _ := f.do(t, "GET", c.path, tok, "")
			wantError(t, status, body, http.StatusForbidden, twin.EFORBIDDEN, "scope")
		}
		// An unknown asset is still NOT_FOUND.
		status, body, _ := f.do(t, "GET", "/twin/no/such", tok, "")
		wantError(t, status, body, http.StatusNotFound, twin.ENOTFOUND, "")

		status, body, _ = f.do(t, "POST", "/graphql", tok, `{"query":"{ asset(id: \"plant/jkt1\") { id } }"}`)
		if status != http.StatusOK || graphqlCode(body) != twin.EFORBIDDEN {
			t.Errorf("asset outside the scope = %d %v", status, body)
		}
	})
}

func TestGateway_AuthWebSocket(t *testing.T) {
	f := newAuthFixture(t)
	wsURL := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/graphql"
	dial := func(t *testing.T, hdr http.Header, init string) (*websocket.Conn, error) {
		t.Helper()
		d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 10 * time.Second}
		c, res, err := d.Dial(wsURL, hdr)
		if err != nil {
			return nil, err
		}
		res.Body.Close()
		t.Cleanup(func() { c.Close() })
		c.WriteMessage(websocket.TextMessage, []byte(`{"type":"connection_init","payload":`+init+`}`))
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		var m struct{ Type string }
		if err := c.ReadJSON(&m); err != nil {
			return nil, err
		}
		if m.Type != "connection_ack" {
			return nil, errors.New("got " + m.Type)
		}
		return c, nil
	}
	tok := f.is.HS256(authtest.Claims{})

	t.Run("token in connection_init", func(t *testing.T) {
		c, err := dial(t, nil, `{"Authorization":"Bearer `+tok+`"}`)
		if err != nil {
			t.Fatal(err)
		}
		c.WriteMessage(websocket.TextMessage, []byte(`{"id":"1","type":"subscribe","payload":{"query":"subscription { assetState(id: \"`+line3+`\") { mode } }"}}`))
		var m struct {
			Type    string
			Payload struct {
				Data struct{ AssetState struct{ Mode string } }
			}
		}
		for m.Type == "" || m.Type == "ping" || m.Type == "ka" {
			if err := c.ReadJSON(&m); err != nil {
				t.Fatal(err)
			}
		}
		if m.Type != "next" || m.Payload.Data.AssetState.Mode != "RUNNING" {
			t.Errorf("got %+v", m)
		}
	})
	t.Run("token in the upgrade header", func(t *testing.T) {
		if _, err := dial(t, http.Header{"Authorization": {authtest.Bearer(tok)}}, `{}`); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no token", func(t *testing.T) {
		_, err := dial(t, nil, `{}`)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4403 {
			t.Fatalf("err = %v, want close 4403", err)
		}
	})
	t.Run("token in the URL is ignored", func(t *testing.T) {
		d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
		c, res, err := d.Dial(wsURL+"?access_token="+url.QueryEscape(tok), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		defer c.Close()
		c.WriteMessage(websocket.TextMessage, []byte(`{"type":"connection_init","payload":{}}`))
		var m struct{ Type string }
		err = c.ReadJSON(&m)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4403 {
			t.Fatalf("got %q, %v; want close 4403", m.Type, err)
		}
	})
	t.Run("bad upgrade header", func(t *testing.T) {
		d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
		_, res, err := d.Dial(wsURL, http.Header{"Authorization": {"Bearer nope"}})
		if err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial = %v, %v; want 401", res, err)
		}
	})
}

// With authorization off (the default) a token is neither needed nor read.
func TestGateway_AuthDisabled(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest("GET", f.srv.URL+"/twin/"+line3, nil)
	req.Header.Set("Authorization", "Bearer whatever")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /twin with an unchecked token = %d", res.StatusCode)
	}
	if status, body := f.get(t, "/twin/"+line3); status != http.StatusOK || body["id"] != line3 {
		t.Errorf("GET /twin without a token = %d %v", status, body)
	}
}
