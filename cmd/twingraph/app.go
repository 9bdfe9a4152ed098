package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/alias"
	"github.com/twingraph/twingraph/auth"
	"github.com/twingraph/twingraph/examples"
	"github.com/twingraph/twingraph/gateway"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/resolvers"
	"github.com/twingraph/twingraph/store/memory"
	"github.com/twingraph/twingraph/store/postgres"
	"github.com/twingraph/twingraph/store/redis"
	"github.com/twingraph/twingraph/telemetry"
)

// Main holds one process's wiring: the model, the stores and the servers every
// subcommand is assembled from. End-to-end tests use it instead of copying it.
type Main struct {
	// Logger receives the process's logs (stderr by default).
	Logger *slog.Logger
	// Model is the asset hierarchy served: swapped whole when the model
	// file is reloaded (WatchModel, ReloadModel).
	Model *hierarchy.Live
	// ModelSource names where Model came from (a file, or the embedded demo).
	ModelSource string
	// ModelPath is the model file; "" for the embedded demo plant (never reloaded).
	ModelPath string
	// States, History, Events and Bus are the stores in use.
	States  twin.StateStore
	History twin.HistoryStore
	Events  twin.EventStore
	Bus     twin.Bus
	// Registry collects the process's metrics for /metrics.
	Registry *prometheus.Registry
	// MaxPageSize bounds every `first` argument (GraphQL and REST); 0 is twin.DefaultMaxPageSize.
	MaxPageSize int
	// Auth, when set, requires bearer tokens on /graphql and /twin/...; nil
	// (the default) serves everyone.
	Auth *auth.Verifier
	// RevealOutOfScope answers assets outside a token's scope FORBIDDEN
	// instead of like unknown ids (--auth-hide-existence=false).
	RevealOutOfScope bool
	// StoreTimeout bounds the store reads of a GraphQL or REST request
	// (UNAVAILABLE past it); 0 is twin.DefaultStoreTimeout.
	StoreTimeout time.Duration
	// GraphQLLimits bound documents, queries and subscriptions; only its
	// limit fields and ShareSubscriptions are used (zero: the resolvers
	// package's defaults).
	GraphQLLimits resolvers.Config
	// HTTPLimits bound request bodies and connections; only its limit
	// fields are used (zero: the gateway package's defaults).
	HTTPLimits gateway.Config
	// PersistedQueries maps persisted document ids to documents
	// (--persisted-queries); OnlyPersisted refuses every other document.
	PersistedQueries map[string]string
	OnlyPersisted    bool
	// Tracing turns on the gateway's and GraphQL's OpenTelemetry spans;
	// SetupTracing sets it when an exporter is configured.
	Tracing bool
	// CORSOrigins are the browser origins besides the gateway's own that may
	// call it and open WebSockets (--cors-origins); nil: none.
	CORSOrigins []string
	// SyncReady, when set, is the sync worker's readiness (a stalled
	// partition), checked by Ready after the stores.
	SyncReady func() error
	// ShutdownTimeout bounds a graceful stop once the context of Listen
	// ends; DefaultShutdownTimeout when 0.
	ShutdownTimeout time.Duration
	// DrainDelay is how long /readyz answers 503 before the listener
	// closes, so load balancers stop sending new requests first (within
	// ShutdownTimeout).
	DrainDelay time.Duration

	draining atomic.Bool    // stopping: /readyz answers 503
	serving  sync.WaitGroup // gateways still draining; Close waits for them

	redis        *redis.Store
	postgres     *postgres.Store
	memHistory   *memory.HistoryStore // the in-memory history, when in use
	reloadErrors prometheus.Counter
	modelInfo    *prometheus.GaugeVec
	closers      []func()
}

// NewMain returns a Main logging to stderr at the given level ("debug", "info", "warn", "error").
func NewMain(stderr io.Writer, level string) *Main {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfoGauge())
	reloadErrors := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "twingraph_model_reload_errors_total",
		Help: "Model file reloads refused (the file did not load); the previous model stays in service.",
	})
	modelInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "twingraph_model_info",
		Help: "The model in service: 1 for its version and content hash.",
	}, []string{"version", "hash"})
	reg.MustRegister(reloadErrors, modelInfo)
	return &Main{
		Logger:       slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv})),
		Registry:     reg,
		reloadErrors: reloadErrors,
		modelInfo:    modelInfo,
	}
}

