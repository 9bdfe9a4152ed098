package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/vektah/gqlparser/v2/gqlerror"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth"
	"github.com/twingraph/twingraph/auth/authtest"
	"github.com/twingraph/twingraph/graph"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
)

// sharing sets Config.ShareSubscriptions to on and sends the handler's
// metrics to reg.
func sharing(on bool, reg prometheus.Registerer) envOpt {
	return func(c *resolvers.Config) { c.ShareSubscriptions, c.Registerer = on, reg }
}

// metric sums the samples of the series name whose labels include want;
// 0 when there is none.
func metric(tb testing.TB, reg *prometheus.Registry, name string, want map[string]string) float64 {
	tb.Helper()
	fams, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			for k, v := range want {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == k && l.GetValue() == v }) {
					continue samples
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// subscribeOp subscribes id to query with variables and an operation name.
func (c *wsClient) subscribeOp(id, query string, vars map[string]any, opName string) {
	c.tb.Helper()
	p, _ := json.Marshal(map[string]any{"query": query, "variables": vars, "operationName": opName})
	c.send(wsMsg{ID: id, Type: "subscribe", Payload: p})
}

// collect reads until every id of ids has n data messages and returns
// each id's messages' payloads in order.
func (c *wsClient) collect(ids []string, n int) map[string][]json.RawMessage {
	c.tb.Helper()
	got := map[string][]json.RawMessage{}
	done := 0
	for done < len(ids) {
		m := c.read()
		if m.Type != "next" || !slices.Contains(ids, m.ID) {
			c.tb.Fatalf("got %s %s %s, want data for %v", m.Type, m.ID, m.Payload, ids)
		}
		got[m.ID] = append(got[m.ID], m.Payload)
		if len(got[m.ID]) == n {
			done++
		}
	}
	return got
}

var websocketLabel = map[string]string{"protocol": "websocket"}

// TestShareSubscriptions_OneExecutionPerEvent: identical modeChanged
// subscribers each get every event exactly once and in order, from one
// execution per event; each is still counted as a subscription of its
// own. With sharing off, each executes every event.
func TestShareSubscriptions_OneExecutionPerEvent(t *testing.T) {
	const q = `subscription { modeChanged { cursor asset toMode assetNode { id } } }`
	const conns, events = 4, 10
	const subscribers = conns + 1 // the last connection subscribes twice
	for _, tc := range []struct {
		name                     string
		share                    bool
		executions, hub, members int
	}{
		{"shared", true, events, 1, subscribers},
		{"sharing off", false, subscribers * events, subscribers, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			e := newEnv(t, testmodel.Demo(t), sharing(tc.share, reg))
			srv := httptest.NewServer(e.h)
			defer srv.Close()
			var cs []*wsClient
			for range conns {
				c := dialWS(t, srv, "graphql-transport-ws")
				c.subscribe("1", q)
				cs = append(cs, c)
			}
			cs[conns-1].subscribe("2", q)
			waitFor(t, "every subscription in place", func() bool {
				return resolvers.HubSubscribersForTest(e.h) == tc.hub &&
					metric(t, reg, "twingraph_subscription_group_members", nil) == float64(tc.members) &&
					metric(t, reg, "twingraph_subscriptions_active", websocketLabel) == subscribers
			})

			var evs []twin.Event
			for i := range events {
				evs = append(evs, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now.Add(time.Duration(i)*time.Second), 1))
			}
			stored := e.appendAndPublish(t, evs...)
			for i, c := range cs {
				ids := []string{"1"}
				if i == conns-1 {
					ids = append(ids, "2")
				}
				for id, msgs := range c.collect(ids, events) {
					for j, p := range msgs {
						var m struct {
							Data modeChangedMsg
						}
						if err := json.Unmarshal(p, &m); err != nil {
							t.Fatal(err)
						}
						if want := resolvers.EventCursor(stored[j].Seq); m.Data.ModeChanged.Cursor != want || m.Data.ModeChanged.AssetNode.ID != line3 {
							t.Fatalf("connection %d subscription %s message %d = %s, want cursor %s", i, id, j, p, want)
						}
					}
				}
			}

			for _, m := range []struct {
				name   string
				labels map[string]string
				want   int
			}{
				{"twingraph_subscription_executions_total", websocketLabel, tc.executions},
				{"twingraph_subscription_messages_total", websocketLabel, subscribers * events},
				{"twingraph_subscriptions_active", websocketLabel, subscribers},
				{"twingraph_graphql_operations_total", map[string]string{"type": "subscription"}, subscribers},
				{"twingraph_subscription_group_members", nil, tc.members},
				{"twingraph_subscription_groups", nil, min(tc.members, 1)},
			} {
				if got := metric(t, reg, m.name, m.labels); got != float64(m.want) {
					t.Errorf("%s = %v, want %d", m.name, got, m.want)
				}
			}
		})
	}
}

