package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	twin "github.com/twingraph/twingraph"
)

// APIKeyPrefix starts every API key, so a key is recognisable in a config
// file or a secret scanner and never mistaken for a JWT.
const APIKeyPrefix = "twk_"

// DefaultAPIKeyTTL is how long a gateway trusts what it last read about a
// key: a revocation takes effect on every gateway within it.
const DefaultAPIKeyTTL = 2 * time.Second

// maxCachedKeys bounds the cache: past it the cache starts over, so a flood
// of made-up key ids cannot grow it.
const maxCachedKeys = 10_000

// NewAPIKey makes a key for a machine client: a random id (16 hex digits)
// and a random 32-byte secret. It returns the key to hand out once,
// "twk_<id>_<secret>", and the record to store (ID, Name, Scope and the
// secret's hash; never the secret).
func NewAPIKey(name string, scope []string) (key string, rec twin.APIKey, err error) {
	id := make([]byte, 8)
	secret := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		return "", rec, err
	}
	if _, err := rand.Read(secret); err != nil {
		return "", rec, err
	}
	s := base64.RawURLEncoding.EncodeToString(secret)
	rec = twin.APIKey{ID: hex.EncodeToString(id), Name: name, Scope: scope, Hash: hashSecret(s)}
	return APIKeyPrefix + rec.ID + "_" + s, rec, nil
}

// IsAPIKey reports whether token has the shape of an API key (it may still
// be unknown or wrong).
func IsAPIKey(token string) bool { return strings.HasPrefix(token, APIKeyPrefix) }

// parseAPIKey splits "twk_<id>_<secret>".
func parseAPIKey(token string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(token, APIKeyPrefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	return id, secret, ok && id != "" && secret != ""
}

// hashSecret is what the store keeps of a secret. SHA-256 without salt or
// stretching is enough: the secret is 256 random bits, not a password.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// APIKeys checks API keys against an APIKeyStore, caching what it reads for
// a short TTL so a busy gateway reads each key at most once per TTL, and a
// revocation in the store reaches it within the TTL. Safe for concurrent use.
type APIKeys struct {
	store APIKeyReader
	ttl   time.Duration
	now   func() time.Time

	mu       sync.Mutex
	cache    map[string]cachedKey
	inflight map[string]*keyRead // reads under way, shared by concurrent misses
}

// keyRead is one store read of a key that concurrent requests wait for, so
// a busy gateway whose cache entry expires reads the store once, not once
// per request in flight.
type keyRead struct {
	done chan struct{}
	key  *twin.APIKey
	err  error
}

// APIKeyReader is the part of twin.APIKeyStore a gateway needs.
type APIKeyReader interface {
	// APIKey returns the key with the id. Errors: NOT_FOUND, INTERNAL.
	APIKey(ctx context.Context, id string) (*twin.APIKey, error)
	// TouchAPIKey records a use of the key. Errors: INTERNAL.
	TouchAPIKey(ctx context.Context, id string, t time.Time) error
}

// cachedKey is what the cache holds for an id: the key, or nil for an id
// the store does not know.
type cachedKey struct {
	key  *twin.APIKey
	read time.Time
}

// NewAPIKeys returns an APIKeys reading store, trusting a read for ttl
// (DefaultAPIKeyTTL when 0) by the clock now (time.Now when nil).
func NewAPIKeys(store APIKeyReader, ttl time.Duration, now func() time.Time) *APIKeys {
	if ttl <= 0 {
		ttl = DefaultAPIKeyTTL
	}
	if now == nil {
		now = time.Now
	}
	return &APIKeys{store: store, ttl: ttl, now: now, cache: map[string]cachedKey{}, inflight: map[string]*keyRead{}}
}

// errBadKey is the one answer to an unknown, wrong or malformed key: which
// of these it was is not the caller's business.
var errBadKey = twin.Errorf(twin.EFORBIDDEN, "invalid API key")

// Verify checks an API key and returns its Principal: Subject "apikey:<name>",
// the key's scope (nil when it holds "*"), no expiry. An unknown, revoked or
// wrong key is a FORBIDDEN error; a store that cannot be read fails closed
// (UNAVAILABLE) once the cached read is older than the TTL.
func (a *APIKeys) Verify(ctx context.Context, token string) (*Principal, error) {
	id, secret, ok := parseAPIKey(token)
	if !ok {
		return nil, errBadKey
	}
	k, err := a.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if k == nil || subtle.ConstantTimeCompare(hashSecret(secret), k.Hash) != 1 {
		return nil, errBadKey
	}
	if !k.Revoked.IsZero() {
		return nil, twin.Errorf(twin.EFORBIDDEN, "API key revoked")
	}
	p := &Principal{Subject: "apikey:" + k.Name, every: a.ttl, recheck: func(ctx context.Context) error {
		_, err := a.Verify(ctx, token)
		return err
	}}
	for _, s := range k.Scope {
		if s == "*" {
			return p, nil
		}
	}
	p.Scope = append([]string{}, k.Scope...)
	return p, nil
}

// lookup returns the key with the id (nil when the store has none), from
// the cache when it was read less than a TTL ago. A fresh read of a valid
// key records its use.
func (a *APIKeys) lookup(ctx context.Context, id string) (*twin.APIKey, error) {
	now := a.now()
	a.mu.Lock()
	if c, ok := a.cache[id]; ok && now.Sub(c.read) < a.ttl {
		a.mu.Unlock()
		return c.key, nil
	}
	if r, ok := a.inflight[id]; ok {
		a.mu.Unlock()
		select {
		case <-r.done:
			return r.key, r.err
		case <-ctx.Done():
			return nil, twin.Errorf(twin.EUNAVAILABLE, "API keys cannot be checked right now")
		}
	}
	r := &keyRead{done: make(chan struct{})}
	a.inflight[id] = r
	a.mu.Unlock()

	r.key, r.err = a.read(ctx, id, now)
	a.mu.Lock()
	delete(a.inflight, id)
	if r.err == nil {
		if len(a.cache) >= maxCachedKeys {
			a.cache = map[string]cachedKey{}
		}
		a.cache[id] = cachedKey{key: r.key, read: now}
	}
	a.mu.Unlock()
	close(r.done)
	return r.key, r.err
}

// read reads the key with the id from the store: nil when it has none.
func (a *APIKeys) read(ctx context.Context, id string, now time.Time) (*twin.APIKey, error) {
	k, err := a.store.APIKey(ctx, id)
	switch {
	case twin.ErrorCode(err) == twin.ENOTFOUND:
		return nil, nil
	case err != nil:
		return nil, twin.Errorf(twin.EUNAVAILABLE, "API keys cannot be checked right now")
	case k.Revoked.IsZero():
		// Once per TTL per gateway at most: cheap, and good enough for
		// "last used" in `twingraph apikey list`. A failure only loses that.
		_ = a.store.TouchAPIKey(ctx, id, now)
	}
	return k, nil
}
