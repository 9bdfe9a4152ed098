package telemetry_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/twingraph/twingraph/gateway"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
	"github.com/twingraph/twingraph/store/memory"
	"github.com/twingraph/twingraph/telemetry"
)

// record turns tracing on with an in-memory exporter for the test and off
// again after it.
func record(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{Exporter: exp, ServiceName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		off(t)
	})
	return exp
}

// off turns tracing off and forgets the propagator Setup installed.
func off(t *testing.T) {
	t.Helper()
	if _, err := telemetry.Setup(context.Background(), telemetry.Config{}); err != nil {
		t.Fatal(err)
	}
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
}

// newGateway serves the demo plant from memory stores, GraphQL included.
func newGateway(t *testing.T, tracing bool) *httptest.Server {
	t.Helper()
	m := testmodel.Demo(t)
	states := memory.NewStateStore()
	gql, err := resolvers.New(resolvers.Config{Model: m, States: states, History: memory.NewHistoryStore(),
		Events: memory.NewEventStore(), Bus: memory.NewBus(), Tracing: tracing})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Model: m, States: states, GraphQL: gql, Tracing: tracing})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(func() {
		srv.Close()
		gql.Close()
	})
	return srv
}

func get(t *testing.T, req *http.Request) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func query(t *testing.T, url, q string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/graphql", strings.NewReader(`{"query":`+q+`}`))
	req.Header.Set("Content-Type", "application/json")
	get(t, req)
}

func names(exp *tracetest.InMemoryExporter) []string {
	var out []string
	for _, s := range exp.GetSpans() {
		out = append(out, s.Name)
	}
	return out
}

func TestGatewaySpansAreNamedByRoute(t *testing.T) {
	exp := record(t)
	srv := newGateway(t, true)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/twin/plant/jkt1/packaging/line3", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	get(t, req)
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
	get(t, req)

	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("spans %v, want 2", names(exp))
	}
	if spans[0].Name != "GET /twin/{id}" || spans[0].SpanKind != trace.SpanKindServer {
		t.Errorf("REST span %q kind %v, want GET /twin/{id} (server)", spans[0].Name, spans[0].SpanKind)
	}
	for _, a := range spans[0].Attributes {
		if a.Key == "http.route" && a.Value.AsString() != "/twin/{id}" {
			t.Errorf("http.route = %q, want /twin/{id}", a.Value.AsString())
		}
	}
	if got := spans[0].SpanContext.TraceID().String(); got != traceID {
		t.Errorf("REST span trace %s, want the caller's %s", got, traceID)
	}
	if spans[1].Name != "GET /healthz" {
		t.Errorf("probe span %q, want GET /healthz", spans[1].Name)
	}
	for _, s := range spans {
		if strings.Contains(s.Name, "jkt1") {
			t.Errorf("span name %q carries an asset id", s.Name)
		}
	}
}

func TestGraphQLOperationSpan(t *testing.T) {
	exp := record(t)
	srv := newGateway(t, true)

	query(t, srv.URL, `"query Plant { roots { id } }"`)
	byName := map[string]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		byName[s.Name] = s
	}
	op, ok := byName["query Plant"]
	if !ok {
		t.Fatalf("no operation span in %v", names(exp))
	}
	server, ok := byName["POST /graphql"]
	if !ok {
		t.Fatalf("no server span in %v", names(exp))
	}
	if op.Parent.SpanID() != server.SpanContext.SpanID() {
		t.Errorf("the operation span is not a child of the request's span: parent %v, server %v", op.Parent, server.SpanContext)
	}
	if op.Status.Code == codes.Error {
		t.Errorf("successful operation has status %v", op.Status)
	}
	exp.Reset()
	// Above the page bound: refused by the resolver with an error.
	query(t, srv.URL, `"query TooBig { assets(first: 1000000) { edges { cursor } } }"`)
	for _, s := range exp.GetSpans() {
		byName[s.Name] = s
	}
	failed, ok := byName["query TooBig"]
	if !ok {
		t.Fatalf("no span for the failing operation in %v", names(exp))
	}
	if failed.Status.Code != codes.Error || len(failed.Events) == 0 {
		t.Errorf("failing operation: status %v, %d events; want an error recorded", failed.Status, len(failed.Events))
	}
}

func TestTracingOffRecordsNothing(t *testing.T) {
	opts := goleak.IgnoreCurrent()
	off(t)
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "twingraph", SampleRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Even with the handlers' tracing on, the no-op provider records nothing.
	srv := newGateway(t, true)
	query(t, srv.URL, `"query Plant { roots { id } }"`)
	_, span := otel.Tracer("test").Start(context.Background(), "x")
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Error("a span records with tracing off")
	}
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	srv.Close()
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, opts) // no exporter goroutines
}

func TestOTLPExport(t *testing.T) {
	var posts atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" {
			posts.Add(1)
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{Endpoint: collector.URL, SampleRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer off(t)
	_, span := otel.Tracer("test").Start(context.Background(), "exported")
	span.End()
	if err := shutdown(context.Background()); err != nil { // flushes the batch
		t.Fatal(err)
	}
	if posts.Load() == 0 {
		t.Error("the collector received no spans")
	}
}

// BenchmarkGateway measures a REST read with tracing off (the default), with
// the handlers instrumented but no provider installed, and recording.
func BenchmarkGateway(b *testing.B) {
	m := testmodel.Demo(b)
	run := func(b *testing.B, tracing bool, exp *tracetest.InMemoryExporter) {
		h, err := gateway.New(gateway.Config{Model: m, States: memory.NewStateStore(), Tracing: tracing})
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/twin/plant/jkt1/packaging/line3", nil)
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(httptest.NewRecorder(), req)
			if exp != nil {
				exp.Reset()
			}
		}
	}
	b.Run("off", func(b *testing.B) { run(b, false, nil) })
	b.Run("noop-provider", func(b *testing.B) {
		telemetry.Setup(context.Background(), telemetry.Config{})
		run(b, true, nil)
	})
	b.Run("recording", func(b *testing.B) {
		exp := tracetest.NewInMemoryExporter()
		shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{Exporter: exp})
		if err != nil {
			b.Fatal(err)
		}
		defer func() {
			shutdown(context.Background())
			telemetry.Setup(context.Background(), telemetry.Config{})
			otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
		}()
		run(b, true, exp)
	})
}

// TestOTLPExport_StandardEnv: with no endpoint configured, the standard
// OTEL_EXPORTER_OTLP_ENDPOINT turns tracing on and OTEL_SERVICE_NAME names
// the service; OTEL_SDK_DISABLED turns it off again.
func TestOTLPExport_StandardEnv(t *testing.T) {
	var mu sync.Mutex
	var bodies []byte
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" {
			mu.Lock()
			bodies = append(bodies, b...)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "line-gateway")

	t.Run("disabled", func(t *testing.T) {
		t.Setenv("OTEL_SDK_DISABLED", "true")
		if (telemetry.Config{ServiceName: "twingraph"}).Enabled() {
			t.Error("OTEL_SDK_DISABLED=true left tracing on")
		}
	})
	cfg := telemetry.Config{ServiceName: "twingraph"}
	if !cfg.Enabled() {
		t.Fatal("OTEL_EXPORTER_OTLP_ENDPOINT did not turn tracing on")
	}
	shutdown, err := telemetry.Setup(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer off(t)
	_, span := otel.Tracer("test").Start(context.Background(), "exported")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Contains(bodies, []byte("line-gateway")) || bytes.Contains(bodies, []byte("twingraph")) {
		t.Errorf("spans did not reach the env's collector as service line-gateway: %q", bodies)
	}
}
