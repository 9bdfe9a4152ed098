package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth"
	"github.com/twingraph/twingraph/resolvers"
	"github.com/twingraph/twingraph/store/memory"
)

// unreachableKeys is an API-key store that cannot be read (PostgreSQL down).
type unreachableKeys struct{}

func (unreachableKeys) APIKey(context.Context, string) (*twin.APIKey, error) {
	return nil, errors.New("connection refused")
}

func (unreachableKeys) TouchAPIKey(context.Context, string, time.Time) error {
	return errors.New("connection refused")
}

// A key that cannot be checked because its store is down answers 503
// UNAVAILABLE on REST and GraphQL, so clients retry instead of discarding
// a good key as they would after a 401.
func TestGateway_APIKeyStoreDown(t *testing.T) {
	f := newFixture(t)
	v, err := auth.NewVerifier(auth.Config{APIKeys: auth.NewAPIKeys(unreachableKeys{}, time.Second, time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	gql, err := resolvers.New(resolvers.Config{Model: f.cfg.Model, States: f.cfg.States, Events: f.cfg.Events,
		Bus: memory.NewBus(), Auth: v})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gql.Close)
	cfg := f.cfg
	cfg.GraphQL, cfg.Auth, cfg.Registerer = gql, v, nil
	srv := httptest.NewServer(newGateway(t, cfg))
	t.Cleanup(srv.Close)
	key, _, err := auth.NewAPIKey("screen", []string{"*"})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, method, path, body, wantCode string
		wantStatus                         int
	}{
		{"REST", http.MethodGet, "/twin/plant/jkt1/packaging/line3", "", twin.EUNAVAILABLE, http.StatusServiceUnavailable},
		{"GraphQL", http.MethodPost, "/graphql", `{"query":"{ roots { id } }"}`, twin.EUNAVAILABLE, http.StatusServiceUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+key)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Error  struct{ Code string }
				Errors []struct{ Extensions struct{ Code string } }
			}
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			code := body.Error.Code
			if len(body.Errors) > 0 {
				code = body.Errors[0].Extensions.Code
			}
			if res.StatusCode != c.wantStatus || code != c.wantCode {
				t.Errorf("status %d code %q, want %d %s", res.StatusCode, code, c.wantStatus, c.wantCode)
			}
		})
	}
	t.Run("a malformed key is still a 401", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/twin/plant/jkt1/packaging/line3", nil)
		req.Header.Set("Authorization", "Bearer twk_nonsense")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", res.StatusCode)
		}
	})
}
