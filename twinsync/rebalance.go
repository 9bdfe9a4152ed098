package twinsync

import (
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	twin "github.com/twingraph/twingraph"
)

// The consumer group moving partitions, and the identity of the log they
// belong to (a recreated topic is a new log whose offsets start over).

// rewound handles a partition whose offsets went backwards without a
// rebalance: the topic was deleted and recreated (a new log whose offsets start
// over), or the group's offsets were reset (the same log, replayed). What was
// read before is flushed under the identity it was read with; then the
// identity is looked up again, so a new log's records are applied, not
// skipped as replays of the old one.
func (w *Worker) rewound(p int32, last, off int64) {
	w.drain()
	id, err := logIdentity(w.ctx, w.admin, w.cfg.Topic)
	if err != nil {
		w.logger.Warn("offsets went back; identify telemetry log failed, keeping the last identity",
			"partition", p, "from", last, "to", off, "err", err)
		return
	}
	if old := w.currentLog(); old != id {
		w.logger.Info("telemetry log changed", "from", old, "to", id, "partition", p)
		w.setLog(id)
	} else {
		w.logger.Info("offsets went back in the same log: replaying", "partition", p, "from", last, "to", off)
	}
}

// rebalance runs inside Poll when the group moves partitions. A revocation
// flushes and commits what was read from them and forgets the cached states,
// so the next owner (maybe this worker again) reloads them from the store.
func (w *Worker) rebalance(c *kafka.Consumer, ev kafka.Event) error {
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		// The flusher is idle: the revocation before waited for it.
		// A recreated topic gets a new id: look again at every assignment.
		if id, err := logIdentity(w.ctx, w.admin, w.cfg.Topic); err == nil {
			if old := w.currentLog(); old != id {
				w.logger.Info("telemetry log changed", "from", old, "to", id)
				w.states = map[string]*twin.State{}
			}
			w.setLog(id)
		} else {
			w.logger.Warn("identify telemetry log; keeping the last identity", "err", err)
		}
		w.lastOff = map[int32]int64{}
		w.setParts(e.Partitions)
		w.logger.Info("partitions assigned", "partitions", partNums(e.Partitions))
		return c.Assign(e.Partitions)
	case kafka.RevokedPartitions:
		lost := c.AssignmentLost()
		if lost {
			// Another member may own them already: write and commit nothing more.
			w.abandon()
		} else {
			// Finish what was read, bounded: past the bound the rest is given
			// up uncommitted and the next owner replays it.
			t := time.AfterFunc(revokeFlushTimeout, func() {
				for _, j := range w.revokingJobs() {
					j.cancel()
				}
			})
			w.drainRevoking()
			t.Stop()
			if !w.dropped.Load() {
				w.commitNow()
			}
		}
		w.pending = nil
		w.pendingBytes = 0
		w.links = nil
		w.dropped.Store(false)
		w.states = map[string]*twin.State{}
		w.commitMu.Lock()
		w.toCommit = nil
		w.committed = nil
		w.commitMu.Unlock()
		w.lastOff = map[int32]int64{}
		w.setParts(nil)
		w.logger.Info("partitions revoked", "partitions", partNums(e.Partitions), "lost", lost)
		return c.Unassign()
	}
	return nil
}

// revokingJobs is read by the revocation timer's goroutine.
func (w *Worker) revokingJobs() []*job {
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	return w.revoking
}

// drainRevoking is drain with the job in flight published for the revocation timer.
func (w *Worker) drainRevoking() {
	for {
		w.commitMu.Lock()
		w.revoking = append([]*job(nil), w.inflight...)
		w.commitMu.Unlock()
		w.waitInflight()
		if len(w.pending) == 0 || w.dropped.Load() || w.jobs == nil {
			w.commitMu.Lock()
			w.revoking = nil
			w.commitMu.Unlock()
			return
		}
		w.dispatch(true)
	}
}

func (w *Worker) currentLog() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log
}

func (w *Worker) setLog(id string) {
	w.mu.Lock()
	w.log = id
	w.mu.Unlock()
}

func (w *Worker) setParts(tps []kafka.TopicPartition) {
	n := len(tps)
	w.mu.Lock()
	w.parts = partNums(tps)
	w.mu.Unlock()
	w.m.assigned.Set(float64(n))
}

func partNums(tps []kafka.TopicPartition) []int32 {
	ps := make([]int32, 0, len(tps))
	for _, tp := range tps {
		ps = append(ps, tp.Partition)
	}
	return ps
}
