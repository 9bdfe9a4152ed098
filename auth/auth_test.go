package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth"
	"github.com/twingraph/twingraph/auth/authtest"
	"github.com/twingraph/twingraph/internal/testmodel"
)

func TestVerifier_Verify(t *testing.T) {
	is := authtest.New(t)
	v := is.Verifier()
	other := authtest.New(t) // same claims, other keys
	past := time.Now().Add(-time.Hour)

	ok := []struct {
		name  string
		token string
		scope []string
	}{
		{"hs256", is.HS256(authtest.Claims{}), nil},
		{"rs256", is.RS256(authtest.Claims{}), nil},
		{"scoped", is.HS256(authtest.Claims{Scope: []string{"plant/jkt1/packaging"}}), []string{"plant/jkt1/packaging"}},
		{"star", is.HS256(authtest.Claims{Scope: []string{"plant/jkt1/packaging", "*"}}), nil},
		{"empty scope", is.HS256(authtest.Claims{Scope: []string{}}), []string{}},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			p, err := v.Verify(c.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Subject != "tester" {
				t.Errorf("Subject = %q", p.Subject)
			}
			if d := time.Until(p.Expires); d < time.Hour || d > time.Hour+auth.DefaultSkew+time.Minute {
				t.Errorf("Expires in %v, want the hour of the token plus the skew", d)
			}
			if (p.Scope == nil) != (c.scope == nil) || strings.Join(p.Scope, ",") != strings.Join(c.scope, ",") {
				t.Errorf("Scope = %#v, want %#v", p.Scope, c.scope)
			}
		})
	}

	bad := []struct {
		name, token, reason string
	}{
		{"expired", is.HS256(authtest.Claims{Expires: past}), "expired"},
		{"not yet valid", is.HS256(authtest.Claims{NotBefore: time.Now().Add(time.Hour)}), "not valid yet"},
		{"wrong issuer", is.RS256(authtest.Claims{Issuer: "https://evil.test"}), "wrong issuer"},
		{"wrong audience", is.HS256(authtest.Claims{Audience: "other"}), "wrong audience"},
		{"wrong hs256 key", other.HS256(authtest.Claims{}), "bad signature"},
		{"wrong rsa key", other.RS256(authtest.Claims{}), "bad signature"},
		{"alg none", unsigned(t), "bad signature"},
		{"garbage", "not.a.token", "bad signature"},
		{"no exp", noExp(t, is), "missing exp"},
		{"scope not a list", badScope(t, is), "twin_scope"},
		{"tampered", tamper(t, is.HS256(authtest.Claims{Scope: []string{"plant/jkt1/packaging"}})), "bad signature"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) { wantRefused(t, v, c.token, c.reason) })
	}
}

// wantRefused wants v to refuse token FORBIDDEN, saying reason.
func wantRefused(t *testing.T, v *auth.Verifier, token, reason string) {
	t.Helper()
	p, err := v.Verify(token)
	if err == nil {
		t.Fatalf("Verify accepted the token: %+v", p)
	}
	if twin.ErrorCode(err) != twin.EFORBIDDEN {
		t.Errorf("code = %s, want FORBIDDEN", twin.ErrorCode(err))
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q does not say %q", err, reason)
	}
}

// unsigned is an alg "none" token with otherwise valid claims.
func unsigned(t *testing.T) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{
		"sub": "tester", "iss": authtest.IssuerName, "aud": authtest.Audience, "exp": time.Now().Add(time.Hour).Unix(),
	})
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(claims) + "."
}

// tamper widens a signed token's scope to everything, keeping the signature.
func tamper(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	claims, _ := json.Marshal(map[string]any{
		"sub": "tester", "iss": authtest.IssuerName, "aud": authtest.Audience, "exp": time.Now().Add(time.Hour).Unix(),
	})
	parts[1] = base64.RawURLEncoding.EncodeToString(claims)
	return strings.Join(parts, ".")
}

func noExp(t *testing.T, is *authtest.Issuer) string {
	t.Helper()
	tok, _ := jwt.NewBuilder().Issuer(authtest.IssuerName).Audience([]string{authtest.Audience}).Build()
	s, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), is.Secret))
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

func badScope(t *testing.T, is *authtest.Issuer) string {
	t.Helper()
	tok, _ := jwt.NewBuilder().Issuer(authtest.IssuerName).Audience([]string{authtest.Audience}).
		Expiration(time.Now().Add(time.Hour)).Claim(auth.ScopeClaim, "plant/jkt1").Build()
	s, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), is.Secret))
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

func TestVerifier_ES256AndOptionalClaims(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// A private key in the JWKS is reduced to its public half.
	priv, err := jwk.Import(key)
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	set.AddKey(priv)
	data, _ := json.Marshal(set)
	path := filepath.Join(t.TempDir(), "jwks.json")
	os.WriteFile(path, data, 0o600)
	// No issuer or audience configured: neither is checked.
	v, err := auth.NewVerifier(auth.Config{JWKSFile: path})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := jwt.NewBuilder().Issuer("anyone").Expiration(time.Now().Add(time.Minute)).Build()
	s, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), key))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(string(s)); err != nil {
		t.Fatalf("ES256: %v", err)
	}
	// The same EC key must not verify an HS256 token made from its encoding.
	hs, _ := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), data))
	if _, err := v.Verify(string(hs)); err == nil {
		t.Fatal("HS256 token accepted by a JWKS of EC keys")
	}
}

