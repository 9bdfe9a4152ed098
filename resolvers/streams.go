package resolvers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	twin "github.com/twingraph/twingraph"
)

// slots counts what is held against a cap; a cap <= 0 is none.
type slots struct {
	max int64
	n   atomic.Int64
}

// acquire takes a slot, or reports false when all are held.
func (s *slots) acquire() bool {
	if s.n.Add(1) > s.max && s.max > 0 {
		s.n.Add(-1)
		return false
	}
	return true
}

func (s *slots) release() { s.n.Add(-1) }

// streamKey marks the context of a WebSocket or SSE request with its
// protocol ("websocket" or "sse").
type streamKey struct{}

// connSlotsKey carries a WebSocket connection's subscription slots.
type connSlotsKey struct{}

// withConnectionSlots wraps a WebSocket init function so that every
// connection gets its own subscription count.
func withConnectionSlots(max int, next transport.WebsocketInitFunc) transport.WebsocketInitFunc {
	return func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		ctx = context.WithValue(ctx, connSlotsKey{}, &slots{max: int64(max)})
		if next == nil {
			return ctx, nil, nil
		}
		return next(ctx, p)
	}
}

// subscriptionCaps refuses (LIMIT) a subscription past the per-connection
// or per-gateway cap: each live subscription holds goroutines and a
// fan-out buffer, so one client could otherwise exhaust the gateway.
func subscriptionCaps(perConn int, gateway *slots, m *metrics) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		if op := graphql.GetOperationContext(ctx).Operation; op == nil || op.Operation != ast.Subscription {
			return next(ctx)
		}
		protocol := protocolOf(ctx)
		if protocol == "" {
			// A plain POST or GET would block until the first event, and
			// hold its connection for as long, outside the stream cap.
			err := gqlerror.Errorf("subscriptions need a WebSocket or SSE (Accept: text/event-stream)")
			err.Extensions = map[string]any{"code": twin.EBADINPUT}
			return refuse(err)
		}
		conn, _ := ctx.Value(connSlotsKey{}).(*slots)
		if conn != nil && !conn.acquire() {
			return refuse(limitError("subscriptionsPerConnection", perConn,
				"this connection already has %d subscriptions, the most it may have", perConn))
		}
		if !gateway.acquire() {
			if conn != nil {
				conn.release()
			}
			return refuse(limitError("subscriptions", int(gateway.max),
				"the gateway serves %d subscriptions, the most it may", gateway.max))
		}
		active := m.subscriptions.WithLabelValues(protocol)
		active.Inc()
		// The transport cancels a subscription's context when it ends.
		context.AfterFunc(ctx, func() {
			active.Dec()
			gateway.release()
			if conn != nil {
				conn.release()
			}
		})
		return next(ctx)
	}
}

// refuse answers an operation with err alone (OneShot, as the WebSocket
// transport requires of an interceptor that does not call next).
func refuse(err *gqlerror.Error) graphql.ResponseHandler {
	return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{err}})
}

// limitStreams answers 503 LIMIT to a WebSocket upgrade or an SSE request
// when the gateway already holds max of them open: each holds a
// connection, goroutines and buffers for as long as the client likes.
// It marks stream requests in their context with their protocol, so
// subscriptions can refuse every other transport, and measures them.
func limitStreams(max int, m *metrics, next http.Handler) http.Handler {
	open := &slots{max: int64(max)}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protocol := streamProtocol(r)
		if protocol == "" {
			next.ServeHTTP(w, r)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), streamKey{}, protocol))
		if !open.acquire() {
			body, _ := json.Marshal(map[string]any{
				"errors": []any{limitError("streams", max, "the gateway holds %d WebSocket and SSE streams open, the most it may", max)},
				"data":   nil,
			})
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "10")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write(append(body, '\n'))
			return
		}
		defer open.release()
		defer m.streamOpened(protocol)()
		next.ServeHTTP(w, r)
	})
}

// streamProtocol names the stream r opens: "websocket", "sse", or "" for
// a plain request.
func streamProtocol(r *http.Request) string {
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return "websocket"
	}
	if isSSE(r) {
		return "sse"
	}
	return ""
}
