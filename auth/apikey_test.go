package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth"
	"github.com/twingraph/twingraph/auth/authtest"
	"github.com/twingraph/twingraph/store/memory"
)

// keyStore is a memory API key store whose reads can be made to fail.
type keyStore struct {
	*memory.APIKeyStore
	mu    sync.Mutex
	down  bool
	reads int
}

func (s *keyStore) APIKey(ctx context.Context, id string) (*twin.APIKey, error) {
	s.mu.Lock()
	down := s.down
	s.reads++
	s.mu.Unlock()
	if down {
		return nil, errors.New("connection refused")
	}
	return s.APIKeyStore.APIKey(ctx, id)
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// mustCreateKey makes a key in s and returns it.
func mustCreateKey(t *testing.T, s twin.APIKeyStore, name string, scope ...string) (string, twin.APIKey) {
	t.Helper()
	key, rec, err := auth.NewAPIKey(name, scope)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIKey(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return key, rec
}

func TestNewAPIKey(t *testing.T) {
	key, rec, err := auth.NewAPIKey("screen", []string{"plant/jkt1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Shape", func(t *testing.T) {
		if !strings.HasPrefix(key, "twk_"+rec.ID+"_") || len(rec.ID) != 16 || len(key) < len("twk__")+16+43 {
			t.Fatalf("key %q (id %q): want twk_<16 hex>_<43 base64url>", key, rec.ID)
		}
	})
	t.Run("SecretNotStored", func(t *testing.T) {
		secret := key[strings.LastIndexByte(key, '_')+1:]
		if len(rec.Hash) != 32 || strings.Contains(string(rec.Hash), secret) {
			t.Fatalf("record holds %d hash bytes; want a SHA-256 and never the secret", len(rec.Hash))
		}
	})
	t.Run("Unique", func(t *testing.T) {
		other, rec2, _ := auth.NewAPIKey("screen", nil)
		if other == key || rec2.ID == rec.ID {
			t.Fatal("two keys alike")
		}
	})
}

func TestAPIKeys_Verify(t *testing.T) {
	ctx := context.Background()
	store := &keyStore{APIKeyStore: memory.NewAPIKeyStore()}
	clk := &clock{t: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)}
	keys := auth.NewAPIKeys(store, 2*time.Second, clk.Now)
	scoped, rec := mustCreateKey(t, store, "handover-screen", "plant/jkt1/packaging")
	all, _ := mustCreateKey(t, store, "historian", "*")

	t.Run("Scoped", func(t *testing.T) {
		p, err := keys.Verify(ctx, scoped)
		if err != nil {
			t.Fatal(err)
		}
		if p.Subject != "apikey:handover-screen" || len(p.Scope) != 1 || p.Scope[0] != "plant/jkt1/packaging" || !p.Expires.IsZero() {
			t.Fatalf("Principal = %+v", p)
		}
	})
	t.Run("Star", func(t *testing.T) {
		p, err := keys.Verify(ctx, all)
		if err != nil || !p.All() {
			t.Fatalf("Verify = %+v, %v; want a Principal seeing everything", p, err)
		}
	})
	t.Run("LastUsed", func(t *testing.T) {
		k, _ := store.APIKeyStore.APIKey(ctx, rec.ID)
		if !k.LastUsed.Equal(clk.Now()) {
			t.Fatalf("LastUsed = %v, want %v", k.LastUsed, clk.Now())
		}
	})
	refused := []struct{ name, key string }{
		{"WrongSecret", scoped[:len(scoped)-2] + "xx"},
		{"UnknownID", "twk_0000000000000000_" + scoped[len(scoped)-43:]},
		{"NoSecret", "twk_" + rec.ID},
		{"NotAKey", "eyJhbGciOi"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			if _, err := keys.Verify(ctx, c.key); twin.ErrorCode(err) != twin.EFORBIDDEN {
				t.Fatalf("Verify = %v, want FORBIDDEN", err)
			}
		})
	}
	t.Run("RevokedAfterTTL", func(t *testing.T) {
		if err := store.RevokeAPIKey(ctx, rec.ID); err != nil {
			t.Fatal(err)
		}
		// Within the TTL the cached read stands: that is the price of
		// not reading the store on every request.
		if _, err := keys.Verify(ctx, scoped); err != nil {
			t.Fatalf("within the TTL: %v", err)
		}
		clk.Add(2 * time.Second)
		_, err := keys.Verify(ctx, scoped)
		if twin.ErrorCode(err) != twin.EFORBIDDEN || !strings.Contains(twin.ErrorMessage(err), "revoked") {
			t.Fatalf("after the TTL: %v, want FORBIDDEN revoked", err)
		}
	})
	t.Run("StoreDownFailsClosed", func(t *testing.T) {
		store.mu.Lock()
		store.down = true
		store.mu.Unlock()
		defer func() { store.mu.Lock(); store.down = false; store.mu.Unlock() }()
		clk.Add(2 * time.Second)
		if _, err := keys.Verify(ctx, all); twin.ErrorCode(err) != twin.EUNAVAILABLE {
			t.Fatalf("Verify with the store down = %v, want UNAVAILABLE", err)
		}
	})
	t.Run("OneReadPerTTL", func(t *testing.T) {
		clk.Add(2 * time.Second)
		store.mu.Lock()
		before := store.reads
		store.mu.Unlock()
		for range 50 {
			if _, err := keys.Verify(ctx, all); err != nil {
				t.Fatal(err)
			}
		}
		store.mu.Lock()
		n := store.reads - before
		store.mu.Unlock()
		if n != 1 {
			t.Fatalf("%d store reads for 50 requests within one TTL, want 1", n)
		}
	})
}

func TestVerifier_APIKeys(t *testing.T) {
	ctx := context.Background()
	store := memory.NewAPIKeyStore()
	key, _ := mustCreateKey(t, store, "screen", "plant/jkt1/packaging")
	is := authtest.New(t)

	t.Run("KeysOnly", func(t *testing.T) {
		v, err := auth.NewVerifier(auth.Config{APIKeys: auth.NewAPIKeys(store, 0, nil)})
		if err != nil {
			t.Fatal(err)
		}
		if p, err := v.AuthenticateContext(ctx, "Bearer "+key); err != nil || p.Scope[0] != "plant/jkt1/packaging" {
			t.Fatalf("API key: %+v, %v", p, err)
		}
		if _, err := v.AuthenticateContext(ctx, authtest.Bearer(is.HS256(authtest.Claims{}))); twin.ErrorCode(err) != twin.EFORBIDDEN {
			t.Fatalf("a JWT with no JWT key configured = %v, want FORBIDDEN", err)
		}
	})
	t.Run("Beside JWTs", func(t *testing.T) {
		cfg := is.Config()
		cfg.APIKeys = auth.NewAPIKeys(store, 0, nil)
		v, err := auth.NewVerifier(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.AuthenticateContext(ctx, "bearer "+key); err != nil {
			t.Fatalf("API key: %v", err)
		}
		if _, err := v.AuthenticateContext(ctx, authtest.Bearer(is.HS256(authtest.Claims{}))); err != nil {
			t.Fatalf("JWT: %v", err)
		}
	})
	t.Run("KeysOff", func(t *testing.T) {
		if _, err := is.Verifier().AuthenticateContext(ctx, "Bearer "+key); twin.ErrorCode(err) != twin.EFORBIDDEN {
			t.Fatalf("API key without API keys configured = %v, want FORBIDDEN", err)
		}
	})
}

func TestMiddleware_APIKey(t *testing.T) {
	store := memory.NewAPIKeyStore()
	key, rec := mustCreateKey(t, store, "screen", "plant/jkt1/packaging")
	v, err := auth.NewVerifier(auth.Config{APIKeys: auth.NewAPIKeys(store, 20*time.Millisecond, nil)})
	if err != nil {
		t.Fatal(err)
	}
	started, ended := make(chan struct{}), make(chan struct{})
	h := auth.Middleware{Verifier: v, Deny: func(w http.ResponseWriter, r *http.Request, err error) {
		http.Error(w, twin.ErrorMessage(err), http.StatusUnauthorized)
	}}.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		if p == nil || p.Subject != "apikey:screen" {
			http.Error(w, "no principal", http.StatusInternalServerError)
			return
		}
		if r.URL.Path == "/stream" {
			close(started)
			<-r.Context().Done() // a stream held open until its authority ends
			close(ended)
		}
	}))
	get := func(path string, hdr map[string]string) int {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	t.Run("XAPIKey", func(t *testing.T) {
		if code := get("/", map[string]string{"X-API-Key": key}); code != http.StatusOK {
			t.Fatalf("X-API-Key: %d", code)
		}
	})
	t.Run("XAPIKeyNotAJWT", func(t *testing.T) {
		if code := get("/", map[string]string{"X-API-Key": "eyJhbGciOiJIUzI1NiJ9.e30.x"}); code != http.StatusUnauthorized {
			t.Fatalf("a JWT in X-API-Key: %d, want 401", code)
		}
	})
	t.Run("StreamEndsOnRevocation", func(t *testing.T) {
		done := make(chan int)
		go func() { done <- get("/stream", map[string]string{"Authorization": "Bearer " + key}) }()
		<-started
		if err := store.RevokeAPIKey(context.Background(), rec.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ended:
		case <-time.After(5 * time.Second):
			t.Fatal("stream still open 5 s after the key was revoked")
		}
		<-done
		if code := get("/", map[string]string{"X-API-Key": key}); code != http.StatusUnauthorized {
			t.Fatalf("revoked key: %d, want 401", code)
		}
	})
}

// blockingStore holds every read until release is closed.
type blockingStore struct {
	*keyStore
	release chan struct{}
}

func (s *blockingStore) APIKey(ctx context.Context, id string) (*twin.APIKey, error) {
	<-s.release
	return s.keyStore.APIKey(ctx, id)
}

func TestAPIKeys_ConcurrentMissesReadOnce(t *testing.T) {
	inner := &keyStore{APIKeyStore: memory.NewAPIKeyStore()}
	key, _ := mustCreateKey(t, inner, "screen", "*")
	store := &blockingStore{keyStore: inner, release: make(chan struct{})}
	keys := auth.NewAPIKeys(store, time.Hour, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := keys.Verify(context.Background(), key)
			errs <- err
		}()
	}
	// Let the first read start, then the others pile up behind it (or hit
	// the cache after it); either way one read serves them all.
	time.Sleep(10 * time.Millisecond)
	close(store.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if inner.reads != 1 {
		t.Fatalf("%d store reads for 20 concurrent requests, want 1", inner.reads)
	}
}
