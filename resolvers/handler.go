package resolvers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth"
	"github.com/twingraph/twingraph/graph"
)

// Defaults of the Config knobs left zero.
const (
	DefaultComplexityLimit   = 250_000
	DefaultQueryCacheSize    = 1000
	DefaultSubscriberBuffer  = 256
	DefaultKeepAliveInterval = 10 * time.Second

	// Document limits, checked before gqlgen parses, validates or prices a
	// document (like Apollo Router's parser and operation limits).
	DefaultMaxTokens          = 15_000
	DefaultMaxDepth           = 32
	DefaultMaxFields          = 2_000
	DefaultMaxAliases         = 200
	DefaultMaxFragmentSpreads = 500
	DefaultMaxVariableValues  = 10_000

	DefaultQueryTimeout = 30 * time.Second
	DefaultInitTimeout  = 10 * time.Second

	DefaultMaxSubscriptionsPerConnection = 100
	DefaultMaxSubscriptions              = 20_000
	DefaultMaxStreams                    = 10_000
)

// Config is what the GraphQL handler serves from. Model and States are
// required; History, Events and Bus may be nil only if the fields that need
// them are never asked for.
type Config struct {
	// Model is the asset hierarchy.
	Model twin.Model
	// States holds current asset states.
	States twin.StateStore
	// History answers history queries.
	History twin.HistoryStore
	// Events lists business events (pages, subscription resumes, shift reports).
	Events twin.EventStore
	// Bus carries live events and states for subscriptions.
	Bus twin.Bus
	// Now is the clock for read-time figures (uptime today, OEE); time.Now when nil.
	Now func() time.Time
	// Logger logs internal errors and recovered panics; nil logs nothing.
	Logger *slog.Logger
	// MaxPageSize bounds every `first` argument; twin.DefaultMaxPageSize when 0.
	MaxPageSize int
	// ComplexityLimit refuses queries (LIMIT) above this complexity: each field
	// costs 1, multiplied under a list by the most items the list can hold in
	// the model (all assets under descendants, `first` under a connection), so
	// a whole-plant query passes and descendants of descendants of a large
	// model does not. DefaultComplexityLimit when 0, none when < 0.
	ComplexityLimit int
	// MaxTokens refuses (LIMIT) a document of more lexical tokens;
	// DefaultMaxTokens when 0, none when < 0. So do the next five, each
	// with its own default.
	MaxTokens int
	// MaxDepth refuses a document whose fields nest deeper, fragments
	// expanded.
	MaxDepth int
	// MaxFields refuses a document with more fields, fragments expanded
	// (a fragment spread twice counts twice).
	MaxFields int
	// MaxAliases refuses a document with more aliased fields, fragments expanded.
	MaxAliases int
	// MaxFragmentSpreads refuses a document with more fragment spreads (as written).
	MaxFragmentSpreads int
	// MaxVariableValues refuses a request whose variables hold more JSON
	// values (each list element and object field counts).
	MaxVariableValues int
	// QueryTimeout bounds one query or mutation: past it its resolvers are
	// cancelled and it answers LIMIT. DefaultQueryTimeout when 0, none when < 0.
	QueryTimeout time.Duration
	// InitTimeout closes a WebSocket that sends no connection_init in
	// time; DefaultInitTimeout when 0, none when < 0.
	InitTimeout time.Duration
	// MaxSubscriptionsPerConnection refuses (LIMIT) one more subscription on
	// a WebSocket that has this many; DefaultMaxSubscriptionsPerConnection
	// when 0, none when < 0.
	MaxSubscriptionsPerConnection int
	// MaxSubscriptions refuses one more subscription on a gateway that
	// serves this many; DefaultMaxSubscriptions when 0, none when < 0.
	MaxSubscriptions int
	// MaxStreams answers 503 LIMIT to one more WebSocket or SSE stream on a
	// gateway that holds this many open; DefaultMaxStreams when 0, none when < 0.
	MaxStreams int
	// QueryCacheSize is how many parsed queries are kept; DefaultQueryCacheSize when 0.
	QueryCacheSize int
	// SubscriberBuffer is how many notices a subscriber may fall behind before
	// it is dropped; DefaultSubscriberBuffer when 0.
	SubscriberBuffer int
	// KeepAliveInterval is the subscription keepalive period ("ka" messages on
	// graphql-ws, ping on graphql-transport-ws, comment lines on SSE);
	// DefaultKeepAliveInterval when 0, and never longer than it.
	KeepAliveInterval time.Duration
	// OnSlowSubscriber, when not nil, is called each time a slow subscriber is
	// dropped (for a metrics counter).
	OnSlowSubscriber func()
	// ShareSubscriptions lets identical live WebSocket subscriptions share
	// one execution: each event is executed once for all of them and the
	// same response written to each. Identical means the same document,
	// operation name and variables, asked by callers who see the same
	// assets; live means one whose stream does not depend on when it
	// started (modeChanged and twinEvents without `after`; never
	// assetState, which sends the current state first). Limits, caps,
	// metrics and authorization still apply to each subscription, and one
	// that falls behind is dropped alone. Counted in
	// twingraph_subscription_groups and _group_members. False executes
	// every subscription on its own.
	ShareSubscriptions bool
	// Auth, when set, turns authorization on: every operation needs a
	// Principal in its context (put there by the HTTP middleware, or by the
	// WebSocket connection_init payload {"Authorization":"Bearer ..."}, which
	// this handler verifies), and answers only what the Principal may see.
	// Nil serves everything to everyone.
	Auth *auth.Verifier
	// RevealOutOfScope, with Auth, answers an asset outside the caller's
	// scope with FORBIDDEN. False (the default) answers it exactly like an
	// unknown id (null, or NOT_FOUND with the same message), so scoped
	// callers cannot learn which ids exist.
	RevealOutOfScope bool
	// StoreTimeout bounds each store read (state, history, events) made for a
	// request; one that takes longer fails its fields with UNAVAILABLE.
	// twin.DefaultStoreTimeout when 0, none when < 0.
	StoreTimeout time.Duration
	// Registerer, when set, receives the handler's metrics (operations and
	// errors by code, streams and subscriptions by protocol); nil keeps them private.
	Registerer prometheus.Registerer
	// PersistedQueries maps persisted document ids to documents (a manifest,
	// see ParseManifest): a client may send an id instead of the document,
	// as Apollo's persistedQuery extension or Relay's documentId. Nil: only
	// the automatic persisted query cache serves ids.
	PersistedQueries map[string]string
	// OnlyPersisted refuses every document not in PersistedQueries, sent by
	// id or as text, introspection included, with PERSISTED_QUERY_NOT_FOUND
	// (extensions.reason; the code is BAD_INPUT).
	OnlyPersisted bool
	// Tracing, when true, starts an OpenTelemetry span per query or mutation
	// from the global TracerProvider, named by operation type and name, with
	// the errors of its response recorded. False (the default) adds nothing.
	Tracing bool
}

