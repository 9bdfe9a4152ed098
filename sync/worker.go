package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	twin "github.com/twingraph/twingraph"
)

// Defaults of Config.
const (
	DefaultGroup     = "twingraph-sync"
	DefaultTopic     = "telemetry"
	DefaultDLQTopic  = "telemetry.dlq"
	DefaultBatchSize = 50000
	// DefaultBatchWait keeps produce → visible latency low: a batch waits at
	// most this long for more records before it is flushed.
	DefaultBatchWait = 10 * time.Millisecond
)

// Backoff bounds of a failing flush.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
	// revokeFlushTimeout bounds the flush a partition revocation waits for;
	// past it the batch is abandoned uncommitted and the next owner replays it.
	revokeFlushTimeout = 10 * time.Second
	// commitInterval spaces offset commits while records stream.
	commitInterval = 100 * time.Millisecond
	// maxInflight is how many batches may be dispatched at once: one being
	// written while the next is decoded.
	maxInflight = 2
	// maxBatchBytes bounds the bytes of a batch, whatever BatchSize says:
	// with large messages, a batch's count alone would not bound memory.
	// The worker holds about three batches (two in flight, one pending).
	maxBatchBytes = 16 << 20
	// lagInterval spaces the lag and age gauges' updates.
	lagInterval = time.Second
)

// DefaultStallAfter is how long the oldest record read may wait to be
// applied before the worker reports itself not ready.
const DefaultStallAfter = 30 * time.Second

// DefaultShutdownTimeout bounds the final flush and commit when Run's
// context ends.
const DefaultShutdownTimeout = 5 * time.Second

// Config configures a Worker.
type Config struct {
	// Brokers is the Kafka bootstrap list ("host:port,host:port"). Required.
	Brokers string
	// Group is the consumer group; DefaultGroup when empty. Workers in one
	// group share the partitions.
	Group string
	// InstanceID, when set, makes this worker a static group member
	// (group.instance.id): a worker restarted under the same id takes its
	// partitions back at once, without a rebalance, instead of waiting for
	// the group to time its previous incarnation out. Unique per worker.
	InstanceID string
	// Topic is the telemetry topic; DefaultTopic when empty.
	Topic string
	// DLQTopic receives refused telemetry; DefaultDLQTopic when empty.
	DLQTopic string
	// Model is the asset model telemetry is decoded against. Required.
	Model twin.Model
	// States, History and Events are the stores the worker writes. Required.
	States  twin.StateStore
	History twin.HistoryStore
	Events  twin.EventStore
	// Bus announces stored events and changed states; nil publishes nothing.
	Bus twin.Bus
	// BatchSize is the most records flushed at once; DefaultBatchSize when <= 0.
	BatchSize int
	// BatchWait is the longest a record waits for its batch to fill; DefaultBatchWait when <= 0.
	BatchWait time.Duration
	// Limits bound each telemetry message; zero fields take the defaults.
	// Rebuild must be given the same, or it may judge records differently.
	Limits Limits
	// DLQMaxPayload is how many bytes of a refused record's value its dead
	// letter keeps (the rest is cut, see HeaderTruncated), so a dead letter
	// always fits the dead-letter topic; DefaultDLQMaxPayload when <= 0.
	DLQMaxPayload int
	// StallAfter is how long the oldest record read may wait to be applied
	// before Ready fails (a failing store or dead-letter topic, a poison
	// record); DefaultStallAfter when <= 0.
	StallAfter time.Duration
	// ShutdownTimeout bounds the flush and commit of what was read when Run's
	// context ends; past it the rest is left to the partitions' next owner
	// (it was never committed). DefaultShutdownTimeout when <= 0.
	ShutdownTimeout time.Duration
	// Logger receives the worker's logs; nil logs nothing.
	Logger *slog.Logger
	// Registerer receives the worker's metrics (twingraph_sync_*); nil keeps them private.
	Registerer prometheus.Registerer
}