// TestShareSubscriptions_WhoShares: only subscriptions with the same
// document, operation name and variables share, and never those whose
// stream depends on when they started (after, assetState).
func TestShareSubscriptions_WhoShares(t *testing.T) {
	type sub struct {
		query  string
		vars   map[string]any
		opName string
	}
	const (
		mode     = `subscription { modeChanged { asset } }`
		modeVar  = `subscription($u: ID) { modeChanged(under: $u) { asset } }`
		twoOps   = `subscription A { modeChanged { asset } } subscription B { modeChanged { asset } }`
		events   = `subscription { twinEvents(kinds: [MODE_CHANGED]) { asset } }`
		faults   = `subscription { twinEvents(kinds: [FAULT_RAISED]) { asset } }`
		state    = `subscription { assetState(id: "plant/jkt1/packaging/line3") { mode } }`
		packging = "plant/jkt1/packaging"
	)
	for _, tc := range []struct {
		name                 string
		subs                 []sub
		groups, members, hub int
	}{
		{"identical", []sub{{query: mode}, {query: mode}, {query: mode}}, 1, 3, 1},
		{"identical twinEvents", []sub{{query: events}, {query: events}}, 1, 2, 1},
		{"different under", []sub{
			{query: `subscription { modeChanged(under: "plant/jkt1/packaging") { asset } }`},
			{query: `subscription { modeChanged(under: "plant/jkt1/processing") { asset } }`},
		}, 2, 2, 2},
		{"same variables", []sub{
			{query: modeVar, vars: map[string]any{"u": packging}},
			{query: modeVar, vars: map[string]any{"u": packging}},
		}, 1, 2, 1},
		{"different variables", []sub{
			{query: modeVar, vars: map[string]any{"u": packging}},
			{query: modeVar, vars: map[string]any{"u": line3}},
		}, 2, 2, 2},
		{"different kinds", []sub{{query: events}, {query: faults}}, 2, 2, 2},
		{"different operation", []sub{{query: twoOps, opName: "A"}, {query: twoOps, opName: "B"}}, 2, 2, 2},
		{"different document text", []sub{{query: mode}, {query: mode + " "}}, 2, 2, 2},
		{"after a cursor resumes alone", []sub{
			{query: mode},
			{query: `subscription { modeChanged(after: "` + resolvers.EventCursor(0) + `") { asset } }`},
			{query: `subscription($a: String) { modeChanged(after: $a) { asset } }`, vars: map[string]any{"a": resolvers.EventCursor(0)}},
		}, 1, 1, 3},
		{"a null after is live", []sub{
			{query: `subscription($a: String) { modeChanged(after: $a) { asset } }`, vars: map[string]any{"a": nil}},
			{query: `subscription($a: String) { modeChanged(after: $a) { asset } }`, vars: map[string]any{"a": nil}},
		}, 1, 2, 1},
		{"assetState never shares", []sub{{query: state}, {query: state}}, 0, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			e := newEnv(t, testmodel.Demo(t), sharing(true, reg))
			srv := httptest.NewServer(e.h)
			defer srv.Close()
			for _, s := range tc.subs {
				dialWS(t, srv, "graphql-transport-ws").subscribeOp("1", s.query, s.vars, s.opName)
			}
			waitFor(t, "every subscription in place", func() bool {
				return metric(t, reg, "twingraph_subscriptions_active", websocketLabel) == float64(len(tc.subs)) &&
					resolvers.HubSubscribersForTest(e.h) == tc.hub &&
					metric(t, reg, "twingraph_subscription_group_members", nil) == float64(tc.members)
			})
			if got := metric(t, reg, "twingraph_subscription_groups", nil); got != float64(tc.groups) {
				t.Errorf("%v groups, want %d", got, tc.groups)
			}
		})
	}
}

