package twin

import (
	"context"
	"time"
)

// APIKey is a stored API key for a machine client. The secret itself is
// never stored: only its hash, so a leaked table grants nothing.
type APIKey struct {
	// ID is the key's public identifier, part of the key the client sends.
	ID string
	// Name says who or what holds the key (e.g. "handover-screen").
	Name string
	// Scope lists the asset ids whose subtrees the key may read; a list
	// holding "*" reads everything.
	Scope []string
	// Hash is the SHA-256 of the key's secret part.
	Hash []byte
	// Created is when the key was made.
	Created time.Time
	// LastUsed is when a gateway last accepted the key (to within a few
	// seconds: gateways record it when they refresh their cache); zero: never.
	LastUsed time.Time
	// Revoked is when the key was revoked; zero: it is valid.
	Revoked time.Time
}

// APIKeyStore keeps API keys. Gateways read it on every cache refresh, so
// a revocation reaches every gateway sharing the store.
type APIKeyStore interface {
	// CreateAPIKey stores k (ID, Name, Scope and Hash; Created is set by the
	// store). Errors: BAD_INPUT (the id exists), INTERNAL.
	CreateAPIKey(ctx context.Context, k APIKey) error
	// APIKey returns the key with the id, revoked or not. Errors: NOT_FOUND,
	// INTERNAL.
	APIKey(ctx context.Context, id string) (*APIKey, error)
	// ListAPIKeys returns every key, revoked ones included, oldest first.
	// Errors: INTERNAL.
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	// RevokeAPIKey revokes the key with the id; revoking a revoked key keeps
	// its first revocation time. Errors: NOT_FOUND, INTERNAL.
	RevokeAPIKey(ctx context.Context, id string) error
	// TouchAPIKey records that the key was used at t. Errors: INTERNAL.
	TouchAPIKey(ctx context.Context, id string, t time.Time) error
}
