// Package redis keeps twingraph's current asset states in Redis and carries
// live notices over Redis pub/sub, with rueidis.
//
// # Key layout
//
// On one Redis server (or a Sentinel-managed one), everything of a namespace
// ns (default "twin") shares the hash tag {ns}:
//
//	{ns}:state:<asset id>   STRING  twin.State, binary (EncodeState; JSON from older versions still reads)
//	{ns}:ids                SET     asset ids with a state in the namespace
//	{ns}:notices            pub/sub channel of JSON arrays of twin.Notice
//
// A GetStates of any number of assets is a single MGET (one round trip), a
// PutStates one MSET plus one SADD pipelined together, and the Lua script
// that replaces a namespace is atomic.
//
// On Redis Cluster (detected when the store opens), one slot would put every
// state on one node, so the states spread over Buckets hash tags instead,
// under a generation pointer that keeps a rebuild's swap atomic: see
// cluster.go for that layout. The two layouts do not mix: a namespace written
// on one server and then loaded into a cluster (or back) must be rebuilt.
//
// The channel carries every notice of the namespace; a gateway subscribes once
// and filters by subtree in process, because the hierarchy is a DAG (an asset
// may sit under two parents), which channel-name patterns cannot express. Pub/sub
// is fire-and-forget: a gateway that was disconnected resumes events from the
// event store by cursor.
//
// Client-side caching is off: reads always reach Redis, so updates and FLUSHALL
// are seen at once.
//
// State values are a compact binary encoding (version byte, then the fields;
// see EncodeState in codec.go for the layout), not JSON, because decoding
// JSON made a 1,000-state read ten times slower than its MGET. So `redis-cli
// GET` shows bytes; read a state as JSON through the gateway's REST API.
package redis

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"

	twin "github.com/twingraph/twingraph"
)

// DefaultNamespace is the namespace of the live state.
const DefaultNamespace = "twin"

// Options configure a Store.
type Options struct {
	// Namespace prefixes every key; DefaultNamespace when empty.
	Namespace string
	// SubscriberBuffer is the channel capacity of a Subscribe; twin.DefaultBusBuffer when 0.
	SubscriberBuffer int
	// RetireDelay is how long, on Redis Cluster, a generation swapped out by
	// CopyNamespace or ReplaceNamespace stays readable before it is deleted
	// (those calls wait for it); DefaultRetireDelay when 0.
	RetireDelay time.Duration
}

// Store is a twin.StateStore and a twin.Bus on Redis. It is safe for concurrent use.
type Store struct {
	client rueidis.Client
	owner  bool // closes client on Close
	ns     string
	opt    Options
	bus    *bus
	// cluster selects the spread key layout of Redis Cluster (cluster.go);
	// gen caches the namespace's live generation there.
	cluster bool
	gen     *generation
}

var (
	_ twin.StateStore = (*Store)(nil)
	_ twin.Bus        = (*Store)(nil)
)

// Open connects to the Redis at url (redis://[user:pass@]host:port[/db], or
// rediss://; several addresses for a cluster as rueidis.ParseURL reads them)
// and checks it answers.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	if opt.Namespace == "" {
		opt.Namespace = DefaultNamespace
	}
	if err := checkNamespace(opt.Namespace); err != nil {
		return nil, err
	}
	if opt.SubscriberBuffer <= 0 {
		opt.SubscriberBuffer = twin.DefaultBusBuffer
	}
	co, err := rueidis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	co.DisableCache = true
	c, err := rueidis.NewClient(co)
	if err != nil {
		return nil, fmt.Errorf("connect redis %s: %w", redactURL(url), err)
	}
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
		c.Close()
		return nil, fmt.Errorf("ping redis %s: %w", redactURL(url), err)
	}
	s := &Store{client: c, owner: true, ns: opt.Namespace, opt: opt,
		cluster: c.Mode() == rueidis.ClientModeCluster, gen: &generation{}}
	s.bus = newBus(s)
	return s, nil
}

func redactURL(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "…" + u[i:]
		}
	}
	return u
}

func checkNamespace(ns string) error {
	if ns == "" || strings.ContainsAny(ns, "{}") {
		return twin.Errorf(twin.EBADINPUT, "redis namespace %q: must be non-empty without braces", ns)
	}
	return nil
}

// WithNamespace returns a store on the same connection whose keys and channel
// live in namespace ns (e.g. the empty namespace a rebuild fills). Closing it
// ends its subscriptions but not the connection, which the opened Store owns.
func (s *Store) WithNamespace(ns string) *Store {
	c := &Store{client: s.client, ns: ns, opt: s.opt, cluster: s.cluster, gen: &generation{}}
	c.opt.Namespace = ns
	c.bus = newBus(c)
	return c
}

// Namespace returns the store's namespace.
func (s *Store) Namespace() string { return s.ns }

// Client returns the underlying rueidis client (for health checks and benchmarks).
func (s *Store) Client() rueidis.Client { return s.client }