// Handler is the GraphQL endpoint: queries over POST and GET, subscriptions
// over WebSocket (graphql-transport-ws and the legacy graphql-ws) and SSE.
type Handler struct {
	http.Handler
	hub   *Hub
	share *subscriptionShare // nil unless Config.ShareSubscriptions
}

// Close ends every live subscription and the hub's bus subscription.
func (h *Handler) Close() { h.hub.Close() }

// DroppedSubscribers returns how many slow subscribers have been dropped,
// members of shared executions included.
func (h *Handler) DroppedSubscribers() int64 {
	n := h.hub.Dropped()
	if h.share != nil {
		n += h.share.Dropped()
	}
	return n
}

// ErrConfig is returned (wrapped) by New for a Config it cannot serve.
var ErrConfig = errors.New("resolvers: invalid config")

// New returns the GraphQL endpoint for cfg; mount it at /graphql. Fields left
// zero take the package defaults (Default*). Errors: ErrConfig when
// cfg.Model or cfg.States is nil.
func New(cfg Config) (*Handler, error) {
	if cfg.Model == nil || cfg.States == nil {
		return nil, fmt.Errorf("%w: Model and States are required", ErrConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = twin.DefaultMaxPageSize
	}
	if cfg.ComplexityLimit == 0 {
		cfg.ComplexityLimit = DefaultComplexityLimit
	}
	if cfg.QueryCacheSize <= 0 {
		cfg.QueryCacheSize = DefaultQueryCacheSize
	}
	for _, l := range []struct {
		v   *int
		def int
	}{
		{&cfg.MaxTokens, DefaultMaxTokens}, {&cfg.MaxDepth, DefaultMaxDepth},
		{&cfg.MaxFields, DefaultMaxFields}, {&cfg.MaxAliases, DefaultMaxAliases},
		{&cfg.MaxFragmentSpreads, DefaultMaxFragmentSpreads}, {&cfg.MaxVariableValues, DefaultMaxVariableValues},
		{&cfg.MaxSubscriptionsPerConnection, DefaultMaxSubscriptionsPerConnection},
		{&cfg.MaxSubscriptions, DefaultMaxSubscriptions}, {&cfg.MaxStreams, DefaultMaxStreams},
	} {
		if *l.v == 0 {
			*l.v = l.def
		}
	}
	if cfg.QueryTimeout == 0 {
		cfg.QueryTimeout = DefaultQueryTimeout
	}
	if cfg.InitTimeout == 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	if cfg.KeepAliveInterval <= 0 || cfg.KeepAliveInterval > DefaultKeepAliveInterval {
		cfg.KeepAliveInterval = DefaultKeepAliveInterval
	}
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = twin.DefaultStoreTimeout
	}
	cfg.States, cfg.History, cfg.Events = twin.ServingStores(cfg.States, cfg.History, cfg.Events, cfg.StoreTimeout, cfg.Model)
	hub := NewHub(cfg.Bus, cfg.SubscriberBuffer, cfg.Logger, cfg.OnSlowSubscriber)
	res := &Resolver{cfg: cfg, hub: hub}
	gc := graph.Config{Resolvers: res}
	setComplexity(&gc, cfg.Model, cfg.MaxFields)
	srv := handler.New(graph.NewExecutableSchema(gc))
	met := newMetrics(cfg.Registerer)
	// Accounting each subscription gets once: from the executor when it
	// executes alone, from the sharing transport for a member of a group
	// (whose shared execution skips it).
	perMember := []graphql.OperationMiddleware{
		met.countOperations,
		subscriptionCaps(cfg.MaxSubscriptionsPerConnection, &slots{max: int64(cfg.MaxSubscriptions)}, met),
	}

	ws := transport.Websocket{
		// "ka" messages, which only the legacy graphql-ws protocol has.
		KeepAlivePingInterval: cfg.KeepAliveInterval,
		// graphql-transport-ws keeps alive with ping messages instead;
		// without this such connections would get none at all. A client that
		// does not answer with pong is not cut off for it: the pings are there
		// to keep proxies from closing an idle connection, and a dead peer
		// still shows up as a failed write.
		PingPongInterval: cfg.KeepAliveInterval,
		MissingPongOk:    true,
		// The gateway checks a browser's Origin against its allow-list
		// (gateway.Config.CORSOrigins) before the upgrade reaches here.
		Implementation: transport.CoderWebsocketImplementation{AcceptOptions: coderws.AcceptOptions{InsecureSkipVerify: true}},
		InitFunc:       withConnectionSlots(cfg.MaxSubscriptionsPerConnection, websocketInit(cfg.Auth)),
		InitTimeout:    max(cfg.InitTimeout, 0),
	}
	var share *subscriptionShare
	if cfg.ShareSubscriptions {
		share = newSubscriptionShare(cfg, perMember, met)
		srv.AddTransport(sharingWebsocket{Websocket: ws, share: share})
	} else {
		srv.AddTransport(ws)
	}
	// SSE streams keep alive with ": ping" comment lines.
	srv.AddTransport(sseTransport{keepAlive: cfg.KeepAliveInterval})
	srv.AddTransport(multipartRefusal{})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})

	queryCache := lru.New[*ast.QueryDocument](cfg.QueryCacheSize)
	srv.SetQueryCache(queryCache)
	if cfg.MaxTokens > 0 {
		// Also bounds the executor's own parse (documentLimits reports first).
		srv.SetParserTokenLimit(cfg.MaxTokens)
	}
	if cfg.Tracing {
		// First, so the span encloses the other extensions' work too.
		srv.Use(operationTracer{tracer: otel.Tracer("github.com/twingraph/twingraph/resolvers")})
	}
	srv.Use(extension.Introspection{})
	if cfg.PersistedQueries != nil || cfg.OnlyPersisted {
		// Before the APQ extension, so listed ids never reach its cache.
		srv.Use(newSafelist(cfg.PersistedQueries, cfg.OnlyPersisted))
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	// After the persisted query extension, which fills in the document.
	srv.Use(documentLimits{
		maxTokens: cfg.MaxTokens, maxDepth: cfg.MaxDepth, maxFields: cfg.MaxFields,
		maxAliases: cfg.MaxAliases, maxSpreads: cfg.MaxFragmentSpreads,
		maxVariableValues: cfg.MaxVariableValues, cache: queryCache,
	})
	if cfg.ComplexityLimit > 0 {
		srv.Use(extension.FixedComplexityLimit(cfg.ComplexityLimit))
	}
	if cfg.QueryTimeout > 0 {
		srv.AroundResponses(queryDeadline(cfg.QueryTimeout))
	}
	for _, mw := range perMember {
		srv.AroundOperations(perSubscription(mw))
	}
	srv.AroundResponses(met.countMessages)
	srv.AroundResponses(withLoaders(&res.cfg))
	srv.SetErrorPresenter(countErrors(met, errorPresenter(cfg.Logger)))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		if cfg.Logger != nil {
			cfg.Logger.Error("panic in GraphQL resolver", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
		return twin.Errorf(twin.EINTERNAL, "internal error")
	})
	var h http.Handler = srv
	if cfg.PersistedQueries != nil {
		h = persistedIDs(h)
	}
	return &Handler{Handler: limitStreams(cfg.MaxStreams, met, h), hub: hub, share: share}, nil
}

