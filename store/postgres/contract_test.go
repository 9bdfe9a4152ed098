package postgres_test

import (
	"context"
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/store/postgres"
	"github.com/twingraph/twingraph/store/redis"
	"github.com/twingraph/twingraph/store/storetest"
)

// The shared store contract, against plain PostgreSQL and the TimescaleDB
// engine: each subtest gets a fresh, migrated database.

func TestHistoryStore(t *testing.T) { historyContract(t, storetest.TestHistoryStore) }

// Line-level history from the per-asset tiers (plain PostgreSQL) and the
// continuous aggregates (TimescaleDB), materialised or real-time.
func TestRollupHistory(t *testing.T) { historyContract(t, storetest.TestRollupHistory) }

// historyContract runs a history contract against each engine, and against
// TimescaleDB with its aggregates materialised. The TimescaleDB scheduler
// materialises them in the background; the engine here has none, so without
// this every bucket would come from real-time aggregation. Running the
// policies after each write puts the following (late) writes behind the
// watermark, the path a live server takes.
func historyContract(t *testing.T, contract func(*testing.T, func(*testing.T) twin.HistoryStore)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			contract(t, func(t *testing.T) twin.HistoryStore { return MustOpen(t, e.url(t)) })
		})
	}
	t.Run("timescale-materialized", func(t *testing.T) {
		contract(t, func(t *testing.T) twin.HistoryStore { return jobsAfterWrite{MustOpen(t, engines[1].url(t))} })
	})
}

// The maintenance feed with its state in Redis (the production state store)
// and its history in each engine.
func TestMaintenance(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			storetest.TestMaintenance(t, func(t *testing.T) (twin.StateStore, twin.HistoryStore) {
				rs, err := redis.Open(context.Background(), testenv.Redis(t), redis.Options{Namespace: testenv.RedisNamespace(t)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(rs.Close)
				return rs, MustOpen(t, e.url(t))
			})
		})
	}
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
