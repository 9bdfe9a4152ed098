// Package telemetry sets up OpenTelemetry tracing for the process: spans go
// to an OTLP/HTTP collector when an endpoint is configured, and nowhere at all
// otherwise, so tracing costs nothing unless it is asked for.
package telemetry

import (
	"context"
	"fmt"
	"os"

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

// Enabled reports whether cfg turns tracing on: an endpoint or exporter in
// cfg, or the standard OTEL_EXPORTER_OTLP_ENDPOINT (or its _TRACES_ form)
// in the environment. OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none
// turn it off whatever else is set.
func (c Config) Enabled() bool {
	if os.Getenv("OTEL_SDK_DISABLED") == "true" || os.Getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return c.Endpoint != "" || c.Exporter != nil ||
		os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

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
		// It reads the standard OTEL_EXPORTER_OTLP_* settings (headers,
		// timeout, compression, endpoint); cfg.Endpoint wins over the last.
		var opts []otlptracehttp.Option
		if cfg.Endpoint != "" {
			opts = append(opts, otlptracehttp.WithEndpointURL(cfg.Endpoint))
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("otlp exporter for %q: %w", cfg.Endpoint, err)
		}
		proc = sdktrace.NewBatchSpanProcessor(exp)
	}
	name := cfg.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	// Later options win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override the service name given here.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", name)), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(proc), sdktrace.WithResource(res)}
	// OTEL_TRACES_SAMPLER, when set, is read by the SDK and wins over SampleRatio.
	if os.Getenv("OTEL_TRACES_SAMPLER") == "" {
		sampler := sdktrace.AlwaysSample()
		if cfg.SampleRatio > 0 && cfg.SampleRatio < 1 {
			sampler = sdktrace.TraceIDRatioBased(cfg.SampleRatio)
		}
		opts = append(opts, sdktrace.WithSampler(sdktrace.ParentBased(sampler)))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return tp.Shutdown, nil
}
