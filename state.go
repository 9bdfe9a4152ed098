package twin

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Metric is the current value of one curated signal of an asset.
type Metric struct {
	// Value is the newest good value.
	Value Value `json:"value"`
	// TS is the sample time of that value; older samples never replace it.
	TS time.Time `json:"ts"`
}

// State is the current business state of one asset, derived from its samples by
// the sync worker's pure transition function and stored per asset.
type State struct {
	// Asset is the asset id.
	Asset string `json:"asset"`
	// Mode is the current mode; UNKNOWN until data arrives.
	Mode Mode `json:"mode"`
	// ModeSince is the sample time the current mode began.
	ModeSince time.Time `json:"modeSince"`
	// PendingMode is a mode the rules chose that has not yet held for the type's
	// debounce time; empty when none.
	PendingMode Mode `json:"pendingMode,omitempty"`
	// PendingSince is the sample time PendingMode was first chosen.
	PendingSince time.Time `json:"pendingSince"`
	// FaultCodes are the active fault codes, sorted.
	FaultCodes []string `json:"faultCodes"`
	// FaultSince is when each active fault code was raised.
	FaultSince map[string]time.Time `json:"faultSince,omitempty"`
	// Product is the current product (SKU); empty when unknown.
	Product string `json:"product,omitempty"`
	// Batch is the current batch; empty when none.
	Batch string `json:"batch,omitempty"`
	// BatchSince is when the current batch started.
	BatchSince time.Time `json:"batchSince"`
	// UptimeDay is the site-local date ("2006-01-02") UptimeSeconds counts for.
	UptimeDay string `json:"uptimeDay,omitempty"`
	// UptimeSeconds is seconds in RUNNING on UptimeDay up to UptimeAsOf.
	UptimeSeconds float64 `json:"uptimeSeconds"`
	// UptimeAsOf is the sample time UptimeSeconds is accounted up to.
	UptimeAsOf time.Time `json:"uptimeAsOf"`
	// DayStart is when UptimeDay's accounting began (for availability): the first
	// sample of the day, or local midnight when the state carried over from an earlier day.
	DayStart time.Time `json:"dayStart"`
	// RunSeconds is seconds in RUNNING since the asset's first sample, up to
	// UptimeAsOf: the maintenance feed's run hours.
	RunSeconds float64 `json:"runSeconds,omitempty"`
	// RunDays holds RunSeconds at the site-local midnight starting each of the
	// last RunDaysKept days ("2006-01-02" → seconds), kept for types with a
	// maintenance feed: run hours since a service date are RunSeconds less
	// that day's entry.
	RunDays map[string]float64 `json:"runDays,omitempty"`
	// DueFor is the service mark (ServicePlan.Mark) whose MAINTENANCE_DUE was
	// emitted; another mark (a new service date) re-arms the event.
	DueFor string `json:"dueFor,omitempty"`
	// Metrics are the current values of the curated signals by name.
	Metrics map[string]Metric `json:"metrics"`
	// UpdatedAt is the timestamp of the newest applied sample (not wall-clock time).
	UpdatedAt time.Time `json:"updatedAt"`
	// Offsets are the last applied log offset per LogPos.Key(): a replayed record is skipped.
	Offsets map[string]int64 `json:"offsets,omitempty"`
	// Model stamps the model the state was last computed under
	// ("VERSION@HASH", or "HASH" for a model file without a version);
	// empty when not known.
	Model string `json:"model,omitempty"`
}

// NewState returns the state of an asset before any data: mode UNKNOWN.
func NewState(asset string) *State {
	return &State{Asset: asset, Mode: ModeUnknown, FaultCodes: []string{}, Metrics: map[string]Metric{}}
}

// Clone returns a deep copy, so a transition never mutates its input.
func (s *State) Clone() *State {
	if s == nil {
		return nil
	}
	c := *s
	c.FaultCodes = append([]string{}, s.FaultCodes...)
	c.FaultSince = cloneMap(s.FaultSince)
	c.Metrics = make(map[string]Metric, len(s.Metrics))
	for k, m := range s.Metrics {
		if m.Value.Kind == KindList {
			m.Value.List = append([]string{}, m.Value.List...)
		}
		c.Metrics[k] = m
	}
	c.Offsets = cloneMap(s.Offsets)
	c.RunDays = cloneMap(s.RunDays)
	return &c
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// EventKind is the kind of a business event.
type EventKind string

// The event kinds.
const (
	EventModeChanged    EventKind = "MODE_CHANGED"
	EventFaultRaised    EventKind = "FAULT_RAISED"
	EventFaultCleared   EventKind = "FAULT_CLEARED"
	EventBatchStarted   EventKind = "BATCH_STARTED"
	EventBatchEnded     EventKind = "BATCH_ENDED"
	EventProductChanged EventKind = "PRODUCT_CHANGED"
	EventMaintenanceDue EventKind = "MAINTENANCE_DUE"
)

// EventKinds lists every event kind in a stable order.
var EventKinds = []EventKind{EventModeChanged, EventFaultRaised, EventFaultCleared, EventBatchStarted, EventBatchEnded, EventProductChanged, EventMaintenanceDue}

// Event is a business event derived from telemetry: what humans want to query.
type Event struct {
	// ID is deterministic (see EventID): the same transition always yields the same id,
	// so replays and redeliveries never double an event.
	ID string `json:"id"`
	// Kind is the event kind.
	Kind EventKind `json:"kind"`
	// TS is the sample time at which the event happened.
	TS time.Time `json:"ts"`
	// Asset is the asset id.
	Asset string `json:"asset"`
	// FromMode and ToMode are set on MODE_CHANGED.
	FromMode Mode `json:"fromMode,omitempty"`
	ToMode   Mode `json:"toMode,omitempty"`
	// DurationSeconds is how long FromMode lasted (MODE_CHANGED), the fault lasted
	// (FAULT_CLEARED), the batch lasted (BATCH_ENDED) or the asset ran since
	// its last service (MAINTENANCE_DUE); nil when not known.
	DurationSeconds *float64 `json:"durationSeconds,omitempty"`
	// Code is the fault code of FAULT_RAISED and FAULT_CLEARED.
	Code string `json:"code,omitempty"`
	// Batch is the batch of BATCH_STARTED and BATCH_ENDED.
	Batch string `json:"batch,omitempty"`
	// Product is the new product of PRODUCT_CHANGED (and the product of batch events).
	Product string `json:"product,omitempty"`
	// Seq orders events in a store: assigned by the event store when written,
	// increasing in commit order; 0 before that. Cursors are built from it.
	Seq int64 `json:"seq,omitempty"`
}

// EventID returns the deterministic id of an event: a hash of what identifies it.
func EventID(e *Event) string {
	h := sha256.New()
	for _, s := range []string{e.Asset, string(e.Kind), strconv.FormatInt(e.TS.UnixNano(), 10),
		string(e.FromMode), string(e.ToMode), e.Code, e.Batch, e.Product} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
