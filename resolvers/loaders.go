package resolvers

import (
	"context"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vikstrous/dataloadgen"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/resolvers/gqlmodel"
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
			var wg sync.WaitGroup
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

// withLoaders gives each response fresh Loaders: a query's one response, and
// each message of a subscription, so a long-lived subscription never serves a
// state cached for an earlier message. A query's store reads share one
// deadline, StoreTimeout from its start, so a hung store fails the whole
// query once rather than level after level. (A subscription's message
// handler waits for its event first, so its reads keep a timeout each.)
func withLoaders(cfg *Config) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		ctx = context.WithValue(ctx, loadersKey{}, newLoaders(cfg))
		if cfg.StoreTimeout > 0 && graphql.HasOperationContext(ctx) {
			if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation != ast.Subscription {
				ctx = twin.WithStoreDeadline(ctx, time.Now().Add(cfg.StoreTimeout))
			}
		}
		return next(ctx)
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

// prefetch loads, in one store call each, what the current field's selection
// asks of a whole list of assets (at the field path below it, e.g. "edges",
// "node"): their states, and every history series selected on them. A query
// level then costs one GetStates and one QueryHistory however wide it is, a
// single asset pays no loader wait, and batching does not depend on how the
// field goroutines happen to be scheduled. Errors are left for the per-asset
// resolvers to report.
func (r *Resolver) prefetch(ctx context.Context, assets []*twin.Asset, path ...string) {
	if len(assets) == 0 {
		return
	}
	sel, ok := selection(ctx, path...)
	if !ok {
		return
	}
	oc := graphql.GetOperationContext(ctx)
	var history []*ast.Field
	wantState := false
	for _, f := range graphql.CollectFields(oc, sel, nil) {
		switch f.Name {
		case "state":
			wantState = true
		case "history":
			history = append(history, f.Field)
		}
	}
	if wantState {
		r.prefetchStates(ctx, assets)
	}
	if len(history) > 0 {
		r.prefetchHistory(ctx, oc, assets, history)
	}
}

func (r *Resolver) prefetchStates(ctx context.Context, assets []*twin.Asset) {
	l := r.loaders(ctx)
	ids := assetIDs(assets)
	states, err := r.cfg.States.GetStates(ctx, ids)
	if err != nil || len(states) != len(ids) {
		return
	}
	for i, id := range ids {
		l.State.Prime(id, states[i])
	}
}

// prefetchHistory builds the queries the history fields will make, exactly
// as their resolver does, and runs them in one batch. A field whose arguments
// do not build a valid query is skipped: its resolver reports the error.
func (r *Resolver) prefetchHistory(ctx context.Context, oc *graphql.OperationContext, assets []*twin.Asset, fields []*ast.Field) {
	if r.cfg.History == nil {
		return
	}
	var qs []twin.HistoryQuery
	seen := map[twin.HistoryQuery]bool{}
	for _, f := range fields {
		args, ok := historyArgs(f, oc.Variables)
		if !ok {
			continue
		}
		for _, a := range assets {
			q, _, err := r.historyQuery(a, args.metric, args.from, args.to, args.interval, args.agg, args.fill)
			if err != nil || seen[q] {
				continue
			}
			seen[q] = true
			qs = append(qs, q)
		}
	}
	if len(qs) == 0 {
		return
	}
	series, err := r.cfg.History.QueryHistory(ctx, qs)
	if err != nil || len(series) != len(qs) {
		return
	}
	l := r.loaders(ctx)
	for i, q := range qs {
		l.History.Prime(q, series[i])
	}
}

// historyFieldArgs are the arguments of one history field, coerced as gqlgen
// coerces them for the resolver.
type historyFieldArgs struct {
	metric   string
	from, to time.Time
	interval *time.Duration
	agg      *twin.Agg
	fill     *twin.Fill
}

// historyArgs evaluates a history field's arguments (with variables and
// defaults); ok is false when they do not coerce.
func historyArgs(f *ast.Field, vars map[string]any) (args historyFieldArgs, ok bool) {
	defer func() {
		// ArgumentMap panics on a value it cannot evaluate.
		if recover() != nil {
			ok = false
		}
	}()
	m := f.ArgumentMap(vars)
	var err error
	if args.metric, ok = m["metric"].(string); !ok {
		return args, false
	}
	if args.from, err = gqlmodel.UnmarshalTime(m["from"]); err != nil {
		return args, false
	}
	if args.to, err = gqlmodel.UnmarshalTime(m["to"]); err != nil {
		return args, false
	}
	if v := m["interval"]; v != nil {
		d, err := gqlmodel.UnmarshalDuration(v)
		if err != nil {
			return args, false
		}
		args.interval = &d
	}
	if v := m["agg"]; v != nil {
		s, ok := v.(string)
		if !ok {
			return args, false
		}
		args.agg = ptr(twin.Agg(s))
	}
	if v := m["fill"]; v != nil {
		s, ok := v.(string)
		if !ok {
			return args, false
		}
		args.fill = ptr(twin.Fill(s))
	}
	return args, true
}

// historyQuery builds the store query of a history field of asset a, or the
// error the field reports.
func (r *Resolver) historyQuery(a *twin.Asset, metric string, from, to time.Time, interval *time.Duration, agg *twin.Agg, fill *twin.Fill) (twin.HistoryQuery, *twin.SignalDef, error) {
	// A rolled-up signal, or an earlier name of a renamed one, answers too.
	sig := r.cfg.Model.Type(a.Type).HistorySignal(metric)
	if sig == nil {
		return twin.HistoryQuery{}, nil, twin.Errorf(twin.EBADINPUT, "asset %q has no metric %q", a.ID, metric)
	}
	q := twin.HistoryQuery{Asset: a.ID, Metric: sig.Name, From: from, To: to, Agg: twin.AggAvg, Location: a.Location()}
	if interval != nil {
		q.Interval = *interval
	}
	if agg != nil {
		q.Agg = *agg
	}
	if fill != nil {
		q.Fill = *fill
	}
	// Checked here, not only in the store, so one bad series fails alone
	// instead of failing the whole batch it would have joined.
	if err := twin.CheckHistoryQuery(q); err != nil {
		return q, nil, err
	}
	return q, sig, nil
}

// selection returns the selection set the current field's selection reaches
// through the field path (e.g. "edges", "node"), through fragments too; with
// no path, the current field's own.
func selection(ctx context.Context, path ...string) (ast.SelectionSet, bool) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return nil, false
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
			return nil, false
		}
	}
	return sel, true
}
