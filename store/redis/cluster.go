package redis

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	twin "github.com/twingraph/twingraph"
)

// On Redis Cluster (detected when the store opens: rueidis speaks the cluster
// protocol to a cluster-enabled server whatever address it is given), a
// namespace's states spread over Buckets hash tags, so over as many slots,
// and every master holds and serves a share of them:
//
//	{ns}:current                  STRING  the namespace's live generation g ("0" when absent)
//	{ns}:gen                      STRING  counter handing out generations
//	{ns~g~b}:state:<asset id>     STRING  one asset's state in generation g; b = FNV-1a(id) mod Buckets
//	{ns~g}:ids                    SET     asset ids with a state in generation g
//	{ns}:notices                  pub/sub channel (classic PUBLISH, which the cluster broadcasts)
//
// A read sends the GET of {ns}:current and one MGET per bucket in one
// DoMulti: rueidis groups them by node and pipelines each group, the nodes
// answering in parallel, so a read of any number of states is one round
// trip. A write pipelines one MSET per bucket and the SADD the same way, then
// reads {ns}:current again (a second round trip): if a swap moved the
// namespace to another generation while the writes were in flight, they are
// written again to the new one, so a write racing a rebuild's swap lands
// before it (replaced by it, as on one server) or after it, never lost in the
// retired generation.
//
// CopyNamespace and ReplaceNamespace write the namespace's new contents into
// a fresh generation and then switch {ns}:current to it with one SET: readers
// see every state change at once, as the single-server Lua script gives. The
// retired generation is deleted Options.RetireDelay later, so a read that
// fetched the old pointer just before the switch still finds its states.
// CopyNamespace reads the states of to it keeps before the switch: a write to
// one of those in between is lost (on one server the script is atomic).
// Rebuild uses ReplaceNamespace, which keeps none.
//
// Replication is asynchronous: a manual failover (CLUSTER FAILOVER) waits
// for the replica to catch up and loses nothing, but a master that dies
// before replicating a write it acknowledged loses it; its replica then
// holds an older state, stamped with older offsets, until the next sample of
// those assets.

// DefaultRetireDelay is how long a swapped-out generation outlives the swap
// on Redis Cluster.
const DefaultRetireDelay = 2 * time.Second

// CurrentKey returns the key naming the live generation of namespace ns on
// Redis Cluster.
func CurrentKey(ns string) string { return "{" + ns + "}:current" }

func genCounterKey(ns string) string { return "{" + ns + "}:gen" }

// Buckets is the number of hash tags, so slots, a generation's states spread
// over on Redis Cluster: enough to spread them evenly over the masters of a
// cluster of a few (each holds about Buckets/masters of them), few enough
// that a read of a thousand states is a hundred or so MGETs, not a thousand
// GETs. Part of the key format: changing it moves every state.
const Buckets = 128

// bucket returns the bucket of an asset id: FNV-1a of the id, mod Buckets.
func bucket(asset string) int {
	h := uint32(2166136261)
	for i := 0; i < len(asset); i++ {
		h ^= uint32(asset[i])
		h *= 16777619
	}
	return int(h % Buckets)
}

// ClusterStateKey returns the key of an asset's state in generation gen of
// namespace ns on Redis Cluster.
func ClusterStateKey(ns, gen, asset string) string {
	return "{" + ns + "~" + gen + "~" + strconv.Itoa(bucket(asset)) + "}:state:" + asset
}

// byBucket groups the indexes of ids by bucket (so by slot).
func byBucket(ids []string) [][]int {
	var at [Buckets]int
	var groups [][]int
	for i, id := range ids {
		b := bucket(id)
		if at[b] == 0 {
			groups = append(groups, nil)
			at[b] = len(groups)
		}
		groups[at[b]-1] = append(groups[at[b]-1], i)
	}
	return groups
}

// mgetCmds returns one MGET per bucket of ids in generation gen of ns, and
// the bucket groups they read.
func (s *Store) mgetCmds(ns, gen string, ids []string) (rueidis.Commands, [][]int) {
	groups := byBucket(ids)
	cmds := make(rueidis.Commands, len(groups))
	for g, idx := range groups {
		keys := make([]string, len(idx))
		for j, i := range idx {
			keys[j] = ClusterStateKey(ns, gen, ids[i])
		}
		cmds[g] = s.client.B().Mget().Key(keys...).Build()
	}
	return cmds, groups
}

// mgetValues spreads the answers of mgetCmds over raw (nil stays "").
func mgetValues(res []rueidis.RedisResult, groups [][]int, raw []string) error {
	for g, r := range res {
		msgs, err := r.ToArray()
		if err != nil {
			return err
		}
		if len(msgs) != len(groups[g]) {
			return fmt.Errorf("MGET returned %d values for %d keys", len(msgs), len(groups[g]))
		}
		for j, m := range msgs {
			if m.IsNil() {
				continue
			}
			if raw[groups[g][j]], err = m.ToString(); err != nil {
				return err
			}
		}
	}
	return nil
}

