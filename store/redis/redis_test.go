package redis_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/store/redis"
	"github.com/twingraph/twingraph/store/storetest"
)

func TestMain(m *testing.M) {
	// rueidis closes the connections a cluster topology change replaced
	// five seconds later, from a goroutine of their own that Close does not
	// wait for.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*clusterClient)._refresh.func2"))
}

// MustOpen opens a store in a namespace of its own on the server at url.
func MustOpen(tb testing.TB, url string) *redis.Store {
	tb.Helper()
	s, err := redis.Open(context.Background(), url, redis.Options{Namespace: testenv.RedisNamespace(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

func TestStateStore(t *testing.T) {
	url := testenv.Redis(t)
	storetest.TestStateStore(t, func(t *testing.T) twin.StateStore { return MustOpen(t, url) })
}

func TestBus(t *testing.T) {
	url := testenv.Redis(t)
	storetest.TestBus(t, func(t *testing.T) twin.Bus { return MustOpen(t, url) })
}

// TestStore_OneServerKeys pins the single-server key layout, which existing
// deployments hold: {ns}:state:<id> and the {ns}:ids set, no generations.
func TestStore_OneServerKeys(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, testenv.Redis(t))
	if err := s.PutStates(ctx, []*twin.State{storetest.FullState("plant/a")}); err != nil {
		t.Fatal(err)
	}
	c := s.Client()
	ns := s.Namespace()
	for key, want := range map[string]string{
		"{" + ns + "}:state:plant/a": "string",
		"{" + ns + "}:ids":           "set",
		redis.CurrentKey(ns):         "none",
	} {
		got, err := c.Do(ctx, c.B().Type().Key(key).Build()).ToString()
		if err != nil || got != want {
			t.Errorf("TYPE %s = %q (%v), want %q", key, got, err, want)
		}
	}
}
