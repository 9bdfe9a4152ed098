package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/promreg"
)

// routeKey carries the *route label of a request, so the REST handler can
// refine "/twin/" into "/twin/{id}/history" once it has resolved the id.
type routeKey struct{}

// setRoute names the route of the request for metrics and logs.
func setRoute(ctx context.Context, route string) {
	if p, ok := ctx.Value(routeKey{}).(*string); ok {
		*p = route
	}
}

// register registers c with the gateway's Registerer and returns it, or the
// collector already registered under its name (a second gateway in one
// process shares it), or nil when it cannot be registered.
func register[C prometheus.Collector](g *gateway, c C) C {
	c, err := promreg.Register(g.cfg.Registerer, c)
	if err != nil {
		g.log.Error("register metrics", "err", err)
	}
	return c
}

// instrument logs every request at info level (probes and scrapes at
// debug) and, with a Registerer,
// observes its duration by route (streams excepted). Routes are the mux patterns (a bounded
// set), never raw paths: asset ids would blow up the label cardinality.
func (g *gateway) instrument(mux *http.ServeMux) http.Handler {
	var hist *prometheus.HistogramVec
	if g.cfg.Registerer != nil {
		hist = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "twingraph_http_request_duration_seconds",
			Help:    "Duration of HTTP requests served by the gateway, by route, method and status code.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "code"})
		hist = register(g, hist)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := ""
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, &route))
		rec := &recorder{ResponseWriter: w, code: http.StatusOK}
		mux.ServeHTTP(rec, r)
		if route == "" {
			_, route = mux.Handler(r)
			if route == "" {
				route = "other"
			}
		}
		// One style of label: the path pattern alone ("GET /healthz" is
		// "/healthz"), the method has its own label.
		if i := strings.IndexByte(route, ' '); i >= 0 {
			route = route[i+1:]
		}
		d := time.Since(start)
		method := r.Method
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodOptions:
		default:
			method = "other" // bounded label values
		}
		code := strconv.Itoa(rec.code)
		if rec.hijacked {
			code = "101"
		}
		// A WebSocket or SSE stream lasts as long as its client likes: it
		// would swamp the latencies (the GraphQL handler measures streams).
		stream := rec.hijacked || strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream")
		if hist != nil && !stream {
			hist.WithLabelValues(route, method, code).Observe(d.Seconds())
		}
		// The route, never the path: asset ids stay out of logs too. Probes
		// and scrapes come every few seconds: debug, or they drown the rest.
		level := slog.LevelInfo
		if route == "/healthz" || route == "/readyz" || route == "/metrics" {
			level = slog.LevelDebug
		}
		g.log.Log(r.Context(), level, "http request", "method", method, "route", route, "code", code, "duration", d)
	})
}

// recorder remembers the status code. It passes Flush (SSE) and Hijack
// (WebSocket upgrades) through, and Unwrap for http.ResponseController.
type recorder struct {
	http.ResponseWriter
	code     int
	wrote    bool
	hijacked bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Flush sends buffered data (SSE subscriptions rely on it).
func (r *recorder) Flush() {
	r.wrote = true
	http.NewResponseController(r.ResponseWriter).Flush()
}

// Hijack hands the connection to a WebSocket upgrader.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil {
		r.hijacked = true
	}
	return c, rw, err
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// limitBody reads a request's body before the handlers do, at most max
// bytes (413 LIMIT past it) within timeout (408 past it), then lifts the
// read deadline: a WebSocket or an SSE stream must not inherit it, or the
// server's background read would time out and cancel the stream. Requests
// without a body (every GET, WebSocket upgrades included) pass untouched.
func limitBody(max int64, timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if max > 0 && r.ContentLength > max {
			bodyError(w, http.StatusRequestEntityTooLarge, twin.Errorf(twin.ELIMIT, "the request body is larger than the limit of %d bytes", max))
			return
		}
		rc := http.NewResponseController(w)
		if timeout > 0 {
			_ = rc.SetReadDeadline(time.Now().Add(timeout))
		}
		body := r.Body
		if max > 0 {
			body = http.MaxBytesReader(w, r.Body, max)
		}
		b, err := io.ReadAll(body)
		if timeout > 0 {
			_ = rc.SetReadDeadline(time.Time{})
		}
		var tooLarge *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &tooLarge):
			bodyError(w, http.StatusRequestEntityTooLarge, twin.Errorf(twin.ELIMIT, "the request body is larger than the limit of %d bytes", max))
			return
		case errors.As(err, &ne) && ne.Timeout():
			w.Header().Set("Connection", "close")
			bodyError(w, http.StatusRequestTimeout, twin.Errorf(twin.ELIMIT, "the request body took longer than the limit of %s to arrive", timeout))
			return
		case err != nil:
			bodyError(w, http.StatusBadRequest, twin.Errorf(twin.EBADINPUT, "read the request body: %v", err))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		next.ServeHTTP(w, r)
	})
}

// bodyError answers a refused body with a GraphQL-shaped error (the one
// route with bodies is /graphql).
func bodyError(w http.ResponseWriter, status int, err *twin.Error) {
	body, _ := json.Marshal(map[string]any{
		"errors": []map[string]any{{"message": err.Message, "extensions": map[string]string{"code": err.Code}}},
		"data":   nil,
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
