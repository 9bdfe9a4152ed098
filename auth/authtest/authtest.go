// Package authtest issues tokens for tests of code behind package auth: it
// generates an RSA key (published in a JWKS file) and an HS256 secret (in a
// secret file) in a temporary directory and signs JWTs with either.
package authtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/twingraph/twingraph/auth"
)

// IssuerName and Audience are what Config and the tokens of an Issuer use.
const (
	IssuerName = "https://issuer.test"
	Audience   = "twingraph"
)

// Issuer holds generated keys and the files publishing them.
type Issuer struct {
	tb testing.TB
	// JWKSFile holds the public half of RSA.
	JWKSFile string
	// SecretFile holds Secret, newline-terminated as editors leave it.
	SecretFile string
	// RSA signs RS256 tokens (kid "test-rsa").
	RSA *rsa.PrivateKey
	// Secret signs HS256 tokens.
	Secret []byte
}

// New generates the keys and writes the files into tb.TempDir().
func New(tb testing.TB) *Issuer {
	tb.Helper()
	dir := tb.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := jwk.Import(&key.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pub.Set(jwk.KeyIDKey, "test-rsa"); err != nil {
		tb.Fatal(err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		tb.Fatal(err)
	}
	data, err := json.Marshal(set)
	if err != nil {
		tb.Fatal(err)
	}
	is := &Issuer{tb: tb, JWKSFile: filepath.Join(dir, "jwks.json"), SecretFile: filepath.Join(dir, "secret"), RSA: key}
	if err := os.WriteFile(is.JWKSFile, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, 32)
	rand.Read(buf)
	is.Secret = []byte(hex.EncodeToString(buf))
	if err := os.WriteFile(is.SecretFile, append(is.Secret, '\n'), 0o600); err != nil {
		tb.Fatal(err)
	}
	return is
}

// Config is an auth.Config trusting both keys and checking Issuer and Audience.
func (is *Issuer) Config() auth.Config {
	return auth.Config{JWKSFile: is.JWKSFile, HS256SecretFile: is.SecretFile, Issuer: IssuerName, Audience: Audience}
}

// Verifier is auth.NewVerifier(is.Config()).
func (is *Issuer) Verifier() *auth.Verifier {
	is.tb.Helper()
	v, err := auth.NewVerifier(is.Config())
	if err != nil {
		is.tb.Fatal(err)
	}
	return v
}

// Claims are the claims of a test token; zero fields get defaults.
type Claims struct {
	// Subject is sub; "tester" when "".
	Subject string
	// Issuer is iss; IssuerName when "".
	Issuer string
	// Audience is aud; authtest.Audience when "".
	Audience string
	// Expires is exp; an hour from now when zero.
	Expires time.Time
	// NotBefore is nbf; absent when zero.
	NotBefore time.Time
	// Scope is twin_scope; absent when nil.
	Scope []string
}

func (is *Issuer) build(c Claims) jwt.Token {
	is.tb.Helper()
	b := jwt.NewBuilder().
		Subject(or(c.Subject, "tester")).
		Issuer(or(c.Issuer, IssuerName)).
		Audience([]string{or(c.Audience, Audience)}).
		IssuedAt(time.Now())
	if c.Expires.IsZero() {
		c.Expires = time.Now().Add(time.Hour)
	}
	b = b.Expiration(c.Expires)
	if !c.NotBefore.IsZero() {
		b = b.NotBefore(c.NotBefore)
	}
	if c.Scope != nil {
		b = b.Claim(auth.ScopeClaim, c.Scope)
	}
	tok, err := b.Build()
	if err != nil {
		is.tb.Fatal(err)
	}
	return tok
}

// HS256 returns a token signed with the shared secret.
func (is *Issuer) HS256(c Claims) string {
	is.tb.Helper()
	s, err := jwt.Sign(is.build(c), jwt.WithKey(jwa.HS256(), is.Secret))
	if err != nil {
		is.tb.Fatal(err)
	}
	return string(s)
}

// RS256 returns a token signed with the RSA key.
func (is *Issuer) RS256(c Claims) string {
	is.tb.Helper()
	s, err := jwt.Sign(is.build(c), jwt.WithKey(jwa.RS256(), is.RSA))
	if err != nil {
		is.tb.Fatal(err)
	}
	return string(s)
}

// Bearer is "Bearer " + token, an Authorization header value.
func Bearer(token string) string { return "Bearer " + token }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
