package resolvers

import (
	"context"
	gosync "sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	twin "github.com/twingraph/twingraph"
)

// loaderWait is how long a loader collects keys before it fetches. List
// resolvers prefetch the states of their whole level in one call (see
// prefetchStates), so the wait only batches scattered single loads such as
// several aliased asset(id) fields; it is kept short because it is paid by
// every such request.
const loaderWait = 250 * time.Microsecond

// Loaders are the per-request DataLoaders: built for each request so a cached
// state is never served to a later request.
type Loaders struct {
	// State loads asset states, one StateStore.GetStates per batch.
	State *dataloadgen.Loader[string, *twin.State]
	// History loads series, one HistoryStore.QueryHistory per batch (the store
	// groups the batch by range, interval and aggregate).
	History *dataloadgen.Loader[twin.HistoryQuery, twin.Series]
	// Events loads event pages; the pages of a batch are fetched concurrently.
	Events *dataloadgen.Loader[eventKey, twin.EventPage]
}

// eventKey is an EventQuery in comparable form.
type eventKey struct {
	asset    string
	kinds    string // comma-joined
	from, to time.Time
	afterSeq int64
	first    int
}

type loadersKey struct{}

// newLoaders builds a fresh set of loaders over the stores.
func newLoaders(cfg *Config) *Loaders {
	states := cfg.States
	history := cfg.History
	events := cfg.Events
	return &Loaders{
		State: dataloadgen.NewLoader(func(ctx context.Context, ids []string) ([]*twin.State, []error) {
			st, err := states.GetStates(ctx, ids)
			if err != nil {
				return nil, []error{err}
			}
			return st, nil
		}, dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(10000)),
		History: dataloadgen.NewLoader(func(ctx context.Context, qs []twin.HistoryQuery) ([]twin.Series, []error) {
			s, err := history.QueryHistory(ctx, qs)
			if err != nil {
				return nil, []error{err}
			}
			return s, nil
		}, dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(1000)),
		Events: dataloadgen.NewLoader(func(ctx context.Context, keys []eventKey) ([]twin.EventPage, []error) {
			pages := make([]twin.EventPage, len(keys))
			errs := make([]error, len(keys))
			var wg gosync.WaitGroup
			for i, k := range keys {
				wg.Add(1)
				go func() {
					defer wg.Done()
					pages[i], errs[i] = events.ListEvents(ctx, k.query())
				}()
			}
			wg.Wait()
			return pages, errs
		}, dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(100)),
	}
}

func (k eventKey) query() twin.EventQuery {
	q := twin.EventQuery{Assets: []string{k.asset}, From: k.from, To: k.to, AfterSeq: k.afterSeq, First: k.first}
	if k.kinds != "" {
		for _, s := range splitComma(k.kinds) {
			q.Kinds = append(q.Kinds, twin.EventKind(s))
		}
	}
	return q
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// withLoaders gives each response fresh Loaders: a query's one response, and
// each message of a subscription, so a long-lived subscription never serves a
// state cached for an earlier message.
func withLoaders(cfg *Config) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		return next(context.WithValue(ctx, loadersKey{}, newLoaders(cfg)))
	}
}

// loaders returns the response's loaders. Outside a response (a subscription's later
// messages, a test calling a resolver directly) it returns fresh ones, so a
// long-lived context never serves stale states.
func (r *Resolver) loaders(ctx context.Context) *Loaders {
	if l, ok := ctx.Value(loadersKey{}).(*Loaders); ok {
		return l
	}
	return newLoaders(&r.cfg)
}

// prefetchStates loads the states of a whole list of assets in one store call
// when the query selects their state (directly or through fragments), so a
// query level costs one GetStates however wide it is, and a single asset pays
// no loader wait. Errors are left for the per-asset state resolvers to report.
func (r *Resolver) prefetchStates(ctx context.Context, assets []*twin.Asset, path ...string) {
	if len(assets) == 0 || !selects(ctx, append(path, "state")...) {
		return
	}
	l := r.loaders(ctx)
	ids := make([]string, len(assets))
	for i, a := range assets {
		ids[i] = a.ID
	}
	states, err := r.cfg.States.GetStates(ctx, ids)
	if err != nil || len(states) != len(ids) {
		return
	}
	for i, id := range ids {
		l.State.Prime(id, states[i])
	}
}

// selects reports whether the current field's selection reaches the field
// path (e.g. "edges", "node", "state"), through fragments too.
func selects(ctx context.Context, path ...string) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return false
	}
	oc := graphql.GetOperationContext(ctx)
	sel := fc.Field.Selections
	for _, name := range path {
		found := false
		for _, f := range graphql.CollectFields(oc, sel, nil) {
			if f.Name == name {
				sel = f.Selections
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