// LoadModel loads the model file, or the embedded demo plant when path is "".
func (m *Main) LoadModel(path string) error {
	var (
		model *hierarchy.Model
		err   error
	)
	m.ModelSource, m.ModelPath = path, path
	if path == "" {
		m.ModelSource = "embedded demo plant"
		model, err = hierarchy.Load("examples/"+examples.PlantFile, examples.PlantYAML)
	} else {
		model, err = hierarchy.LoadFile(path)
	}
	if err != nil {
		return fmt.Errorf("load model:\n%w", err)
	}
	m.Model = hierarchy.NewLive(model)
	m.noteModel(nil, model)
	return nil
}

// noteModel publishes the model in service in twingraph_model_info.
func (m *Main) noteModel(old, cur *hierarchy.Model) {
	if m.modelInfo == nil {
		return
	}
	if old != nil {
		m.modelInfo.DeleteLabelValues(old.Version(), old.Hash())
	}
	m.modelInfo.WithLabelValues(cur.Version(), cur.Hash()).Set(1)
}

// modelWatcher is the watcher of the model file, reporting to the log and metrics.
func (m *Main) modelWatcher() *hierarchy.Watcher {
	return &hierarchy.Watcher{
		Live: m.Model, Path: m.ModelPath,
		OnReload: func(old, cur *hierarchy.Model) {
			m.noteModel(old, cur)
			m.Logger.Info("model reloaded", "source", m.ModelSource, "model", cur.Stamp(),
				"version", cur.Version(), "hash", cur.Hash(), "previous", old.Stamp(), "assets", len(cur.Assets()))
		},
		OnError: m.reloadFailed,
		OnUnchanged: func(cur *hierarchy.Model) {
			m.Logger.Info("model file unchanged; nothing to reload", "source", m.ModelSource, "model", cur.Stamp())
		},
	}
}

// reloadFailed logs a refused reload (every FILE:LINE problem) and counts it.
func (m *Main) reloadFailed(err error) {
	m.reloadErrors.Inc()
	m.Logger.Error("model reload refused; still serving the previous model", "source", m.ModelSource,
		"model", m.Model.Stamp(), "err", err)
}

// ReloadModel reloads the model file now (what SIGHUP does): a valid,
// changed file replaces the model everywhere at once; an invalid one is
// refused, logged and counted, and the previous model stays. It returns
// hierarchy.ErrUnchanged when the file holds the model in service.
func (m *Main) ReloadModel() error {
	if m.ModelPath == "" {
		return errors.New("reload model: the embedded demo plant has no file to reload")
	}
	_, err := m.modelWatcher().Reload()
	if err != nil && !errors.Is(err, hierarchy.ErrUnchanged) {
		m.reloadFailed(err)
	}
	return err
}

// WatchModel reloads the model file until ctx ends: when it changes (looked
// at every interval; hierarchy.DefaultWatchInterval when <= 0) and on each
// value of hup (SIGHUP). The embedded demo plant is never reloaded.
func (m *Main) WatchModel(ctx context.Context, interval time.Duration, hup <-chan struct{}) {
	if m.ModelPath == "" {
		return
	}
	w := m.modelWatcher()
	w.Interval = interval
	go w.Run(ctx, hup)
}

// SetupTracing installs the process's TracerProvider for cfg (a no-op one
// when cfg.Endpoint is empty) and sets m.Tracing accordingly; Close flushes
// and stops the exporter after everything else has closed.
func (m *Main) SetupTracing(ctx context.Context, cfg telemetry.Config) error {
	shutdown, err := telemetry.Setup(ctx, cfg)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	m.Tracing = cfg.Enabled()
	if m.Tracing {
		m.closers = append(m.closers, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := shutdown(sctx); err != nil {
				m.Logger.Warn("flush traces", "err", err)
			}
		})
	}
	return nil
}

// OpenStores opens Redis for state and the bus and PostgreSQL for history and
// events; an empty URL keeps that part in memory (allowMemory) or is an error.
// The PostgreSQL schema must be current: run `twingraph migrate` first.
func (m *Main) OpenStores(ctx context.Context, redisURL, postgresURL, namespace string, allowMemory bool) error {
	if !allowMemory {
		var missing []string
		if redisURL == "" {
			missing = append(missing, "--redis")
		}
		if postgresURL == "" {
			missing = append(missing, "--postgres")
		}
		if len(missing) > 0 {
			return usagef("%s required (or set %s)", strings.Join(missing, " and "), envList(missing))
		}
	}
	if redisURL != "" {
		rs, err := redis.Open(ctx, redisURL, redis.Options{Namespace: namespace})
		if err != nil {
			return fmt.Errorf("open redis: %w", err)
		}
		m.redis = rs
		m.closers = append(m.closers, rs.Close)
		m.States, m.Bus = rs, rs
	} else {
		m.States, m.Bus = memory.NewStateStore(), memory.NewBus()
	}
	if postgresURL != "" {
		ps, err := postgres.Open(ctx, postgresURL, postgres.Options{Logger: m.Logger})
		if err != nil {
			return fmt.Errorf("open postgres: %w", err)
		}
		m.postgres = ps
		m.closers = append(m.closers, ps.Close)
		if err := ps.CheckSchema(ctx); err != nil {
			// Said to an operator, who needs the advice, not the API code.
			if te, ok := err.(*twin.Error); ok {
				return errors.New(te.Message)
			}
			return err
		}
		m.History, m.Events = ps, ps
	} else {
		m.memHistory = memory.NewHistoryStore()
		m.History, m.Events = m.memHistory, memory.NewEventStore()
	}
	m.readAliases()
	return nil
}

