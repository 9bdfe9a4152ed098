package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/store/postgres"
)

func TestStore_Migrate(t *testing.T) {
	forEngines(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s, err := postgres.Open(ctx, url, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		t.Run("CheckSchemaOnEmpty", func(t *testing.T) {
			err := s.CheckSchema(ctx)
			if twin.ErrorCode(err) != twin.EINTERNAL || !strings.Contains(twin.ErrorMessage(err), "twingraph migrate") {
				t.Fatalf("CheckSchema on an empty database = %v, want a message naming twingraph migrate", err)
			}
		})
		t.Run("Twice", func(t *testing.T) {
			for i := range 2 {
				if err := s.Migrate(ctx); err != nil {
					t.Fatalf("migrate #%d: %v", i+1, err)
				}
			}
			if err := s.CheckSchema(ctx); err != nil {
				t.Fatalf("CheckSchema after migrate: %v", err)
			}
			var n int
			if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n < 2 {
				t.Fatalf("recorded migrations = %d, %v", n, err)
			}
		})
		t.Run("Flavour", func(t *testing.T) {
			want := strings.Contains(t.Name(), "timescale")
			if s.Timescale() != want {
				t.Fatalf("Timescale() = %v, want %v", s.Timescale(), want)
			}
		})
		t.Run("OtherStoreSeesSchema", func(t *testing.T) {
			s2, err := postgres.Open(ctx, url, postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			if err := s2.CheckSchema(ctx); err != nil {
				t.Fatal(err)
			}
			if s2.Timescale() != s.Timescale() {
				t.Fatal("flavour not read back from the recorded migrations")
			}
		})
	})
}

func TestStore_CheckSchemaOlder(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, engines[0].url(t))
	if _, err := s.Pool().Exec(ctx, `DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	err := s.CheckSchema(ctx)
	if err == nil || !strings.Contains(twin.ErrorMessage(err), "twingraph migrate") || !strings.Contains(twin.ErrorMessage(err), "older") {
		t.Fatalf("CheckSchema on an older schema = %v, want a message to run twingraph migrate", err)
	}
}

func TestStore_TimescalePolicies(t *testing.T) {
	ctx := context.Background()
	url := engines[1].url(t)
	jobs := func(s *postgres.Store) map[string]bool {
		rows, err := s.Pool().Query(ctx, `SELECT proc_name FROM timescaledb_information.jobs WHERE hypertable_name = 'samples'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]bool{}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			out[n] = true
		}
		return out
	}
	open := func(opt postgres.Options) *postgres.Store {
		s, err := postgres.Open(ctx, url, opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open(postgres.Options{CompressAfter: 7 * 24 * time.Hour, Retention: 90 * 24 * time.Hour})
	if j := jobs(s); !j["policy_compression"] || !j["policy_retention"] {
		t.Fatalf("jobs after migrate with compression and retention: %v", j)
	}
	// Samples in compressed chunks: a replay is still dropped, a late one still counted.
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	batch := []twin.Sample{
		{Asset: "a", Signal: "m", TS: day.Add(time.Minute), Value: twin.Number(2), Quality: twin.QualityGood},
		{Asset: "a", Signal: "m", TS: day.Add(2 * time.Minute), Value: twin.Number(4), Quality: twin.QualityGood},
	}
	if err := s.AppendSamples(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := s.RunJobs(ctx); err != nil {
		t.Fatal(err)
	}
	var compressed int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'samples' AND is_compressed`).Scan(&compressed); err != nil || compressed == 0 {
		t.Fatalf("compressed chunks: %d, %v", compressed, err)
	}
	late := append(batch, twin.Sample{Asset: "a", Signal: "m", TS: day.Add(90 * time.Second), Value: twin.Number(6), Quality: twin.QualityGood})
	if err := s.AppendSamples(ctx, late); err != nil {
		t.Fatal(err)
	}
	got, err := s.QueryHistory(ctx, []twin.HistoryQuery{{Asset: "a", Metric: "m", From: day, To: day.Add(time.Hour), Interval: time.Hour, Agg: twin.AggSum}})
	if err != nil || len(got[0].Points) != 1 || *got[0].Points[0].Value != 12 {
		t.Fatalf("sum over compressed chunks: %+v, %v", got, err)
	}
	s = open(postgres.Options{})
	if j := jobs(s); j["policy_compression"] || j["policy_retention"] {
		t.Fatalf("jobs after migrate without them: %v", j)
	}
}
