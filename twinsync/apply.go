package twinsync

import (
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/twingraph/twingraph/ingest"
)

// The adapter between Kafka and ingest's batch rules: a polled message becomes
// an ingest.Record, and ingest.ApplyBatch's result is what the flush writes.

// newRecord is the record of a polled message, read at now.
func newRecord(e *kafka.Message, now time.Time) *ingest.Record {
	return &ingest.Record{
		Topic:     *e.TopicPartition.Topic,
		Partition: e.TopicPartition.Partition,
		Offset:    int64(e.TopicPartition.Offset),
		Key:       e.Key,
		Value:     e.Value,
		Produced:  producedAt(e.Timestamp, now),
		Read:      now,
	}
}

// producedAt is a record's produced time: its Kafka timestamp capped at the
// reader's clock (a producer with a clock far ahead cannot vouch for samples
// from the future), or the reader's clock when the record carries none.
func producedAt(kafkaTS, now time.Time) time.Time {
	if kafkaTS.IsZero() || kafkaTS.Unix() <= 0 || kafkaTS.After(now) {
		return now
	}
	return kafkaTS
}

// applied is one applied batch as the flush stages write it.
type applied struct {
	*ingest.Applied
	// dead are Applied.Dead with their delivery progress, kept across the
	// flush's retries.
	dead []*deadLetter
}

func newApplied(res *ingest.Applied) *applied {
	a := &applied{Applied: res}
	for _, dl := range res.Dead {
		a.dead = append(a.dead, &deadLetter{DeadLetter: dl})
	}
	return a
}