// Stats are running totals of a worker.
type Stats struct {
	// Messages is the number of records flushed and committed.
	Messages int64
	// Samples is the number of samples written to history (late and bad included).
	Samples int64
	// Events is the number of business events written.
	Events int64
	// Rejected is the number of refused elements sent to the dead-letter topic.
	Rejected int64
	// DeadLetters is the number of dead-letter records written: one per
	// refused source record, however many of its elements were refused.
	DeadLetters int64
	// DeadLettersDropped is the number of dead letters the broker refused
	// for good (they were logged and skipped, not retried).
	DeadLettersDropped int64
	// Batches is the number of batches flushed.
	Batches int64
	// StoreErrors is the number of failed flush attempts (each retried).
	StoreErrors int64
	// Log is the identity of the log being consumed (see LogPos.Log).
	Log string
	// Partitions are the partitions the worker owns now.
	Partitions []int32
}

// Worker consumes the telemetry topic in a consumer group and keeps the stores
// in step with it: per asset in log order, assets in parallel, offsets
// committed only after history, events, states and dead letters are durable.
//
// A partition's owner is the only writer of its assets' states, so all
// telemetry of one asset must land on one partition: key messages by asset
// id (an edge gateway keying by device id must map each asset to one device).
// Redelivered records are skipped by the offsets stamped on the states and are
// no-ops in history and events; their dead letters, if any, are sent again.
type Worker struct {
	cfg    Config
	logger *slog.Logger
	m      *metrics

	messages, samples, events, rejected, batches, storeErrors atomic.Int64
	deadLetters, dlqDropped                                   atomic.Int64
	mu                                                        gosync.Mutex // guards log, parts and flushErr
	log                                                       string
	parts                                                     []int32
	flushErr                                                  error  // the last failed flush's error; nil after a success
	flushStage                                                string // the stage a flush is in ("" between flushes), for Ready
	running, stopped                                          atomic.Bool
	// oldestRead is when the oldest record read and not yet applied was
	// read (Unix nanoseconds; 0: none), for Ready and the age gauge.
	oldestRead atomic.Int64

	// Owned by the Run goroutine, which polls the consumer (rebalance
	// callbacks run inside its Poll calls).
	ctx          context.Context
	c            *kafka.Consumer
	admin        *kafka.AdminClient
	dlq          *dlq
	pending      []*record
	pendingBytes int
	lagAt        time.Time // when the lag gauges were last updated
	dlqLoggedAt  time.Time // when a dead letter was last logged (flusher goroutine)
	dlqUnlogged  int       // dead letters since, not logged
	deadline     time.Time
	lastOff      map[int32]int64        // last offset read per partition, to notice a log that starts over
	links        map[*record]trace.Link // pending records' producer spans (traceparent headers)
	inflight     []*job                 // dispatched and not finished, oldest first
	jobs         chan *job
	stopJobs     context.Context // ends a stuck flush some time after Run's context

	// Owned by the flusher goroutine while a job runs, by the Run goroutine
	// while none does (job.done orders the two).
	states map[string]*twin.State
	// dropped is set when a batch was given up uncommitted: committing any
	// later offset of the assignment would skip it, so nothing more is
	// flushed until the partitions are revoked and reassigned.
	dropped bool

	commitMu   gosync.Mutex
	toCommit   map[int32]int64 // flushed but not yet committed: next offset per partition
	committed  map[int32]int64 // committed (or starting) offset per assigned partition, for the lag
	lastCommit time.Time
	// committing serialises commitNow, which the flusher and the Run
	// goroutine both call: commits reach the broker in the order their
	// offsets were taken, so a slow older commit never lands after a newer one.
	committing gosync.Mutex
	revoking   []*job // the jobs a revocation waits for, for its timeout
}

