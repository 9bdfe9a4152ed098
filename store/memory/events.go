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

// ListEvents returns the first (or with q.Backward the last) q.First matching
// events with AfterSeq < Seq < BeforeSeq. Errors: BAD_INPUT when q.First <= 0.
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
	match := func(e *twin.Event) bool {
		return (assets == nil || assets[e.Asset]) &&
			(q.Kinds == nil || slices.Contains(q.Kinds, e.Kind)) &&
			(q.From.IsZero() || !e.TS.Before(q.From)) &&
			(q.To.IsZero() || e.TS.Before(q.To))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	lo := sort.Search(len(s.events), func(i int) bool { return s.events[i].Seq > q.AfterSeq })
	hi := len(s.events)
	if q.BeforeSeq > 0 {
		hi = sort.Search(len(s.events), func(i int) bool { return s.events[i].Seq >= q.BeforeSeq })
	}
	page := twin.EventPage{Events: []twin.Event{}}
	// Walk from the page's end of the range; a backward page is reversed at the end.
	i, step := lo, 1
	if q.Backward {
		i, step = hi-1, -1
	}
	for ; i >= lo && i < hi; i += step {
		e := &s.events[i]
		if !match(e) {
			continue
		}
		if len(page.Events) == q.First {
			page.HasNext = true
			break
		}
		page.Events = append(page.Events, copyEvent(*e))
	}
	if q.Backward {
		slices.Reverse(page.Events)
	}
	return page, nil
}
