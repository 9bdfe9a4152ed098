// Package telemetry sets up OpenTelemetry tracing for the process: spans go
// to an OTLP/HTTP collector when an endpoint is configured, and nowhere at all
// otherwise, so tracing costs nothing unless it is asked for.
package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// DefaultServiceName is the service.name of the spans when Config.ServiceName is empty.
const DefaultServiceName = "twingraph"

// Config says where spans go.
type Config struct {
	// Endpoint is the OTLP/HTTP collector base URL (http://127.0.0.1:4318);
	// spans are posted to its /v1/traces. Empty turns tracing off unless
	// Exporter is set.
	Endpoint string
	// ServiceName is the service.name resource attribute; DefaultServiceName when empty.
	ServiceName string
	// SampleRatio is the share of new traces recorded, 0 < r <= 1; 0 (or
	// anything outside that range) records every trace. Traces started
	// upstream keep their caller's sampling decision.
	SampleRatio float64
	// Exporter, when set, receives the spans synchronously instead of an
	// OTLP collector (tests use tracetest.InMemoryExporter).
	Exporter sdktrace.SpanExporter
}

// Enabled reports whether cfg turns tracing on.
func (c Config) Enabled() bool { return c.Endpoint != "" || c.Exporter != nil }

// Setup installs the global TracerProvider and the W3C tracecontext
// propagator for cfg and returns the function that flushes and stops the
// exporter. With tracing off it installs a no-op provider, starts no
// exporter and leaves the propagator alone; the shutdown then does nothing.
func Setup(ctx context.Context, cfg Config) (shutdown func(context.Context) error, err error) {
	if !cfg.Enabled() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		return func(context.Context) error { return nil }, nil
	}
	var proc sdktrace.SpanProcessor
	if cfg.Exporter != nil {
		proc = sdktrace.NewSimpleSpanProcessor(cfg.Exporter)
	} else {
		// The exporter connects lazily: an unreachable collector loses
		// spans (logged by the SDK) but never stops the process starting.
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.Endpoint))
		if err != nil {
			return nil, fmt.Errorf("otlp exporter for %q: %w", cfg.Endpoint, err)
		}
		proc = sdktrace.NewBatchSpanProcessor(exp)
	}
	name := cfg.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", name)))
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	sampler := sdktrace.AlwaysSample()
	if cfg.SampleRatio > 0 && cfg.SampleRatio < 1 {
		sampler = sdktrace.TraceIDRatioBased(cfg.SampleRatio)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(proc),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sampler)),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return tp.Shutdown, nil
}
