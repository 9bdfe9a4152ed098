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

func TestEventStore(t *testing.T) {
	storetest.TestEventStore(t, func(t *testing.T) twin.EventStore { return memory.NewEventStore() })
}

func TestBus(t *testing.T) {
	storetest.TestBus(t, func(t *testing.T) twin.Bus { return memory.NewBus() })
}

func TestHistoryStore_Retention(t *testing.T) {
	h := memory.NewHistoryStore()
	h.Retention = time.Hour
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	var samples []twin.Sample
	for i := range 3 * 60 {
		samples = append(samples, twin.Sample{Asset: "a", Signal: "s", TS: t0.Add(time.Duration(i) * time.Minute), Value: twin.Number(1), Quality: twin.QualityGood})
	}
	if err := h.AppendSamples(context.Background(), samples); err != nil {
		t.Fatal(err)
	}
	if n := h.Len(); n > 2*60 || n < 60 {
		t.Fatalf("%d samples kept of 180 with an hour's retention over three hours", n)
	}
}
