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
