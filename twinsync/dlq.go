package twinsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/twingraph/twingraph/ingest"
)

// The headers of a dead-letter record. There is one record per refused source
// record, however many of its elements were refused; its key and value are
// the original's, cut to DLQMaxPayload (and dlqMaxKey) bytes.
const (
	// HeaderReason is the human-readable reason of the first refused element:
	// "<code>: text", code one of bad_json, missing_field, bad_ts,
	// unknown_asset, unknown_signal, unknown_tag, wrong_type, non_finite,
	// too_large, not_allowed (a string outside its signal's allowed values),
	// retired (telemetry of a retired asset).
	HeaderReason = "reason"
	// HeaderSourceTopic, HeaderSourcePartition and HeaderSourceOffset locate the original record.
	HeaderSourceTopic     = "source_topic"
	HeaderSourcePartition = "source_partition"
	HeaderSourceOffset    = "source_offset"
	// HeaderElement is the index of the first refused element (0 for a single object).
	HeaderElement = "element"
	// HeaderRejected is how many elements of the record were refused.
	HeaderRejected = "rejected"
	// HeaderElements lists the first refused elements as a JSON array of
	// {"index":N,"reason":"..."}, at most dlqMaxElements of them, so the
	// headers never grow with the message; HeaderRejected has the full count.
	HeaderElements = "elements"
	// HeaderOriginalSize is the original value's size in bytes.
	HeaderOriginalSize = "original_size"
	// HeaderTruncated is "true" when the value (or key) was cut.
	HeaderTruncated = "truncated"
)

// Bounds of a dead-letter record: it must always fit the broker's default
// message size (1 MB), whatever was refused.
const (
	// DefaultDLQMaxPayload is how much of a refused value is kept.
	DefaultDLQMaxPayload = 64 << 10
	// dlqMaxKey is how much of a refused key is kept.
	dlqMaxKey = 1 << 10
	// dlqMaxElements is how many refused elements HeaderElements lists.
	dlqMaxElements = 16
	// dlqMaxReason bounds each reason in the headers.
	dlqMaxReason = 256
	// dlqTimeout bounds a delivery: past it the flush fails and is retried
	// (and the stall shows in readiness) instead of waiting librdkafka's 5 min.
	dlqTimeout = 30 * time.Second
)

// deadLetter is one source record refused in whole or in part.
type deadLetter struct {
	ingest.DeadLetter
	// done is set once the record is delivered, or given up for good: a
	// retried flush sends only the rest.
	done bool
}

// dlq produces refused telemetry to the dead-letter topic and waits for the
// broker to acknowledge it, so a batch is committed only once its rejects are durable.
type dlq struct {
	p          *kafka.Producer
	topic      string
	maxPayload int
	logger     *slog.Logger
	onDropped  func() // a dead letter that can never be produced was given up
	done       chan struct{}
	stopLogs   func()
}

func newDLQ(brokers, topic string, maxPayload int, logger *slog.Logger, onDropped func()) (*dlq, error) {
	cfg := baseConfig(brokers)
	cfg["acks"] = "all"
	cfg["linger.ms"] = 2
	// Bound what the producer may hold (librdkafka's defaults are 100,000
	// messages and 1 GB); send waits for deliveries when the queue is full.
	cfg["queue.buffering.max.messages"] = 10000
	cfg["queue.buffering.max.kbytes"] = 32 << 10
	cfg["message.timeout.ms"] = int(dlqTimeout.Milliseconds())
	stopLogs := routeLogs(cfg, logger)
	p, err := kafka.NewProducer(&cfg)
	if err != nil {
		stopLogs()
		return nil, fmt.Errorf("dead-letter producer: %w", err)
	}
	d := &dlq{p: p, topic: topic, maxPayload: maxPayload, logger: logger, onDropped: onDropped,
		done: make(chan struct{}), stopLogs: stopLogs}
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

// message builds the dead-letter record of dl, within the size bounds.
func (d *dlq) message(dl *deadLetter) *kafka.Message {
	r := dl.Record
	first := dl.Rejects[0]
	type elem struct {
		Index  int    `json:"index"`
		Reason string `json:"reason"`
	}
	elems := make([]elem, 0, min(len(dl.Rejects), dlqMaxElements))
	for _, rj := range dl.Rejects[:cap(elems)] {
		elems = append(elems, elem{rj.Index, rj.ShortReason(dlqMaxReason)})
	}
	list, _ := json.Marshal(elems) // strings and ints: cannot fail
	value, key := r.Value, r.Key
	truncated := false
	if len(value) > d.maxPayload {
		value, truncated = value[:d.maxPayload], true
	}
	if len(key) > dlqMaxKey {
		key, truncated = key[:dlqMaxKey], true
	}
	return &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &d.topic, Partition: kafka.PartitionAny},
		Key:            key,
		Value:          value,
		Headers: []kafka.Header{
			{Key: HeaderReason, Value: []byte(first.ShortReason(dlqMaxReason))},
			{Key: HeaderSourceTopic, Value: []byte(r.Topic)},
			{Key: HeaderSourcePartition, Value: []byte(strconv.Itoa(int(r.Partition)))},
			{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
			{Key: HeaderElement, Value: []byte(strconv.Itoa(first.Index))},
			{Key: HeaderRejected, Value: []byte(strconv.Itoa(len(dl.Rejects)))},
			{Key: HeaderElements, Value: list},
			{Key: HeaderOriginalSize, Value: []byte(strconv.Itoa(len(r.Value)))},
			{Key: HeaderTruncated, Value: []byte(strconv.FormatBool(truncated))},
		},
		Opaque: dl,
	}
}

