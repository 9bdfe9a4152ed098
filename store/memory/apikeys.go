package memory

import (
	"context"
	"slices"
	"sync"
	"time"

	twin "github.com/twingraph/twingraph"
)

// APIKeyStore keeps API keys in memory, for tests and single-process use.
// It is safe for concurrent use.
type APIKeyStore struct {
	mu   sync.Mutex
	keys []twin.APIKey // in creation order
	now  func() time.Time
}

var _ twin.APIKeyStore = (*APIKeyStore)(nil)

// NewAPIKeyStore returns an empty APIKeyStore.
func NewAPIKeyStore() *APIKeyStore { return &APIKeyStore{now: time.Now} }

func (s *APIKeyStore) find(id string) int {
	return slices.IndexFunc(s.keys, func(k twin.APIKey) bool { return k.ID == id })
}

// CreateAPIKey stores k; see twin.APIKeyStore.
func (s *APIKeyStore) CreateAPIKey(_ context.Context, k twin.APIKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.find(k.ID) >= 0 {
		return twin.Errorf(twin.EBADINPUT, "API key %q exists", k.ID)
	}
	k.Scope = slices.Clone(k.Scope)
	k.Hash = slices.Clone(k.Hash)
	k.Created, k.LastUsed, k.Revoked = s.now(), time.Time{}, time.Time{}
	s.keys = append(s.keys, k)
	return nil
}

// APIKey returns the key with the id; see twin.APIKeyStore.
func (s *APIKeyStore) APIKey(_ context.Context, id string) (*twin.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id)
	if i < 0 {
		return nil, twin.Errorf(twin.ENOTFOUND, "no API key %q", id)
	}
	k := s.keys[i]
	k.Scope, k.Hash = slices.Clone(k.Scope), slices.Clone(k.Hash)
	return &k, nil
}

// ListAPIKeys returns every key; see twin.APIKeyStore.
func (s *APIKeyStore) ListAPIKeys(context.Context) ([]twin.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]twin.APIKey, len(s.keys))
	for i, k := range s.keys {
		k.Scope, k.Hash = slices.Clone(k.Scope), slices.Clone(k.Hash)
		out[i] = k
	}
	return out, nil
}

// RevokeAPIKey revokes the key with the id; see twin.APIKeyStore.
func (s *APIKeyStore) RevokeAPIKey(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id)
	if i < 0 {
		return twin.Errorf(twin.ENOTFOUND, "no API key %q", id)
	}
	if s.keys[i].Revoked.IsZero() {
		s.keys[i].Revoked = s.now()
	}
	return nil
}

// TouchAPIKey records a use of the key; see twin.APIKeyStore.
func (s *APIKeyStore) TouchAPIKey(_ context.Context, id string, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.find(id); i >= 0 && t.After(s.keys[i].LastUsed) {
		s.keys[i].LastUsed = t
	}
	return nil
}