// operationTracer is the gqlgen extension that traces operations: one span
// per query or mutation response. Subscriptions get none: a span per pushed
// event would be noise, and one per subscription would stay open for hours.
type operationTracer struct{ tracer trace.Tracer }

var (
	_ graphql.HandlerExtension    = operationTracer{}
	_ graphql.ResponseInterceptor = operationTracer{}
)

// ExtensionName names the extension in gqlgen's listings.
func (operationTracer) ExtensionName() string { return "OpenTelemetry" }

// Validate accepts every schema.
func (operationTracer) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse wraps one response of an operation in a span.
func (t operationTracer) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil || oc.Operation.Operation == ast.Subscription {
		return next(ctx)
	}
	kind, opName := string(oc.Operation.Operation), oc.Operation.Name
	name := kind
	if opName != "" {
		name += " " + opName
	}
	ctx, span := t.tracer.Start(ctx, name, trace.WithAttributes(
		attribute.String("graphql.operation.type", kind),
		attribute.String("graphql.operation.name", opName),
	))
	defer span.End()
	resp := next(ctx)
	if resp != nil && len(resp.Errors) > 0 {
		for _, e := range resp.Errors {
			span.RecordError(e)
		}
		span.SetStatus(codes.Error, resp.Errors[0].Message)
	}
	return resp
}

