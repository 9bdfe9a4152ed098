// Package gateway is the HTTP face of twingraph: it mounts the GraphQL
// handler, the GraphiQL page, the REST endpoints kept for simple consumers
// (/twin/{id}, /twin/{id}/history, /twin/{id}/events), health and readiness
// probes and the metrics endpoint on one http.Handler.
//
// The gateway is stateless: everything it answers comes from the model and
// the stores it is given, so any number of replicas can run side by side. It
// knows no infrastructure itself; cmd/twingraph wires the stores in.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth"
	"github.com/twingraph/twingraph/web"
)

// DefaultPageSize is the events page size when a request gives no `first`.
const DefaultPageSize = 20

// Defaults of the HTTP limits left zero in Config.
const (
	// DefaultMaxBodyBytes bounds a request body (413 LIMIT past it).
	DefaultMaxBodyBytes = 1 << 20
	// DefaultBodyReadTimeout bounds reading a request body, so a client
	// trickling one cannot hold a connection.
	DefaultBodyReadTimeout = 10 * time.Second
	// DefaultReadHeaderTimeout bounds reading a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout closes a keep-alive connection idle this long.
	DefaultIdleTimeout = 120 * time.Second
)

// ReadyTimeout bounds one readiness check, so a hung store makes /readyz
// answer 503 instead of hanging the orchestrator's probe.
const ReadyTimeout = 2 * time.Second

// Config is what the gateway serves from. Model and States are required;
// every other field may be left zero.
type Config struct {
	// Model is the asset hierarchy; REST ids are resolved against it.
	Model twin.Model
	// States answers GET /twin/{id}.
	States twin.StateStore
	// History answers GET /twin/{id}/history; nil answers 503.
	History twin.HistoryStore
	// Events answers GET /twin/{id}/events; nil answers 503.
	Events twin.EventStore
	// GraphQL serves /graphql (every method, WebSocket upgrades and SSE
	// included); nil answers 503.
	GraphQL http.Handler
	// Ready reports whether the gateway can serve (stores reachable); nil
	// means always ready. An error's text is the 503 body of /readyz.
	Ready func(ctx context.Context) error
	// Metrics serves /metrics (typically promhttp.Handler); nil answers 404.
	Metrics http.Handler
	// Now is the clock for derived state (uptime today, OEE) and default
	// history ranges; nil means time.Now.
	Now func() time.Time
	// Logger receives request logs (info) and internal errors with their
	// cause (error); nil means no logging.
	Logger *slog.Logger
	// MaxPageSize bounds `first` of events pages; 0 means twin.DefaultMaxPageSize.
	MaxPageSize int
	// Registerer, when set, gets the request duration histogram
	// (twingraph_http_request_duration_seconds by route, method and code).
	Registerer prometheus.Registerer
	// ShareQueries lets identical GraphQL queries in flight at the same time
	// share one execution and its response (see shareQueries); counted in
	// twingraph_graphql_shared_responses_total with a Registerer.
	ShareQueries bool
	// Auth, when set, requires a bearer token on /graphql and /twin/...:
	// none or an invalid one is a 401 FORBIDDEN, and REST answers 403
	// FORBIDDEN for an asset outside the token's scope. GraphQL's own checks
	// need the same verifier in resolvers.Config.Auth. The probes, /metrics
	// and the GraphiQL page stay open. Nil (the default) requires nothing.
	Auth *auth.Verifier
	// RevealOutOfScope, with Auth, answers an asset outside the token's
	// scope 403 FORBIDDEN. False (the default) answers it exactly like an
	// unknown id (404 NOT_FOUND, same body), so scoped callers cannot learn
	// which ids exist.
	RevealOutOfScope bool
	// StoreTimeout bounds each store read of a REST request; one that takes
	// longer answers 503 UNAVAILABLE. twin.DefaultStoreTimeout when 0, none
	// when < 0.
	StoreTimeout time.Duration
	// MaxBodyBytes bounds a request body: a longer one is answered 413 with
	// a LIMIT error. DefaultMaxBodyBytes when 0, none when < 0.
	MaxBodyBytes int64
	// BodyReadTimeout bounds reading a request body (408 past it).
	// DefaultBodyReadTimeout when 0, none when < 0.
	BodyReadTimeout time.Duration
	// ReadHeaderTimeout and IdleTimeout are NewServer's; their defaults
	// (DefaultReadHeaderTimeout, DefaultIdleTimeout) apply when 0, none
	// when < 0. There is deliberately no whole-request ReadTimeout or
	// WriteTimeout: WebSocket and SSE subscriptions live for hours.
	ReadHeaderTimeout, IdleTimeout time.Duration
	// CORSOrigins are the browser origins besides the gateway's own that may
	// call it: they get CORS headers on /graphql, /twin/... and
	// /openapi.json, and may open WebSockets, which any other origin may not.
	// Entries are as ParseOrigins takes them; nil allows no other origin.
	CORSOrigins []string
	// Tracing, when true, starts an OpenTelemetry server span per request
	// (continuing a caller's W3C traceparent) from the global TracerProvider,
	// named by method and route pattern, never by the raw path: asset ids
	// stay out of span names. False (the default) adds nothing.
	Tracing bool
}

