package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/store/postgres"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

// engine is one database kind the tests run against.
type engine struct {
	name string
	url  func(testing.TB) string
}

var engines = []engine{
	{"postgres", testenv.Postgres},
	{"timescale", testenv.Timescale},
}

// forEngines runs f as a subtest per engine.
func forEngines(t *testing.T, f func(t *testing.T, url string)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { f(t, e.url(t)) })
	}
}

// MustOpen opens a store on url, migrated, closed when the test ends.
func MustOpen(tb testing.TB, url string) *postgres.Store {
	tb.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	if err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return s
}
