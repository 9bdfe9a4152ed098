package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	twin "github.com/twingraph/twingraph"
)

// eventLock keys the transaction-scoped advisory lock every event insert holds.
//
// Why: seq comes from an identity sequence, and a sequence hands out numbers
// in call order, not commit order. Without the lock, writer A could take seq 5,
// writer B seq 6 and commit first; a reader paging at that moment returns 6,
// moves its cursor past 5, and never sees A's row when it commits. Holding one
// lock from before nextval until commit makes seq order equal commit order, and
// PostgreSQL makes a transaction visible before it releases its locks, so any
// snapshot that sees seq 6 also sees seq 5. Readers take no lock.
//
// The cost is that event batches are written one at a time per database.
// Business events are rare next to samples (a mode change, a fault, a batch:
// a handful per asset per hour), and a batch holds the lock only for one
// INSERT, so the serialisation is cheap (see BenchmarkAppendEvents). The
// alternative — recording pg_current_xact_id() and hiding rows whose
// transaction is not older than pg_snapshot_xmin — keeps writers parallel but
// still orders by seq, and a transaction with a lower xid can draw a higher
// seq, so it needs a cursor on (xid, seq) that does not fit the int64 Seq of
// the API.
const eventLock = 7_415_000_002

// AppendEvents writes events in one transaction, idempotent by Event.ID, and
// writes every event's Seq back into the slice: the new Seq of a new event, the
// original Seq of one already stored (which is left untouched). Errors: INTERNAL.
func (s *Store) AppendEvents(ctx context.Context, events []twin.Event) error {
	if len(events) == 0 {
		return nil
	}
	ids := make([]string, len(events))
	assets := make([]string, len(events))
	kinds := make([]string, len(events))
	tss := make([]time.Time, len(events))
	payloads := make([]string, len(events))
	for i := range events {
		e := &events[i]
		if e.ID == "" {
			e.ID = twin.EventID(e)
		}
		p := *e
		p.Seq = 0
		b, err := json.Marshal(p)
		if err != nil {
			return internal("append events", err)
		}
		ids[i], assets[i], kinds[i], tss[i], payloads[i] = e.ID, e.Asset, string(e.Kind), e.TS, string(b)
	}
	seqs := map[string]int64{}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(eventLock)); err != nil {
			return err
		}
		// WITH ORDINALITY keeps the batch order in seq order.
		rows, err := tx.Query(ctx, `
			INSERT INTO events (id, asset, kind, ts, payload)
			SELECT id, asset, kind, ts, payload::jsonb
			FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
			     WITH ORDINALITY AS e(id, asset, kind, ts, payload, n)
			ORDER BY n
			ON CONFLICT (id) DO NOTHING
			RETURNING id, seq`, ids, assets, kinds, tss, payloads)
		if err != nil {
			return err
		}
		var id string
		var seq int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &seq}, func() error { seqs[id] = seq; return nil }); err != nil {
			return err
		}
		// Events that were already stored come back with their original seq,
		// so the caller never publishes one without it (a notice with seq 0
		// would hand subscribers a cursor that replays the whole history).
		// Still under the lock: a conflicting row was committed before the
		// lock was granted, so it is visible here and its seq cannot change.
		var old []string
		for _, id := range ids {
			if _, ok := seqs[id]; !ok {
				old = append(old, id)
			}
		}
		if len(old) == 0 {
			return nil
		}
		rows, err = tx.Query(ctx, `SELECT id, seq FROM events WHERE id = ANY($1)`, old)
		if err != nil {
			return err
		}
		_, err = pgx.ForEachRow(rows, []any{&id, &seq}, func() error { seqs[id] = seq; return nil })
		return err
	})
	if err != nil {
		return internal("append events", err)
	}
	for i := range events {
		seq, ok := seqs[events[i].ID]
		if !ok {
			// Neither inserted nor found: the table lost the row between the
			// statements, which the lock rules out for writers of this store.
			return internal("append events", fmt.Errorf("event %s: no seq after insert", events[i].ID))
		}
		events[i].Seq = seq
	}
	return nil
}

// ListEvents returns one page in Seq order between q.AfterSeq and
// q.BeforeSeq, from the start or (q.Backward) the end. Because seq order is
// commit order (see eventLock), a forward page never skips an event that
// commits later. Errors: BAD_INPUT (First <= 0), INTERNAL.
func (s *Store) ListEvents(ctx context.Context, q twin.EventQuery) (twin.EventPage, error) {
	if q.First <= 0 {
		return twin.EventPage{}, twin.Errorf(twin.EBADINPUT, "first must be positive")
	}
	var kinds []string
	if q.Kinds != nil {
		kinds = make([]string, len(q.Kinds))
		for i, k := range q.Kinds {
			kinds[i] = string(k)
		}
	}
	var from, to *time.Time
	if !q.From.IsZero() {
		from = &q.From
	}
	if !q.To.IsZero() {
		to = &q.To
	}
	var before *int64
	if q.BeforeSeq > 0 {
		before = &q.BeforeSeq
	}
	order := "ASC"
	if q.Backward {
		order = "DESC"
	}
	rows, err := s.pool.Query(ctx, `
		SELECT seq, payload FROM events
		WHERE seq > $1
		  AND ($7::bigint IS NULL OR seq < $7)
		  AND ($2::text[] IS NULL OR asset = ANY($2))
		  AND ($3::text[] IS NULL OR kind = ANY($3))
		  AND ($4::timestamptz IS NULL OR ts >= $4)
		  AND ($5::timestamptz IS NULL OR ts < $5)
		ORDER BY seq `+order+`
		LIMIT $6`, q.AfterSeq, q.Assets, kinds, from, to, q.First+1, before)
	if err != nil {
		return twin.EventPage{}, internal("list events", err)
	}
	var page twin.EventPage
	var seq int64
	var payload []byte
	_, err = pgx.ForEachRow(rows, []any{&seq, &payload}, func() error {
		var e twin.Event
		if err := json.Unmarshal(payload, &e); err != nil {
			return err
		}
		e.Seq = seq
		page.Events = append(page.Events, e)
		return nil
	})
	if err != nil {
		return twin.EventPage{}, internal("list events", err)
	}
	if len(page.Events) > q.First {
		page.Events = page.Events[:q.First]
		page.HasNext = true
	}
	if q.Backward {
		slices.Reverse(page.Events)
	}
	return page, nil
}
