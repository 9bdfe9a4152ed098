package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth"
	"github.com/twingraph/twingraph/internal/fanout"
)

// joinAnytime are the subscription fields whose stream does not depend on
// when the subscriber joined: from the moment it subscribes it gets every
// live event that matches, nothing before. Identical subscriptions of them
// can share one execution. Not assetState: it sends the asset's current
// state first, which a later joiner would miss. Not any field given an
// `after` cursor (see liveOnly): it replays from the event store first.
var joinAnytime = map[string]bool{
	"modeChanged": true,
	"twinEvents":  true,
}

// sharingWebsocket is the WebSocket transport with identical live
// subscriptions sharing one execution: a wall of screens subscribed to the
// same mode changes costs one execution of the selection set per event,
// whose response is written to every one of them, instead of one execution
// per screen. Parsing, validation, the document limits and complexity
// still run per subscription (CreateOperationContext), with their own
// errors. Only WebSocket: an SSE stream keeps per-stream cursor
// bookkeeping (noteCursor) the shared execution cannot serve.
type sharingWebsocket struct {
	transport.Websocket
	share *subscriptionShare
}

var _ graphql.Transport = sharingWebsocket{}

// Do serves the connection with exec wrapped so that its subscriptions may share.
func (t sharingWebsocket) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	t.Websocket.Do(w, r, sharingExecutor{GraphExecutor: exec, share: t.share})
}

// sharingExecutor is the executor a WebSocket connection sees: it runs a
// shareable subscription as a member of its group, and everything else as
// the wrapped executor does.
type sharingExecutor struct {
	graphql.GraphExecutor
	share *subscriptionShare
}

// DispatchOperation joins rc to the group of identical live subscriptions
// (starting it when there is none) when rc may share; otherwise it
// dispatches rc alone.
func (e sharingExecutor) DispatchOperation(ctx context.Context, rc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	key, ok := e.share.keyOf(ctx, rc)
	if !ok {
		return e.GraphExecutor.DispatchOperation(ctx, rc)
	}
	return e.share.join(ctx, key, rc, e.GraphExecutor)
}

// groupExecutionKey marks the context of a group's own execution: the
// per-subscription accounting (perSubscription) ran for each member
// already, so the execution must not count again.
type groupExecutionKey struct{}

// inGroupExecution reports whether ctx is that of a group's shared execution.
func inGroupExecution(ctx context.Context) bool { return ctx.Value(groupExecutionKey{}) != nil }

// perSubscription wraps operation middleware that accounts for each
// subscription (caps, gauges, counters) so that it skips a group's shared
// execution: the sharing executor runs it for every member instead.
func perSubscription(mw graphql.OperationMiddleware) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		if inGroupExecution(ctx) {
			return next(ctx)
		}
		return mw(ctx, next)
	}
}

// subscriptionShare holds the groups of identical live subscriptions.
type subscriptionShare struct {
	model  twin.Model
	authOn bool // authorization is on: a caller without a Principal shares nothing
	buffer int  // responses a member may fall behind before it is dropped
	// perMember is the accounting each subscription gets (the same
	// middleware the executor runs, registered with perSubscription).
	perMember []graphql.OperationMiddleware
	met       *metrics
	onDrop    func() // Config.OnSlowSubscriber, may be nil
	logger    *slog.Logger
	dropped   atomic.Int64

	mu     sync.Mutex
	groups map[shareKey]*subscriptionGroup
}

// shareKey is what two subscriptions must have in common to share.
type shareKey struct {
	// op is the document, the operation name, the variables as canonical
	// JSON and the caller's visibility.
	op string
	// model is the model in service when the group started (a reload
	// resolves `under` afresh, so later subscribers start a new group);
	// nil for a model type that cannot be a map key.
	model twin.Model
}

// subscriptionGroup is one execution serving its members.
type subscriptionGroup struct {
	out    *fanout.Fanout[*graphql.Response]
	cancel context.CancelFunc // ends the execution
}

