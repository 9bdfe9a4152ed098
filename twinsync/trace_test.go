package twinsync_test

import (
	"context"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/telemetry"
)

// produceTraced writes msgs like produce, the first one carrying a W3C
// traceparent header as an instrumented producer would.
func produceTraced(tb testing.TB, addr, topic, traceparent string, msgs []msg) {
	tb.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": addr, "enable.metrics.push": false})
	if err != nil {
		tb.Fatal(err)
	}
	defer p.Close()
	reports := make(chan kafka.Event, len(msgs))
	for i, m := range msgs {
		km := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key: []byte(m.key), Value: []byte(m.value)}
		if i == 0 {
			km.Headers = []kafka.Header{{Key: "traceparent", Value: []byte(traceparent)}}
		}
		if err := p.Produce(km, reports); err != nil {
			tb.Fatal(err)
		}
	}
	for range msgs {
		if m := (<-reports).(*kafka.Message); m.TopicPartition.Error != nil {
			tb.Fatal(m.TopicPartition.Error)
		}
	}
}

func TestWorker_FlushSpan(t *testing.T) {
	noLeaks(t)
	exp := tracetest.NewInMemoryExporter()
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		shutdown(context.Background())
		telemetry.Setup(context.Background(), telemetry.Config{})
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})

	addr := testenv.Kafka(t)
	s := newStores()
	script := line3Script()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	produceTraced(t, addr, "telemetry", "00-"+traceID+"-00f067aa0ba902b7-01", script)
	w := run(t, addr, "traced", s, len(script)) // the flusher has ended its spans once Run returns

	var records, samples, events, partitions int64
	linked := false
	for _, sp := range exp.GetSpans() {
		if sp.Name != "sync.flush" {
			continue
		}
		for _, a := range sp.Attributes {
			switch a.Key {
			case "records":
				records += a.Value.AsInt64()
			case "samples":
				samples += a.Value.AsInt64()
			case "events":
				events += a.Value.AsInt64()
			case "partitions":
				partitions += a.Value.AsInt64()
			}
		}
		for _, l := range sp.Links {
			if l.SpanContext.TraceID().String() == traceID {
				linked = true
			}
		}
	}
	if records != int64(len(script)) {
		t.Errorf("flush spans count %d records, want %d", records, len(script))
	}
	st := w.w.Stats()
	if samples != st.Samples || events != st.Events || partitions == 0 {
		t.Errorf("flush spans: %d samples, %d events, %d partitions; worker: %d samples, %d events",
			samples, events, partitions, st.Samples, st.Events)
	}
	if !linked {
		t.Error("no flush span links the producer's trace")
	}
}