// ErrConfig is returned (wrapped) by New and NewServer for a Config they
// cannot serve.
var ErrConfig = errors.New("gateway: invalid config")

// withDefaults checks cfg and returns it with every field left zero set to
// its default: the one place the gateway's defaults are applied. Errors:
// ErrConfig when cfg.Model or cfg.States is nil.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Model == nil || cfg.States == nil {
		return cfg, fmt.Errorf("%w: Model and States are required", ErrConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = twin.DefaultMaxPageSize
	}
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = twin.DefaultStoreTimeout
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.BodyReadTimeout == 0 {
		cfg.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	return cfg, nil
}

// New returns the gateway's handler:
//
//	/graphql                 cfg.GraphQL (all methods, WebSocket, SSE)
//	GET /                    the GraphiQL page; its bundle under /assets/
//	GET /healthz             200 while the process serves
//	GET /readyz              200 when cfg.Ready succeeds ("ready model=VERSION@HASH"), else 503 with the reason
//	/metrics                 cfg.Metrics
//	GET /twin/{id}           current state in the seed's REST shape
//	GET /twin/{id}/history   one downsampled series
//	GET /twin/{id}/events    a page of business events
//	GET /openapi.json        the OpenAPI 3.1 document of the REST endpoints
//
// Asset ids contain "/": REST takes them URL-escaped
// (/twin/plant%2Fjkt1%2Fpackaging%2Fline3) or as the path tail
// (/twin/plant/jkt1/packaging/line3/history). Fields left zero take the
// package defaults (Default*). Errors: ErrConfig when cfg.Model or
// cfg.States is nil.
func New(cfg Config) (http.Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.States, cfg.History, cfg.Events = twin.ServingStores(cfg.States, cfg.History, cfg.Events, cfg.StoreTimeout, cfg.Model)
	g := &gateway{cfg: cfg, log: cfg.Logger}
	mux := http.NewServeMux()

	graphql := cfg.GraphQL
	if graphql == nil {
		graphql = unavailable("GraphQL is not configured")
	}
	if cfg.ShareQueries {
		var shared prometheus.Counter
		if cfg.Registerer != nil {
			shared = register(g, prometheus.NewCounter(prometheus.CounterOpts{
				Name: "twingraph_graphql_shared_responses_total",
				Help: "GraphQL responses served from an identical query's execution in flight.",
			}))
		}
		// Inside authorization: a caller shares only what its own credentials were checked for.
		graphql = shareQueries(graphql, shared)
	}
	twinHandler := http.Handler(http.HandlerFunc(g.twin))
	if cfg.Auth != nil {
		// Browsers cannot set headers on a WebSocket upgrade: GraphQL
		// authenticates those by their connection_init payload.
		graphql = auth.Middleware{Verifier: cfg.Auth, Deny: graphqlDeny, DeferWebSocket: true}.Wrap(graphql)
		twinHandler = auth.Middleware{Verifier: cfg.Auth, Deny: g.restDeny}.Wrap(twinHandler)
	}
	mux.Handle("/graphql", g.named(graphqlMethods(graphql)))
	// Every method reaches the page handler, which answers 405 itself:
	// "GET /" would conflict with the method-less "/graphql".
	mux.Handle("/", g.named(web.Handler()))
	mux.Handle("GET /healthz", g.named(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte("ok\n"))
	})))
	mux.Handle("GET /readyz", g.named(http.HandlerFunc(g.readyz)))
	if cfg.Metrics != nil {
		mux.Handle("/metrics", g.named(cfg.Metrics))
	}
	mux.Handle("/twin/", g.named(twinHandler))
	mux.Handle("GET /openapi.json", g.named(http.HandlerFunc(serveOpenAPI)))

	h := withOrigins(cfg.CORSOrigins, limitBody(cfg.MaxBodyBytes, cfg.BodyReadTimeout, g.instrument(mux)))
	if cfg.Tracing {
		// The span encloses the whole request; named handlers rename it
		// once the route is known.
		h = otelhttp.NewHandler(h, "http.server", otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return r.Method
		}))
	}
	return h, nil
}

