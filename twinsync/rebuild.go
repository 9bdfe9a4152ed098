package twinsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"golang.org/x/sync/errgroup"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/ingest"
)

// RebuildConfig configures Rebuild.
type RebuildConfig struct {
	// Brokers is the Kafka bootstrap list. Required.
	Brokers string
	// Topic is the telemetry topic; DefaultTopic when empty.
	Topic string
	// Model is the asset model to decode against. Required.
	Model twin.Model
	// History and Events, when set, receive the replayed samples and events
	// (both are idempotent, so rows the live worker wrote are no-ops).
	History twin.HistoryStore
	Events  twin.EventStore
	// Limits must be the live workers' (Config.Limits), or the replay may
	// refuse what they applied or the reverse.
	Limits ingest.Limits
	// Until, when set, holds applied offsets keyed like twin.State.Offsets
	// (LogPos.Key): a partition of the replayed log named here is replayed
	// only up to and including its offset, the others up to the high
	// watermark found at start. AppliedOffsets gives the live states' own
	// position, so a replay compares with them at the same point of the log.
	Until map[string]int64
	// Logger receives progress logs; nil logs nothing.
	Logger *slog.Logger
}

// AppliedOffsets returns, per partition key, the highest offset any of
// states has applied: the log position the states stand at. A flush writes
// all its states at once, so every record at or below these offsets is
// already in them.
func AppliedOffsets(states []*twin.State) map[string]int64 {
	out := map[string]int64{}
	for _, st := range states {
		if st == nil {
			continue
		}
		for k, off := range st.Offsets {
			if cur, ok := out[k]; !ok || off > cur {
				out[k] = off
			}
		}
	}
	return out
}

// Rebuilt is the state the log yields when replayed from its start.
type Rebuilt struct {
	// Log is the identity of the replayed log (see LogPos.Log).
	Log string
	// States are the rebuilt states by asset id (only assets that had samples).
	States map[string]*twin.State
	// Messages, Samples, Events and Rejected count what the replay saw.
	Messages, Samples, Events, Rejected int64
	// High is the high watermark per partition the replay stopped at.
	High map[int32]int64
}

// IDs returns the ids of the rebuilt states, sorted.
func (r *Rebuilt) IDs() []string { return slices.Sorted(maps.Keys(r.States)) }