// TestShareSubscriptions_Scopes: callers share only with callers that see
// exactly the same assets, and each gets only what it may see.
func TestShareSubscriptions_Scopes(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := newAuthEnvWith(t, nil, sharing(true, reg))
	line1 := "plant/jkt1/packaging/line1"
	tokens := []struct{ token, first string }{
		{a.is.HS256(authtest.Claims{Subject: "a", Scope: []string{line3}}), line3},
		{a.is.HS256(authtest.Claims{Subject: "b", Scope: []string{line3}}), line3}, // shares with a
		{a.is.HS256(authtest.Claims{Subject: "c", Scope: []string{line1}}), line1},
		{a.is.HS256(authtest.Claims{Subject: "d", Scope: []string{line1, line3}}), line1},
		{a.is.HS256(authtest.Claims{Subject: "e"}), line1},
		{a.is.RS256(authtest.Claims{Subject: "f"}), line1}, // shares with e
	}
	var cs []*wsClient
	for _, tok := range tokens {
		c, m, err := dialAuthWS(t, a, `{"Authorization":"Bearer `+tok.token+`"}`)
		if err != nil || m.Type != "connection_ack" {
			t.Fatalf("init: %v %v", m, err)
		}
		c.subscribe("1", `subscription { modeChanged { asset } }`)
		cs = append(cs, c)
	}
	waitFor(t, "every subscription in place", func() bool {
		return metric(t, reg, "twingraph_subscription_group_members", nil) == float64(len(tokens))
	})
	if got, hub := metric(t, reg, "twingraph_subscription_groups", nil), resolvers.HubSubscribersForTest(a.h); got != 4 || hub != 4 {
		t.Errorf("%v groups, %d hub subscribers; want 4 and 4", got, hub)
	}
	a.appendAndPublish(t,
		modeChange(line1, twin.ModeIdle, twin.ModeRunning, now, 1),
		modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 1),
	)
	for i, c := range cs {
		var m struct{ ModeChanged struct{ Asset string } }
		c.next("1", &m)
		if m.ModeChanged.Asset != tokens[i].first {
			t.Errorf("caller %d got %s first, want %s", i, m.ModeChanged.Asset, tokens[i].first)
		}
	}
}

// TestShareSubscriptions_TokenExpiryEndsItsMemberOnly: a member's stream
// ends with its own token; the others sharing the execution go on.
func TestShareSubscriptions_TokenExpiryEndsItsMemberOnly(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := newAuthEnvWith(t, []func(*auth.Config){func(c *auth.Config) { c.Skew = -1 }}, sharing(true, reg))
	short := a.is.HS256(authtest.Claims{Expires: time.Now().Add(2 * time.Second)})
	long := a.is.HS256(authtest.Claims{})
	var cs []*wsClient
	for _, tok := range []string{short, long} {
		c, m, err := dialAuthWS(t, a, `{"Authorization":"Bearer `+tok+`"}`)
		if err != nil || m.Type != "connection_ack" {
			t.Fatalf("init: %v %v", m, err)
		}
		c.subscribe("1", `subscription { twinEvents { asset } }`)
		cs = append(cs, c)
	}
	waitFor(t, "both members", func() bool { return metric(t, reg, "twingraph_subscription_group_members", nil) == 2 })
	cs[0].closed(30 * time.Second)
	waitFor(t, "one member left", func() bool { return metric(t, reg, "twingraph_subscription_group_members", nil) == 1 })
	a.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 1))
	var m struct{ TwinEvents struct{ Asset string } }
	cs[1].next("1", &m)
	if m.TwinEvents.Asset != line3 {
		t.Errorf("the remaining member got %+v", m.TwinEvents)
	}
}