// send produces one record per dead letter not yet done and waits for every
// delivery report. A record the broker refuses for good (too large,
// invalid) is logged, counted and given up: retrying it would hold its
// partition forever. Any other failure fails the send, which the flush retries.
func (d *dlq) send(ctx context.Context, dls []*deadLetter) error {
	reports := make(chan kafka.Event, len(dls))
	inflight := 0
	var firstErr error
	// report takes one delivery report.
	report := func() error {
		select {
		case ev := <-reports:
			inflight--
			m, ok := ev.(*kafka.Message)
			if !ok {
				return nil
			}
			dl := m.Opaque.(*deadLetter)
			if err := m.TopicPartition.Error; err != nil {
				if d.permanent(dl, err) {
					return nil
				}
				if firstErr == nil {
					firstErr = fmt.Errorf("deliver to %s: %w", d.topic, err)
				}
				return nil
			}
			dl.done = true
			return nil
		case <-ctx.Done():
			// Reports still in flight land in the buffered channel and are dropped.
			return ctx.Err()
		}
	}
	for _, dl := range dls {
		if dl.done {
			continue
		}
		msg := d.message(dl)
		for {
			err := d.p.Produce(msg, reports)
			var ke kafka.Error
			if errors.As(err, &ke) && ke.Code() == kafka.ErrQueueFull && inflight > 0 {
				// The producer's queue is bounded: wait for a delivery to make room.
				if err := report(); err != nil {
					return err
				}
				continue
			}
			if err != nil && d.permanent(dl, err) {
				break
			}
			if err != nil {
				return errors.Join(firstErr, fmt.Errorf("produce to %s: %w", d.topic, err))
			}
			inflight++
			break
		}
	}
	for inflight > 0 {
		if err := report(); err != nil {
			return errors.Join(firstErr, err)
		}
	}
	return firstErr
}

// permanent reports whether err means dl can never be produced; if so dl is
// given up (logged and counted).
func (d *dlq) permanent(dl *deadLetter, err error) bool {
	var ke kafka.Error
	if !errors.As(err, &ke) {
		return false
	}
	switch ke.Code() {
	case kafka.ErrMsgSizeTooLarge, kafka.ErrInvalidMsgSize, kafka.ErrInvalidMsg,
		kafka.ErrRecordListTooLarge, kafka.ErrInvalidRecord:
	default:
		return false
	}
	dl.done = true
	d.onDropped()
	d.logger.Error("dead letter refused by the broker for good; dropped",
		"topic", dl.Record.Topic, "partition", dl.Record.Partition, "offset", dl.Record.Offset, "err", err)
	return true
}

func (d *dlq) close() {
	d.p.Flush(5000)
	d.p.Close()
	<-d.done
	d.stopLogs()
}

// reasonCode returns the stable code of an ingest.Reject reason ("bad_json: ..." → "bad_json"),
// the label its DLQ counter carries.
func reasonCode(reason string) string {
	if i := strings.IndexByte(reason, ':'); i > 0 {
		return reason[:i]
	}
	return "other"
}

// deadLetterLogEvery spaces the dead-letter logs: one bad device can send
// thousands a second, and the count is in twingraph_sync_dlq_total anyway.
const deadLetterLogEvery = 10 * time.Second

// logDeadLetters logs the first dead letter of the batch, at most one every
// deadLetterLogEvery, with where it came from and how many went unlogged
// since the last one. It runs on the flusher goroutine.
func (w *Worker) logDeadLetters(dead []*deadLetter) {
	if len(dead) == 0 {
		return
	}
	now := time.Now()
	if now.Sub(w.dlqLoggedAt) < deadLetterLogEvery {
		w.dlqUnlogged += len(dead)
		return
	}
	dl := dead[0]
	w.logger.Warn("telemetry refused to the dead-letter topic", "reason", dl.Rejects[0].Reason,
		"partition", dl.Record.Partition, "offset", dl.Record.Offset, "key", string(dl.Record.Key[:min(len(dl.Record.Key), 256)]),
		"rejected", len(dl.Rejects), "dlqTopic", w.cfg.DLQTopic, "unloggedSinceLast", w.dlqUnlogged+len(dead)-1)
	w.dlqLoggedAt, w.dlqUnlogged = now, 0
}
