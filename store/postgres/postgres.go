// Package postgres keeps twingraph's history (samples, downsampled series) and
// business events in PostgreSQL through a pgx pool.
//
// Two paths share one API. Where the timescaledb extension is available the
// samples live in a hypertable with continuous aggregates at 1m, 5m, 1h and 1d
// (real-time aggregation on, refresh policies, optional compression and
// retention). On plain PostgreSQL they live in a table partitioned by month
// with rollup tables at the same tiers, maintained by the store in the same
// statement as the insert. Both carry count, sum, min, max, first and last per
// bucket, so any coarser interval re-aggregates exactly, and both include a
// late sample at once (see AppendSamples).
//
// Samples are written with a batched INSERT ... SELECT FROM unnest(arrays) ...
// ON CONFLICT (asset, signal, ts) DO NOTHING, not COPY. COPY is about twice as
// fast for raw rows (BenchmarkAppendSamples: ~290-330k rows/s against ~145k
// for the same insert, ~90-110k with the four rollup upserts, 5,000-row
// batches on 2 shared cores), but it
// cannot skip a row that exists: one replayed sample aborts the whole COPY,
// and the sync worker replays after every crash. COPY into a staging table
// followed by INSERT ... ON CONFLICT would dedupe, at the cost of a second
// pass over the rows and a temporary table per batch, and the rollups would
// still need the INSERT's RETURNING. The PGlite TimescaleDB engine used in
// tests also crashes on COPY.
//
// Late data: plain PostgreSQL includes a late sample in every tier when
// AppendSamples returns. On TimescaleDB, buckets after an aggregate's
// watermark come from real-time aggregation and late samples behind it are
// refreshed by AppendSamples before it returns; if that refresh fails the
// write still stands and the aggregate catches up at its next policy run
// (1 minute for 1m and 5m, 5 minutes for 1h, 15 minutes for 1d).
//
// The schema comes from the migrations embedded in package sql; Migrate applies
// them and CheckSchema refuses to serve an older schema. This package knows
// nothing of Kafka, Redis or GraphQL.
package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	twin "github.com/twingraph/twingraph"
)

// DefaultWriters is Options.Writers when left 0: enough transactions to keep
// a few PostgreSQL cores inserting, few enough to leave readers connections.
const DefaultWriters = 4

// Options tune the store. The zero value is usable.
type Options struct {
	// NoTimescale keeps a fresh database on the plain PostgreSQL path even
	// where the timescaledb extension is available. It has no effect on a
	// database already migrated: its flavour is fixed by its first migration.
	NoTimescale bool
	// CompressAfter compresses hypertable chunks older than this (TimescaleDB
	// only); 0 (the default) leaves them uncompressed. Applied by Migrate.
	CompressAfter time.Duration
	// Retention drops raw samples older than this; the aggregates (continuous
	// aggregates or rollup tables) keep their rows. 0 (the default) keeps them
	// forever. TimescaleDB: a retention policy set by Migrate. Plain
	// PostgreSQL: whole monthly partitions are dropped once they are past it,
	// checked hourly by AppendSamples and by RunJobs.
	Retention time.Duration
	// BatchRows caps the rows of one INSERT statement; 0 means 5000.
	BatchRows int
	// MaxConns caps the pool's connections; 0 means pgx's default or, if
	// more, Writers + 4.
	MaxConns int32
	// Writers caps the transactions one AppendSamples call runs at once, each
	// on its own connection with its own share of the assets; 0 means
	// DefaultWriters. The pool's size caps it too (PGlite: 1).
	Writers int
	// RollupLateness (plain PostgreSQL) is how long behind the newest sample
	// time the rollup tiers stay open; a sample older than that when it
	// arrives updates the tiers in its own insert (exact, but slower). 0
	// means DefaultRollupLateness.
	RollupLateness time.Duration
	// RollupEvery (plain PostgreSQL) is how often a process writing samples
	// materialises the rollup tiers; 0 means DefaultRollupEvery.
	RollupEvery time.Duration
	// Logger logs refreshes and retries; nil means no logging.
	Logger *slog.Logger
}

// Store is the PostgreSQL history and event store. It implements
// twin.HistoryStore and twin.EventStore and is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	opt    Options
	log    *slog.Logger
	pglite bool

	mu      sync.Mutex
	flavour flavour         // known after Migrate or CheckSchema
	parts   map[string]bool // monthly partitions known to exist (plain path)
	// lastSweep is when expired partitions were last dropped (plain path).
	lastSweep time.Time

	materializerState // rollup watermarks (plain path)
}

var (
	_ twin.HistoryStore = (*Store)(nil)
	_ twin.EventStore   = (*Store)(nil)
)

type flavour string

const (
	flavourUnknown   flavour = ""
	flavourPostgres  flavour = "postgres"
	flavourTimescale flavour = "timescale"
)

// Open connects a pool to url (a postgres:// URL or DSN) and checks that the
// server answers. It does not migrate: call Migrate, or CheckSchema before
// serving. On the PGlite engine (PostgreSQL compiled to WebAssembly, whose
// connections share one session) it forces default_query_exec_mode=exec and a
// single pooled connection.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	if opt.BatchRows <= 0 {
		opt.BatchRows = 5000
	}
	if opt.Writers <= 0 {
		opt.Writers = DefaultWriters
	}
	if opt.RollupLateness <= 0 {
		opt.RollupLateness = DefaultRollupLateness
	}
	if opt.RollupEvery <= 0 {
		opt.RollupEvery = DefaultRollupEvery
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	} else {
		// Room for a flush's writers beside the gateway's reads.
		cfg.MaxConns = max(cfg.MaxConns, int32(opt.Writers)+4)
	}
	s := &Store{opt: opt, log: opt.Logger, parts: map[string]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// Probe with the simple protocol: a prepared statement would be left
	// behind in PGlite's shared session and collide with another connection's.
	probe, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	var version string
	err = probe.QueryRow(ctx, "SELECT version()", pgx.QueryExecModeSimpleProtocol).Scan(&version)
	_ = probe.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if strings.Contains(strings.ToLower(version), "emscripten") {
		s.pglite = true
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
		// PGlite runs one backend: more connections only interleave in it, and
		// a connection opening while another holds a transaction can stall
		// both. One connection serialises work the engine serialises anyway.
		cfg.MaxConns = 1
	}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: pool: %w", err)
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Pool returns the connection pool, for tests and benchmarks that compare
// the store with direct SQL.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Timescale reports whether the database is on the TimescaleDB path. It is
// known after Migrate or CheckSchema succeeded; false before.
func (s *Store) Timescale() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flavour == flavourTimescale
}

func (s *Store) getFlavour() flavour {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flavour
}

// internal wraps an infrastructure error as INTERNAL, keeping the cause for logs.
func internal(op string, err error) error {
	return fmt.Errorf("postgres: %s: %w", op, err)
}