// TestShareSubscriptions_MembersLeave: a member leaving (stopping its
// subscription or closing its connection) does not end the others; the
// last one leaving ends the shared execution and its hub subscription.
func TestShareSubscriptions_MembersLeave(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, testmodel.Demo(t), sharing(true, reg))
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	var cs []*wsClient
	for range 3 {
		c := dialWS(t, srv, "graphql-transport-ws")
		c.subscribe("1", modeSub)
		cs = append(cs, c)
	}
	members := func(n float64) func() bool {
		return func() bool {
			return metric(t, reg, "twingraph_subscription_group_members", nil) == n &&
				metric(t, reg, "twingraph_subscriptions_active", websocketLabel) == n
		}
	}
	waitFor(t, "three members", members(3))
	i := 0
	deliver := func(to ...*wsClient) {
		t.Helper()
		i++
		e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now.Add(time.Duration(i)*time.Second), 1))
		for _, c := range to {
			var m struct{ ModeChanged struct{ Asset string } }
			c.next("1", &m)
		}
	}
	deliver(cs...)

	cs[0].send(wsMsg{ID: "1", Type: "complete"}) // the first member, whose context the execution started from
	waitFor(t, "two members", members(2))
	deliver(cs[1], cs[2])

	cs[1].conn.Close()
	waitFor(t, "one member", members(1))
	deliver(cs[2])

	cs[2].send(wsMsg{ID: "1", Type: "complete"})
	waitFor(t, "the execution to end", func() bool {
		return members(0)() && metric(t, reg, "twingraph_subscription_groups", nil) == 0 &&
			resolvers.HubSubscribersForTest(e.h) == 0 && e.bus.Subscribers() == 0
	})
}

// TestShareSubscriptions_Refusal: a shared execution's refusal reaches
// every member, counted per member, and a later subscriber gets its own.
func TestShareSubscriptions_Refusal(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, testmodel.Demo(t), sharing(true, reg))
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	const q = `subscription { modeChanged(under: "no/such") { asset } }`
	refused := func(c *wsClient) {
		t.Helper()
		c.subscribe("1", q)
		m := c.read()
		if m.ID != "1" || !strings.Contains(string(m.Payload), twin.ENOTFOUND) {
			t.Fatalf("got %s %s %s, want NOT_FOUND", m.ID, m.Type, m.Payload)
		}
	}
	for range 3 {
		refused(dialWS(t, srv, "graphql-transport-ws"))
	}
	if got := metric(t, reg, "twingraph_graphql_errors_total", map[string]string{"code": twin.ENOTFOUND}); got != 3 {
		t.Errorf("%v NOT_FOUND errors counted, want 3", got)
	}
	waitFor(t, "no group left", func() bool {
		return metric(t, reg, "twingraph_subscription_groups", nil) == 0 && resolvers.HubSubscribersForTest(e.h) == 0
	})
}

// fakeExecution stands in for gqlgen's execution of a shared subscription:
// it streams what the test sends on events, encoded into one buffer it
// rewrites for the next, as the generated executor does.
type fakeExecution struct {
	*executor.Executor
	events     chan *graphql.Response
	dispatches atomic.Int64
	ctx        atomic.Pointer[context.Context] // of the latest dispatch
}

func newFakeExecution() *fakeExecution {
	return &fakeExecution{
		Executor: executor.New(graph.NewExecutableSchema(graph.Config{})),
		events:   make(chan *graphql.Response),
	}
}

func (f *fakeExecution) DispatchOperation(ctx context.Context, rc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	f.dispatches.Add(1)
	f.ctx.Store(&ctx)
	var buf bytes.Buffer
	return func(ctx context.Context) *graphql.Response {
		select {
		case r, ok := <-f.events:
			if !ok {
				return nil
			}
			buf.Reset()
			buf.Write(r.Data)
			return &graphql.Response{Data: buf.Bytes(), Errors: r.Errors}
		case <-ctx.Done():
			return nil
		}
	}, ctx
}

// member dispatches q on ex as one more subscriber with its own context.
func member(t *testing.T, ex graphql.GraphExecutor, q string) (graphql.ResponseHandler, context.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(graphql.StartOperationTrace(auth.NewContext(context.Background(), &auth.Principal{Subject: "first"})))
	t.Cleanup(cancel)
	rc, errs := ex.CreateOperationContext(ctx, &graphql.RawParams{Query: q})
	if errs != nil {
		t.Fatal(errs)
	}
	next, ctx := ex.DispatchOperation(graphql.WithOperationContext(ctx, rc), rc)
	return next, ctx, cancel
}

func shared(i int) *graphql.Response {
	return &graphql.Response{Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
}

// sameResponse reports whether a and b encode alike.
func sameResponse(a, b *graphql.Response) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return a != nil && b != nil && string(x) == string(y)
}

