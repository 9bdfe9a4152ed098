package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
)

// shareQueries lets identical GraphQL queries that arrive while one of them
// is executing share that execution's response: a wall of control-room
// screens polling the same plant query costs one execution per round
// instead of one per screen, and a burst of them cannot queue up behind
// each other. Identical means the same body, URL query and credentials
// (Authorization, X-API-Key: what decides the caller's scope) and the same
// Accept and Content-Type headers (the transport and the response's media
// type follow them). Nothing is kept
// after the execution ends, so an answer is never older than the moment
// its request arrived by more than one execution. Only plain POST queries
// take part: streams (SSE, multipart) and WebSocket upgrades pass through.
func shareQueries(next http.Handler, shared prometheus.Counter) http.Handler {
	var flights singleflight.Group
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !shareable(r) {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			// Too large or too slow: let the GraphQL handler answer it as before.
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
			next.ServeHTTP(w, r)
			return
		}
		key := strings.Join([]string{r.Header.Get("Authorization"), r.Header.Get("X-API-Key"),
			r.Header.Get("Accept"), r.Header.Get("Content-Type"), r.URL.RawQuery, string(body)}, "\x00")
		led := false
		v, _, _ := flights.Do(key, func() (any, error) {
			led = true
			rec := &recorded{header: http.Header{}, status: http.StatusOK}
			// The execution serves every waiter: one leaving early must not cancel it.
			lr := r.Clone(context.WithoutCancel(r.Context()))
			lr.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(rec, lr)
			return rec, nil
		})
		if !led && shared != nil {
			shared.Inc()
		}
		v.(*recorded).replay(w)
	})
}

// shareable reports whether r is a plain POST query whose response can be
// shared: not a stream, not an upgrade.
func shareable(r *http.Request) bool {
	if r.Method != http.MethodPost || r.Header.Get("Upgrade") != "" {
		return false
	}
	accept := r.Header.Get("Accept")
	return !strings.Contains(accept, "text/event-stream") && !strings.Contains(accept, "multipart/")
}

// recorded is a response kept to be written to every request that shared it.
type recorded struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (rec *recorded) Header() http.Header { return rec.header }

func (rec *recorded) WriteHeader(status int) {
	if !rec.wrote {
		rec.status, rec.wrote = status, true
	}
}

func (rec *recorded) Write(p []byte) (int, error) {
	rec.WriteHeader(http.StatusOK)
	return rec.body.Write(p)
}

// replay writes the response to w.
func (rec *recorded) replay(w http.ResponseWriter) {
	h := w.Header()
	for k, vs := range rec.header {
		h[k] = append([]string(nil), vs...)
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes())
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
