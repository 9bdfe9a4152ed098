package twinsync

import (
	"context"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/ingest"
)

// A flush: apply a batch, then write it in stages, each idempotent, retried
// with backoff until it succeeds or the batch is given up uncommitted. It
// runs in two halves on two goroutines, so that the next batch can become
// visible while this one's samples are still being inserted:
//
//   - the flusher applies the batch and runs visibleStages (events, states
//     and their announcements), batch after batch;
//   - the historian runs durableStages (history, dead letters) of the
//     batches the flusher has finished, in the same order, and only then
//     makes their offsets committable.
//
// Nothing is lost when the second half fails or is given up: offsets are
// committed only after it, and a replay re-appends the samples of every
// record it reads (applied to the state or not) and sends dead letters again.

// showJob is the flusher's half of a flush: it applies j's batch to the
// worker's states and runs visibleStages. On an error it backs off and
// retries until it succeeds or the job is abandoned (revocation, shutdown).
// It leaves j.res nil when the batch was not written.
func (w *Worker) showJob(j *job) {
	dec := <-j.dec
	if w.dropped.Load() {
		return
	}
	// One span per flush, retries and both halves included; it links the
	// producers' spans instead of parenting under one of them, since a
	// batch has many. finishJob ends it.
	ctx, span := tracer.Start(j.ctx, "sync.flush", trace.WithLinks(j.links...),
		trace.WithAttributes(attribute.Int("records", len(j.recs))))
	j.span, j.start = span, time.Now()
	var res *applied
	stage := 0
	ok := w.persist(ctx, j, func() error {
		if res == nil {
			t0 := time.Now()
			r, err := w.apply(ctx, j, dec)
			w.m.stage.WithLabelValues("apply").Observe(time.Since(t0).Seconds())
			if err != nil {
				return err
			}
			res = r
		}
		var err error
		stage, err = w.write(ctx, res, flusherHalf, visibleStages, stage)
		return err
	})
	if !ok {
		span.End()
		return
	}
	j.res, j.spanCtx = res, ctx
}

// finishJob is the historian's half of a flush: durableStages for a batch
// showJob wrote, then its offsets become committable.
func (w *Worker) finishJob(j *job) {
	if j.res == nil {
		return
	}
	defer j.span.End()
	if w.dropped.Load() {
		return // an earlier batch was given up: committing this one would skip it
	}
	res, stage := j.res, 0
	if !w.persist(j.spanCtx, j, func() error {
		var err error
		stage, err = w.write(j.spanCtx, res, historianHalf, durableStages, stage)
		return err
	}) {
		return
	}
	w.commitMu.Lock()
	w.toCommit = raiseOffsets(w.toCommit, res.Next)
	due := time.Since(w.lastCommit) >= commitInterval
	w.commitMu.Unlock()
	if due {
		w.commitNow()
	}
	w.messages.Add(int64(res.Records))
	w.samples.Add(int64(len(res.Samples)))
	w.events.Add(int64(len(res.Events)))
	w.deadLetters.Add(int64(len(res.dead)))
	w.batches.Add(1)
	w.m.messages.Add(float64(res.Records))
	w.m.samples.Add(float64(len(res.Samples)))
	w.m.events.Add(float64(len(res.Events)))
	w.m.deadLetters.Add(float64(len(res.dead)))
	rejects := 0
	for _, dl := range res.dead {
		rejects += len(dl.Rejects)
		for _, r := range dl.Rejects {
			w.m.dlq.WithLabelValues(reasonCode(r.Reason)).Inc()
		}
	}
	w.rejected.Add(int64(rejects))
	w.logDeadLetters(res.dead)
	w.m.batches.Inc()
	w.m.flush.Observe(time.Since(j.start).Seconds())
	j.span.SetAttributes(
		attribute.Int("samples", len(res.Samples)),
		attribute.Int("events", len(res.Events)),
		attribute.Int("dead_letters", len(res.dead)),
		attribute.Int("partitions", len(res.Next)),
	)
}

