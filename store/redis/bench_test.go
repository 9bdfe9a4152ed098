package redis_test

import (
	"context"
	"encoding/json"
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
// decoding), beside baselines in the same run: the same 1,000 keys as one
// MGET without decoding, as 1,000 GETs pipelined, and one GET; and the same
// states stored as JSON (the encoding before the binary one), which GetStates
// still decodes.
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
	js := s.WithNamespace(testenv.RedisNamespace(b))
	defer js.Close()
	mset := c.B().Mset().KeyValue()
	for _, id := range ids {
		j, err := json.Marshal(storetest.FullState(id))
		if err != nil {
			b.Fatal(err)
		}
		mset = mset.KeyValue(redis.StateKey(js.Namespace(), id), string(j))
	}
	if err := c.Do(ctx, mset.Build()).Error(); err != nil {
		b.Fatal(err)
	}
	b.Run("baseline=GetStates-JSON", func(b *testing.B) {
		for b.Loop() {
			got, err := js.GetStates(ctx, ids)
			if err != nil || got[999] == nil {
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

// BenchmarkPutStates1000 writes 1,000 states (one MSET and one SADD
// pipelined), beside the same commands with values encoded beforehand (the
// Redis share) and with the states encoded as JSON (the encoding before the
// binary one).
func BenchmarkPutStates1000(b *testing.B) {
	ctx := context.Background()
	s := MustOpen(b, testenv.Redis(b))
	states := make([]*twin.State, 1000)
	for i := range states {
		states[i] = storetest.FullState(fmt.Sprintf("plant/jkt1/packaging/line%d/machine%d", i%12, i))
	}
	b.Run("PutStates", func(b *testing.B) {
		for b.Loop() {
			if err := s.PutStates(ctx, states); err != nil {
				b.Fatal(err)
			}
		}
	})
	c := s.Client()
	vals := make([]string, len(states))
	ids := make([]string, len(states))
	for i, st := range states {
		v, err := redis.EncodeState(nil, st)
		if err != nil {
			b.Fatal(err)
		}
		vals[i], ids[i] = string(v), st.Asset
	}
	b.Run("baseline=MSET-SADD-preencoded", func(b *testing.B) {
		for b.Loop() {
			mset := c.B().Mset().KeyValue()
			for i, id := range ids {
				mset = mset.KeyValue(redis.StateKey(s.Namespace(), id), vals[i])
			}
			for _, r := range c.DoMulti(ctx, mset.Build(), c.B().Sadd().Key(redis.IDsKey(s.Namespace())).Member(ids...).Build()) {
				if r.Error() != nil {
					b.Fatal(r.Error())
				}
			}
		}
	})
	b.Run("baseline=JSON-MSET-SADD", func(b *testing.B) {
		for b.Loop() {
			mset := c.B().Mset().KeyValue()
			ids := make([]string, len(states))
			for i, st := range states {
				j, err := json.Marshal(st)
				if err != nil {
					b.Fatal(err)
				}
				mset = mset.KeyValue(redis.StateKey(s.Namespace(), st.Asset), string(j))
				ids[i] = st.Asset
			}
			for _, r := range c.DoMulti(ctx, mset.Build(), c.B().Sadd().Key(redis.IDsKey(s.Namespace())).Member(ids...).Build()) {
				if r.Error() != nil {
					b.Fatal(r.Error())
				}
			}
		}
	})
}

// BenchmarkCodec measures the encoding alone, without Redis, beside JSON.
func BenchmarkCodec(b *testing.B) {
	st := storetest.FullState("plant/jkt1/packaging/line3/machine7")
	bin, err := redis.EncodeState(nil, st)
	if err != nil {
		b.Fatal(err)
	}
	j, err := json.Marshal(st)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("FullState: %d bytes binary, %d bytes JSON", len(bin), len(j))
	raw := string(bin)
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := redis.DecodeState(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			if buf, err = redis.EncodeState(buf[:0], st); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline=JSON-Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := json.Unmarshal(j, new(twin.State)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline=JSON-Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(st); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline=Clone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = st.Clone()
		}
	})
}