func TestNewVerifier_Errors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	cases := []struct {
		name string
		cfg  auth.Config
	}{
		{"nothing", auth.Config{}},
		{"missing file", auth.Config{HS256SecretFile: filepath.Join(dir, "none")}},
		{"short secret", auth.Config{HS256SecretFile: write("short", "tooshort\n")}},
		{"bad jwks", auth.Config{JWKSFile: write("bad.json", "{")}},
		{"empty jwks", auth.Config{JWKSFile: write("empty.json", `{"keys":[]}`)}},
		{"oct in jwks", auth.Config{JWKSFile: write("oct.json", `{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"}]}`)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := auth.NewVerifier(c.cfg); err == nil {
				t.Fatal("NewVerifier succeeded")
			}
		})
	}
}

func TestVerifier_Authenticate(t *testing.T) {
	is := authtest.New(t)
	v := is.Verifier()
	tok := is.HS256(authtest.Claims{})
	for _, h := range []string{"Bearer " + tok, "bearer " + tok, "  Bearer   " + tok + " "} {
		if _, err := v.Authenticate(h); err != nil {
			t.Errorf("Authenticate(%q): %v", h[:10], err)
		}
	}
	for _, h := range []string{"", "Bearer", "Bearer ", "Basic " + tok, tok} {
		if _, err := v.Authenticate(h); twin.ErrorCode(err) != twin.EFORBIDDEN {
			t.Errorf("Authenticate(%.10q) = %v, want FORBIDDEN", h, err)
		}
	}
}

func TestPrincipal_CanSee(t *testing.T) {
	m := testmodel.Demo(t)
	var nobody *auth.Principal
	if !nobody.CanSee(m, "plant/jkt1") || len(nobody.Roots(m)) != len(m.Roots()) {
		t.Error("a nil principal must see everything")
	}
	p := &auth.Principal{Scope: []string{"plant/jkt1/packaging/line3", "plant/jkt1/packaging", "plant/none"}}
	cases := map[string]bool{
		"plant/jkt1":                 false, // ancestors are not visible
		"plant/jkt1/packaging":       true,
		"plant/jkt1/packaging/line3": true,
		"plant/jkt1/processing":      false,
	}
	for id, want := range cases {
		if got := p.CanSee(m, id); got != want {
			t.Errorf("CanSee(%s) = %v, want %v", id, got, want)
		}
	}
	roots := p.Roots(m)
	if len(roots) != 1 || roots[0].ID != "plant/jkt1/packaging" {
		t.Errorf("Roots = %v, want only plant/jkt1/packaging", roots)
	}
	for _, a := range p.Filter(m, m.Assets()) {
		if !m.IsUnder(a.ID, "plant/jkt1/packaging") {
			t.Errorf("Filter kept %s", a.ID)
		}
	}
	if len((&auth.Principal{Scope: []string{}}).Filter(m, m.Assets())) != 0 {
		t.Error("an empty scope must see nothing")
	}
}

func TestMiddleware_Wrap(t *testing.T) {
	is := authtest.New(t)
	var got *auth.Principal
	var reached bool
	h := auth.Middleware{
		Verifier: is.Verifier(),
		Deny: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, twin.ErrorCode(err), http.StatusUnauthorized)
		},
		DeferWebSocket: true,
	}.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached, got = true, auth.FromContext(r.Context())
	}))
	do := func(method, target string, hdr map[string]string) int {
		reached, got = false, nil
		r := httptest.NewRequestWithContext(context.Background(), method, target, nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	tok := is.HS256(authtest.Claims{Scope: []string{"plant/jkt1"}})
	if c := do("GET", "/x", map[string]string{"Authorization": authtest.Bearer(tok)}); c != 200 || !reached || got == nil || got.Scope[0] != "plant/jkt1" {
		t.Errorf("valid token: code %d, principal %+v", c, got)
	}
	if c := do("GET", "/x", nil); c != 401 || reached {
		t.Errorf("no token: code %d, reached %v", c, reached)
	}
	if c := do("GET", "/x?access_token="+tok, nil); c != 401 || reached {
		t.Errorf("token in the URL: code %d, reached %v (must be refused)", c, reached)
	}
	if c := do("GET", "/x", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}); c != 200 || !reached || got != nil {
		t.Errorf("WebSocket upgrade without header: code %d, reached %v, principal %+v", c, reached, got)
	}
	if c := do("GET", "/x", map[string]string{"Upgrade": "websocket", "Authorization": "Bearer bad"}); c != 401 {
		t.Errorf("WebSocket upgrade with a bad header: code %d", c)
	}
	if c := do("OPTIONS", "/x", nil); c != 200 || got != nil {
		t.Errorf("OPTIONS: code %d", c)
	}
}

func BenchmarkVerifier_Verify(b *testing.B) {
	is := authtest.New(b)
	v := is.Verifier()
	for _, c := range []struct{ name, token string }{
		{"HS256", is.HS256(authtest.Claims{Scope: []string{"plant/jkt1/packaging"}})},
		{"RS256", is.RS256(authtest.Claims{Scope: []string{"plant/jkt1/packaging"}})},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := v.Verify(c.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
