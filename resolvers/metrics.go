package resolvers

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/twingraph/twingraph/internal/promreg"
)

// metrics are the GraphQL handler's Prometheus series. Streams (WebSocket,
// SSE) are measured here by protocol, apart from the request latencies:
// an hours-long subscription is not a slow request.
type metrics struct {
	operations    *prometheus.CounterVec   // by type
	errors        *prometheus.CounterVec   // by extensions.code
	streams       *prometheus.GaugeVec     // open streams by protocol
	streamSeconds *prometheus.HistogramVec // stream lifetimes by protocol
	subscriptions *prometheus.GaugeVec     // live subscriptions by protocol
	messages      *prometheus.CounterVec   // subscription messages sent by protocol
	executions    *prometheus.CounterVec   // subscription messages executed by protocol
	groups        prometheus.Gauge         // shared subscription executions running
	groupMembers  prometheus.Gauge         // subscriptions served by a shared execution
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry() // counted, never exposed
	}
	m := &metrics{
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "twingraph_graphql_operations_total",
			Help: "GraphQL operations started (queries, mutations, subscriptions), by type."}, []string{"type"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "twingraph_graphql_errors_total",
			Help: "GraphQL errors answered, by extensions.code."}, []string{"code"}),
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "twingraph_streams_open",
			Help: "WebSocket and SSE streams open, by protocol."}, []string{"protocol"}),
		streamSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "twingraph_stream_duration_seconds",
			Help:    "How long WebSocket and SSE streams stayed open, by protocol.",
			Buckets: []float64{1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600}}, []string{"protocol"}),
		subscriptions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "twingraph_subscriptions_active",
			Help: "GraphQL subscriptions being served, by protocol."}, []string{"protocol"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "twingraph_subscription_messages_total",
			Help: "Subscription messages sent, by protocol."}, []string{"protocol"}),
		executions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "twingraph_subscription_executions_total",
			Help: "Subscription messages executed, by protocol: one per message of a subscription executing alone, one per message of a group of identical subscriptions sharing an execution."}, []string{"protocol"}),
		groups: prometheus.NewGauge(prometheus.GaugeOpts{Name: "twingraph_subscription_groups",
			Help: "Executions shared by groups of identical live WebSocket subscriptions."}),
		groupMembers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "twingraph_subscription_group_members",
			Help: "WebSocket subscriptions served by a shared execution (also counted in twingraph_subscriptions_active)."}),
	}
	m.operations = register(reg, m.operations)
	m.errors = register(reg, m.errors)
	m.streams = register(reg, m.streams)
	m.streamSeconds = register(reg, m.streamSeconds)
	m.subscriptions = register(reg, m.subscriptions)
	m.messages = register(reg, m.messages)
	m.executions = register(reg, m.executions)
	m.groups = register(reg, m.groups)
	m.groupMembers = register(reg, m.groupMembers)
	return m
}

// register registers c, or returns the collector already registered under
// its name: several handlers in one process share their series.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	c, err := promreg.Register(reg, c)
	if err != nil {
		panic(err) // a name clash between our own series: a programming error
	}
	return c
}

// streamOpened counts a stream of protocol and returns the function that
// counts its end.
func (m *metrics) streamOpened(protocol string) func() {
	start := time.Now()
	m.streams.WithLabelValues(protocol).Inc()
	return func() {
		m.streams.WithLabelValues(protocol).Dec()
		m.streamSeconds.WithLabelValues(protocol).Observe(time.Since(start).Seconds())
	}
}

// protocolOf names the stream of ctx ("websocket", "sse"); "" for plain HTTP.
func protocolOf(ctx context.Context) string {
	p, _ := ctx.Value(streamKey{}).(string)
	return p
}

// countOperations counts every operation that passed validation by type.
func (m *metrics) countOperations(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if op := graphql.GetOperationContext(ctx).Operation; op != nil {
		m.operations.WithLabelValues(string(op.Operation)).Inc()
	}
	return next(ctx)
}

// countMessages counts each message a subscription executes and sends. A
// group's shared execution counts its executions only: each member counts
// the messages it sends (subscriptionShare.member).
func (m *metrics) countMessages(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil && graphql.HasOperationContext(ctx) {
		if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Subscription {
			m.executions.WithLabelValues(protocolOf(ctx)).Inc()
			if !inGroupExecution(ctx) {
				m.messages.WithLabelValues(protocolOf(ctx)).Inc()
			}
		}
	}
	return resp
}