// readAliases wraps the stores so that what was stored under an asset's
// or signal's earlier ids (aliases in the model) answers under its current id.
func (m *Main) readAliases() {
	if m.States != nil {
		m.States = alias.States{StateStore: m.States, Model: m.Model}
	}
	if m.History != nil {
		m.History = alias.History{HistoryStore: m.History, Model: m.Model}
	}
	if m.Events != nil {
		m.Events = alias.Events{EventStore: m.Events, Model: m.Model}
	}
}

func envList(flags []string) string {
	var out []string
	for _, f := range flags {
		out = append(out, envName(strings.TrimPrefix(f, "--")))
	}
	return strings.Join(out, ", ")
}

// Ready reports whether the stores answer and, in a process with a sync
// worker, whether it keeps up: /readyz.
func (m *Main) Ready(ctx context.Context) error {
	if m.draining.Load() {
		return errors.New("draining: the process is shutting down")
	}
	ctx, cancel := context.WithTimeout(ctx, gateway.ReadyTimeout)
	defer cancel()
	if _, err := m.States.GetStates(ctx, []string{"_readyz"}); err != nil {
		return fmt.Errorf("state store: %w", err)
	}
	if _, err := m.Events.ListEvents(ctx, twin.EventQuery{Assets: []string{"_readyz"}, First: 1}); err != nil {
		return fmt.Errorf("event store: %w", err)
	}
	if m.SyncReady != nil {
		return m.SyncReady()
	}
	return nil
}

// Gateway builds the HTTP handler: GraphQL, REST, GraphiQL, health and metrics.
func (m *Main) Gateway() (http.Handler, error) {
	cfg, err := m.gatewayConfig()
	if err != nil {
		return nil, err
	}
	return gateway.New(cfg)
}

// DefaultShutdownTimeout bounds a graceful stop when Main.ShutdownTimeout is 0.
const DefaultShutdownTimeout = 30 * time.Second

// Drain marks the process as stopping: /readyz answers 503 from now on.
func (m *Main) Drain() { m.draining.Store(true) }

// gatewayConfig is the gateway's configuration, GraphQL handler included.
func (m *Main) gatewayConfig() (gateway.Config, error) {
	dropped := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "twingraph_subscribers_dropped_total",
		Help: "Subscribers dropped because they could not keep up.",
	})
	m.Registry.MustRegister(dropped)
	// The limit configs carry only their limit fields: the wiring is added
	// here, so a new limit needs no line of its own.
	rc := m.GraphQLLimits
	rc.Model, rc.States, rc.History, rc.Events, rc.Bus = m.Model, m.States, m.History, m.Events, m.Bus
	rc.Logger, rc.OnSlowSubscriber, rc.MaxPageSize, rc.Auth = m.Logger, dropped.Inc, m.MaxPageSize, m.Auth
	rc.StoreTimeout, rc.RevealOutOfScope = m.StoreTimeout, m.RevealOutOfScope
	rc.Tracing, rc.Registerer = m.Tracing, m.Registry
	rc.PersistedQueries, rc.OnlyPersisted = m.PersistedQueries, m.OnlyPersisted
	gql, err := resolvers.New(rc)
	if err != nil {
		return gateway.Config{}, err
	}
	m.closers = append(m.closers, gql.Close)
	gc := m.HTTPLimits
	gc.Model, gc.States, gc.History, gc.Events = m.Model, m.States, m.History, m.Events
	gc.GraphQL, gc.Ready, gc.Logger, gc.Registerer, gc.MaxPageSize = gql, m.Ready, m.Logger, m.Registry, m.MaxPageSize
	gc.Metrics, gc.Auth = promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}), m.Auth
	gc.StoreTimeout, gc.RevealOutOfScope = m.StoreTimeout, m.RevealOutOfScope
	gc.Tracing, gc.CORSOrigins = m.Tracing, m.CORSOrigins
	return gc, nil
}