// NewServer returns an http.Server serving New(cfg), with the header read
// and idle timeouts of cfg. Errors: those of New.
func NewServer(cfg Config) (*http.Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h, err := New(cfg)
	if err != nil {
		return nil, err
	}
	// A negative timeout is none, which http.Server spells 0.
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: max(cfg.ReadHeaderTimeout, 0),
		IdleTimeout:       max(cfg.IdleTimeout, 0),
	}, nil
}

// named renames the request's span after its route once next has served:
// the REST handler's refined route if it set one, else the mux pattern.
// Span names are never raw paths, so asset ids stay out of them. Without
// tracing it returns next unchanged.
func (g *gateway) named(next http.Handler) http.Handler {
	if !g.cfg.Tracing {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		route := r.Pattern
		if p, ok := r.Context().Value(routeKey{}).(*string); ok && *p != "" {
			route = *p
		}
		name := route
		if i := strings.IndexByte(route, ' '); i >= 0 { // the pattern names its method
			route = route[i+1:]
		} else {
			name = r.Method + " " + route
		}
		span := trace.SpanFromContext(r.Context())
		span.SetName(name)
		span.SetAttributes(attribute.String("http.route", route))
	})
}

// gateway holds what the handlers share.
type gateway struct {
	cfg Config
	log *slog.Logger
}

func (g *gateway) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if g.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
		err := g.cfg.Ready(ctx)
		cancel()
		if err != nil {
			g.log.Warn("not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
	}
	// The model's version and content hash: after a model reload, which
	// replicas serve the new model.
	if st, ok := g.cfg.Model.(interface{ Stamp() string }); ok {
		w.Write([]byte("ready model=" + st.Stamp() + "\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

// unavailable answers 503 for a part the process was started without.
// graphqlMethods answers methods GraphQL has no transport for (GET, POST and
// the WebSocket upgrade, which is a GET, do) with a GraphQL-shaped error that
// carries a code, like every other error of the API.
func graphqlMethods(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodPost, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		fmt.Fprintf(w, `{"errors":[{"message":"method %s is not supported: use POST, GET or a WebSocket","extensions":{"code":%q}}],"data":null}`+"\n",
			r.Method, twin.EBADINPUT)
	})
}

// graphqlDeny answers a GraphQL request without a valid token: 401 with a
// GraphQL-shaped FORBIDDEN error, or 503 UNAVAILABLE (see denial).
func graphqlDeny(w http.ResponseWriter, r *http.Request, err error) {
	code, status := denial(err)
	body, _ := json.Marshal(map[string]any{
		"errors": []map[string]any{{"message": twin.ErrorMessage(err), "extensions": map[string]string{"code": code}}},
		"data":   nil,
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// restDeny answers a REST request without a valid token: 401 FORBIDDEN, or
// 503 UNAVAILABLE when the credential could not be checked.
func (g *gateway) restDeny(w http.ResponseWriter, r *http.Request, err error) {
	_, status := denial(err)
	g.writeError(w, r, err, status)
}

// denial is the code and status of a refused credential: 503 UNAVAILABLE
// when it could not be checked (the API-key store is unreachable), so the
// client retries instead of discarding its key; 401 FORBIDDEN otherwise.
func denial(err error) (code string, status int) {
	if twin.ErrorCode(err) == twin.EUNAVAILABLE {
		return twin.EUNAVAILABLE, http.StatusServiceUnavailable
	}
	return twin.EFORBIDDEN, http.StatusUnauthorized
}

func unavailable(msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, msg, http.StatusServiceUnavailable)
	})
}
