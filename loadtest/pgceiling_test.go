package loadtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/twingraph/twingraph/store/postgres"
)

// insertCeiling measures what PostgreSQL alone can insert: n sample rows of
// the ingest's shape (the same machine ids and signals, one second apart)
// into an empty copy of the samples table (its keys and indexes), over
// the store's number of writer connections, each row made by the server
// itself (generate_series) so no client work is counted. It is the ceiling
// of the ingest rate on this machine: every record is one such row, which
// the worker inserts with its Kafka, Redis and decode work beside. Returns
// rows per second.
func insertCeiling(tb testing.TB, pool *pgxpool.Pool, n int) float64 {
	tb.Helper()
	ctx := context.Background()
	const table = "samples_ceiling"
	// The migrated samples table's columns, keys and indexes, unpartitioned.
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS `+table+`;
		CREATE TABLE `+table+` (LIKE samples INCLUDING ALL)`); err != nil {
		tb.Fatal(err)
	}
	defer pool.Exec(ctx, `DROP TABLE IF EXISTS `+table)

	// Batches the size of a flush's share per writer, as the store sends them.
	const batch = 10_000
	writers := postgres.DefaultWriters
	base := time.Now().UTC().Truncate(time.Second)
	start := time.Now()
	var g errgroup.Group
	for w := range writers {
		g.Go(func() error {
			for lo := w * batch; lo < n; lo += writers * batch {
				hi := min(lo+batch, n) - 1
				_, err := pool.Exec(ctx, `INSERT INTO `+table+` (asset, signal, ts, kind, num, txt, good)
					SELECT format('site/l%s/m%s', (i / $3) % $4 / $5, (i / $3) % $4 % $5),
					       ($6::text[])[i % $3 + 1],
					       $7::timestamptz + make_interval(secs => i / ($3 * $4)),
					       'number', i, NULL, true
					FROM generate_series($1::int, $2::int) AS i
					ON CONFLICT DO NOTHING`,
					lo, hi, len(ingestSignals), benchMachines, benchPerLine, ingestSignals, base)
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
	elapsed := time.Since(start)
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&rows); err != nil {
		tb.Fatal(err)
	}
	if rows != n {
		tb.Fatalf("insert ceiling: %d rows stored, want %d", rows, n)
	}
	return float64(n) / elapsed.Seconds()
}