// gatewayFlags are the flags of the commands that serve the gateway (dev and
// serve): page bounds and authorization (off unless a key file is given).
type gatewayFlags struct {
	maxPageSize                    int
	storeTimeout                   time.Duration
	hideExistence                  bool
	jwks, secret, issuer, audience string
	access                         accessFlags
	gql                            resolvers.Config // limit fields and ShareSubscriptions only
	http                           gateway.Config   // limit fields and ShareQueries only
	corsOrigins                    string
}

// registerCORS adds --cors-origins with the command's default allow-list.
func (a *gatewayFlags) registerCORS(fs *flag.FlagSet, def []string) {
	fs.StringVar(&a.corsOrigins, "cors-origins", strings.Join(def, ","),
		"comma list of browser origins besides the gateway's own that may call it and open WebSockets (scheme://host[:port], one * wildcard; * is any); empty: none")
}

// register adds --max-page-size and the --auth-* flags to fs.
func (a *gatewayFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&a.maxPageSize, "max-page-size", twin.DefaultMaxPageSize, "largest page (first) a query may ask for, GraphQL and REST")
	fs.DurationVar(&a.storeTimeout, "store-timeout", twin.DefaultStoreTimeout, "a GraphQL or REST request whose store reads take longer answers UNAVAILABLE (REST 503)")
	fs.StringVar(&a.jwks, "auth-jwks", "", "require bearer tokens signed by a key of this local JWKS file (RSA/EC public keys; RS256/ES256 unless a key says otherwise)")
	fs.StringVar(&a.secret, "auth-hs256-secret-file", "", "require bearer tokens signed with the HS256 secret in this file (at least 32 bytes)")
	fs.BoolVar(&a.hideExistence, "auth-hide-existence", true, "with authorization on, answer an asset outside the token's scope exactly like an unknown one (false: FORBIDDEN)")
	fs.StringVar(&a.issuer, "auth-issuer", "", "with authorization on, the iss claim tokens must carry")
	fs.StringVar(&a.audience, "auth-audience", "", "with authorization on, an aud value tokens must carry")
	fs.BoolVar(&a.http.ShareQueries, "share-queries", true, "identical GraphQL queries (body, credentials, Accept, Content-Type) in flight at the same time share one execution and its response; false: each executes")
	fs.BoolVar(&a.gql.ShareSubscriptions, "share-subscriptions", true, "identical live WebSocket subscriptions (modeChanged, twinEvents without after: same document, variables and scope) share one execution: each event executed once, its response written to each; false: each executes")
	a.access.register(fs)
	a.registerLimits(fs)
}

// registerLimits adds the flags of the limits that protect the gateway
// from hostile clients; a negative value turns a limit off.
func (a *gatewayFlags) registerLimits(fs *flag.FlagSet) {
	g, h := &a.gql, &a.http
	fs.IntVar(&g.ComplexityLimit, "max-complexity", resolvers.DefaultComplexityLimit, "largest GraphQL query complexity (list fields priced by how many items they can hold)")
	fs.IntVar(&g.MaxTokens, "max-query-tokens", resolvers.DefaultMaxTokens, "most lexical tokens in a GraphQL document")
	fs.IntVar(&g.MaxDepth, "max-query-depth", resolvers.DefaultMaxDepth, "deepest field nesting of a GraphQL operation, fragments expanded")
	fs.IntVar(&g.MaxFields, "max-query-fields", resolvers.DefaultMaxFields, "most fields in a GraphQL operation, fragments expanded")
	fs.IntVar(&g.MaxAliases, "max-query-aliases", resolvers.DefaultMaxAliases, "most aliased fields in a GraphQL operation, fragments expanded")
	fs.IntVar(&g.MaxFragmentSpreads, "max-fragment-spreads", resolvers.DefaultMaxFragmentSpreads, "most fragment spreads written in a GraphQL document")
	fs.IntVar(&g.MaxVariableValues, "max-variable-values", resolvers.DefaultMaxVariableValues, "most JSON values in a request's variables")
	fs.DurationVar(&g.QueryTimeout, "query-timeout", resolvers.DefaultQueryTimeout, "longest a GraphQL query or mutation may run")
	fs.DurationVar(&g.InitTimeout, "ws-init-timeout", resolvers.DefaultInitTimeout, "how long a WebSocket may wait before connection_init")
	fs.IntVar(&g.MaxSubscriptionsPerConnection, "max-subscriptions-per-connection", resolvers.DefaultMaxSubscriptionsPerConnection, "most subscriptions on one WebSocket")
	fs.IntVar(&g.MaxSubscriptions, "max-subscriptions", resolvers.DefaultMaxSubscriptions, "most subscriptions one gateway serves")
	fs.IntVar(&g.MaxStreams, "max-streams", resolvers.DefaultMaxStreams, "most WebSocket and SSE streams one gateway holds open")
	fs.Int64Var(&h.MaxBodyBytes, "max-body-bytes", gateway.DefaultMaxBodyBytes, "largest request body in bytes")
	fs.DurationVar(&h.BodyReadTimeout, "body-read-timeout", gateway.DefaultBodyReadTimeout, "longest a request body may take to arrive")
	fs.DurationVar(&h.ReadHeaderTimeout, "read-header-timeout", gateway.DefaultReadHeaderTimeout, "longest request headers may take to arrive")
	fs.DurationVar(&h.IdleTimeout, "idle-timeout", gateway.DefaultIdleTimeout, "how long an idle keep-alive connection is kept")
}