// gqlgen's own error codes, mapped onto the project's stable codes.
var gqlgenCodes = map[string]string{
	errcode.ValidationFailed:        twin.EBADINPUT,
	errcode.ParseFailed:             twin.EBADINPUT,
	"COMPLEXITY_LIMIT_EXCEEDED":     twin.ELIMIT,
	"PERSISTED_QUERY_NOT_FOUND":     twin.EBADINPUT,
	"PERSISTED_QUERY_NOT_SUPPORTED": twin.EBADINPUT,
}

// errorPresenter gives every error a stable extensions.code: a domain error's
// own code, BAD_INPUT for requests gqlgen refuses (parse, validation, argument
// coercion), LIMIT for too complex queries, and INTERNAL (logged with its cause,
// shown without it) for anything else.
func errorPresenter(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		if gerr.Extensions == nil {
			gerr.Extensions = map[string]any{}
		}
		var te *twin.Error
		if errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &te) {
			// The query's own deadline (queryDeadline) names itself as the cause.
			errors.As(context.Cause(ctx), &te)
		}
		if te != nil || errors.As(err, &te) {
			gerr.Message = te.Message
			gerr.Extensions["code"] = te.Code
			return gerr
		}
		if c, ok := gerr.Extensions["code"].(string); ok {
			if mapped, ok := gqlgenCodes[c]; ok {
				gerr.Extensions["code"] = mapped
				gerr.Extensions["reason"] = c
				return gerr
			}
			if c == twin.ENOTFOUND || c == twin.EBADINPUT || c == twin.EFORBIDDEN || c == twin.ELIMIT || c == twin.EUNAVAILABLE || c == twin.EINTERNAL {
				return gerr
			}
		}
		var qe *gqlerror.Error
		if errors.As(err, &qe) && qe.Unwrap() == nil {
			// gqlgen's own refusals (bad variables, argument coercion) carry no cause.
			gerr.Extensions["code"] = twin.EBADINPUT
			return gerr
		}
		if logger != nil {
			logger.Error("GraphQL request failed", "err", err, "path", gerr.Path.String())
		}
		gerr.Message = "internal error"
		gerr.Extensions["code"] = twin.EINTERNAL
		return gerr
	}
}