func newSubscriptionShare(cfg Config, perMember []graphql.OperationMiddleware, met *metrics) *subscriptionShare {
	buffer := cfg.SubscriberBuffer
	if buffer <= 0 {
		buffer = DefaultSubscriberBuffer
	}
	return &subscriptionShare{
		model: cfg.Model, authOn: cfg.Auth != nil, buffer: buffer,
		perMember: perMember, met: met, onDrop: cfg.OnSlowSubscriber, logger: cfg.Logger,
		groups: map[shareKey]*subscriptionGroup{},
	}
}

// Dropped returns how many slow members have been dropped so far.
func (s *subscriptionShare) Dropped() int64 { return s.dropped.Load() }

// keyOf returns the key rc shares under, or false when it must execute
// alone: not a subscription of a joinAnytime field without a cursor, or
// a caller whose visibility is unknown.
func (s *subscriptionShare) keyOf(ctx context.Context, rc *graphql.OperationContext) (shareKey, bool) {
	if rc == nil || rc.Operation == nil || rc.Operation.Operation != ast.Subscription {
		return shareKey{}, false
	}
	if !liveOnly(rc) {
		return shareKey{}, false
	}
	vis, ok := s.visibility(ctx)
	if !ok {
		return shareKey{}, false
	}
	vars, err := json.Marshal(rc.Variables) // map keys sorted: canonical
	if err != nil {
		return shareKey{}, false
	}
	op := strings.Join([]string{rc.RawQuery, rc.OperationName, string(vars), vis}, "\x00")
	return shareKey{op: op, model: s.snapshot()}, true
}

// liveOnly reports whether rc subscribes to one joinAnytime field without an
// `after` cursor.
func liveOnly(rc *graphql.OperationContext) bool {
	fields := graphql.CollectFields(rc, rc.Operation.SelectionSet, []string{"Subscription"})
	if len(fields) != 1 || !joinAnytime[fields[0].Name] {
		return false
	}
	return fields[0].ArgumentMap(rc.Variables)["after"] == nil
}

// visibility names what the caller may see: two callers share only if they
// would see exactly the same events. "*" is everything (authorization off,
// or an unscoped Principal); a scope is its roots as written. False when
// authorization is on and the caller has no Principal: it executes alone
// and gets its own refusal.
func (s *subscriptionShare) visibility(ctx context.Context) (string, bool) {
	if !s.authOn {
		return "*", true
	}
	p := auth.FromContext(ctx)
	if p == nil {
		return "", false
	}
	if p.All() {
		return "*", true
	}
	b, err := json.Marshal(p.Scope)
	return string(b), err == nil
}

// snapshot returns the model in service, or nil when it cannot be a map
// key (a model type that is not comparable).
func (s *subscriptionShare) snapshot() twin.Model {
	m := twin.Snapshot(s.model)
	if m == nil || !reflect.TypeOf(m).Comparable() {
		return nil
	}
	return m
}

// join runs the per-subscription accounting for the member whose context
// is ctx, then makes it a member of key's group, starting the group when
// there is none. The member's responses are the group's from now on, until
// its own context ends (the client stops it, the connection closes, its
// token expires or API key is revoked), it falls behind (it is dropped and
// its stream completes, as a slow subscriber's does), or the group's
// execution ends (every member completes).
func (s *subscriptionShare) join(ctx context.Context, key shareKey, rc *graphql.OperationContext, exec graphql.GraphExecutor) (graphql.ResponseHandler, context.Context) {
	memberCtx := ctx // as the accounting passes it on; ctx itself when it refuses
	next := func(ctx context.Context) graphql.ResponseHandler {
		memberCtx = ctx
		return s.member(ctx, key, rc, exec)
	}
	for i := len(s.perMember) - 1; i >= 0; i-- {
		mw, inner := s.perMember[i], next
		next = func(ctx context.Context) graphql.ResponseHandler { return mw(ctx, inner) }
	}
	responses := next(ctx)
	return responses, memberCtx
}