// TestShareSubscriptions_Group drives a group with a stand-in execution.
func TestShareSubscriptions_Group(t *testing.T) {
	const q = `subscription { modeChanged { asset } }`
	t.Run("a slow member is dropped, the others go on", func(t *testing.T) {
		inner := newFakeExecution()
		var drops atomic.Int64
		ex, dropped := resolvers.SharingExecutorForTest(inner, 2, func() { drops.Add(1) })
		fast, fastCtx, _ := member(t, ex, q)
		slow, slowCtx, _ := member(t, ex, q)
		if n := inner.dispatches.Load(); n != 1 {
			t.Fatalf("%d executions for two identical subscribers, want 1", n)
		}
		var got []*graphql.Response
		for i := range 6 {
			inner.events <- shared(i)
			r := fast(fastCtx)
			if !sameResponse(r, shared(i)) {
				t.Fatalf("fast member got %v, want response %d", r, i)
			}
			got = append(got, r)
		}
		// The slow one read nothing: it holds its buffer of 2, then its
		// stream ends as a slow subscriber's does.
		for i := range 2 {
			if r := slow(slowCtx); r != got[i] || !sameResponse(r, shared(i)) {
				t.Fatalf("slow member's message %d = %s, want the one the fast member got: %s", i, r.Data, got[i].Data)
			}
		}
		if got := slow(slowCtx); got != nil {
			t.Fatalf("slow member got %v after its buffer, want the end", got)
		}
		if dropped() != 1 || drops.Load() != 1 {
			t.Errorf("dropped %d (OnSlowSubscriber %d), want 1", dropped(), drops.Load())
		}
		inner.events <- shared(99)
		if r := fast(fastCtx); !sameResponse(r, shared(99)) {
			t.Errorf("fast member got %v after the drop", r)
		}
	})
	t.Run("the execution outlives its first member, not its last", func(t *testing.T) {
		inner := newFakeExecution()
		ex, _ := resolvers.SharingExecutorForTest(inner, 4, nil)
		_, _, cancelFirst := member(t, ex, q)
		second, secondCtx, cancelSecond := member(t, ex, q)
		gctx := *inner.ctx.Load()
		if p := auth.FromContext(gctx); p == nil || p.Subject != "first" {
			t.Errorf("the execution's caller is %+v, want the first member's", p)
		}
		cancelFirst()
		inner.events <- shared(1)
		if r := second(secondCtx); !sameResponse(r, shared(1)) {
			t.Fatalf("second member got %v after the first left", r)
		}
		if gctx.Err() != nil {
			t.Fatal("the execution ended with its first member")
		}
		cancelSecond()
		select {
		case <-gctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the execution outlived its last member")
		}
		if got := second(secondCtx); got != nil {
			t.Errorf("a member whose context ended got %v", got)
		}
		// A subscriber arriving now starts a new execution.
		member(t, ex, q)
		if n := inner.dispatches.Load(); n != 2 {
			t.Errorf("%d executions, want a second one", n)
		}
	})
	t.Run("the execution's end completes every member", func(t *testing.T) {
		inner := newFakeExecution()
		ex, _ := resolvers.SharingExecutorForTest(inner, 4, nil)
		a, actx, _ := member(t, ex, q)
		b, bctx, _ := member(t, ex, q)
		close(inner.events)
		if a(actx) != nil || b(bctx) != nil {
			t.Error("a member went on after the execution ended")
		}
	})
	t.Run("an errored execution takes no new members", func(t *testing.T) {
		inner := newFakeExecution()
		ex, _ := resolvers.SharingExecutorForTest(inner, 4, nil)
		a, actx, _ := member(t, ex, q)
		r := &graphql.Response{Errors: gqlerror.List{{Message: "no asset"}}}
		inner.events <- r
		if got := a(actx); !sameResponse(got, r) {
			t.Fatalf("member got %v, want the error", got)
		}
		member(t, ex, q)
		if n := inner.dispatches.Load(); n != 2 {
			t.Errorf("%d executions, want the later subscriber to execute afresh", n)
		}
	})
	t.Run("what may not share executes alone", func(t *testing.T) {
		inner := newFakeExecution()
		ex, _ := resolvers.SharingExecutorForTest(inner, 4, nil)
		for _, q := range []string{
			`subscription { assetState(id: "x") { mode } }`,
			`subscription { twinEvents(after: "x") { id } }`,
			`{ roots { id } }`,
		} {
			_, ctx, _ := member(t, ex, q)
			if *inner.ctx.Load() != ctx {
				t.Errorf("%s: dispatched with another context than its own", q)
			}
		}
		if n := inner.dispatches.Load(); n != 3 {
			t.Errorf("%d executions, want 3", n)
		}
	})
}