// countErrors counts every error answered by its extensions.code: the
// presenter is the one place every error passes, parse errors included.
// Those of a group's shared execution are counted by each member that
// answers them (subscriptionShare.member).
func countErrors(m *metrics, present graphql.ErrorPresenterFunc) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := present(ctx, err)
		if !inGroupExecution(ctx) {
			code, _ := gerr.Extensions["code"].(string)
			m.errors.WithLabelValues(code).Inc()
		}
		return gerr
	}
}

// setComplexity prices list fields by the most items they can return in the
// model, so the complexity limit bounds the work a query can cause.
//
// Every cost saturates at maxFieldCost: a plain 1 + child*n wraps around on a
// crafted query (2^58 × 64 = 0), and gqlgen then takes the tiny result, or the
// default cost of a negative one, for the truth. The cap is low enough that
// gqlgen's (saturating) sum over the at most maxFields fields a document may
// hold never overflows either, yet far above any complexity limit.
func setComplexity(gc *graph.Config, m twin.Model, maxFields int) {
	b := newModelBounds(m)
	c := costCapFor(maxFields)
	gc.Complexity.Asset.Parents = func(child int) int { return c.list(child, b.get().parents) }
	gc.Complexity.Asset.Ancestors = func(child int) int { return c.list(child, b.get().ancestors) }
	gc.Complexity.Asset.Children = func(child int, _ *string) int { return c.list(child, b.get().children) }
	gc.Complexity.Asset.Descendants = func(child int, _ *string, _ *int) int { return c.list(child, b.get().all) }
	gc.Complexity.Asset.Rollup = func(child int) int { return c.add(c.add(1, child), b.get().all) }
	gc.Complexity.Query.Roots = func(child int) int { return c.list(child, b.get().roots) }
	gc.Complexity.Query.ShiftReport = func(child int, _ string, _, _ time.Time) int { return c.list(child, b.get().all) }
	gc.Complexity.Asset.Events = func(child int, _, _ *time.Time, _ []twin.EventKind, first *int, _ *string, last *int, _ *string, _ *bool) int {
		return c.list(child, pageBound(first, last))
	}
	gc.Complexity.Query.Events = func(child int, _ *string, _ []twin.EventKind, _, _ *time.Time, first *int, _ *string, last *int, _ *string) int {
		return c.list(child, pageBound(first, last))
	}
	gc.Complexity.AssetShift.Events = func(child int, first int) int { return c.list(child, first) }
	gc.Complexity.Query.Assets = func(child int, _, _ *string, first int, _ *string, _ []twin.Mode) int {
		return c.list(child, first)
	}
	gc.Complexity.Rollup.ByMode = func(child int) int { return c.list(child, len(twin.Modes)) }
}

