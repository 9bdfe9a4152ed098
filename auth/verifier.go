package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	twin "github.com/twingraph/twingraph"
)

// MinSecretLen is the shortest HS256 secret accepted, in bytes: RFC 7518
// asks for a key at least as long as the hash output (256 bits).
const MinSecretLen = 32

// DefaultSkew is the clock skew tolerated on exp and nbf.
const DefaultSkew = 30 * time.Second

// Config says where the verification keys are and which claims to check.
// At least one of JWKSFile, HS256SecretFile and APIKeys is required.
type Config struct {
	// JWKSFile is a local JSON Web Key Set of RSA and EC public keys
	// (private keys are reduced to their public half). A key without "alg"
	// verifies RS256 (RSA) or ES256 (EC P-256) tokens.
	JWKSFile string
	// HS256SecretFile holds a shared secret for HS256 tokens (at least
	// MinSecretLen bytes; a trailing newline is not part of it).
	HS256SecretFile string
	// Issuer, when set, must equal the token's iss claim.
	Issuer string
	// Audience, when set, must be one of the token's aud values.
	Audience string
	// Now is the clock for exp and nbf; time.Now when nil.
	Now func() time.Time
	// Skew is the tolerated clock skew; DefaultSkew when 0, none when < 0.
	Skew time.Duration
	// APIKeys, when set, also accepts API keys ("Bearer twk_...") beside
	// JWTs; their scope applies exactly like a token's twin_scope.
	APIKeys *APIKeys
}

// Enabled reports whether cfg names any key, i.e. whether authorization is on.
func (cfg Config) Enabled() bool {
	return cfg.JWKSFile != "" || cfg.HS256SecretFile != "" || cfg.APIKeys != nil
}

// Verifier checks bearer tokens. It is immutable and safe for concurrent use.
type Verifier struct {
	apiKeys *APIKeys // nil: API keys are refused
	keys    jwk.Set
	options []jwt.ParseOption
	skew    time.Duration
}

