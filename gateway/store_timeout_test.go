package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/gateway"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
	"github.com/twingraph/twingraph/store/memory"
	"github.com/twingraph/twingraph/store/redis"
)

// TestGateway_FrozenRedis: with the state store's redis-server frozen
// (SIGSTOP), REST and GraphQL reads answer UNAVAILABLE once the store
// timeout passes instead of hanging with the store.
func TestGateway_FrozenRedis(t *testing.T) {
	url, proc := testenv.RedisProcess(t)
	rs, err := redis.Open(context.Background(), url, redis.Options{Namespace: testenv.RedisNamespace(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.Close)
	if err := rs.PutStates(context.Background(), []*twin.State{line3State()}); err != nil {
		t.Fatal(err)
	}
	m := testmodel.Demo(t)
	const timeout = 300 * time.Millisecond
	gql, err := resolvers.New(resolvers.Config{Model: m, States: rs, Events: memory.NewEventStore(), StoreTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gql.Close)
	srv := httptest.NewServer(newGateway(t, gateway.Config{Model: m, States: rs, GraphQL: gql, StoreTimeout: timeout}))
	t.Cleanup(srv.Close)
	// A client timeout far above the store's, so a hang fails the test
	// rather than the whole run.
	client := &http.Client{Timeout: 20 * time.Second}

	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Signal(syscall.SIGCONT) })

	t.Run("REST", func(t *testing.T) {
		res, err := client.Get(srv.URL + "/twin/" + line3)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		defer res.Body.Close()
		var body struct {
			Error struct{ Code, Message string }
		}
		json.NewDecoder(res.Body).Decode(&body)
		if res.StatusCode != http.StatusServiceUnavailable || body.Error.Code != twin.EUNAVAILABLE {
			t.Errorf("status %d, code %q (%s); want 503 UNAVAILABLE", res.StatusCode, body.Error.Code, body.Error.Message)
		}
	})
	t.Run("GraphQL", func(t *testing.T) {
		q, _ := json.Marshal(map[string]string{"query": `{ asset(id: "` + line3 + `") { id state { mode } } }`})
		res, err := client.Post(srv.URL+"/graphql", "application/json", bytes.NewReader(q))
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		defer res.Body.Close()
		var body struct {
			Data   struct{ Asset *struct{ ID string } }
			Errors []struct {
				Message    string
				Extensions map[string]any
			}
		}
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if len(body.Errors) != 1 || body.Errors[0].Extensions["code"] != twin.EUNAVAILABLE {
			t.Fatalf("errors = %+v, want one UNAVAILABLE", body.Errors)
		}
		if body.Data.Asset == nil || body.Data.Asset.ID != line3 {
			t.Errorf("asset = %+v: the fields that need no store should still answer", body.Data.Asset)
		}
	})
}
