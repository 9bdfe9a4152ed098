package postgres_test

import (
	"context"
	"strings"
	"testing"

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
