package sync

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// The headers of a dead-letter message. Its key and value are the original
// record's, byte for byte.
const (
	// HeaderReason is the human-readable reason: "<code>: text", code one of
	// bad_json, missing_field, bad_ts, unknown_asset, unknown_signal,
	// unknown_tag, wrong_type, non_finite.
	HeaderReason = "reason"
	// HeaderSourceTopic, HeaderSourcePartition and HeaderSourceOffset locate the original record.
	HeaderSourceTopic     = "source_topic"
	HeaderSourcePartition = "source_partition"
	HeaderSourceOffset    = "source_offset"
	// HeaderElement is the index of the refused element when the message is an array.
	HeaderElement = "element"
)

// dlq produces refused telemetry to the dead-letter topic and waits for the
// broker to acknowledge it, so a batch is committed only once its rejects are durable.
type dlq struct {
	p        *kafka.Producer
	topic    string
	logger   *slog.Logger
	done     chan struct{}
	stopLogs func()
}

func newDLQ(brokers, topic string, logger *slog.Logger) (*dlq, error) {
	cfg := baseConfig(brokers)
	cfg["acks"] = "all"
	cfg["linger.ms"] = 2
	stopLogs := routeLogs(cfg, logger)
	p, err := kafka.NewProducer(&cfg)
	if err != nil {
		stopLogs()
		return nil, fmt.Errorf("dead-letter producer: %w", err)
	}
	d := &dlq{p: p, topic: topic, logger: logger, done: make(chan struct{}), stopLogs: stopLogs}
	// Client-level events (errors, stats) arrive here; deliveries go to the
	// per-call channels. Left unread, the channel fills and blocks librdkafka.
	go func() {
		defer close(d.done)
		for ev := range p.Events() {
			if e, ok := ev.(kafka.Error); ok {
				logger.Warn("dead-letter producer", "err", e)
			}
		}
	}()
	return d, nil
}

// send produces one message per reject and waits for every delivery report.
func (d *dlq) send(ctx context.Context, rs []rejected) error {
	if len(rs) == 0 {
		return nil
	}
	reports := make(chan kafka.Event, len(rs))
	sent := 0
	var firstErr error
	for _, r := range rs {
		msg := &kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &d.topic, Partition: kafka.PartitionAny},
			Key:            r.rec.key,
			Value:          r.rec.value,
			Headers: []kafka.Header{
				{Key: HeaderReason, Value: []byte(r.reason)},
				{Key: HeaderSourceTopic, Value: []byte(r.rec.topic)},
				{Key: HeaderSourcePartition, Value: []byte(strconv.Itoa(int(r.rec.partition)))},
				{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(r.rec.offset, 10))},
				{Key: HeaderElement, Value: []byte(strconv.Itoa(r.index))},
			},
		}
		if err := d.p.Produce(msg, reports); err != nil {
			firstErr = fmt.Errorf("produce to %s: %w", d.topic, err)
			break
		}
		sent++
	}
	for ; sent > 0; sent-- {
		select {
		case ev := <-reports:
			if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error != nil && firstErr == nil {
				firstErr = fmt.Errorf("deliver to %s: %w", d.topic, m.TopicPartition.Error)
			}
		case <-ctx.Done():
			// Reports still in flight land in the buffered channel and are dropped.
			if firstErr == nil {
				firstErr = ctx.Err()
			}
			return firstErr
		}
	}
	return firstErr
}

func (d *dlq) close() {
	d.p.Flush(5000)
	d.p.Close()
	<-d.done
	d.stopLogs()
}
