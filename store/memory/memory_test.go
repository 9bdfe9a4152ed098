package memory_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/store/memory"
	"github.com/twingraph/twingraph/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStateStore(t *testing.T) {
	storetest.TestStateStore(t, func(t *testing.T) twin.StateStore { return memory.NewStateStore() })
}

func TestHistoryStore(t *testing.T) {
	storetest.TestHistoryStore(t, func(t *testing.T) twin.HistoryStore { return memory.NewHistoryStore() })
}

func TestMaintenance(t *testing.T) {
	storetest.TestMaintenance(t, func(t *testing.T) (twin.StateStore, twin.HistoryStore) {
		return memory.NewStateStore(), memory.NewHistoryStore()
	})
}

func TestRollupHistory(t *testing.T) {
	storetest.TestRollupHistory(t, func(t *testing.T) twin.HistoryStore { return memory.NewHistoryStore() })
}

func TestEventStore(t *testing.T) {
	storetest.TestEventStore(t, func(t *testing.T) twin.EventStore { return memory.NewEventStore() })
}

func TestBus(t *testing.T) {
	storetest.TestBus(t, func(t *testing.T) twin.Bus { return memory.NewBus() })
}

func TestHistoryStore_MaxSamples(t *testing.T) {
	h := memory.NewHistoryStore()
	h.MaxSamples = 60
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	var samples []twin.Sample
	for i := range 3 * 60 {
		samples = append(samples, twin.Sample{Asset: "a", Signal: "s", TS: t0.Add(time.Duration(i) * time.Minute), Value: twin.Number(1), Quality: twin.QualityGood})
	}
	if err := h.AppendSamples(context.Background(), samples); err != nil {
		t.Fatal(err)
	}
	if n := h.Len(); n > 80 || n < 60 {
		t.Fatalf("%d samples kept of 180 with at most 60 (+ a third) per series", n)
	}
	// The newest samples are the ones kept.
	last := t0.Add(179 * time.Minute)
	got, err := h.QueryHistory(context.Background(), []twin.HistoryQuery{{Asset: "a", Metric: "s", From: last, To: last.Add(time.Minute), Agg: twin.AggAvg}})
	if err != nil || len(got[0].Points) != 1 {
		t.Fatalf("newest sample not kept: %v %v", got, err)
	}
}
