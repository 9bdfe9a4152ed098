package twinsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/ingest"
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
	// made durable while the next is shown and the one after is decoded.
	maxInflight = 3
	// maxBatchBytes bounds the bytes of a batch, whatever BatchSize says:
	// with large messages, a batch's count alone would not bound memory.
	// The worker holds about four batches (three in flight, one pending).
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
	// Model is the asset model telemetry is decoded against. Required. A
	// model that changes (hierarchy.Live) is read once per batch through its
	// Snapshot method, so one batch is decoded and applied under one model.
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
	Limits ingest.Limits
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
	mu                                                        sync.Mutex // guards log, parts, flushErr and flushStage
	log                                                       string
	parts                                                     []int32
	flushErr                                                  error     // the last failed flush's error; nil after a success
	flushStage                                                [2]string // the stage each half of a flush is in ("" for none), for Ready
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
	pending      []*ingest.Record
	pendingBytes int
	lagAt        time.Time // when the lag gauges were last updated
	dlqLoggedAt  time.Time // when a dead letter was last logged (historian goroutine)
	dlqUnlogged  int       // dead letters since, not logged
	deadline     time.Time
	lastOff      map[int32]int64               // last offset read per partition, to notice a log that starts over
	links        map[*ingest.Record]trace.Link // pending records' producer spans (traceparent headers)
	inflight     []*job                        // dispatched and not finished, oldest first
	jobs         chan *job
	stopJobs     context.Context // ends a stuck flush some time after Run's context

	// Owned by the flusher goroutine while a job runs, by the Run goroutine
	// while none does (job.done orders the two).
	states map[string]*twin.State
	// dropped is set when a batch was given up uncommitted: committing any
	// later offset of the assignment would skip it, so nothing more is
	// flushed until the partitions are revoked and reassigned.
	dropped atomic.Bool

	commitMu   sync.Mutex
	toCommit   map[int32]int64 // flushed but not yet committed: next offset per partition
	committed  map[int32]int64 // committed (or starting) offset per assigned partition, for the lag
	lastCommit time.Time
	// committing serialises commitNow, which the flusher and the Run
	// goroutine both call: commits reach the broker in the order their
	// offsets were taken, so a slow older commit never lands after a newer one.
	committing sync.Mutex
	revoking   []*job // the jobs a revocation waits for, for its timeout
}

// job is one batch handed from the polling goroutine to the flusher.
type job struct {
	model  twin.Model // the model the batch is decoded and applied under
	recs   []*ingest.Record
	links  []trace.Link          // the producer spans of recs, for the flush span
	dec    chan []ingest.Decoded // the decoded batch, decoded while an earlier job writes
	ctx    context.Context       // canceled to abandon the batch uncommitted
	cancel context.CancelFunc
	done   chan struct{} // closed when both halves of the flush are over

	// Set by the flusher's half (showJob) for the historian's (finishJob).
	res     *applied        // the applied batch; nil when it was not written
	span    trace.Span      // the flush span
	spanCtx context.Context // j.ctx with the flush span
	start   time.Time
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
	// The flusher shows batches (apply, events, states); the historian
	// then makes them durable (history, dead letters) and committable, in
	// the same order, while the flusher goes on with the next batch.
	toHistorian := make(chan *job, maxInflight)
	flusherDone := make(chan struct{})
	go func() {
		defer close(toHistorian)
		for j := range w.jobs {
			w.showJob(j)
			toHistorian <- j
		}
	}()
	go func() {
		defer close(flusherDone)
		for j := range toHistorian {
			w.finishJob(j)
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
		for take < min(n, w.cfg.BatchSize) && (take == 0 || size+len(w.pending[take].Value) <= maxBatchBytes) {
			size += len(w.pending[take].Value)
			take++
		}
		recs := w.pending[:take:take]
		w.pending = w.pending[take:]
		w.pendingBytes -= size
		if len(w.pending) > 0 {
			w.deadline = time.Now() // the rest is due at once
		}
		jctx, cancel := context.WithCancel(w.stopJobs)
		j := &job{model: twin.Snapshot(w.cfg.Model), recs: recs, dec: make(chan []ingest.Decoded, 1), ctx: jctx, cancel: cancel, done: make(chan struct{})}
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
		go func() { j.dec <- ingest.DecodeBatch(j.model, log, recs, w.cfg.Limits) }()
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
		rec := newRecord(e, now)
		w.pending = append(w.pending, rec)
		w.pendingBytes += len(rec.Value)
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
				w.links = map[*ingest.Record]trace.Link{}
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