// NewVerifier loads the keys cfg names. It fails when cfg names none, when a
// file cannot be read, or when a key is unusable (a symmetric key in the
// JWKS, a short secret, an algorithm other than an RSA or ECDSA signature).
func NewVerifier(cfg Config) (*Verifier, error) {
	if !cfg.Enabled() {
		return nil, errors.New("auth: no verification key configured (a JWKS file, an HS256 secret file or API keys)")
	}
	keys := jwk.NewSet()
	if cfg.JWKSFile != "" {
		if err := addJWKS(keys, cfg.JWKSFile); err != nil {
			return nil, fmt.Errorf("auth: jwks %s: %w", cfg.JWKSFile, err)
		}
	}
	if cfg.HS256SecretFile != "" {
		if err := addSecret(keys, cfg.HS256SecretFile); err != nil {
			return nil, fmt.Errorf("auth: hs256 secret %s: %w", cfg.HS256SecretFile, err)
		}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	skew := cfg.Skew
	if skew == 0 {
		skew = DefaultSkew
	}
	opts := []jwt.ParseOption{
		// Every key carries its algorithm (set at load) and only verifies
		// tokens whose alg header names exactly that algorithm; "none" never
		// verifies. Tokens need no kid: with a handful of local keys trying
		// each is cheap.
		jwt.WithKeyProvider(keysForAlg(keys)),
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(now)),
		jwt.WithAcceptableSkew(max(skew, 0)),
		// A token without exp would be valid forever.
		jwt.WithRequiredClaim(jwt.ExpirationKey),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &Verifier{apiKeys: cfg.APIKeys, keys: keys, options: opts, skew: max(skew, 0)}, nil
}

// keysForAlg offers the keys of set whose algorithm equals the token's alg
// header. jwx's key-set provider verifies with each key's own algorithm
// whatever the header says, so a token claiming RS256 but signed with the
// HS256 secret would pass: the header must agree with the key that verifies it.
func keysForAlg(set jwk.Set) jws.KeyProvider {
	return jws.KeyProviderFunc(func(_ context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
		alg, ok := sig.ProtectedHeaders().Algorithm()
		if !ok {
			return errors.New("no alg header")
		}
		for i := range set.Len() {
			k, _ := set.Key(i)
			if ka, ok := k.Algorithm(); ok && ka.String() == alg.String() {
				sink.Key(alg, k)
			}
		}
		return nil
	})
}

func addJWKS(keys jwk.Set, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	set, err := jwk.Parse(data)
	if err != nil {
		return err
	}
	if set.Len() == 0 {
		return errors.New("no keys")
	}
	for i := range set.Len() {
		k, _ := set.Key(i)
		kid, _ := k.KeyID()
		if u, ok := k.KeyUsage(); ok && u != "" && u != jwk.ForSignature.String() {
			return fmt.Errorf("key %d (kid %q): use %q is not sig", i, kid, u)
		}
		pub, err := jwk.PublicKeyOf(k)
		if err != nil {
			return fmt.Errorf("key %d (kid %q): %w", i, kid, err)
		}
		alg, err := keyAlgorithm(pub)
		if err != nil {
			return fmt.Errorf("key %d (kid %q): %w", i, kid, err)
		}
		if err := pub.Set(jwk.AlgorithmKey, alg); err != nil {
			return err
		}
		if err := keys.AddKey(pub); err != nil {
			return err
		}
	}
	return nil
}

// asymmetric are the algorithms a JWKS key may declare.
var asymmetric = map[string]jwa.KeyType{
	"RS256": jwa.RSA(), "RS384": jwa.RSA(), "RS512": jwa.RSA(),
	"PS256": jwa.RSA(), "PS384": jwa.RSA(), "PS512": jwa.RSA(),
	"ES256": jwa.EC(), "ES384": jwa.EC(), "ES512": jwa.EC(),
}

// keyAlgorithm is the one algorithm a public key verifies: its declared alg
// when that is an asymmetric signature of its key type, else RS256 for RSA and
// ES256 for EC keys.
func keyAlgorithm(k jwk.Key) (jwa.SignatureAlgorithm, error) {
	kty := k.KeyType()
	if a, ok := k.Algorithm(); ok && a.String() != "" {
		want, known := asymmetric[a.String()]
		if !known || want != kty {
			return jwa.SignatureAlgorithm{}, fmt.Errorf("alg %q is not supported for %s keys", a, kty)
		}
		alg, _ := jwa.LookupSignatureAlgorithm(a.String())
		return alg, nil
	}
	switch kty {
	case jwa.RSA():
		return jwa.RS256(), nil
	case jwa.EC():
		return jwa.ES256(), nil
	}
	return jwa.SignatureAlgorithm{}, fmt.Errorf("key type %s is not supported (RSA and EC public keys only; a shared secret goes in its own file)", kty)
}

func addSecret(keys jwk.Set, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	secret := bytes.TrimRight(data, "\r\n")
	if len(secret) < MinSecretLen {
		return fmt.Errorf("secret is %d bytes; at least %d required", len(secret), MinSecretLen)
	}
	k, err := jwk.Import(secret)
	if err != nil {
		return err
	}
	if err := k.Set(jwk.AlgorithmKey, jwa.HS256()); err != nil {
		return err
	}
	return keys.AddKey(k)
}

// Verify checks a compact JWT (API keys go through AuthenticateContext): signature by one of the configured keys,
// exp (required), nbf, and iss and aud when configured; then reads the
// twin_scope claim. Errors are FORBIDDEN *twin.Error values whose message
// says what is wrong without echoing the token.
func (v *Verifier) Verify(token string) (*Principal, error) {
	tok, err := jwt.ParseString(token, v.options...)
	if err != nil {
		return nil, twin.Errorf(twin.EFORBIDDEN, "invalid bearer token: %s", reason(err))
	}
	p := &Principal{}
	p.Subject, _ = tok.Subject()
	if exp, ok := tok.Expiration(); ok {
		p.Expires = exp.Add(v.skew)
	}
	if !tok.Has(ScopeClaim) {
		return p, nil
	}
	var raw any
	if err := tok.Get(ScopeClaim, &raw); err != nil {
		return nil, twin.Errorf(twin.EFORBIDDEN, "invalid bearer token: %s claim unreadable", ScopeClaim)
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, twin.Errorf(twin.EFORBIDDEN, "invalid bearer token: %s must be a list of asset ids", ScopeClaim)
	}
	p.Scope = make([]string, 0, len(list))
	for _, x := range list {
		id, ok := x.(string)
		if !ok {
			return nil, twin.Errorf(twin.EFORBIDDEN, "invalid bearer token: %s must be a list of asset ids", ScopeClaim)
		}
		if id == "*" {
			p.Scope = nil
			return p, nil
		}
		p.Scope = append(p.Scope, id)
	}
	return p, nil
}

// reason names why a token failed, for the caller; signature and parse
// failures stay vague on purpose.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.TokenExpiredError()):
		return "expired"
	case errors.Is(err, jwt.TokenNotYetValidError()):
		return "not valid yet"
	case errors.Is(err, jwt.InvalidIssuerError()):
		return "wrong issuer"
	case errors.Is(err, jwt.InvalidAudienceError()):
		return "wrong audience"
	case errors.Is(err, jwt.MissingRequiredClaimError()):
		return "missing exp"
	}
	return "bad signature or format"
}

// Authenticate is AuthenticateContext without a context of its own.
func (v *Verifier) Authenticate(header string) (*Principal, error) {
	return v.AuthenticateContext(context.Background(), header)
}

// AuthenticateContext verifies an Authorization header value ("Bearer <jwt>",
// or "Bearer twk_..." when API keys are configured; the scheme
// case-insensitive). An empty value, another scheme or a bad token or key is
// a FORBIDDEN error; an API key store that cannot be read is UNAVAILABLE.
// ctx bounds the API key store read.
func (v *Verifier) AuthenticateContext(ctx context.Context, header string) (*Principal, error) {
	if header == "" {
		return nil, twin.Errorf(twin.EFORBIDDEN, "authentication required: send Authorization: Bearer <token>")
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, twin.Errorf(twin.EFORBIDDEN, "authentication required: the Authorization scheme must be Bearer")
	}
	if v.apiKeys != nil && IsAPIKey(token) {
		return v.apiKeys.Verify(ctx, token)
	}
	return v.Verify(token)
}