// listBounds are the most items each list field can hold in one model.
type listBounds struct {
	model                                    twin.Model // the model they were counted in
	children, parents, ancestors, all, roots int
}

// modelBounds counts a model's list bounds once, and again after a reload
// swaps the model (hierarchy.Live), so prices follow the model in service.
type modelBounds struct {
	m   twin.Model
	cur atomic.Pointer[listBounds]
}

func newModelBounds(m twin.Model) *modelBounds { return &modelBounds{m: m} }

func (b *modelBounds) get() *listBounds {
	m := b.m
	s, live := m.(interface{ Snapshot() twin.Model })
	if live {
		m = s.Snapshot()
	}
	// A model that cannot change is counted once (and need not be comparable).
	if lb := b.cur.Load(); lb != nil && (!live || lb.model == m) {
		return lb
	}
	lb := &listBounds{model: m, children: 1, parents: 1, ancestors: 1}
	assets := m.Assets()
	for _, a := range assets {
		lb.children = max(lb.children, len(m.Children(a.ID, "")))
		lb.parents = max(lb.parents, len(a.Parents))
		lb.ancestors = max(lb.ancestors, len(m.Ancestors(a.ID)))
	}
	lb.all = max(len(assets), 1)
	lb.roots = max(len(m.Roots()), 1)
	b.cur.Store(lb)
	return lb
}

// pageBound is the most items a connection paged by first or last returns
// (the larger when a refused query gives both; 1 when it gives neither).
func pageBound(first, last *int) int {
	n := 1
	if first != nil {
		n = max(n, *first)
	}
	if last != nil {
		n = max(n, *last)
	}
	return n
}

// costCap is the saturation point of one field's cost: costs are clamped
// to [1, costCap], so a sum over maxFields+1 of them fits an int.
type costCap int

// costCapFor returns the cap for documents of at most maxFields fields (no
// bound on fields when maxFields <= 0 still leaves a cap: the token limit
// bounds fields too, and the cap is far above any complexity limit).
func costCapFor(maxFields int) costCap {
	if maxFields <= 0 || maxFields > 1<<20 {
		maxFields = 1 << 20
	}
	return costCap(math.MaxInt / (maxFields + 1))
}

// clamp bounds v to [1, c].
func (c costCap) clamp(v int) int { return min(max(v, 1), int(c)) }

// add is a + b, saturating at c.
func (c costCap) add(a, b int) int {
	a, b = c.clamp(a), c.clamp(b)
	if a > int(c)-b {
		return int(c)
	}
	return a + b
}

// list is the cost of a list of at most n items each costing child, plus
// the field itself: 1 + child*n, saturating at c.
func (c costCap) list(child, n int) int {
	child, n = min(max(child, 0), int(c)), c.clamp(n)
	if child > (int(c)-1)/n {
		return int(c)
	}
	return 1 + child*n
}
