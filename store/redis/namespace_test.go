package redis_test

import (
	"context"
	"slices"
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/store/redis"
	"github.com/twingraph/twingraph/store/storetest"
)

func TestStore_Namespaces(t *testing.T) {
	testNamespaces(t, MustOpen(t, testenv.Redis(t)), true)
}

// testNamespaces runs the namespace operations on live; flushAll adds a
// FLUSHALL (one server only: on a cluster it empties one node).
func testNamespaces(t *testing.T, live *redis.Store, flushAll bool) {
	ctx := context.Background()
	rebuilt := live.WithNamespace(testenv.RedisNamespace(t))
	defer rebuilt.Close()

	a, b, c := storetest.FullState("plant/a"), storetest.FullState("plant/b"), storetest.FullState("plant/c")
	b2 := b.Clone()
	b2.Mode = twin.ModeStop
	if err := live.PutStates(ctx, []*twin.State{a, b, c}); err != nil {
		t.Fatal(err)
	}
	if err := rebuilt.PutStates(ctx, []*twin.State{a, b2}); err != nil {
		t.Fatal(err)
	}

	t.Run("Isolated", func(t *testing.T) {
		got, err := rebuilt.GetStates(ctx, []string{"plant/b", "plant/c"})
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Mode != twin.ModeStop || got[1] != nil {
			t.Fatalf("rebuilt namespace sees %v / %v", got[0].Mode, got[1])
		}
		ids, err := live.IDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"plant/a", "plant/b", "plant/c"}) {
			t.Fatalf("live ids %v", ids)
		}
	})

	t.Run("Replace", func(t *testing.T) {
		if err := live.ReplaceNamespace(ctx, rebuilt.Namespace(), live.Namespace()); err != nil {
			t.Fatal(err)
		}
		got, err := live.GetStates(ctx, []string{"plant/a", "plant/b", "plant/c"})
		if err != nil {
			t.Fatal(err)
		}
		if got[0] == nil || !got[0].UpdatedAt.Equal(a.UpdatedAt) || got[1].Mode != twin.ModeStop || got[2] != nil {
			t.Fatalf("after replace: %v %v %v", got[0], got[1], got[2])
		}
		ids, _ := live.IDs(ctx)
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"plant/a", "plant/b"}) {
			t.Fatalf("live ids after replace %v", ids)
		}
	})

	t.Run("CopySome", func(t *testing.T) {
		if err := live.PutStates(ctx, []*twin.State{c}); err != nil {
			t.Fatal(err)
		}
		// plant/c has no state in rebuilt: copying it deletes it from live.
		if err := live.CopyNamespace(ctx, rebuilt.Namespace(), live.Namespace(), []string{"plant/a", "plant/c"}); err != nil {
			t.Fatal(err)
		}
		got, _ := live.GetStates(ctx, []string{"plant/a", "plant/c"})
		if got[0] == nil || got[1] != nil {
			t.Fatalf("after copy: %v %v", got[0], got[1])
		}
	})

	t.Run("Clear", func(t *testing.T) {
		if err := rebuilt.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		ids, _ := rebuilt.IDs(ctx)
		got, _ := rebuilt.GetStates(ctx, []string{"plant/a", "plant/b"})
		if len(ids) != 0 || got[0] != nil || got[1] != nil {
			t.Fatalf("after clear: ids %v states %v", ids, got)
		}
		if got, _ := live.GetStates(ctx, []string{"plant/a"}); got[0] == nil {
			t.Fatal("clearing one namespace cleared another")
		}
	})

	if !flushAll {
		return
	}
	t.Run("FlushAllSeen", func(t *testing.T) {
		c := live.Client()
		if err := c.Do(ctx, c.B().Flushall().Build()).Error(); err != nil {
			t.Fatal(err)
		}
		got, _ := live.GetStates(ctx, []string{"plant/a"})
		if got[0] != nil {
			t.Fatal("state served after FLUSHALL")
		}
	})
}

func TestOpen_BadNamespace(t *testing.T) {
	url := testenv.Redis(t)
	for _, ns := range []string{"a{b", "x}"} {
		if _, err := redisOpen(url, ns); twin.ErrorCode(err) != twin.EBADINPUT {
			t.Fatalf("namespace %q: %v", ns, err)
		}
	}
}