// member subscribes ctx's subscription to key's group.
func (s *subscriptionShare) member(ctx context.Context, key shareKey, rc *graphql.OperationContext, exec graphql.GraphExecutor) graphql.ResponseHandler {
	s.mu.Lock()
	g, start := s.groups[key], func() {}
	if g == nil {
		g, start = s.startLocked(ctx, key, rc, exec)
	}
	in := g.out.SubscribeBuffer(ctx, nil, s.buffer)
	s.mu.Unlock()
	start() // once the first member is in, so it misses no response

	s.met.groupMembers.Inc()
	// The transport cancels a subscription's context when it ends.
	context.AfterFunc(ctx, s.met.groupMembers.Dec)
	messages := s.met.messages.WithLabelValues(protocolOf(ctx))
	return func(ctx context.Context) *graphql.Response {
		select {
		case resp, ok := <-in:
			if !ok {
				return nil
			}
			// Counted per member, as each subscription's own execution would.
			messages.Inc()
			for _, err := range resp.Errors {
				code, _ := err.Extensions["code"].(string)
				s.met.errors.WithLabelValues(code).Inc()
			}
			return resp
		case <-ctx.Done():
			return nil
		}
	}
}

// startLocked starts key's group with the execution of rc; s.mu must be
// held. The execution's context keeps the first member's values (its
// caller, who sees what every member sees) but not its cancellation: it
// ends when the last member leaves. It returns the group and the function
// that starts handing out its responses.
func (s *subscriptionShare) startLocked(ctx context.Context, key shareKey, rc *graphql.OperationContext, exec graphql.GraphExecutor) (*subscriptionGroup, func()) {
	gctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	gctx = context.WithValue(gctx, groupExecutionKey{}, true)
	g := &subscriptionGroup{out: fanout.New[*graphql.Response](s.buffer), cancel: cancel}
	g.out.OnDrop = func() {
		s.dropped.Add(1)
		if s.onDrop != nil {
			s.onDrop()
		}
		if s.logger != nil {
			s.logger.Warn("slow subscriber dropped", "buffer", s.buffer)
		}
	}
	g.out.OnLeave = func(remaining int) {
		if remaining == 0 {
			s.endIfIdle(key, g)
		}
	}
	responses, rctx := exec.DispatchOperation(gctx, rc)
	s.groups[key] = g
	s.met.groups.Inc()
	return g, func() { go s.pump(key, g, responses, rctx) }
}

// pump hands each response of g's execution to every member without
// waiting for any (a member whose buffer is full is dropped), until the
// execution ends; then every member's stream completes.
func (s *subscriptionShare) pump(key shareKey, g *subscriptionGroup, responses graphql.ResponseHandler, ctx context.Context) {
	defer s.met.groups.Dec()
	defer g.cancel()
	for {
		resp := responses(ctx)
		if resp == nil {
			break
		}
		// The generated executor encodes every message into one buffer,
		// rewritten by the next: members still writing this one keep a copy.
		own := *resp
		own.Data = bytes.Clone(resp.Data)
		resp = &own
		if len(resp.Errors) > 0 {
			// Perhaps the execution's refusal (an unknown asset, a draining
			// gateway), followed by its end: a later subscriber executes
			// afresh and gets its own answer instead of a bare complete.
			s.close(key, g)
		}
		if g.out.Publish([]*graphql.Response{resp}) == 0 {
			s.endIfIdle(key, g) // every member was dropped
		}
	}
	s.close(key, g)
	g.out.CloseAll()
}

// close takes g out of the groups: it serves the members it has, and no new one.
func (s *subscriptionShare) close(key shareKey, g *subscriptionGroup) {
	s.mu.Lock()
	if s.groups[key] == g {
		delete(s.groups, key)
	}
	s.mu.Unlock()
}

// endIfIdle ends g's execution when it has no member left.
func (s *subscriptionShare) endIfIdle(key shareKey, g *subscriptionGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.out.Len() > 0 {
		return // a subscriber joined meanwhile
	}
	if s.groups[key] == g {
		delete(s.groups, key)
	}
	g.cancel()
}