// job is one batch handed from the polling goroutine to the flusher.
type job struct {
	recs   []*record
	links  []trace.Link    // the producer spans of recs, for the flush span
	dec    chan []decoded  // the decoded batch, decoded while an earlier job writes
	ctx    context.Context // canceled to abandon the batch uncommitted
	cancel context.CancelFunc
	done   chan struct{}
}

func (j *job) finished() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// NewWorker checks cfg, fills its defaults and registers the metrics.
func NewWorker(cfg Config) (*Worker, error) {
	if cfg.Brokers == "" {
		return nil, errors.New("sync worker: no Kafka brokers")
	}
	if cfg.Model == nil || cfg.States == nil || cfg.History == nil || cfg.Events == nil {
		return nil, errors.New("sync worker: model, state, history and event stores are required")
	}
	if cfg.Group == "" {
		cfg.Group = DefaultGroup
	}
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	if cfg.DLQTopic == "" {
		cfg.DLQTopic = DefaultDLQTopic
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = DefaultBatchWait
	}
	cfg.Limits = cfg.Limits.WithDefaults()
	if cfg.DLQMaxPayload <= 0 {
		cfg.DLQMaxPayload = DefaultDLQMaxPayload
	}
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = DefaultStallAfter
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Worker{cfg: cfg, logger: logger.With("component", "sync"), m: m}, nil
}

// Stats returns the worker's running totals. It is safe to call at any time.
func (w *Worker) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Stats{
		Messages:           w.messages.Load(),
		Samples:            w.samples.Load(),
		Events:             w.events.Load(),
		Rejected:           w.rejected.Load(),
		DeadLetters:        w.deadLetters.Load(),
		DeadLettersDropped: w.dlqDropped.Load(),
		Batches:            w.batches.Load(),
		StoreErrors:        w.storeErrors.Load(),
		Log:                w.log,
		Partitions:         append([]int32(nil), w.parts...),
	}
}

