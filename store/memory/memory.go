// Package memory implements twingraph's stores in process memory: the state,
// history and event stores and the notice bus used by `twingraph dev` when no
// Redis or PostgreSQL is given, and by tests.
//
// The stores follow the same contract as the real ones (store/storetest checks
// both) but keep nothing across restarts. Everything is safe for concurrent use.
package memory

import (
	"context"
	"sync"

	twin "github.com/twingraph/twingraph"
)

// StateStore is an in-memory twin.StateStore. It stores deep copies, so a
// caller mutating a state it put or got never changes the stored one.
type StateStore struct {
	mu     sync.RWMutex
	states map[string]*twin.State
}

var _ twin.StateStore = (*StateStore)(nil)

// NewStateStore returns an empty state store.
func NewStateStore() *StateStore {
	return &StateStore{states: map[string]*twin.State{}}
}

// GetStates returns copies of the states of ids, nil for an asset without state.
func (s *StateStore) GetStates(ctx context.Context, ids []string) ([]*twin.State, error) {
	out := make([]*twin.State, len(ids))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, id := range ids {
		out[i] = s.states[id].Clone()
	}
	return out, nil
}

// PutStates stores copies of states, replacing each asset's previous state.
// Errors: BAD_INPUT for a nil state or one without an asset id.
func (s *StateStore) PutStates(ctx context.Context, states []*twin.State) error {
	copies := make([]*twin.State, len(states))
	for i, st := range states {
		if st == nil || st.Asset == "" {
			return twin.Errorf(twin.EBADINPUT, "put states: state %d has no asset id", i)
		}
		copies[i] = st.Clone()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range copies {
		s.states[st.Asset] = st
	}
	return nil
}

// DeleteStates removes the states of ids; missing ones are ignored.
func (s *StateStore) DeleteStates(ctx context.Context, ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.states, id)
	}
	return nil
}

// IDs returns the ids of every stored state, in no particular order (for
// rebuild verification).
func (s *StateStore) IDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, 0, len(s.states))
	for id := range s.states {
		ids = append(ids, id)
	}
	return ids
}
