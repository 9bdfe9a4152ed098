package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	twin "github.com/twingraph/twingraph"
	twinsql "github.com/twingraph/twingraph/sql"
)

// migrateLock keys the advisory lock that serialises concurrent migrators.
const migrateLock = 7_415_000_001

// migrations returns the embedded migration names that apply to the flavour,
// in the order they run.
func migrations(f flavour) ([]string, error) {
	names, err := fs.Glob(twinsql.FS, "*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []string
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, ".postgres.sql"):
			if f != flavourPostgres {
				continue
			}
		case strings.HasSuffix(n, ".timescale.sql"):
			if f != flavourTimescale {
				continue
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// applied returns the recorded migrations, nil when none table exists yet.
func applied(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}) ([]string, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return nil, err
	}
	rows, err := q.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// flavourOf reads the flavour back from the recorded migration names.
func flavourOf(names []string) flavour {
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, ".timescale.sql"):
			return flavourTimescale
		case strings.HasSuffix(n, ".postgres.sql"):
			return flavourPostgres
		}
	}
	return flavourUnknown
}

// Migrate brings the schema up to date: it applies every embedded migration not
// yet recorded in schema_migrations, in name order, each in its own transaction
// (holding an advisory lock so concurrent migrators wait for each other), then
// sets the compression and retention policies from Options on the TimescaleDB
// path. It is idempotent. A fresh database takes the TimescaleDB path when the
// extension is available and Options.NoTimescale is false.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version text PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return internal("migrate", err)
	}
	done, err := applied(ctx, s.pool)
	if err != nil {
		return internal("migrate", err)
	}
	f := flavourOf(done)
	if f == flavourUnknown {
		f = flavourPostgres
		if !s.opt.NoTimescale {
			var avail bool
			if err := s.pool.QueryRow(ctx,
				`SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')`).Scan(&avail); err != nil {
				return internal("migrate", err)
			}
			if avail {
				// Available is not enough: creating it needs privileges and
				// shared_preload_libraries; fall back to plain PostgreSQL when it fails.
				if _, err := s.pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS timescaledb`); err == nil {
					f = flavourTimescale
				} else {
					s.log.Warn("timescaledb available but not usable; using plain PostgreSQL", "err", err)
				}
			}
		}
	}
	todo, err := migrations(f)
	if err != nil {
		return internal("migrate", err)
	}
	for _, name := range todo {
		if slices.Contains(done, name) {
			continue
		}
		if err := s.apply(ctx, name); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.flavour = f
	s.mu.Unlock()
	if f == flavourTimescale {
		if err := s.setPolicies(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, name string) error {
	body, err := twinsql.FS.ReadFile(name)
	if err != nil {
		return internal("migrate "+name, err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 { // another migrator got here first
			return nil
		}
		// The simple protocol runs a file of many statements in one call.
		if _, err := tx.Exec(ctx, string(body), pgx.QueryExecModeSimpleProtocol); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, name)
		return err
	})
	if err != nil {
		return internal("migrate "+name, err)
	}
	s.log.Info("migration applied", "version", name)
	return nil
}

// setPolicies makes the compression and retention policies match Options.
func (s *Store) setPolicies(ctx context.Context) error {
	stmts := []string{`SELECT remove_compression_policy('samples', if_exists => true)`}
	if d := s.opt.CompressAfter; d > 0 {
		stmts = append(stmts,
			`ALTER TABLE samples SET (timescaledb.compress, timescaledb.compress_segmentby = 'asset, signal', timescaledb.compress_orderby = 'ts')`,
			fmt.Sprintf(`SELECT add_compression_policy('samples', INTERVAL '%d seconds')`, int64(d/time.Second)))
	}
	stmts = append(stmts, `SELECT remove_retention_policy('samples', if_exists => true)`)
	if d := s.opt.Retention; d > 0 {
		stmts = append(stmts, fmt.Sprintf(`SELECT add_retention_policy('samples', INTERVAL '%d seconds')`, int64(d/time.Second)))
	}
	for _, q := range stmts {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			return internal("set policies", err)
		}
	}
	return nil
}

// CheckSchema returns nil when every migration this binary knows is recorded,
// and otherwise a twin.Error (INTERNAL) telling the operator to run
// `twingraph migrate`. A schema newer than the binary is accepted: migrations
// only add. On success the flavour (Timescale) is known.
func (s *Store) CheckSchema(ctx context.Context) error {
	done, err := applied(ctx, s.pool)
	if err != nil {
		return internal("check schema", err)
	}
	f := flavourOf(done)
	want, err := migrations(f)
	if err != nil {
		return internal("check schema", err)
	}
	var missing []string
	for _, n := range want {
		if !slices.Contains(done, n) {
			missing = append(missing, n)
		}
	}
	if f == flavourUnknown || len(missing) > 0 {
		if len(done) == 0 {
			return twin.Errorf(twin.EINTERNAL, "the PostgreSQL database has no twingraph schema: run `twingraph migrate --postgres URL` first")
		}
		return twin.Errorf(twin.EINTERNAL, "the PostgreSQL schema is older than this binary (missing %s): run `twingraph migrate --postgres URL` first", strings.Join(missing, ", "))
	}
	s.mu.Lock()
	s.flavour = f
	s.mu.Unlock()
	return nil
}
