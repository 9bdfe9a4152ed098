package twinsync_test

import (
	"context"
	"sync"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/twinsync"
)

// gatedHistory holds its first AppendSamples until released.
type gatedHistory struct {
	twin.HistoryStore
	once     sync.Once
	entered  chan struct{} // closed when the first append starts waiting
	released chan struct{} // closed to let it go on
}

func (g *gatedHistory) AppendSamples(ctx context.Context, ss []twin.Sample) error {
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.entered)
		select {
		case <-g.released:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.HistoryStore.AppendSamples(ctx, ss)
}

// TestWorker_StatesDoNotWaitForHistory: a batch's samples are inserted beside
// the next batch's writes. While the first batch's insert hangs, a later
// record's state is written; nothing counts as flushed (nor is committed)
// past the hung batch; once it ends, every batch is in history.
func TestWorker_StatesDoNotWaitForHistory(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	s := newStores()
	gate := &gatedHistory{HistoryStore: s.history, entered: make(chan struct{}), released: make(chan struct{})}
	gated := *s
	gated.history = gate
	w := start(t, addr, "gated", &gated)
	script := line3Script()

	produce(t, addr, twinsync.DefaultTopic, script[:1])
	select {
	case <-gate.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the first batch's history was never written")
	}
	produce(t, addr, twinsync.DefaultTopic, script[1:3]) // speed 218, then batch B-001
	ctx := context.Background()
	eventually(t, "the later record's state while the first batch's history hangs", func() bool {
		st, err := s.states.GetStates(ctx, []string{l3ID})
		return err == nil && st[0] != nil && st[0].Batch == "B-001"
	})
	if n := w.w.Stats().Messages; n != 0 {
		t.Errorf("%d records counted flushed while the first batch's history hangs, want 0", n)
	}
	close(gate.released)
	waitMessages(t, 3, w)
	series, err := s.history.QueryHistory(ctx, []twin.HistoryQuery{
		{Asset: l3ID, Metric: "speed_units_per_min", From: day0.Add(-time.Hour), To: day0.Add(time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(series[0].Points); got != 2 {
		t.Errorf("speed history holds %d points, want both batches' (2)", got)
	}
}