// Run consumes until ctx ends, then flushes what it holds, leaves the group
// and returns nil. Bad telemetry and store outages never stop it; it returns
// an error only when it cannot start or the Kafka client fails fatally.
// A Worker runs once.
func (w *Worker) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("sync worker: already ran")
	}
	w.ctx = ctx
	w.states = map[string]*twin.State{}
	w.lastOff = map[int32]int64{}

	cfg := consumerConfig(w.cfg.Brokers)
	cfg["group.id"] = w.cfg.Group
	if w.cfg.InstanceID != "" {
		cfg["group.instance.id"] = w.cfg.InstanceID
	}
	cfg["enable.auto.commit"] = false
	cfg["enable.auto.offset.store"] = false
	cfg["auto.offset.reset"] = "earliest"
	cfg["session.timeout.ms"] = 10000
	cfg["heartbeat.interval.ms"] = 1000
	// An idle partition's fetch returns after this long; new records are
	// answered at once, so it bounds idle polling, not latency.
	cfg["fetch.wait.max.ms"] = 100
	// Bound what librdkafka prefetches (default 64 MB): with messages up to
	// MaxMessageBytes, the worker holds a few batches of maxBatchBytes besides.
	cfg["queued.max.messages.kbytes"] = 16 << 10
	stopLogs := routeLogs(cfg, w.logger)
	c, err := kafka.NewConsumer(&cfg)
	if err != nil {
		stopLogs()
		return fmt.Errorf("sync worker: consumer: %w", err)
	}
	w.c = c
	admin, err := kafka.NewAdminClientFromConsumer(c)
	if err != nil {
		c.Close()
		stopLogs()
		return fmt.Errorf("sync worker: admin client: %w", err)
	}
	w.admin = admin
	d, err := newDLQ(w.cfg.Brokers, w.cfg.DLQTopic, w.cfg.DLQMaxPayload, w.logger, func() {
		w.dlqDropped.Add(1)
		w.m.dlqDropped.Inc()
	})
	if err != nil {
		admin.Close()
		c.Close()
		stopLogs()
		return fmt.Errorf("sync worker: %w", err)
	}
	w.dlq = d
	defer func() {
		admin.Close()
		// Close leaves the group; its revocation callback finds nothing pending.
		if err := c.Close(); err != nil {
			w.logger.Warn("close consumer", "err", err)
		}
		d.close()
		stopLogs()
		w.setParts(nil)
		w.stopped.Store(true)
	}()

	// Offsets are stamped with the log identity, so it must be known before
	// the first record is applied.
	for backoff := minBackoff; ; backoff = min(2*backoff, maxBackoff) {
		id, err := logIdentity(ctx, admin, w.cfg.Topic)
		if err == nil {
			w.setLog(id)
			break
		}
		w.logger.Warn("identify telemetry log, retrying", "topic", w.cfg.Topic, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
	}
	if err := c.SubscribeTopics([]string{w.cfg.Topic}, w.rebalance); err != nil {
		return fmt.Errorf("sync worker: subscribe %s: %w", w.cfg.Topic, err)
	}
	w.logger.Info("sync worker started", "topic", w.cfg.Topic, "group", w.cfg.Group, "log", w.currentLog())

	stopJobs, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	w.stopJobs = stopJobs
	w.jobs = make(chan *job, maxInflight)
	flusherDone := make(chan struct{})
	go func() {
		defer close(flusherDone)
		for j := range w.jobs {
			w.runJob(j)
			j.cancel() // releases the job's context
			close(j.done)
		}
	}()
	defer func() {
		close(w.jobs)
		<-flusherDone
		w.jobs = nil // the consumer's Close may still call rebalance
	}()

	for ctx.Err() == nil {
		w.prune()
		if len(w.inflight) >= maxInflight && (len(w.pending) >= 2*w.cfg.BatchSize || w.pendingBytes >= 2*maxBatchBytes) {
			j := w.inflight[0]
			// Backpressure: the flusher is behind (a slow or failing store).
			// Wait for it instead of reading on, but keep polling now and
			// then so the group still sees this member alive. Pausing the
			// partitions instead would drop what librdkafka has prefetched.
			select {
			case <-j.done:
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
		if err := w.handle(c.Poll(w.pollTimeout())); err != nil {
			return err
		}
		w.dispatch(false)
		w.commitIfDue()
		w.watch()
	}
	// Flush what was read before stopping; if the stores are down this gives
	// up after a while and the records are replayed by the next owner.
	stopTimer := time.AfterFunc(w.cfg.ShutdownTimeout, cancelJobs)
	defer stopTimer.Stop()
	w.logger.Info("sync worker draining", "pending", len(w.pending), "timeout", w.cfg.ShutdownTimeout)
	w.drain()
	w.commitNow()
	w.logger.Info("sync worker stopped")
	return nil
}

// pollTimeout is how long the next Poll may wait: until the pending batch is
// due, briefly while the flusher is busy with a due batch, else 100 ms.
func (w *Worker) pollTimeout() int {
	if len(w.pending) == 0 {
		return 100
	}
	if w.prune(); len(w.inflight) >= maxInflight {
		return 1
	}
	return max(0, int(time.Until(w.deadline).Milliseconds()))
}

// dispatch hands the pending batch to the flusher when it is due (full, or
// waited BatchWait; force: anything pending) and the flusher is free.
func (w *Worker) dispatch(force bool) {
	if w.jobs == nil {
		return
	}
	w.prune()
	n := len(w.pending)
	if len(w.inflight) < maxInflight && n > 0 && (force || n >= w.cfg.BatchSize || w.pendingBytes >= maxBatchBytes || !time.Now().Before(w.deadline)) {
		take, size := 0, 0
		for take < min(n, w.cfg.BatchSize) && (take == 0 || size+len(w.pending[take].value) <= maxBatchBytes) {
			size += len(w.pending[take].value)
			take++
		}
		recs := w.pending[:take:take]
		w.pending = w.pending[take:]
		w.pendingBytes -= size
		if len(w.pending) > 0 {
			w.deadline = time.Now() // the rest is due at once
		}
		jctx, cancel := context.WithCancel(w.stopJobs)
		j := &job{recs: recs, dec: make(chan []decoded, 1), ctx: jctx, cancel: cancel, done: make(chan struct{})}
		if len(w.links) > 0 {
			for _, r := range recs {
				if l, ok := w.links[r]; ok {
					delete(w.links, r)
					if len(j.links) < maxFlushLinks {
						j.links = append(j.links, l)
					}
				}
			}
		}
		log := w.currentLog()
		go func() { j.dec <- decodeAll(w.cfg.Model, log, recs, w.cfg.Limits) }()
		w.jobs <- j // never blocks: the channel holds maxInflight jobs
		w.inflight = append(w.inflight, j)
	}
}

// prune forgets finished jobs; jobs finish in order.
func (w *Worker) prune() {
	for len(w.inflight) > 0 && w.inflight[0].finished() {
		w.inflight = w.inflight[1:]
	}
}

// waitInflight waits until every dispatched job has finished.
func (w *Worker) waitInflight() {
	for _, j := range w.inflight {
		<-j.done
	}
	w.inflight = nil
}

// drain waits for the flusher, then flushes everything pending, batch by batch.
func (w *Worker) drain() {
	for {
		w.waitInflight()
		if len(w.pending) == 0 {
			return
		}
		w.dispatch(true)
	}
}

// abandon gives up the batches in flight, if any, and waits for the flusher to let go.
func (w *Worker) abandon() {
	for _, j := range w.inflight {
		j.cancel()
	}
	w.waitInflight()
}

// handle takes one polled event: records join the pending batch.
func (w *Worker) handle(ev kafka.Event) error {
	switch e := ev.(type) {
	case nil:
	case *kafka.Message:
		if e.TopicPartition.Error != nil {
			w.logger.Warn("consume", "err", e.TopicPartition.Error)
			return nil
		}
		p, off := e.TopicPartition.Partition, int64(e.TopicPartition.Offset)
		if last, ok := w.lastOff[p]; ok && off <= last {
			w.rewound(p, last, off)
		}
		w.lastOff[p] = off
		now := time.Now()
		if len(w.pending) == 0 {
			w.deadline = now.Add(w.cfg.BatchWait)
		}
		rec := &record{
			topic:     *e.TopicPartition.Topic,
			partition: e.TopicPartition.Partition,
			offset:    int64(e.TopicPartition.Offset),
			key:       e.Key,
			value:     e.Value,
			produced:  producedAt(e.Timestamp, now),
			read:      now,
		}
		w.pending = append(w.pending, rec)
		w.pendingBytes += len(rec.value)
		w.commitMu.Lock()
		if _, ok := w.committed[p]; !ok {
			// The first record read since assignment is where the committed position was.
			if w.committed == nil {
				w.committed = map[int32]int64{}
			}
			w.committed[p] = off
		}
		w.commitMu.Unlock()
		if sc := producerSpan(e.Headers); sc.IsValid() {
			if w.links == nil {
				w.links = map[*record]trace.Link{}
			}
			w.links[rec] = trace.Link{SpanContext: sc}
		}
	case kafka.Error:
		if e.IsFatal() {
			return fmt.Errorf("sync worker: kafka: %w", e)
		}
		w.logger.Debug("kafka client", "err", e)
	}
	return nil
}

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
			if !w.dropped {
				w.commitNow()
			}
		}
		w.pending = nil
		w.pendingBytes = 0
		w.links = nil
		w.dropped = false
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
		if len(w.pending) == 0 || w.dropped || w.jobs == nil {
			w.commitMu.Lock()
			w.revoking = nil
			w.commitMu.Unlock()
			return
		}
		w.dispatch(true)
	}
}

