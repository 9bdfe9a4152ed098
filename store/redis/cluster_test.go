package redis_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/store/redis"
	"github.com/twingraph/twingraph/store/storetest"
)

func mustOpenCluster(tb testing.TB, url, ns string) *redis.Store {
	tb.Helper()
	s, err := redis.Open(context.Background(), url, redis.Options{Namespace: ns, RetireDelay: 100 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// TestCluster runs the store on a private Redis Cluster of three masters and
// three replicas: the contract suites, the namespace operations, the spread
// of states over the masters, a rebuild's swap racing a writer, and a master
// failover in the middle of writes.
func TestCluster(t *testing.T) {
	c := testenv.NewRedisCluster(t, 1)
	open := func(t *testing.T) *redis.Store { return mustOpenCluster(t, c.URL, testenv.RedisNamespace(t)) }

	t.Run("Detected", func(t *testing.T) {
		if !open(t).Cluster() {
			t.Fatal("store on a cluster does not use the cluster layout")
		}
		single := MustOpen(t, testenv.Redis(t))
		if single.Cluster() {
			t.Fatal("store on one server uses the cluster layout")
		}
	})
	t.Run("StateStore", func(t *testing.T) {
		storetest.TestStateStore(t, func(t *testing.T) twin.StateStore { return open(t) })
	})
	t.Run("Bus", func(t *testing.T) {
		storetest.TestBus(t, func(t *testing.T) twin.Bus { return open(t) })
	})
	t.Run("Namespaces", func(t *testing.T) { testNamespaces(t, open(t), false) })

	t.Run("Spread", func(t *testing.T) {
		s := open(t)
		const n = 1000
		states := make([]*twin.State, n)
		for i := range states {
			states[i] = twin.NewState(fmt.Sprintf("plant/jkt1/line%d/machine%d", i%7, i))
		}
		if err := s.PutStates(context.Background(), states); err != nil {
			t.Fatal(err)
		}
		masters := 0
		for _, node := range c.Nodes(t, c.Addrs[0]) {
			if !node.Master {
				continue
			}
			masters++
			keys := strings.Fields(c.Run(t, node.Addr, "--scan", "--pattern", "{"+s.Namespace()+"~*:state:*"))
			// A third each, give or take: far from all on one node.
			if len(keys) < n/6 || len(keys) > n/2 {
				t.Errorf("master %s holds %d of %d states", node.Addr, len(keys), n)
			}
		}
		if masters != 3 {
			t.Fatalf("%d masters", masters)
		}
	})

	t.Run("WriteAfterSwap", func(t *testing.T) {
		// w cached the live generation before another process swapped in a
		// rebuilt namespace: its next write must land in the new generation.
		ctx := context.Background()
		ns := testenv.RedisNamespace(t)
		w, other := mustOpenCluster(t, c.URL, ns), mustOpenCluster(t, c.URL, ns)
		a := storetest.FullState("plant/a")
		if err := w.PutStates(ctx, []*twin.State{a}); err != nil {
			t.Fatal(err)
		}
		scratch := other.WithNamespace(testenv.RedisNamespace(t))
		defer scratch.Close()
		b := storetest.FullState("plant/b")
		if err := scratch.PutStates(ctx, []*twin.State{b}); err != nil {
			t.Fatal(err)
		}
		if err := other.ReplaceNamespace(ctx, scratch.Namespace(), ns); err != nil {
			t.Fatal(err)
		}
		a2 := a.Clone()
		a2.Mode = twin.ModeStop
		if err := w.PutStates(ctx, []*twin.State{a2}); err != nil {
			t.Fatal(err)
		}
		got, err := other.GetStates(ctx, []string{"plant/a", "plant/b"})
		if err != nil {
			t.Fatal(err)
		}
		if got[0] == nil || got[0].Mode != twin.ModeStop || got[1] == nil {
			t.Fatalf("after the swap and a write from a stale writer: a=%v b=%v", got[0], got[1])
		}
		rc := w.Client()
		if err := rc.Do(ctx, rc.B().Get().Key(redis.ClusterStateKey(ns, "0", "plant/a")).Build()).Error(); err == nil {
			t.Fatal("the stale write stayed behind in the retired generation")
		}
	})

	// Last: it changes which nodes are masters.
	t.Run("FailoverMidWrite", func(t *testing.T) {
		ctx := context.Background()
		s := open(t)
		const assets = 300
		ids := make([]string, assets)
		for i := range ids {
			ids[i] = fmt.Sprintf("plant/m%d", i)
		}
		stop := make(chan struct{})
		done := make(chan [2]int)
		go func() {
			// Version v of every asset, in batches, retried until written,
			// as the sync worker does on a store error.
			v, failed := 0, 0
			for {
				select {
				case <-stop:
					done <- [2]int{v, failed}
					return
				default:
				}
				states := make([]*twin.State, assets)
				for i, id := range ids {
					states[i] = twin.NewState(id)
					states[i].Metrics["v"] = twin.Metric{Value: twin.Number(float64(v + 1))}
				}
				if err := s.PutStates(ctx, states); err != nil {
					failed++
					time.Sleep(20 * time.Millisecond)
					continue
				}
				v++
			}
		}()
		time.Sleep(200 * time.Millisecond)
		from, to := c.Failover(t)
		time.Sleep(200 * time.Millisecond)
		close(stop)
		r := <-done
		last := r[0]
		t.Logf("failover %s -> %s during %d acknowledged batches (%d failed and retried)", from, to, last, r[1])
		got, err := s.GetStates(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		for i, st := range got {
			if st == nil {
				t.Fatalf("%s lost", ids[i])
			}
			if v := st.Metrics["v"].Value.Num; v != float64(last) {
				t.Fatalf("%s at version %s, want %d", ids[i], strconv.FormatFloat(v, 'f', -1, 64), last)
			}
		}
	})
}

// BenchmarkCluster reads and writes 1,000 states on a private 3-master Redis
// Cluster (one GET per state, grouped and pipelined per node by rueidis; a
// write adds a round trip reading the generation), beside the same on one
// server (one MGET; one MSET and SADD) in the same run. All nodes share this
// machine's CPUs, so the cluster figure shows the cost of the spread layout,
// not the scale-out that separate machines give.
func BenchmarkCluster(b *testing.B) {
	ctx := context.Background()
	c := testenv.NewRedisCluster(b, 0)
	for _, tc := range []struct {
		name string
		s    *redis.Store
	}{
		{"OneServer", MustOpen(b, testenv.Redis(b))},
		{"Cluster", mustOpenCluster(b, c.URL, testenv.RedisNamespace(b))},
	} {
		ids := benchStates(b, tc.s, 1000)
		states, err := tc.s.GetStates(ctx, ids)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name+"/GetStates1000", func(b *testing.B) {
			for b.Loop() {
				if got, err := tc.s.GetStates(ctx, ids); err != nil || got[999] == nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/PutStates1000", func(b *testing.B) {
			for b.Loop() {
				if err := tc.s.PutStates(ctx, states); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