// Rebuild replays the topic from the earliest offset up to the high watermarks
// it finds at start, through Decode and ingest.Transition, into fresh in-memory
// states. It reads the partitions directly: no consumer group, no commits, so
// the live workers are not disturbed.
func Rebuild(ctx context.Context, cfg RebuildConfig) (*Rebuilt, error) {
	if cfg.Brokers == "" || cfg.Model == nil {
		return nil, errors.New("rebuild: brokers and model are required")
	}
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	kc := consumerConfig(cfg.Brokers)
	// librdkafka wants a group even for manual assignment; nothing is committed to it.
	kc["group.id"] = "twingraph-rebuild-" + strconv.FormatUint(rand.Uint64(), 36)
	kc["enable.auto.commit"] = false
	kc["enable.auto.offset.store"] = false
	kc["enable.partition.eof"] = true
	stopLogs := routeLogs(kc, logger)
	c, err := kafka.NewConsumer(&kc)
	if err != nil {
		stopLogs()
		return nil, fmt.Errorf("rebuild: consumer: %w", err)
	}
	defer func() {
		c.Close()
		stopLogs()
	}()
	admin, err := kafka.NewAdminClientFromConsumer(c)
	if err != nil {
		return nil, fmt.Errorf("rebuild: admin client: %w", err)
	}
	defer admin.Close()

	log, err := logIdentity(ctx, admin, cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	md, err := c.GetMetadata(&cfg.Topic, false, 10000)
	if err != nil {
		return nil, fmt.Errorf("rebuild: metadata of %s: %w", cfg.Topic, err)
	}
	tmd, ok := md.Topics[cfg.Topic]
	if !ok || len(tmd.Partitions) == 0 {
		return nil, fmt.Errorf("rebuild: topic %s not found", cfg.Topic)
	}

	out := &Rebuilt{Log: log, States: map[string]*twin.State{}, High: map[int32]int64{}}
	var assign []kafka.TopicPartition
	remaining := map[int32]int64{} // partition → last offset to read
	for _, p := range tmd.Partitions {
		low, high, err := c.QueryWatermarkOffsets(cfg.Topic, p.ID, 10000)
		if err != nil {
			return nil, fmt.Errorf("rebuild: watermarks of %s/%d: %w", cfg.Topic, p.ID, err)
		}
		out.High[p.ID] = high
		last := high - 1
		if until, ok := cfg.Until[twin.LogPos{Log: log, Partition: p.ID}.Key()]; ok && until < last {
			last = until
		}
		if last >= low {
			remaining[p.ID] = last
			assign = append(assign, kafka.TopicPartition{Topic: &cfg.Topic, Partition: p.ID, Offset: kafka.Offset(low)})
		}
	}
	logger.Info("rebuild started", "log", log, "partitions", len(tmd.Partitions), "nonEmpty", len(assign))
	if len(assign) == 0 {
		return out, nil
	}
	if err := c.Assign(assign); err != nil {
		return nil, fmt.Errorf("rebuild: assign: %w", err)
	}

	// The poll loop hands full batches to one applier goroutine, so polling
	// the next batch overlaps decoding and applying this one; batches stay
	// in log order.
	const batch = 5000
	batches := make(chan []*ingest.Record, 2)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		// On an error the group's context ends, which stops the poller's sends.
		for recs := range batches {
			if err := rebuildBatch(gctx, cfg, log, out, recs); err != nil {
				return err
			}
		}
		return nil
	})
	send := func(recs []*ingest.Record) error {
		select {
		case batches <- recs:
			return nil
		case <-gctx.Done():
			return context.Cause(gctx)
		}
	}
	poll := func() error {
		pending := make([]*ingest.Record, 0, batch)
		polled, lastProgress := 0, time.Now()
		for len(remaining) > 0 {
			if err := gctx.Err(); err != nil {
				return err
			}
			switch e := c.Poll(100).(type) {
			case *kafka.Message:
				if e.TopicPartition.Error != nil {
					return fmt.Errorf("rebuild: consume: %w", e.TopicPartition.Error)
				}
				p, off := e.TopicPartition.Partition, int64(e.TopicPartition.Offset)
				last, ok := remaining[p]
				if !ok || off > last {
					continue // past the watermark taken at start: not part of this rebuild
				}
				// Samples are judged "in the future" against the record's Kafka
				// timestamp, as the live worker judged them (it read them soon
				// after they were produced), not against today.
				pending = append(pending, newRecord(e, time.Now()))
				polled++
				if off >= last {
					delete(remaining, p)
				}
			case kafka.PartitionEOF:
				// Records between low and high may have been compacted or deleted.
				if last, ok := remaining[e.Partition]; ok && int64(e.Offset) > last {
					delete(remaining, e.Partition)
				}
			case kafka.Error:
				if e.IsFatal() {
					return fmt.Errorf("rebuild: kafka: %w", e)
				}
				logger.Debug("kafka client", "err", e)
			}
			if len(pending) >= batch {
				if err := send(pending); err != nil {
					return err
				}
				pending = make([]*ingest.Record, 0, batch)
			}
			if time.Since(lastProgress) > 5*time.Second {
				lastProgress = time.Now()
				logger.Info("rebuild progress", "messages", polled, "partitionsLeft", len(remaining))
			}
		}
		if len(pending) > 0 {
			return send(pending)
		}
		return nil
	}
	pollErr := poll()
	close(batches)
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if pollErr != nil {
		return nil, pollErr
	}
	logger.Info("rebuild done", "messages", out.Messages, "samples", out.Samples, "events", out.Events,
		"rejected", out.Rejected, "assets", len(out.States))
	return out, nil
}