// runJob applies a batch and writes it: history, events, states, bus, dead
// letters; then its offsets become committable. On an error it backs off and
// retries until it succeeds or the job is abandoned (revocation, shutdown).
// It runs on the flusher goroutine.
func (w *Worker) runJob(j *job) {
	dec := <-j.dec
	if w.dropped {
		return
	}
	// One span per flush, retries included; it links the producers' spans
	// instead of parenting under one of them, since a batch has many.
	ctx, span := tracer.Start(j.ctx, "sync.flush", trace.WithLinks(j.links...),
		trace.WithAttributes(attribute.Int("records", len(j.recs))))
	defer span.End()
	start := time.Now()
	var res *applied
	stage := 0
	backoff := minBackoff
	for {
		var err error
		if res == nil {
			t0 := time.Now()
			res, err = applyBatch(w.cfg.Model, j.recs, dec, w.states, func(ids []string) ([]*twin.State, error) {
				st, err := w.cfg.States.GetStates(ctx, ids)
				if err != nil {
					return nil, fmt.Errorf("load states: %w", err)
				}
				return st, nil
			})
			w.m.stage.WithLabelValues("apply").Observe(time.Since(t0).Seconds())
		}
		if err == nil {
			stage, err = w.write(ctx, res, stage)
		}
		if err == nil {
			break
		}
		span.RecordError(err)
		if ctx.Err() != nil {
			span.SetStatus(codes.Error, "given up uncommitted")
			w.dropped = true
			w.logger.Warn("batch given up uncommitted; it will be replayed", "records", len(j.recs), "err", err)
			return
		}
		w.storeErrors.Add(1)
		w.m.storeErrors.Inc()
		w.setFlushErr(err)
		w.logger.Error("flush failed, retrying", "err", err, "backoff", backoff, "records", len(j.recs))
		select {
		case <-ctx.Done():
			span.SetStatus(codes.Error, "given up uncommitted")
			w.dropped = true
			w.logger.Warn("batch given up uncommitted; it will be replayed", "records", len(j.recs))
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}

	w.setFlushErr(nil)
	w.commitMu.Lock()
	if w.toCommit == nil {
		w.toCommit = map[int32]int64{}
	}
	for p, off := range res.next {
		w.toCommit[p] = max(w.toCommit[p], off)
	}
	due := time.Since(w.lastCommit) >= commitInterval
	w.commitMu.Unlock()
	if due {
		w.commitNow()
	}

	w.messages.Add(int64(res.records))
	w.samples.Add(int64(len(res.samples)))
	w.events.Add(int64(len(res.events)))
	w.deadLetters.Add(int64(len(res.dead)))
	w.batches.Add(1)
	w.m.messages.Add(float64(res.records))
	w.m.samples.Add(float64(len(res.samples)))
	w.m.events.Add(float64(len(res.events)))
	w.m.deadLetters.Add(float64(len(res.dead)))
	rejects := 0
	for _, dl := range res.dead {
		rejects += len(dl.rejects)
		for _, r := range dl.rejects {
			w.m.dlq.WithLabelValues(reasonCode(r.Reason)).Inc()
		}
	}
	w.rejected.Add(int64(rejects))
	w.logDeadLetters(res.dead)
	w.m.batches.Inc()
	w.m.flush.Observe(time.Since(start).Seconds())
	span.SetAttributes(
		attribute.Int("samples", len(res.samples)),
		attribute.Int("events", len(res.events)),
		attribute.Int("dead_letters", len(res.dead)),
		attribute.Int("partitions", len(res.next)),
	)
}

// tracer starts the flush spans from the global TracerProvider: a no-op
// unless the process turned tracing on.
var tracer = otel.Tracer("github.com/twingraph/twingraph/sync")

// maxFlushLinks bounds the producer spans one flush span links (the SDK's
// default link limit).
const maxFlushLinks = 128

// producerSpan returns the span context a record's traceparent header
// carries, through the global propagator (none unless tracing is on); the
// zero SpanContext when there is none.
func producerSpan(headers []kafka.Header) trace.SpanContext {
	var carrier propagation.MapCarrier
	for _, h := range headers {
		if h.Key == "traceparent" || h.Key == "tracestate" {
			if carrier == nil {
				carrier = propagation.MapCarrier{}
			}
			carrier[h.Key] = string(h.Value)
		}
	}
	if carrier == nil {
		return trace.SpanContext{}
	}
	return trace.SpanContextFromContext(otel.GetTextMapPropagator().Extract(context.Background(), carrier))
}

// write performs the stages of a flush from stage on and returns the first
// stage not yet done. Every stage is idempotent, so a retry may repeat one.
func (w *Worker) write(ctx context.Context, res *applied, stage int) (int, error) {
	defer w.setStage("")
	for ; stage < len(stageNames); stage++ {
		w.setStage(stageNames[stage])
		t0 := time.Now()
		var err error
		switch stage {
		case 0:
			if len(res.samples) > 0 {
				err = w.cfg.History.AppendSamples(ctx, res.samples)
			}
		case 1:
			if len(res.events) > 0 {
				err = w.cfg.Events.AppendEvents(ctx, res.events)
			}
		case 2:
			err = w.publishEvents(ctx, res)
		case 3:
			if len(res.states) > 0 {
				err = w.cfg.States.PutStates(ctx, res.states)
			}
		case 4:
			err = w.publishStates(ctx, res)
		case 5:
			err = w.dlq.send(ctx, res.dead)
		}
		w.m.stage.WithLabelValues(stageLabels[stage]).Observe(time.Since(t0).Seconds())
		if err != nil {
			return stage, fmt.Errorf("%s: %w", stageNames[stage], err)
		}
	}
	return stage, nil
}

// stageNames name the steps of a flush, in order. Events are published as
// soon as they are durable, before the states: a crash after the states are
// written would otherwise lose their notices for good, since the replay skips
// records the states already carry.
var stageNames = []string{"append history", "append events", "publish events", "put states", "publish states", "dead-letter"}

// stageLabels are stageNames as metric label values.
var stageLabels = []string{"append_history", "append_events", "publish_events", "put_states", "publish_states", "dead_letter"}

// publishEvents announces the durable events. A failed publish fails the
// flush, which backs off and retries like any store error: a live subscriber
// whose own connection stayed up would otherwise miss the event without a sign.
//
// An event goes out only with the Seq the event store gave it: its cursor is
// what a subscriber resumes from, and Seq 0 would replay the whole history.
// An event without one is a store fault; it is logged and left to the event
// store, where a resuming subscriber finds it.
//
// Events that were stored before this flush (a replay re-derived them) are
// published again, with their original Seq, rather than suppressed: the
// flush that stored them may have ended before it published them (a crash or
// a revocation between appending and publishing), and leaving them out would
// lose them for every live subscriber without a sign. Live delivery is
// therefore at least once; a duplicate carries the cursor of the original.
func (w *Worker) publishEvents(ctx context.Context, res *applied) error {
	if w.cfg.Bus == nil || len(res.events) == 0 {
		return nil
	}
	notices := make([]twin.Notice, 0, len(res.events))
	unsequenced := 0
	for i := range res.events {
		if res.events[i].Seq <= 0 {
			unsequenced++
			continue
		}
		notices = append(notices, twin.Notice{Event: &res.events[i]})
	}
	if unsequenced > 0 {
		w.logger.Error("events without a store sequence left unpublished", "events", unsequenced)
	}
	return w.announce(ctx, notices)
}

// publishStates announces the changed states once they are durable.
func (w *Worker) publishStates(ctx context.Context, res *applied) error {
	if w.cfg.Bus == nil || len(res.states) == 0 {
		return nil
	}
	notices := make([]twin.Notice, 0, len(res.states))
	for _, st := range res.states {
		notices = append(notices, twin.Notice{State: st})
	}
	return w.announce(ctx, notices)
}

func (w *Worker) announce(ctx context.Context, notices []twin.Notice) error {
	if len(notices) == 0 {
		return nil
	}
	return w.cfg.Bus.Publish(ctx, notices)
}

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
		if w.toCommit == nil {
			w.toCommit = map[int32]int64{}
		}
		for p, off := range next {
			w.toCommit[p] = max(w.toCommit[p], off)
		}
		w.commitMu.Unlock()
		return
	}
	w.m.commits.Inc()
	w.commitMu.Lock()
	if w.committed == nil {
		w.committed = map[int32]int64{}
	}
	for p, off := range next {
		w.committed[p] = max(w.committed[p], off)
	}
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

