package resolvers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	twin "github.com/twingraph/twingraph"
)

// sseTransport serves GraphQL over Server-Sent Events in graphql-sse's
// "distinct connections" mode: the operation comes as a POST JSON body or,
// so a browser's EventSource can subscribe, as GET parameters (query,
// variables, operationName, extensions). Each result is an `event: next`
// whose `id:` is the event's cursor when it has one; a reconnect carrying
// Last-Event-ID resumes after that cursor, as if `after` were given, so an
// EventSource misses nothing across a dropped connection. The stream ends
// with `event: complete`. gqlgen's own SSE transport takes POST only and
// sends no ids.
type sseTransport struct {
	// keepAlive is the period of ": ping" comment lines.
	keepAlive time.Duration
}

var _ graphql.Transport = sseTransport{}

// isSSE reports whether r asks for an SSE stream: GET, or POST with a JSON
// body, accepting text/event-stream.
func isSSE(r *http.Request) bool {
	if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		return false
	}
	switch r.Method {
	case http.MethodGet:
		return true
	case http.MethodPost:
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		return err == nil && mt == "application/json"
	}
	return false
}

func (sseTransport) Supports(r *http.Request) bool { return isSSE(r) }

func (t sseTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	params, err := sseParams(r)
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(&graphql.Response{Errors: gqlerror.List{{
			Message: err.Error(), Extensions: map[string]any{"code": twin.EBADINPUT},
		}}})
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	ctx, cursors := withCursorLog(r.Context())
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		ctx = context.WithValue(ctx, lastEventIDKey{}, id)
	}
	rc, opErr := exec.CreateOperationContext(ctx, params)
	if opErr == nil && r.Method == http.MethodGet && rc.Operation != nil && rc.Operation.Operation == ast.Mutation {
		// A GET must not change anything: any page can make a browser send one.
		opErr = gqlerror.List{{Message: "mutations need POST", Extensions: map[string]any{"code": twin.EBADINPUT}}}
	}
	ctx = graphql.WithOperationContext(ctx, rc)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // proxies such as nginx must not buffer a stream
	s := &sseStream{w: w, rc: http.NewResponseController(w)}
	w.WriteHeader(http.StatusOK)
	s.write(":\n\n")

	if t.keepAlive > 0 {
		tick := time.NewTicker(t.keepAlive)
		defer tick.Stop()
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					s.write(": ping\n\n")
				}
			}
		}()
	}

	if opErr != nil {
		s.next(exec.DispatchError(ctx, opErr), "")
	} else {
		responses, dctx := exec.DispatchOperation(ctx, rc)
		for resp := responses(dctx); resp != nil; resp = responses(dctx) {
			if !s.next(resp, cursors.pop()) {
				return
			}
		}
	}
	// EventSource dispatches no event without a data line.
	s.write("event: complete\ndata:\n\n")
}

// sseParams reads the operation from a POST body or GET parameters.
func sseParams(r *http.Request) (*graphql.RawParams, error) {
	p := &graphql.RawParams{}
	if r.Method == http.MethodPost {
		if err := jsonDecode(r.Body, p); err != nil {
			return nil, fmt.Errorf("the request body is not a JSON GraphQL request: %v", err)
		}
		return p, nil
	}
	q := r.URL.Query()
	p.Query, p.OperationName = q.Get("query"), q.Get("operationName")
	for name, v := range map[string]*map[string]any{"variables": &p.Variables, "extensions": &p.Extensions} {
		if s := q.Get(name); s != "" {
			if err := jsonDecode(strings.NewReader(s), v); err != nil {
				return nil, fmt.Errorf("%s: not a JSON object: %v", name, err)
			}
		}
	}
	return p, nil
}

func jsonDecode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return dec.Decode(v)
}

// sseStream writes whole events; the keepalive goroutine writes too.
type sseStream struct {
	mu sync.Mutex
	w  io.Writer
	rc *http.ResponseController
}

// write sends s and flushes it, reporting whether the client still reads.
func (s *sseStream) write(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.WriteString(s.w, text); err != nil {
		return false
	}
	return s.rc.Flush() == nil
}

// next sends one result, with id as its event id when not "".
func (s *sseStream) next(resp *graphql.Response, id string) bool {
	b, err := json.Marshal(resp)
	if err != nil {
		b = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`)
	}
	var sb strings.Builder
	sb.WriteString("event: next\n")
	if id != "" {
		sb.WriteString("id: " + id + "\n")
	}
	sb.WriteString("data: ")
	sb.Write(b)
	sb.WriteString("\n\n")
	return s.write(sb.String())
}

// lastEventIDKey carries an SSE request's Last-Event-ID header.
type lastEventIDKey struct{}

// resumeAfter is the cursor an event subscription resumes after: an SSE
// reconnect's Last-Event-ID (the last event the client got, so newer than
// the `after` of its original request) or else the `after` argument.
func resumeAfter(ctx context.Context, after *string) *string {
	if id, ok := ctx.Value(lastEventIDKey{}).(string); ok {
		return &id
	}
	return after
}

// cursorLog hands an SSE stream the cursor of each event an event
// subscription sends, in order: the subscription pushes one just before it
// hands the event over, and the stream pops one per result it writes.
// Results and pushes pair up because the subscription's channel is
// unbuffered; subscriptions without cursors (assetState) push nothing.
type cursorLog struct {
	mu  sync.Mutex
	ids []string
}

type cursorLogKey struct{}

func withCursorLog(ctx context.Context) (context.Context, *cursorLog) {
	l := &cursorLog{}
	return context.WithValue(ctx, cursorLogKey{}, l), l
}

// noteCursor records the cursor of the event about to be sent, when the
// subscription runs over SSE.
func noteCursor(ctx context.Context, cursor string) {
	if l, ok := ctx.Value(cursorLogKey{}).(*cursorLog); ok {
		l.mu.Lock()
		l.ids = append(l.ids, cursor)
		l.mu.Unlock()
	}
}

func (l *cursorLog) pop() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ids) == 0 {
		return ""
	}
	id := l.ids[0]
	l.ids = l.ids[1:]
	return id
}

// multipartRefusal answers Apollo Client's multipart subscriptions
// (Accept: multipart/mixed;subscriptionSpec=...) with 406 and an error
// naming the transports that do carry subscriptions, instead of letting
// them fall through to plain POST.
type multipartRefusal struct{}

func (multipartRefusal) Supports(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "multipart/mixed") && strings.Contains(a, "subscriptionSpec")
}

func (multipartRefusal) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotAcceptable)
	json.NewEncoder(w).Encode(&graphql.Response{Errors: gqlerror.List{{
		Message: "multipart subscriptions (Accept: multipart/mixed) are not supported: subscribe over " +
			"WebSocket (graphql-transport-ws or graphql-ws) or SSE (Accept: text/event-stream, GET or POST)",
		Extensions: map[string]any{"code": twin.EBADINPUT},
	}}})
}
