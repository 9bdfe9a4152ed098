package memory

import (
	"context"
	"slices"
	"sort"
	"sync"

	twin "github.com/twingraph/twingraph"
)

// EventStore is an in-memory twin.EventStore. Seq is assigned under the
// store's lock, so a page never races a writer: a later Seq is never visible
// before an earlier one.
type EventStore struct {
	mu     sync.RWMutex
	events []twin.Event // Seq ascending
	byID   map[string]int64
	seq    int64
}

var _ twin.EventStore = (*EventStore)(nil)

// NewEventStore returns an empty event store.
func NewEventStore() *EventStore {
	return &EventStore{byID: map[string]int64{}}
}

// AppendEvents stores events not stored yet (by ID; an empty ID is filled with
// twin.EventID) and writes each event's Seq back into events, the existing Seq
// for a replayed one, so the caller can publish them.
func (s *EventStore) AppendEvents(ctx context.Context, events []twin.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range events {
		e := &events[i]
		if e.ID == "" {
			e.ID = twin.EventID(e)
		}
		if seq, ok := s.byID[e.ID]; ok {
			e.Seq = seq
			continue
		}
		s.seq++
		e.Seq = s.seq
		s.byID[e.ID] = e.Seq
		s.events = append(s.events, copyEvent(*e))
	}
	return nil
}

func copyEvent(e twin.Event) twin.Event {
	if e.DurationSeconds != nil {
		d := *e.DurationSeconds
		e.DurationSeconds = &d
	}
	return e
}

// ListEvents returns the first q.First matching events with Seq > q.AfterSeq.
// Errors: BAD_INPUT when q.First <= 0.
func (s *EventStore) ListEvents(ctx context.Context, q twin.EventQuery) (twin.EventPage, error) {
	if q.First <= 0 {
		return twin.EventPage{}, twin.Errorf(twin.EBADINPUT, "events: first must be positive, got %d", q.First)
	}
	var assets map[string]bool
	if q.Assets != nil {
		assets = make(map[string]bool, len(q.Assets))
		for _, a := range q.Assets {
			assets[a] = true
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	page := twin.EventPage{Events: []twin.Event{}}
	i := sort.Search(len(s.events), func(i int) bool { return s.events[i].Seq > q.AfterSeq })
	for ; i < len(s.events); i++ {
		e := &s.events[i]
		if assets != nil && !assets[e.Asset] {
			continue
		}
		if q.Kinds != nil && !slices.Contains(q.Kinds, e.Kind) {
			continue
		}
		if !q.From.IsZero() && e.TS.Before(q.From) {
			continue
		}
		if !q.To.IsZero() && !e.TS.Before(q.To) {
			continue
		}
		if len(page.Events) == q.First {
			page.HasNext = true
			break
		}
		page.Events = append(page.Events, copyEvent(*e))
	}
	return page, nil
}