// watch updates the age of the oldest record read and not yet applied, and
// every lagInterval the lag gauges. It runs on the Run goroutine.
func (w *Worker) watch() {
	var oldest int64
	switch {
	case len(w.inflight) > 0:
		oldest = w.inflight[0].recs[0].read.UnixNano()
	case len(w.pending) > 0:
		oldest = w.pending[0].read.UnixNano()
	}
	w.oldestRead.Store(oldest)
	now := time.Now()
	if oldest == 0 {
		w.m.oldestAge.Set(0)
	} else {
		w.m.oldestAge.Set(now.Sub(time.Unix(0, oldest)).Seconds())
	}
	if now.Sub(w.lagAt) < lagInterval {
		return
	}
	w.lagAt = now
	w.commitMu.Lock()
	base := maps.Clone(w.committed)
	w.commitMu.Unlock()
	for p, off := range base {
		w.setLag(p, off)
	}
	// Lag in time: the oldest record of each partition still to apply.
	// Jobs and the pending batch are in read order, so a partition's first
	// record met is its oldest.
	oldestByPart := map[int32]time.Time{}
	note := func(recs []*record) {
		for _, r := range recs {
			if _, ok := oldestByPart[r.partition]; !ok {
				oldestByPart[r.partition] = r.produced
			}
		}
	}
	for _, j := range w.inflight {
		if !j.finished() {
			note(j.recs)
		}
	}
	note(w.pending)
	for p := range base {
		age := 0.0
		if t, ok := oldestByPart[p]; ok {
			age = max(0, now.Sub(t).Seconds())
		}
		w.m.lagSeconds.WithLabelValues(partLabel(p)).Set(age)
	}
}

