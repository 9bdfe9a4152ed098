package twin

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultStoreTimeout is how long a read of a store made for an API request
// may take before the request gets UNAVAILABLE, unless configured otherwise.
const DefaultStoreTimeout = 2 * time.Second

// The read deadlines: the API layers wrap their stores so a store that hangs
// (a frozen Redis, a PostgreSQL stuck behind a lock) answers UNAVAILABLE
// within the timeout instead of holding the request and its connection.
// Writes pass through untouched: only the sync worker writes, with its own
// retry and backoff.

// StatesWithTimeout returns s with every GetStates bounded by d (s itself
// when d <= 0 or s is nil).
func StatesWithTimeout(s StateStore, d time.Duration) StateStore {
	if d <= 0 || s == nil {
		return s
	}
	return timedStates{s, d}
}

// HistoryWithTimeout returns h with every QueryHistory bounded by d (h itself
// when d <= 0 or h is nil).
func HistoryWithTimeout(h HistoryStore, d time.Duration) HistoryStore {
	if d <= 0 || h == nil {
		return h
	}
	return timedHistory{h, d}
}

// EventsWithTimeout returns e with every ListEvents bounded by d (e itself
// when d <= 0 or e is nil).
func EventsWithTimeout(e EventStore, d time.Duration) EventStore {
	if d <= 0 || e == nil {
		return e
	}
	return timedEvents{e, d}
}

type timedStates struct {
	StateStore
	d time.Duration
}

func (s timedStates) GetStates(ctx context.Context, ids []string) ([]*State, error) {
	return withTimeout(ctx, s.d, "state", func(ctx context.Context) ([]*State, error) {
		return s.StateStore.GetStates(ctx, ids)
	})
}

type timedHistory struct {
	HistoryStore
	d time.Duration
}

func (h timedHistory) QueryHistory(ctx context.Context, qs []HistoryQuery) ([]Series, error) {
	return withTimeout(ctx, h.d, "history", func(ctx context.Context) ([]Series, error) {
		return h.HistoryStore.QueryHistory(ctx, qs)
	})
}

type timedEvents struct {
	EventStore
	d time.Duration
}

func (e timedEvents) ListEvents(ctx context.Context, q EventQuery) (EventPage, error) {
	return withTimeout(ctx, e.d, "event", func(ctx context.Context) (EventPage, error) {
		return e.EventStore.ListEvents(ctx, q)
	})
}

type storeDeadlineKey struct{}

// WithStoreDeadline returns ctx carrying a deadline shared by every store
// read made under it through the wrappers above, so a request that reads in
// several steps gets one budget, not one per step. Each read still gets at
// most its store timeout.
func WithStoreDeadline(ctx context.Context, deadline time.Time) context.Context {
	return context.WithValue(ctx, storeDeadlineKey{}, deadline)
}

// withTimeout runs read under a deadline d from now (or the request's
// store deadline, when that is sooner). A read that fails
// because the deadline passed is UNAVAILABLE; its own domain errors (a
// BAD_INPUT, a LIMIT) stay as they are.
func withTimeout[T any](ctx context.Context, d time.Duration, store string, read func(context.Context) (T, error)) (T, error) {
	deadline := time.Now().Add(d)
	if rd, ok := ctx.Value(storeDeadlineKey{}).(time.Time); ok && rd.Before(deadline) {
		deadline = rd
	}
	// A sooner deadline of the caller's (the whole query's) is the caller's
	// to report; only the store's own deadline makes a read UNAVAILABLE.
	outer, ok := ctx.Deadline()
	storeBound := !ok || !outer.Before(deadline)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	v, err := read(ctx)
	// A client may notice the deadline (and say so) a moment before the
	// context's own timer fires, so the clock counts too.
	late := errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || !time.Now().Before(deadline)
	if err != nil && ErrorCode(err) == EINTERNAL && storeBound && late {
		// The domain error first, so ErrorCode and ErrorMessage find it; the
		// cause stays in the chain for logs.
		return v, fmt.Errorf("%w: %w", Errorf(EUNAVAILABLE, "the %s store did not answer within %s; try again later", store, d), err)
	}
	return v, err
}

// ServingStores wraps the stores as the GraphQL and REST APIs both serve
// them: every call bounded by d, and history answering the rolled-up
// signals of m as well as the measured ones (HistoryWithRollups).
func ServingStores(s StateStore, h HistoryStore, e EventStore, d time.Duration, m Model) (StateStore, HistoryStore, EventStore) {
	return StatesWithTimeout(s, d), HistoryWithRollups(HistoryWithTimeout(h, d), func() Model { return m }), EventsWithTimeout(e, d)
}