// persist runs step until it succeeds, backing off after each failure, and
// reports true; or gives j's batch up uncommitted when j is abandoned
// (revocation, shutdown) and reports false: nothing later is written or
// committed until the partitions are reassigned.
func (w *Worker) persist(ctx context.Context, j *job, step func() error) bool {
	backoff := minBackoff
	for {
		err := step()
		if err == nil {
			w.setFlushErr(nil)
			return true
		}
		j.span.RecordError(err)
		if ctx.Err() != nil {
			w.giveUp(j, err)
			return false
		}
		w.storeErrors.Add(1)
		w.m.storeErrors.Inc()
		w.setFlushErr(err)
		w.logger.Error("flush failed, retrying", "err", err, "backoff", backoff, "records", len(j.recs))
		select {
		case <-ctx.Done():
			w.giveUp(j, err)
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// giveUp marks j's batch given up uncommitted.
func (w *Worker) giveUp(j *job, err error) {
	j.span.SetStatus(codes.Error, "given up uncommitted")
	w.dropped.Store(true)
	w.logger.Warn("batch given up uncommitted; it will be replayed", "records", len(j.recs), "err", err)
}

// apply applies j's decoded batch to the worker's states, reading the
// states it does not hold from the state store.
func (w *Worker) apply(ctx context.Context, j *job, dec []ingest.Decoded) (*applied, error) {
	res, err := ingest.ApplyBatch(j.model, j.recs, dec, w.states, func(ids []string) ([]*twin.State, error) {
		st, err := w.cfg.States.GetStates(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("load states: %w", err)
		}
		return st, nil
	})
	if err != nil {
		return nil, err
	}
	return newApplied(res), nil
}

// tracer starts the flush spans from the global TracerProvider: a no-op
// unless the process turned tracing on.
var tracer = otel.Tracer("github.com/twingraph/twingraph/twinsync")

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

// The halves of a flush, for the stage they report (see Ready).
const (
	flusherHalf = iota
	historianHalf
)

// write performs stages from stage on and returns the first one not yet
// done. Every stage is idempotent, so a retry may repeat one.
func (w *Worker) write(ctx context.Context, res *applied, half int, stages []flushStage, stage int) (int, error) {
	defer w.setStage(half, "")
	for ; stage < len(stages); stage++ {
		st := stages[stage]
		w.setStage(half, st.name)
		t0 := time.Now()
		err := st.run(w, ctx, res)
		w.m.stage.WithLabelValues(st.label).Observe(time.Since(t0).Seconds())
		if err != nil {
			return stage, fmt.Errorf("%s: %w", st.name, err)
		}
	}
	return stage, nil
}

// flushStage is one step of writing a flushed batch.
type flushStage struct {
	name  string // in errors and in the stuck-stage report of Ready
	label string // the stage label of the flush_stage_seconds metric
	run   func(w *Worker, ctx context.Context, res *applied) error
}

// visibleStages are the flusher's steps, in order. Events are published as
// soon as they are durable, before the states: a crash after the states are
// written would otherwise lose their notices for good, since the replay skips
// records the states already carry.
var visibleStages = []flushStage{
	{"append events", "append_events", func(w *Worker, ctx context.Context, res *applied) error {
		if len(res.Events) == 0 {
			return nil
		}
		return w.cfg.Events.AppendEvents(ctx, res.Events)
	}},
	{"publish events", "publish_events", (*Worker).publishEvents},
	{"put states", "put_states", func(w *Worker, ctx context.Context, res *applied) error {
		if len(res.States) == 0 {
			return nil
		}
		return w.cfg.States.PutStates(ctx, res.States)
	}},
	{"publish states", "publish_states", (*Worker).publishStates},
}

// durableStages are the historian's steps, in order: the samples' insert
// (the longest stage) and the dead letters, which a replay repeats.
var durableStages = []flushStage{
	{"append history", "append_history", func(w *Worker, ctx context.Context, res *applied) error {
		if len(res.Samples) == 0 {
			return nil
		}
		return w.cfg.History.AppendSamples(ctx, res.Samples)
	}},
	{"dead-letter", "dead_letter", func(w *Worker, ctx context.Context, res *applied) error {
		return w.dlq.send(ctx, res.dead)
	}},
}

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
	if w.cfg.Bus == nil || len(res.Events) == 0 {
		return nil
	}
	notices := make([]twin.Notice, 0, len(res.Events))
	unsequenced := 0
	for i := range res.Events {
		if res.Events[i].Seq <= 0 {
			unsequenced++
			continue
		}
		notices = append(notices, twin.Notice{Event: &res.Events[i]})
	}
	if unsequenced > 0 {
		w.logger.Error("events without a store sequence left unpublished", "events", unsequenced)
	}
	return w.announce(ctx, notices)
}

// publishStates announces the changed states once they are durable.
func (w *Worker) publishStates(ctx context.Context, res *applied) error {
	if w.cfg.Bus == nil || len(res.States) == 0 {
		return nil
	}
	notices := make([]twin.Notice, 0, len(res.States))
	for _, st := range res.States {
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
