package main

import (
	"context"
	"fmt"
	"io"

	"github.com/twingraph/twingraph/store/postgres"
)

// runMigrate applies the embedded migrations; running it again is a no-op.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	postgresURL := fs.String("postgres", "", "PostgreSQL URL")
	noTimescale := fs.Bool("no-timescale", false, "use the plain PostgreSQL schema even where TimescaleDB is available")
	compressAfter := fs.Duration("compress-after", 0, "compress TimescaleDB chunks older than this (0: never)")
	retention := fs.Duration("retention", 0, "drop raw samples older than this, aggregates stay (0: keep)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *postgresURL == "" {
		return usagef("--postgres required (or set %s)", envName("postgres"))
	}
	s, err := postgres.Open(ctx, *postgresURL, postgres.Options{NoTimescale: *noTimescale, CompressAfter: *compressAfter, Retention: *retention})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	flavour := "postgresql"
	if s.Timescale() {
		flavour = "timescaledb"
	}
	fmt.Fprintf(stdout, "migrated (%s)\n", flavour)
	return nil
}
