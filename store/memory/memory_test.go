package memory_test

import (
	"testing"

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