// apply checks the flags and sets them on m.
func (a *gatewayFlags) apply(m *Main) error {
	if a.maxPageSize < 1 {
		return usagef("--max-page-size must be at least 1")
	}
	if a.storeTimeout <= 0 {
		return usagef("--store-timeout must be positive")
	}
	v, err := a.verifier(m)
	if err != nil {
		return err
	}
	if err := a.access.applyPersisted(m); err != nil {
		return err
	}
	m.MaxPageSize, m.Auth, m.StoreTimeout = a.maxPageSize, v, a.storeTimeout
	m.RevealOutOfScope = !a.hideExistence
	m.GraphQLLimits, m.HTTPLimits = a.gql, a.http
	if m.CORSOrigins, err = gateway.ParseOrigins(a.corsOrigins); err != nil {
		return fmt.Errorf("--cors-origins: %w", err)
	}
	return nil
}

// verifier loads the keys, or returns nil when authorization is off.
func (a *gatewayFlags) verifier(m *Main) (*auth.Verifier, error) {
	cfg := auth.Config{JWKSFile: a.jwks, HS256SecretFile: a.secret, Issuer: a.issuer, Audience: a.audience}
	if err := a.access.applyAPIKeys(m, &cfg); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		if a.issuer != "" || a.audience != "" {
			return nil, usagef("--auth-issuer and --auth-audience need --auth-jwks or --auth-hs256-secret-file")
		}
		return nil, nil
	}
	return auth.NewVerifier(cfg)
}

// Listen binds the HTTP address and serves the gateway until ctx ends,
// then stops it gracefully (see shutdown); Close waits for that, so ctx
// must end before Close is called.
// It returns the bound address at once; serving errors go to errc.
func (m *Main) Listen(ctx context.Context, addr string, errc chan<- error) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen http: %w", err)
	}
	cfg, err := m.gatewayConfig()
	if err != nil {
		return "", err
	}
	srv, err := gateway.NewServer(cfg)
	if err != nil {
		return "", err
	}
	// Shutdown closes the listener first, then ends every subscription:
	// their streams complete, and clients resume by cursor on another replica.
	if h, ok := cfg.GraphQL.(interface{ Close() }); ok {
		srv.RegisterOnShutdown(h.Close)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	m.serving.Add(1)
	go func() {
		defer m.serving.Done()
		<-ctx.Done()
		m.shutdown(srv)
	}()
	return ln.Addr().String(), nil
}

// shutdown stops srv gracefully within m.ShutdownTimeout: /readyz answers
// 503 for m.DrainDelay while requests are still served, then the listener
// closes, subscriptions complete and in-flight requests finish; whatever is
// left at the deadline is cut off.
func (m *Main) shutdown(srv *http.Server) {
	start := time.Now()
	timeout := cmp.Or(m.ShutdownTimeout, DefaultShutdownTimeout)
	delay := min(m.DrainDelay, timeout/2)
	m.Drain()
	m.Logger.Info("draining: /readyz answers 503", "drainDelay", delay, "shutdownTimeout", timeout)
	time.Sleep(delay)
	ctx, cancel := context.WithTimeout(context.Background(), timeout-delay)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		m.Logger.Warn("shutdown timeout: closing the connections left", "err", err)
		_ = srv.Close()
	}
	m.Logger.Info("gateway stopped", "took", time.Since(start).Round(time.Millisecond))
}

// Close waits for the gateways to drain, then releases the stores in
// reverse order of opening.
func (m *Main) Close() {
	m.serving.Wait()
	for i := len(m.closers) - 1; i >= 0; i-- {
		m.closers[i]()
	}
	m.closers = nil
}

// defaultString returns v, or def when v is empty.
func defaultString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
