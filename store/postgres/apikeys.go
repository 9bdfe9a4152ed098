package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	twin "github.com/twingraph/twingraph"
)

var _ twin.APIKeyStore = (*Store)(nil)

// CreateAPIKey stores k; see twin.APIKeyStore.
func (s *Store) CreateAPIKey(ctx context.Context, k twin.APIKey) error {
	scope := k.Scope
	if scope == nil {
		scope = []string{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (id, name, scope, hash) VALUES ($1, $2, $3, $4)`,
		k.ID, k.Name, scope, k.Hash)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return twin.Errorf(twin.EBADINPUT, "API key %q exists", k.ID)
	}
	if err != nil {
		return internal("create api key", err)
	}
	return nil
}

const apiKeyColumns = `id, name, scope, hash, created_at, last_used_at, revoked_at`

func scanAPIKey(row pgx.Row) (twin.APIKey, error) {
	var k twin.APIKey
	var used, revoked *time.Time
	err := row.Scan(&k.ID, &k.Name, &k.Scope, &k.Hash, &k.Created, &used, &revoked)
	if used != nil {
		k.LastUsed = *used
	}
	if revoked != nil {
		k.Revoked = *revoked
	}
	return k, err
}

// APIKey returns the key with the id; see twin.APIKeyStore.
func (s *Store) APIKey(ctx context.Context, id string) (*twin.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, twin.Errorf(twin.ENOTFOUND, "no API key %q", id)
	}
	if err != nil {
		return nil, internal("read api key", err)
	}
	return &k, nil
}

// ListAPIKeys returns every key; see twin.APIKeyStore.
func (s *Store) ListAPIKeys(ctx context.Context) ([]twin.APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, internal("list api keys", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (twin.APIKey, error) { return scanAPIKey(r) })
	if err != nil {
		return nil, internal("list api keys", err)
	}
	return keys, nil
}

// RevokeAPIKey revokes the key with the id; see twin.APIKeyStore.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1`, id)
	if err != nil {
		return internal("revoke api key", err)
	}
	if tag.RowsAffected() == 0 {
		return twin.Errorf(twin.ENOTFOUND, "no API key %q", id)
	}
	return nil
}

// TouchAPIKey records a use of the key; see twin.APIKeyStore.
func (s *Store) TouchAPIKey(ctx context.Context, id string, t time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, id, t); err != nil {
		return internal("touch api key", err)
	}
	return nil
}