// Close ends the store's subscriptions (closing their channels) and, for an
// opened Store, the connection.
func (s *Store) Close() {
	s.bus.close()
	if s.owner {
		s.client.Close()
	}
}

// StateKey returns the key of an asset's state in namespace ns.
func StateKey(ns, asset string) string { return "{" + ns + "}:state:" + asset }

// IDsKey returns the key of the set of asset ids with a state in namespace ns.
func IDsKey(ns string) string { return "{" + ns + "}:ids" }

// Channel returns the pub/sub channel of namespace ns.
func Channel(ns string) string { return "{" + ns + "}:notices" }

func internal(op string, err error) error {
	return fmt.Errorf("redis %s: %w", op, err)
}

// GetStates reads the states of ids with one MGET (on Redis Cluster, one MGET
// per bucket, pipelined per node in one round trip). Errors: INTERNAL.
//
// Every call reads Redis, so updates and FLUSHALL are seen at once. Nothing
// decoded is cached: decoding a state (see DecodeState) costs about what
// copying a cached one would, so a cache would only add memory and locking.
func (s *Store) GetStates(ctx context.Context, ids []string) ([]*twin.State, error) {
	if s.cluster {
		return s.clusterGetStates(ctx, ids)
	}
	return s.getStates(ctx, s.ns, ids)
}

func (s *Store) getStates(ctx context.Context, ns string, ids []string) ([]*twin.State, error) {
	out := make([]*twin.State, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = StateKey(ns, id)
	}
	msgs, err := s.client.Do(ctx, s.client.B().Mget().Key(keys...).Build()).ToArray()
	if err != nil {
		return nil, internal("get states", err)
	}
	if len(msgs) != len(ids) {
		return nil, internal("get states", fmt.Errorf("MGET returned %d values for %d keys", len(msgs), len(ids)))
	}
	raw := make([]string, len(ids))
	for i := range msgs {
		if msgs[i].IsNil() {
			continue
		}
		if raw[i], err = msgs[i].ToString(); err != nil {
			return nil, internal("get states", err)
		}
	}
	if err := decodeStates(raw, out); err != nil {
		return nil, internal("get states", err)
	}
	return out, nil
}