// rebuildBatch decodes and applies one batch of replayed records into
// out.States, counts it, and appends its history and events when asked.
func rebuildBatch(ctx context.Context, cfg RebuildConfig, log string, out *Rebuilt, recs []*ingest.Record) error {
	m := twin.Snapshot(cfg.Model)
	res, err := ingest.ApplyBatch(m, recs, ingest.DecodeBatch(m, log, recs, cfg.Limits), out.States, nil)
	if err != nil {
		return err
	}
	out.Messages += int64(res.Records)
	out.Samples += int64(len(res.Samples))
	out.Events += int64(len(res.Events))
	for _, dl := range res.Dead {
		out.Rejected += int64(len(dl.Rejects))
	}
	if cfg.History != nil && len(res.Samples) > 0 {
		if err := cfg.History.AppendSamples(ctx, res.Samples); err != nil {
			return fmt.Errorf("rebuild: append history: %w", err)
		}
	}
	if cfg.Events != nil && len(res.Events) > 0 {
		if err := cfg.Events.AppendEvents(ctx, res.Events); err != nil {
			return fmt.Errorf("rebuild: append events: %w", err)
		}
	}
	return nil
}

// Difference is one field on which the live state and the rebuilt state disagree.
type Difference struct {
	// Asset is the asset id.
	Asset string `json:"asset"`
	// Field names the state field ("mode", "faultCodes", "metrics.press1_bar",
	// "offsets.telemetry@…/3"; "state" when one side has no state at all).
	Field string `json:"field"`
	// Live and Rebuilt are the two values as text ("<none>" when absent).
	Live    string `json:"live"`
	Rebuilt string `json:"rebuilt"`
}

// String formats the difference for a terminal.
func (d Difference) String() string {
	return fmt.Sprintf("%s %s: live %s, rebuilt %s", d.Asset, d.Field, d.Live, d.Rebuilt)
}

// VerifyLive replays the log up to the position the live states of ids
// stand at, partition by partition, and lists every difference from them:
// a clean system verifies clean while telemetry flows, since records the
// live workers applied after the states were read are not replayed. ids
// are the assets compared: every asset of the model, so that a live state
// the log does not support shows too.
func VerifyLive(ctx context.Context, cfg RebuildConfig, live twin.StateStore, ids []string) ([]Difference, *Rebuilt, error) {
	states, err := live.GetStates(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: read live states: %w", err)
	}
	cfg.Until = AppliedOffsets(states)
	rebuilt, err := Rebuild(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	var diffs []Difference
	for i, id := range ids {
		diffs = append(diffs, diffStates(id, states[i], rebuilt.States[id])...)
	}
	return diffs, rebuilt, nil
}

// Verify compares the live states of ids with the rebuilt ones and lists every
// difference in what users see: mode, modeSince, pending mode, fault codes and
// their start times, product, batch, uptime fields, metrics, updatedAt and the
// applied offsets. ids nil means the rebuilt assets.
func Verify(ctx context.Context, live twin.StateStore, rebuilt *Rebuilt, ids []string) ([]Difference, error) {
	if ids == nil {
		ids = rebuilt.IDs()
	}
	got, err := live.GetStates(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("verify: read live states: %w", err)
	}
	var diffs []Difference
	for i, id := range ids {
		diffs = append(diffs, diffStates(id, got[i], rebuilt.States[id])...)
	}
	return diffs, nil
}

// Replace makes the live states of ids equal to the rebuilt ones: rebuilt
// states are written, live states the log does not support are deleted.
// ids nil means the rebuilt assets.
func Replace(ctx context.Context, live twin.StateStore, rebuilt *Rebuilt, ids []string) error {
	if ids == nil {
		ids = rebuilt.IDs()
	}
	var put []*twin.State
	var del []string
	for _, id := range ids {
		if st := rebuilt.States[id]; st != nil {
			put = append(put, st)
		} else {
			del = append(del, id)
		}
	}
	if len(del) > 0 {
		if err := live.DeleteStates(ctx, del); err != nil {
			return fmt.Errorf("replace: delete states: %w", err)
		}
	}
	if len(put) > 0 {
		if err := live.PutStates(ctx, put); err != nil {
			return fmt.Errorf("replace: put states: %w", err)
		}
	}
	return nil
}
