package twin

import (
	"context"
	"time"
)

// StateStore keeps the current state per asset. It is a cache of the log: the
// sync worker is its only writer and can rebuild it from the log.
type StateStore interface {
	// GetStates returns the states of ids in one round trip, in the same order;
	// an asset without state gets nil. Errors: INTERNAL (store unreachable).
	GetStates(ctx context.Context, ids []string) ([]*State, error)
	// PutStates writes states in one round trip (pipelined); each replaces the
	// asset's previous state. Errors: INTERNAL.
	PutStates(ctx context.Context, states []*State) error
	// DeleteStates removes the states of ids (used when a rebuild replaces the live state).
	// Errors: INTERNAL.
	DeleteStates(ctx context.Context, ids []string) error
}

// Agg is an aggregate function over the samples of a bucket.
type Agg string

// The aggregates.
const (
	AggAvg   Agg = "AVG"
	AggMin   Agg = "MIN"
	AggMax   Agg = "MAX"
	AggSum   Agg = "SUM"
	AggCount Agg = "COUNT"
	AggFirst Agg = "FIRST"
	AggLast  Agg = "LAST"
)

// Aggs lists every aggregate.
var Aggs = []Agg{AggAvg, AggMin, AggMax, AggSum, AggCount, AggFirst, AggLast}

// Fill says what a history query puts in a bucket without samples.
type Fill string

// The fills.
const (
	FillNone     Fill = ""         // empty buckets are left out
	FillNull     Fill = "NULL"     // empty buckets appear with a null value
	FillPrevious Fill = "PREVIOUS" // empty buckets repeat the previous bucket's value
)

// HistoryQuery asks for one downsampled series.
type HistoryQuery struct {
	// Asset and Metric select the series (Metric is a curated signal name).
	Asset  string
	Metric string
	// From (inclusive) and To (exclusive) bound the sample times.
	From, To time.Time
	// Interval is the bucket width; 0 means raw samples.
	Interval time.Duration
	// Agg is the aggregate per bucket.
	Agg Agg
	// Fill says what to do with empty buckets.
	Fill Fill
	// Location aligns day (and longer) buckets to local midnight; nil is UTC.
	Location *time.Location
}

// Point is one bucket (or raw sample) of a series.
type Point struct {
	// TS is the bucket's start (or the sample time).
	TS time.Time `json:"ts"`
	// Value is the aggregate; nil for a gap-filled empty bucket.
	Value *float64 `json:"value"`
}

// Series is the answer to one HistoryQuery.
type Series struct {
	// Asset and Metric echo the query.
	Asset  string `json:"asset"`
	Metric string `json:"metric"`
	// Interval and Agg echo the query.
	Interval time.Duration `json:"interval"`
	Agg      Agg           `json:"agg"`
	// Points are in time order.
	Points []Point `json:"points"`
}

// HistoryStore keeps curated samples and answers downsampled queries.
type HistoryStore interface {
	// AppendSamples writes samples in one batch. It is idempotent: rows are unique
	// per (asset, signal, ts), so a replayed sample is a no-op. Errors: INTERNAL.
	AppendSamples(ctx context.Context, samples []Sample) error
	// QueryHistory answers many queries at once (one round trip per distinct
	// (range, interval, agg) where the store can), in the same order.
	// Errors: BAD_INPUT (bad interval or range), LIMIT (too many points), INTERNAL.
	QueryHistory(ctx context.Context, queries []HistoryQuery) ([]Series, error)
}

// DefaultMaxPageSize is the largest page (`first`, `last`) the APIs serve
// unless configured otherwise: GraphQL connections and REST pages alike.
const DefaultMaxPageSize = 100

// EventQuery selects a page of events.
type EventQuery struct {
	// Assets restricts to these asset ids; nil means all assets.
	Assets []string
	// Kinds restricts to these kinds; nil means all kinds.
	Kinds []EventKind
	// From (inclusive) and To (exclusive) bound event times; zero means unbounded.
	From, To time.Time
	// AfterSeq returns only events stored after this sequence number (a cursor); 0 is the start.
	AfterSeq int64
	// BeforeSeq returns only events stored before this sequence number; 0 is no bound.
	BeforeSeq int64
	// First is the page size (> 0).
	First int
	// Backward takes the page from the end of the matching events (the
	// newest, nearest BeforeSeq) instead of from the start.
	Backward bool
}

// EventPage is one page of events in store order (Seq ascending), backward
// pages too.
type EventPage struct {
	// Events are the page's events.
	Events []Event
	// HasNext reports whether more events match beyond the page in the
	// direction of paging: after it, or for a backward page before it.
	HasNext bool
}

// EventStore keeps business events.
type EventStore interface {
	// AppendEvents writes events in one batch, idempotent by Event.ID (a replayed
	// event is a no-op), and writes every event's Seq back into the slice: a new
	// Seq for new events, the original Seq for ones already stored. Errors: INTERNAL.
	AppendEvents(ctx context.Context, events []Event) error
	// ListEvents returns one page in Seq order. A page never skips an event that a
	// concurrent writer commits later with a lower Seq. Errors: BAD_INPUT
	// (First <= 0), INTERNAL.
	ListEvents(ctx context.Context, q EventQuery) (EventPage, error)
}

// DefaultBusBuffer is how many matching notices a Bus subscriber may fall
// behind before it is dropped, unless the bus is configured otherwise: the
// memory and Redis buses alike. A bus subscriber is usually a gateway's hub,
// standing for all its subscriptions, and one flush can announce a state per
// asset, so it is sized for a plant's flush rather than for one client.
const DefaultBusBuffer = 16384

// Notice is what the bus carries: a durable event, or a changed state.
type Notice struct {
	// Event is set for a business event (already stored, so it has its Seq).
	Event *Event `json:"event,omitempty"`
	// State is set for a changed asset state.
	State *State `json:"state,omitempty"`
}

// Bus fans notices out from sync workers to gateways (Redis pub/sub in
// production, in-process in dev).
type Bus interface {
	// Publish announces notices; only call it after they are durable. Errors: INTERNAL.
	Publish(ctx context.Context, notices []Notice) error
	// Subscribe delivers the notices published from now on that match accepts
	// (all when match is nil) until ctx ends, then closes the channel. match runs
	// on the delivery path, so notices it refuses take no buffer space: a
	// subscriber that wants events is not dropped for a flood of states. It must
	// be quick and must not modify the notice. A subscription that may have lost
	// notices (a subscriber that cannot keep up, a lost transport) is closed,
	// never silently continued: the caller resumes from the event store. The
	// publisher is never blocked. Errors: INTERNAL.
	Subscribe(ctx context.Context, match func(*Notice) bool) (<-chan Notice, error)
}
