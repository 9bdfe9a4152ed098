package twinsync

import (
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Offset commits: only what was flushed, spaced while records stream, and
// the lag gauges they update.

// commitIfDue commits the flushed offsets a batch left for later because a
// commit had just been made. A batch only commits when commitInterval has
// passed since the last commit, so without this the last batches before the
// stream pauses would stay uncommitted until more records, a revocation or
// shutdown: the group's lag would never reach zero, and a crash in the pause
// would replay them. It runs on the Run goroutine after every poll.
func (w *Worker) commitIfDue() {
	w.commitMu.Lock()
	due := len(w.toCommit) > 0 && time.Since(w.lastCommit) >= commitInterval
	w.commitMu.Unlock()
	if due {
		w.commitNow()
	}
}

// commitNow commits the offsets of every flushed batch not committed yet and
// updates the lag gauges. Commits are spaced by commitInterval while records
// stream (a synchronous commit per batch would halve throughput); revocation
// and shutdown commit at once, and commitIfDue catches up after a pause.
func (w *Worker) commitNow() {
	w.committing.Lock()
	defer w.committing.Unlock()
	w.commitMu.Lock()
	next := w.toCommit
	w.toCommit = nil
	w.lastCommit = time.Now()
	w.commitMu.Unlock()
	if len(next) == 0 {
		return
	}
	tps := make([]kafka.TopicPartition, 0, len(next))
	for p, off := range next {
		tps = append(tps, kafka.TopicPartition{Topic: &w.cfg.Topic, Partition: p, Offset: kafka.Offset(off)})
	}
	if _, err := w.c.CommitOffsets(tps); err != nil {
		// The writes are durable and idempotent: should this worker die now,
		// the records are replayed and skipped. Otherwise the offsets are
		// tried again with the next commit (a revocation forgets them: the
		// partitions' next owner replays from the last commit).
		w.logger.Warn("commit offsets", "err", err)
		w.commitMu.Lock()
		w.toCommit = raiseOffsets(w.toCommit, next)
		w.commitMu.Unlock()
		return
	}
	w.m.commits.Inc()
	w.commitMu.Lock()
	w.committed = raiseOffsets(w.committed, next)
	w.commitMu.Unlock()
	for p, off := range next {
		w.setLag(p, off)
	}
}

// setLag sets partition p's lag gauge from its committed offset. The high
// watermark is librdkafka's cached one (no round trip): it moves with every
// fetch, so a partition that cannot commit shows a growing lag.
func (w *Worker) setLag(p int32, committed int64) {
	if _, high, err := w.c.GetWatermarkOffsets(w.cfg.Topic, p); err == nil && high >= committed {
		w.m.lag.WithLabelValues(partLabel(p)).Set(float64(high - committed))
		if high == committed {
			w.m.lagSeconds.WithLabelValues(partLabel(p)).Set(0) // caught up; watch sets it otherwise
		}
	}
}

// raiseOffsets raises each partition's offset in dst to the one in next,
// where next is further, and returns dst (made when nil).
func raiseOffsets(dst, next map[int32]int64) map[int32]int64 {
	if dst == nil {
		dst = make(map[int32]int64, len(next))
	}
	for p, off := range next {
		dst[p] = max(dst[p], off)
	}
	return dst
}
