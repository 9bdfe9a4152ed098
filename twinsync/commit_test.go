package twinsync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/twingraph/twingraph/broker"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/twinsync"
)

// TestWorker_CommitsWhenTheStreamPauses trickles records in faster than the
// worker's commit interval, so most batches finish right after a commit and
// leave their offsets for the next one, then stops producing. The group must
// still commit up to the end of the log without more records and without a
// shutdown: otherwise its lag never reaches zero and a crash during the pause
// replays what was already written.
func TestWorker_CommitsWhenTheStreamPauses(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	w := start(t, addr, "pause", newStores())

	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": addr, "enable.metrics.push": false, "linger.ms": 0})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	topic := twinsync.DefaultTopic
	high := map[int32]int64{}
	script := line3Script()
	for i, m := range script {
		reports := make(chan kafka.Event, 1)
		if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key: []byte(m.key), Value: []byte(m.value)}, reports); err != nil {
			t.Fatal(err)
		}
		tp := (<-reports).(*kafka.Message).TopicPartition
		if tp.Error != nil {
			t.Fatal(tp.Error)
		}
		high[tp.Partition] = int64(tp.Offset) + 1
		// One record per batch: each flush finishes a few milliseconds
		// after the one before.
		waitMessages(t, int64(i+1), w)
	}

	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": addr, "enable.metrics.push": false})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var tps []kafka.TopicPartition
	for part := range int32(broker.TelemetryPartitions) {
		tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: part})
	}
	var last string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := admin.ListConsumerGroupOffsets(ctx, []kafka.ConsumerGroupTopicPartitions{{Group: "pause", Partitions: tps}})
		cancel()
		if err != nil {
			last = err.Error()
		} else {
			last = ""
			for _, tp := range res.ConsumerGroupsTopicPartitions[0].Partitions {
				if want := high[tp.Partition]; want > 0 && int64(tp.Offset) != want {
					last += fmt.Sprintf(" partition %d committed %d of %d;", tp.Partition, tp.Offset, want)
				}
			}
			if last == "" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group never committed the end of the log:%s", last)
		}
	}
}