// decodeStates decodes raw[i] into out[i] ("" stays nil), spreading large
// batches over the CPUs: decoding still takes longer than the MGET of a
// thousand states (mostly allocating their maps).
func decodeStates(raw []string, out []*twin.State) error {
	const chunk = 128
	workers := min(runtime.GOMAXPROCS(0), (len(raw)+chunk-1)/chunk)
	decode := func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			if raw[i] == "" {
				continue
			}
			st, err := DecodeState(raw[i])
			if err != nil {
				return fmt.Errorf("state %d: %w", i, err)
			}
			out[i] = st
		}
		return nil
	}
	if workers <= 1 {
		return decode(0, len(raw))
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs error
	)
	per := (len(raw) + workers - 1) / workers
	for lo := 0; lo < len(raw); lo += per {
		hi := min(lo+per, len(raw))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := decode(lo, hi); err != nil {
				mu.Lock()
				errs = errors.Join(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// PutStates writes states with one MSET and one SADD, pipelined in one round
// trip; the MSET replaces all of them atomically. On Redis Cluster it is one
// MSET per bucket (each atomic, the batch not), pipelined per node, then a
// read of the generation pointer (see cluster.go). Errors: BAD_INPUT (a nil
// state or one without an asset), INTERNAL.
func (s *Store) PutStates(ctx context.Context, states []*twin.State) error {
	if len(states) == 0 {
		return nil
	}
	ids := make([]string, len(states))
	ends := make([]int, len(states))
	enc := encoder{b: make([]byte, 0, 512*len(states))} // a state with ten metrics encodes to about 450 bytes
	for i, st := range states {
		if st == nil || st.Asset == "" {
			return twin.Errorf(twin.EBADINPUT, "put states: state %d has no asset id", i)
		}
		if err := enc.state(st); err != nil {
			return internal("put states", err)
		}
		ends[i] = len(enc.b)
		ids[i] = st.Asset
	}
	// One string for all values, sliced per state: one copy instead of one per state.
	all := string(enc.b)
	vals := make([]string, len(ids))
	for i := range ids {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		vals[i] = all[start:ends[i]]
	}
	if s.cluster {
		return s.clusterPutStates(ctx, ids, vals)
	}
	mset := s.client.B().Mset().KeyValue()
	for i, id := range ids {
		mset = mset.KeyValue(StateKey(s.ns, id), vals[i])
	}
	return s.doAll(ctx, "put states", mset.Build(), s.client.B().Sadd().Key(IDsKey(s.ns)).Member(ids...).Build())
}

// DeleteStates removes the states of ids with one DEL and one SREM pipelined.
// Errors: INTERNAL.
func (s *Store) DeleteStates(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if s.cluster {
		return s.clusterDeleteStates(ctx, ids)
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = StateKey(s.ns, id)
	}
	return s.doAll(ctx, "delete states", s.client.B().Del().Key(keys...).Build(),
		s.client.B().Srem().Key(IDsKey(s.ns)).Member(ids...).Build())
}

func (s *Store) doAll(ctx context.Context, op string, cmds ...rueidis.Completed) error {
	for _, r := range s.client.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			return internal(op, err)
		}
	}
	return nil
}

// IDs returns the ids of every asset with a state in the namespace, unordered.
// Errors: INTERNAL.
func (s *Store) IDs(ctx context.Context) ([]string, error) {
	if s.cluster {
		gen, err := s.currentGen(ctx, s.ns)
		if err != nil {
			return nil, internal("list ids", err)
		}
		return s.clusterIDs(ctx, s.ns, gen)
	}
	ids, err := s.client.Do(ctx, s.client.B().Smembers().Key(IDsKey(s.ns)).Build()).AsStrSlice()
	if err != nil {
		return nil, internal("list ids", err)
	}
	return ids, nil
}

// Clear deletes every state of the namespace (so a rebuild starts empty).
// Errors: INTERNAL.
func (s *Store) Clear(ctx context.Context) error {
	if s.cluster {
		return s.clusterClear(ctx)
	}
	ids, err := s.IDs(ctx)
	if err != nil {
		return err
	}
	keys := []string{IDsKey(s.ns)}
	for _, id := range ids {
		keys = append(keys, StateKey(s.ns, id))
	}
	return s.doAll(ctx, "clear namespace", s.client.B().Del().Key(keys...).Build())
}

// CopyNamespace copies the states of ids (every state of from when ids is nil)
// from namespace from into namespace to, replacing what to holds for them; an
// id without a state in from is deleted from to. The write to to is one atomic
// script, so readers see all of the copied states change at once.
// Errors: INTERNAL.
func (s *Store) CopyNamespace(ctx context.Context, from, to string, ids []string) error {
	return s.copyNamespace(ctx, from, to, ids, false)
}

// ReplaceNamespace makes namespace to hold exactly the states of namespace
// from: the swap that ends a rebuild (fill an empty namespace from the log,
// verify, then replace the live one). States of assets absent from from are
// deleted from to. The write is one atomic script on to's slot (on Redis
// Cluster, one SET of to's generation pointer after filling a new
// generation); a writer putting states into to concurrently may interleave
// before or after it.
// Errors: INTERNAL.
func (s *Store) ReplaceNamespace(ctx context.Context, from, to string) error {
	return s.copyNamespace(ctx, from, to, nil, true)
}

// replaceScript deletes ARGV[1] states and sets ARGV[2] states of one
// namespace. KEYS[1] is the ids set, then the keys to delete, then the keys to
// set; ARGV[3..] are the ids to delete, then id/value pairs to set.
var replaceScript = rueidis.NewLuaScript(`
local nd, ns = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, nd do
  redis.call('DEL', KEYS[1 + i])
  redis.call('SREM', KEYS[1], ARGV[2 + i])
end
for i = 1, ns do
  redis.call('SET', KEYS[1 + nd + i], ARGV[2 + nd + 2 * i])
  redis.call('SADD', KEYS[1], ARGV[1 + nd + 2 * i])
end
return nd + ns
`)

func (s *Store) copyNamespace(ctx context.Context, from, to string, ids []string, exact bool) error {
	if err := checkNamespace(from); err != nil {
		return err
	}
	if err := checkNamespace(to); err != nil {
		return err
	}
	if s.cluster {
		return s.clusterCopy(ctx, from, to, ids, exact)
	}
	src := s.WithNamespace(from)
	dst := s.WithNamespace(to)
	if ids == nil {
		var err error
		if ids, err = src.IDs(ctx); err != nil {
			return err
		}
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = StateKey(from, id)
	}
	var raw []rueidis.RedisMessage
	if len(keys) > 0 {
		var err error
		if raw, err = s.client.Do(ctx, s.client.B().Mget().Key(keys...).Build()).ToArray(); err != nil {
			return internal("copy namespace", err)
		}
	}
	var del, setIDs, setVals []string
	copied := map[string]bool{}
	for i, id := range ids {
		if raw[i].IsNil() {
			del = append(del, id)
			continue
		}
		v, err := raw[i].ToString()
		if err != nil {
			return internal("copy namespace", err)
		}
		setIDs, setVals = append(setIDs, id), append(setVals, v)
		copied[id] = true
	}
	if exact {
		have, err := dst.IDs(ctx)
		if err != nil {
			return err
		}
		for _, id := range have {
			if !copied[id] {
				del = append(del, id)
			}
		}
	}
	kk := []string{IDsKey(to)}
	args := []string{fmt.Sprint(len(del)), fmt.Sprint(len(setIDs))}
	for _, id := range del {
		kk = append(kk, StateKey(to, id))
		args = append(args, id)
	}
	for i, id := range setIDs {
		kk = append(kk, StateKey(to, id))
		args = append(args, id, setVals[i])
	}
	if err := replaceScript.Exec(ctx, s.client, kk, args).Error(); err != nil {
		return internal("copy namespace", err)
	}
	return nil
}
