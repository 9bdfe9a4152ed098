package redis_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/rueidis"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/store/redis"
	"github.com/twingraph/twingraph/store/storetest"
)

func redisOpen(url, ns string) (*redis.Store, error) {
	return redis.Open(context.Background(), url, redis.Options{Namespace: ns})
}

// benchStates stores n realistic states and returns their ids.
func benchStates(b *testing.B, s *redis.Store, n int) []string {
	ids := make([]string, n)
	states := make([]*twin.State, n)
	for i := range n {
		ids[i] = fmt.Sprintf("plant/jkt1/packaging/line%d/machine%d", i%12, i)
		states[i] = storetest.FullState(ids[i])
	}
	if err := s.PutStates(context.Background(), states); err != nil {
		b.Fatal(err)
	}
	return ids
}

// BenchmarkGetStates1000 reads 1,000 states with GetStates (one MGET, then
// JSON decoding), beside baselines in the same run: the same 1,000 keys as one
// MGET without decoding, as 1,000 GETs pipelined, and one GET.
func BenchmarkGetStates1000(b *testing.B) {
	ctx := context.Background()
	url := testenv.Redis(b)
	s := MustOpen(b, url)
	ids := benchStates(b, s, 1000)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = redis.StateKey(s.Namespace(), id)
	}
	c := s.Client()
	b.Run("GetStates", func(b *testing.B) {
		for b.Loop() {
			got, err := s.GetStates(ctx, ids)
			if err != nil || got[999] == nil {
				b.Fatal(err)
			}
		}
	})
	nocache, err := redis.Open(ctx, url, redis.Options{Namespace: s.Namespace(), NoDecodeCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer nocache.Close()
	if _, err := nocache.GetStates(ctx, ids); err != nil {
		b.Fatal(err)
	}
	b.Run("GetStates-nocache", func(b *testing.B) {
		for b.Loop() {
			if _, err := nocache.GetStates(ctx, ids); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline=MGET-raw", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.Do(ctx, c.B().Mget().Key(keys...).Build()).ToArray(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline=GETx1000-pipelined", func(b *testing.B) {
		for b.Loop() {
			cmds := make([]rueidis.Completed, len(keys))
			for i, k := range keys {
				cmds[i] = c.B().Get().Key(k).Build()
			}
			for _, r := range c.DoMulti(ctx, cmds...) {
				if r.Error() != nil {
					b.Fatal(r.Error())
				}
			}
		}
	})
	b.Run("baseline=GETx1", func(b *testing.B) {
		for b.Loop() {
			if err := c.Do(ctx, c.B().Get().Key(keys[0]).Build()).Error(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetStates1", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.GetStates(ctx, ids[:1]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPutStates1000 writes 1,000 states (one MSET and one SADD pipelined).
func BenchmarkPutStates1000(b *testing.B) {
	ctx := context.Background()
	s := MustOpen(b, testenv.Redis(b))
	states := make([]*twin.State, 1000)
	for i := range states {
		states[i] = storetest.FullState(fmt.Sprintf("plant/jkt1/packaging/line%d/machine%d", i%12, i))
	}
	for b.Loop() {
		if err := s.PutStates(ctx, states); err != nil {
			b.Fatal(err)
		}
	}
}