// ClusterIDsKey returns the key of the set of ids with a state in generation
// gen of namespace ns on Redis Cluster.
func ClusterIDsKey(ns, gen string) string { return "{" + ns + "~" + gen + "}:ids" }

// Cluster reports whether the store runs on Redis Cluster (and uses the
// spread key layout).
func (s *Store) Cluster() bool { return s.cluster }

// generation caches a namespace's live generation for the cluster layout.
type generation struct{ v atomic.Pointer[string] }

func (g *generation) load() string {
	if p := g.v.Load(); p != nil {
		return *p
	}
	return "0"
}

func (g *generation) store(v string) { g.v.Store(&v) }

func (s *Store) getCmd(key string) rueidis.Completed { return s.client.B().Get().Key(key).Build() }

// pointerValue reads the answer of a GET of {ns}:current.
func pointerValue(r rueidis.RedisResult) (string, error) {
	v, err := r.ToString()
	if rueidis.IsRedisNil(err) {
		return "0", nil
	}
	return v, err
}

func (s *Store) currentGen(ctx context.Context, ns string) (string, error) {
	return pointerValue(s.client.Do(ctx, s.getCmd(CurrentKey(ns))))
}

func (s *Store) clusterGetStates(ctx context.Context, ids []string) ([]*twin.State, error) {
	out := make([]*twin.State, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	for attempt := 0; ; attempt++ {
		gen := s.gen.load()
		mgets, groups := s.mgetCmds(s.ns, gen, ids)
		res := s.client.DoMulti(ctx, append(rueidis.Commands{s.getCmd(CurrentKey(s.ns))}, mgets...)...)
		cur, err := pointerValue(res[0])
		if err != nil {
			return nil, internal("get states", err)
		}
		if cur != gen && attempt < 3 {
			// Swapped since the generation was cached: read the new one.
			s.gen.store(cur)
			continue
		}
		raw := make([]string, len(ids))
		if err := mgetValues(res[1:], groups, raw); err != nil {
			return nil, internal("get states", err)
		}
		if err := decodeStates(raw, out); err != nil {
			return nil, internal("get states", err)
		}
		return out, nil
	}
}

// clusterWrite sends the commands cmds(gen) builds for the cached
// generation, then reads the live one; when a swap changed it meanwhile, it
// writes again to the new generation and undoes the writes in the old one
// (undo(old), best effort: it is deleted soon anyway).
func (s *Store) clusterWrite(ctx context.Context, op string, cmds func(gen string) rueidis.Commands, undo func(gen string) rueidis.Commands) error {
	gen := s.gen.load()
	for {
		if err := s.doAll(ctx, op, cmds(gen)...); err != nil {
			return err
		}
		cur, err := s.currentGen(ctx, s.ns)
		if err != nil {
			return internal(op, err)
		}
		if cur == gen {
			return nil
		}
		s.gen.store(cur)
		if u := undo(gen); len(u) > 0 {
			s.client.DoMulti(ctx, u...)
		}
		gen = cur
	}
}

func (s *Store) clusterPutStates(ctx context.Context, ids, vals []string) error {
	set := func(gen string) rueidis.Commands {
		return append(s.msetCmds(s.ns, gen, ids, vals), s.client.B().Sadd().Key(ClusterIDsKey(s.ns, gen)).Member(ids...).Build())
	}
	return s.clusterWrite(ctx, "put states", set, func(gen string) rueidis.Commands { return s.delCmds(s.ns, gen, ids) })
}

// msetCmds sets the states of ids to vals in generation gen of ns: one MSET
// per bucket.
func (s *Store) msetCmds(ns, gen string, ids, vals []string) rueidis.Commands {
	groups := byBucket(ids)
	cmds := make(rueidis.Commands, 0, len(groups)+1)
	for _, idx := range groups {
		mset := s.client.B().Mset().KeyValue()
		for _, i := range idx {
			mset = mset.KeyValue(ClusterStateKey(ns, gen, ids[i]), vals[i])
		}
		cmds = append(cmds, mset.Build())
	}
	return cmds
}

// delCmds deletes the states of ids in generation gen of ns: one DEL per
// bucket.
func (s *Store) delCmds(ns, gen string, ids []string) rueidis.Commands {
	groups := byBucket(ids)
	cmds := make(rueidis.Commands, 0, len(groups)+1)
	for _, idx := range groups {
		keys := make([]string, len(idx))
		for j, i := range idx {
			keys[j] = ClusterStateKey(ns, gen, ids[i])
		}
		cmds = append(cmds, s.client.B().Del().Key(keys...).Build())
	}
	return append(cmds, s.client.B().Srem().Key(ClusterIDsKey(ns, gen)).Member(ids...).Build())
}

func (s *Store) clusterDeleteStates(ctx context.Context, ids []string) error {
	return s.clusterWrite(ctx, "delete states", func(gen string) rueidis.Commands { return s.delCmds(s.ns, gen, ids) },
		func(string) rueidis.Commands { return nil })
}

func (s *Store) clusterIDs(ctx context.Context, ns, gen string) ([]string, error) {
	ids, err := s.client.Do(ctx, s.client.B().Smembers().Key(ClusterIDsKey(ns, gen)).Build()).AsStrSlice()
	if err != nil {
		return nil, internal("list ids", err)
	}
	return ids, nil
}

// clusterDropGeneration deletes every state of generation gen of ns and its
// ids set.
func (s *Store) clusterDropGeneration(ctx context.Context, ns, gen string) error {
	ids, err := s.clusterIDs(ctx, ns, gen)
	if err != nil {
		return err
	}
	cmds := s.delCmds(ns, gen, ids)
	cmds[len(cmds)-1] = s.client.B().Del().Key(ClusterIDsKey(ns, gen)).Build()
	return s.doAll(ctx, "clear namespace", cmds...)
}

// clusterRead returns the values of ids in generation gen of ns ("" and
// false when absent).
func (s *Store) clusterRead(ctx context.Context, ns, gen string, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cmds, groups := s.mgetCmds(ns, gen, ids)
	raw := make([]string, len(ids))
	if err := mgetValues(s.client.DoMulti(ctx, cmds...), groups, raw); err != nil {
		return nil, internal("copy namespace", err)
	}
	for i, v := range raw {
		if v != "" {
			out[ids[i]] = v
		}
	}
	return out, nil
}

// clusterCopy is copyNamespace on Redis Cluster: it writes to's new contents
// into a fresh generation, switches to's pointer to it, and deletes the
// retired generation after Options.RetireDelay.
func (s *Store) clusterCopy(ctx context.Context, from, to string, ids []string, exact bool) error {
	fromGen, err := s.currentGen(ctx, from)
	if err != nil {
		return internal("copy namespace", err)
	}
	toGen, err := s.currentGen(ctx, to)
	if err != nil {
		return internal("copy namespace", err)
	}
	if ids == nil {
		if ids, err = s.clusterIDs(ctx, from, fromGen); err != nil {
			return err
		}
	}
	src, err := s.clusterRead(ctx, from, fromGen, ids)
	if err != nil {
		return err
	}
	next := src
	if !exact {
		have, err := s.clusterIDs(ctx, to, toGen)
		if err != nil {
			return err
		}
		if next, err = s.clusterRead(ctx, to, toGen, have); err != nil {
			return err
		}
		for _, id := range ids {
			if v, ok := src[id]; ok {
				next[id] = v
			} else {
				delete(next, id)
			}
		}
	}
	n, err := s.client.Do(ctx, s.client.B().Incr().Key(genCounterKey(to)).Build()).AsInt64()
	if err != nil {
		return internal("copy namespace", err)
	}
	gen := fmt.Sprint(n)
	if gen == toGen { // a pointer set by hand or by an older counter
		return internal("copy namespace", fmt.Errorf("generation %s of %s is already live", gen, to))
	}
	setIDs := make([]string, 0, len(next))
	setVals := make([]string, 0, len(next))
	for id, v := range next {
		setIDs, setVals = append(setIDs, id), append(setVals, v)
	}
	if len(setIDs) > 0 {
		cmds := append(s.msetCmds(to, gen, setIDs, setVals), s.client.B().Sadd().Key(ClusterIDsKey(to, gen)).Member(setIDs...).Build())
		if err := s.doAll(ctx, "copy namespace", cmds...); err != nil {
			return err
		}
	}
	old, err := s.client.Do(ctx, s.client.B().Set().Key(CurrentKey(to)).Value(gen).Get().Build()).ToString()
	if err != nil && !rueidis.IsRedisNil(err) {
		return internal("copy namespace", err)
	}
	if old == "" {
		old = "0"
	}
	if to == s.ns {
		s.gen.store(gen)
	}
	delay := s.opt.RetireDelay
	if delay <= 0 {
		delay = DefaultRetireDelay
	}
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return nil // swapped; the retired generation stays behind
	}
	for _, g := range []string{old, toGen} {
		if err := s.clusterDropGeneration(ctx, to, g); err != nil {
			return err
		}
		if old == toGen {
			break
		}
	}
	return nil
}

// clusterClear deletes every state of the live generation.
func (s *Store) clusterClear(ctx context.Context) error {
	gen, err := s.currentGen(ctx, s.ns)
	if err != nil {
		return internal("clear namespace", err)
	}
	return s.clusterDropGeneration(ctx, s.ns, gen)
}
