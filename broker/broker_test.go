package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.uber.org/goleak"

	"github.com/twingraph/twingraph/broker"
)

func TestStart_Metadata(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	b, err := broker.Start(context.Background(), "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{
		"bootstrap.servers":   b.Addr(),
		"enable.metrics.push": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	md, err := admin.GetMetadata(nil, true, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Brokers) != 1 {
		t.Fatalf("brokers = %v, want one", md.Brokers)
	}
	if got := md.Topics[broker.TelemetryTopic]; len(got.Partitions) != broker.TelemetryPartitions {
		t.Errorf("%s has %d partitions, want %d", broker.TelemetryTopic, len(got.Partitions), broker.TelemetryPartitions)
	}
	if _, ok := md.Topics[broker.DLQTopic]; !ok {
		t.Errorf("no topic %s in %v", broker.DLQTopic, md.Topics)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := admin.DescribeTopics(ctx, kafka.NewTopicCollectionOfTopicNames([]string{broker.TelemetryTopic}))
	if err != nil {
		t.Fatal(err)
	}
	if id := res.TopicDescriptions[0].TopicID; id.String() == "" {
		t.Error("telemetry has no topic id")
	}
}

func TestStart_Produce(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	b, err := broker.Start(context.Background(), "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": b.Addr(), "enable.metrics.push": false})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	topic := broker.TelemetryTopic
	done := make(chan kafka.Event, 1)
	if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key: []byte("a"), Value: []byte(`{}`)}, done); err != nil {
		t.Fatal(err)
	}
	m := (<-done).(*kafka.Message)
	if m.TopicPartition.Error != nil {
		t.Fatal(m.TopicPartition.Error)
	}
}

func TestStart_ContextEnds(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	b, err := broker.Start(ctx, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	b.Close() // idempotent after the context closed it
}

func TestStart_BadAddress(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	if _, err := broker.Start(context.Background(), "nonsense", nil); err == nil {
		t.Fatal("no error for a bad listen address")
	}
}
