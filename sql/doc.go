// Package sql embeds twingraph's PostgreSQL migrations.
//
// FS holds the files *.sql of this folder. They are applied in sorted order of
// their names, each in its own transaction, and recorded by name in the table
// schema_migrations (store/postgres does it: `twingraph migrate`). A name has
// one of three shapes:
//
//	NNNN_what.sql            runs on every database
//	NNNN_what.postgres.sql   runs only on plain PostgreSQL
//	NNNN_what.timescale.sql  runs only where the timescaledb extension exists
//
// The flavour is chosen once, when the first migration is applied, and read
// back from the recorded names afterwards, so a database never mixes the two
// paths. A migration is never edited once released: add a new file instead.
package sql

import "embed"

// FS holds the migrations (*.sql), read by store/postgres.
//
//go:embed *.sql
var FS embed.FS
