package twinsync

import (
	"fmt"
	"maps"
	"strings"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/ingest"
)

// Readiness: a worker is not ready while a record it read waits too long to
// be applied, and says which flush stage holds it.

// watch updates the age of the oldest record read and not yet applied, and
// every lagInterval the lag gauges. It runs on the Run goroutine.
func (w *Worker) watch() {
	var oldest int64
	switch {
	case len(w.inflight) > 0:
		oldest = w.inflight[0].recs[0].Read.UnixNano()
	case len(w.pending) > 0:
		oldest = w.pending[0].Read.UnixNano()
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
	note := func(recs []*ingest.Record) {
		for _, r := range recs {
			if _, ok := oldestByPart[r.Partition]; !ok {
				oldestByPart[r.Partition] = r.Produced
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
	ferr := w.flushErr
	var stages []string
	for _, st := range w.flushStage {
		if st != "" {
			stages = append(stages, st)
		}
	}
	w.mu.Unlock()
	stage := strings.Join(stages, ", ")
	if stage != "" {
		// A store that hangs rather than fails shows here.
		msg += "; flush waiting on: " + stage
	}
	if ferr != nil {
		msg += "; last flush error: " + ferr.Error()
	}
	return twin.Errorf(twin.EUNAVAILABLE, "%s", msg)
}

// setStage notes the stage a half of the flush is in ("" for none).
func (w *Worker) setStage(half int, stage string) {
	w.mu.Lock()
	w.flushStage[half] = stage
	w.mu.Unlock()
}

func (w *Worker) setFlushErr(err error) {
	w.mu.Lock()
	w.flushErr = err
	w.mu.Unlock()
}