// Ready reports whether the worker keeps up with its partitions. It fails
// (code UNAVAILABLE) once the oldest record read has waited longer than
// StallAfter to be applied — a store or the dead-letter topic failing, say —
// naming the last flush error, and after Run has returned. It is safe to
// call at any time; before Run it reports ready.
func (w *Worker) Ready() error {
	if w.stopped.Load() {
		return twin.Errorf(twin.EUNAVAILABLE, "sync worker stopped")
	}
	ns := w.oldestRead.Load()
	if ns == 0 {
		return nil
	}
	age := time.Since(time.Unix(0, ns))
	if age <= w.cfg.StallAfter {
		return nil
	}
	msg := fmt.Sprintf("sync worker stalled: a record read %s ago is not applied yet (limit %s)",
		age.Round(time.Second), w.cfg.StallAfter)
	w.mu.Lock()
	ferr, stage := w.flushErr, w.flushStage
	w.mu.Unlock()
	if stage != "" {
		// A store that hangs rather than fails shows here.
		msg += "; flush waiting on: " + stage
	}
	if ferr != nil {
		msg += "; last flush error: " + ferr.Error()
	}
	return twin.Errorf(twin.EUNAVAILABLE, "%s", msg)
}

func (w *Worker) setStage(stage string) {
	w.mu.Lock()
	w.flushStage = stage
	w.mu.Unlock()
}

func (w *Worker) setFlushErr(err error) {
	w.mu.Lock()
	w.flushErr = err
	w.mu.Unlock()
}
