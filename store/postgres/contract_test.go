package postgres_test

import (
	"context"
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/store/postgres"
	"github.com/twingraph/twingraph/store/storetest"
)

// The shared store contract, against plain PostgreSQL and the TimescaleDB
// engine: each subtest gets a fresh, migrated database.

func TestHistoryStore(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			storetest.TestHistoryStore(t, func(t *testing.T) twin.HistoryStore { return MustOpen(t, e.url(t)) })
		})
	}
	// The TimescaleDB scheduler materialises the aggregates in the background;
	// the engine here has none, so without this every bucket would come from
	// real-time aggregation. Running the policies after each write puts the
	// following (late) writes behind the watermark, the path a live server takes.
	t.Run("timescale-materialized", func(t *testing.T) {
		storetest.TestHistoryStore(t, func(t *testing.T) twin.HistoryStore {
			return jobsAfterWrite{MustOpen(t, engines[1].url(t))}
		})
	})
}

type jobsAfterWrite struct{ *postgres.Store }

func (s jobsAfterWrite) AppendSamples(ctx context.Context, samples []twin.Sample) error {
	if err := s.Store.AppendSamples(ctx, samples); err != nil {
		return err
	}
	return s.RunJobs(ctx)
}

func TestEventStore(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			storetest.TestEventStore(t, func(t *testing.T) twin.EventStore { return MustOpen(t, e.url(t)) })
		})
	}
}
