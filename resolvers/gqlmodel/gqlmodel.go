// Package gqlmodel holds the hand-written Go side of the GraphQL schema that
// the domain package twin does not provide: the Duration and JSON scalars and
// the few result types that carry data for field resolvers. gqlgen binds the
// schema to these types (see gqlgen.yml); it must not import graph/ or
// resolvers/, which import it.
package gqlmodel

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	twin "github.com/twingraph/twingraph"
)

// MarshalDuration writes a duration in its largest whole unit ("15m", "1d"),
// as twin.FormatDuration does for REST.
func MarshalDuration(d time.Duration) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		io.WriteString(w, strconv.Quote(twin.FormatDuration(d)))
	})
}

// UnmarshalDuration reads "10s", "1m", "15m", "1h", "1d" (any Go duration or a
// whole number of days) with twin.ParseDuration, so GraphQL and REST agree;
// anything else is BAD_INPUT.
func UnmarshalDuration(v any) (time.Duration, error) {
	s, ok := v.(string)
	if !ok {
		return 0, twin.Errorf(twin.EBADINPUT, "a Duration is a string such as \"15m\", got %T", v)
	}
	return twin.ParseDuration(s)
}

// MarshalJSON writes v as plain JSON, so a number reads as a number; a
// twin.Value becomes its bare value. Non-finite numbers (which JSON cannot
// carry) and unencodable values become null.
func MarshalJSON(v any) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			io.WriteString(w, "null")
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			io.WriteString(w, "null")
			return
		}
		w.Write(b)
	})
}

// UnmarshalJSON accepts any input value as is (numbers as float64).
func UnmarshalJSON(v any) (any, error) {
	if n, ok := v.(json.Number); ok {
		f, err := n.Float64()
		if err != nil {
			return nil, fmt.Errorf("bad number %s", n)
		}
		return f, nil
	}
	return v, nil
}

// MetricValue is the current value of one signal of an asset.
type MetricValue struct {
	// Name is the signal name.
	Name string
	// Value is the plain value (float64, bool, string or []string).
	Value any
	// Unit is the signal's unit; nil when it has none.
	Unit *string
	// TS is the sample time of the value.
	TS time.Time
}

// Series is one downsampled series with the signal's unit.
type Series struct {
	// Metric is the signal name.
	Metric string
	// Unit is the signal's unit; nil when it has none.
	Unit *string
	// Interval is the bucket width; nil for raw samples.
	Interval *time.Duration
	// Agg is the aggregate per bucket.
	Agg twin.Agg
	// Points are in time order.
	Points []*twin.Point
}

// Timestamps are the points' times: the columnar form of a series, which
// gqlgen encodes as a plain list instead of one object (and goroutine) per point.
func (s *Series) Timestamps() []time.Time {
	ts := make([]time.Time, len(s.Points))
	for i, p := range s.Points {
		ts[i] = p.TS
	}
	return ts
}

// Values are the points' values, parallel to Timestamps; nil for a gap.
func (s *Series) Values() []*float64 {
	vs := make([]*float64, len(s.Points))
	for i, p := range s.Points {
		vs[i] = p.Value
	}
	return vs
}

// ModeChange is one mode change as the modeChanged subscription delivers it.
type ModeChange struct {
	// Cursor resumes the subscription after this change.
	Cursor string
	// AssetID is the id of the asset that changed mode; Asset repeats it
	// for the deprecated field of that name.
	AssetID string
	Asset   string
	// AssetNode is that asset, for traversal.
	AssetNode *Asset
	// FromMode and ToMode are the modes before and after.
	FromMode twin.Mode
	ToMode   twin.Mode
	// TS is the sample time of the change.
	TS time.Time
	// DurationSeconds is how long FromMode lasted; nil when unknown.
	DurationSeconds *float64
}

// ModeSeconds is the time one asset spent in one mode during a window.
type ModeSeconds struct {
	// Mode is the mode.
	Mode twin.Mode
	// Seconds is the time in it.
	Seconds float64
}

// FaultSummary is what one fault code did during a window.
type FaultSummary struct {
	// Code is the fault code.
	Code string
	// Count is how many times it was raised.
	Count int
	// Seconds is how long it was active within the window.
	Seconds float64
}

// AssetID is the schema's assetId: the asset's id (Asset is the deprecated name).
func (s *AssetShift) AssetID() string { return s.Asset }

// AssetShift is one asset's part of a shift report.
type AssetShift struct {
	// Asset is the asset's id.
	Asset string
	// AssetNode is the asset, for traversal.
	AssetNode *Asset
	// SecondsByMode covers the whole window, one entry per mode, in twin.Modes order.
	SecondsByMode []*ModeSeconds
	// OEE over the window; nil when the type has no OEE inputs.
	OEE *float64
	// UnitsProduced during the window; nil when the type has no unit counter.
	UnitsProduced *float64
	// Faults are per code, in code order.
	Faults []*FaultSummary
	// Events are the window's events of the asset, oldest first; the events
	// field returns the first n of them.
	Events []twin.Event
}

// Asset is an asset as the schema sees it: the domain asset, plus the marker
// method that makes it a federation entity (which package twin must not know).
type Asset struct {
	*twin.Asset
	// States reads the asset's state for the request that made this Asset.
	// The state field is a method on it rather than a field resolver: gqlgen
	// runs a resolver in a goroutine of its own per asset, and on a
	// 1,000-asset subtree those goroutines cost more than the states.
	States StateReader
}

// StateReader reads asset states on behalf of one request.
type StateReader interface {
	// AssetState returns the state of a, or nil when it has none.
	AssetState(a *twin.Asset) (*AssetState, error)
}

// State is the schema's Asset.state: nil when no reader is set or the asset has no state.
func (a *Asset) State() (*AssetState, error) {
	if a.States == nil {
		return nil, nil
	}
	return a.States.AssetState(a.Asset)
}

// IsEntity marks Asset as an Apollo Federation entity.
func (Asset) IsEntity() {}

// Node is the Go side of the Node interface. It has no methods so domain types
// such as twin.Asset satisfy it without knowing about GraphQL.
type Node interface{}

// MarshalTime writes an RFC 3339 timestamp (with sub-second digits only when
// needed) in UTC.
func MarshalTime(t time.Time) graphql.Marshaler { return timeJSON(t) }

// timeJSON writes itself as a quoted RFC 3339 string with one buffer and no
// escaping (the format has nothing to escape): long series write thousands.
type timeJSON time.Time

func (t timeJSON) MarshalGQL(w io.Writer) {
	var buf [48]byte
	b := append(buf[:0], '"')
	b = time.Time(t).UTC().AppendFormat(b, time.RFC3339Nano)
	w.Write(append(b, '"'))
}

// UnmarshalTime reads an RFC 3339 timestamp; anything else is BAD_INPUT.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, twin.Errorf(twin.EBADINPUT, "a Time is an RFC 3339 string, got %T", v)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, twin.Errorf(twin.EBADINPUT, "bad time %q: use RFC 3339, e.g. 2026-11-24T06:00:00Z", s)
	}
	return t, nil
}

// AssetState is an asset's state as the schema sees it: the domain state with
// what its read-time fields need (the asset, its type, the time of the read).
// Its fields are methods without a context, so gqlgen resolves them inline
// rather than in a goroutine each: a 1,000-asset subtree stays cheap.
type AssetState struct {
	*twin.State
	asset *twin.Asset
	typ   *twin.AssetType
	at    time.Time
}

// NewAssetState wraps st of asset a (of type t) as read at time at.
func NewAssetState(st *twin.State, a *twin.Asset, t *twin.AssetType, at time.Time) *AssetState {
	return &AssetState{State: st, asset: a, typ: t, at: at}
}

// Asset returns the asset the state belongs to.
func (s *AssetState) Asset() *Asset {
	if s.asset == nil {
		return &Asset{Asset: &twin.Asset{ID: s.State.Asset, Name: s.State.Asset}}
	}
	return &Asset{Asset: s.asset}
}

// AssetID returns the id of the asset the state belongs to.
func (s *AssetState) AssetID() string { return s.State.Asset }

// ModelStamp is the schema's model: the model the state was last computed
// under, nil when not known.
func (s *AssetState) ModelStamp() *string {
	if s.State.Model == "" {
		return nil
	}
	return &s.State.Model
}

// debounce is the asset type's minimum dwell (0 without a type).
func (s *AssetState) debounce() time.Duration {
	if s.typ == nil {
		return 0
	}
	return s.typ.Debounce
}

// Mode returns the mode at the read: a debounced change counts once it has
// held for the debounce, even before the sample that confirms it arrives.
func (s *AssetState) Mode() twin.Mode {
	m, _ := s.State.ModeAt(s.at, s.debounce())
	return m
}

// ModeSince returns when the mode at the read began; nil when unknown.
func (s *AssetState) ModeSince() *time.Time {
	_, since := s.State.ModeAt(s.at, s.debounce())
	return nonZeroTime(since)
}

// UpdatedAt returns the newest applied sample's time; nil before any.
func (s *AssetState) UpdatedAt() *time.Time { return nonZeroTime(s.State.UpdatedAt) }

// Product returns the current product; nil when none.
func (s *AssetState) Product() *string { return nonEmpty(s.State.Product) }

// Batch returns the current batch; nil when none.
func (s *AssetState) Batch() *string { return nonEmpty(s.State.Batch) }

// UptimeSecondsToday returns seconds in RUNNING since the site's local
// midnight, counting the current RUNNING stretch up to the read.
func (s *AssetState) UptimeSecondsToday() float64 {
	return s.State.UptimeAtDebounced(s.at, s.asset.Location(), s.debounce())
}

// Speed returns the actual speed from the type's speed signal; nil without one.
func (s *AssetState) Speed() *float64 {
	if v, ok := twin.Throughput(s.typ, s.State); ok {
		v = s.typ.Signal(s.typ.OEE.SpeedSignal).Round(v)
		return &v
	}
	return nil
}

// Oee returns the OEE estimate at the read; nil when the type lacks its inputs.
func (s *AssetState) Oee() *float64 {
	if s.asset == nil {
		return nil
	}
	if v, ok := twin.OEEAt(s.asset, s.typ, s.State, s.at); ok {
		v = twin.Denoise(v)
		return &v
	}
	return nil
}

// Metric returns the current value of one signal; nil without data.
func (s *AssetState) Metric(name string) *MetricValue {
	m, ok := s.State.Metrics[name]
	if !ok {
		return nil
	}
	return s.metricValue(name, m)
}

// Metrics returns every signal with data: the type's signals in declaration
// order, then any others by name, so the list is stable.
func (s *AssetState) Metrics() []*MetricValue {
	out := make([]*MetricValue, 0, len(s.State.Metrics))
	seen := make(map[string]bool, len(s.State.Metrics))
	if s.typ != nil {
		for _, sig := range s.typ.Signals {
			if m, ok := s.State.Metrics[sig.Name]; ok {
				out = append(out, s.metricValue(sig.Name, m))
				seen[sig.Name] = true
			}
		}
	}
	var rest []string
	for name := range s.State.Metrics {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	for _, name := range rest {
		out = append(out, s.metricValue(name, s.State.Metrics[name]))
	}
	return out
}

func (s *AssetState) metricValue(name string, m twin.Metric) *MetricValue {
	sig := s.typ.Signal(name)
	mv := &MetricValue{Name: name, Value: m.Value.Any(), TS: m.TS}
	if m.Value.Kind == twin.KindNumber {
		mv.Value = sig.Round(m.Value.Num)
	}
	if sig != nil && sig.Unit != "" {
		u := sig.Unit
		mv.Unit = &u
	}
	return mv
}

func nonZeroTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ShiftWindow is one occurrence of a shift, with the calendar it belongs to
// so that the schema can step to the previous and next occurrence.
type ShiftWindow struct {
	// Name is the shift's name.
	Name string
	// From is the occurrence's start (inclusive).
	From time.Time
	// To is its end (exclusive).
	To time.Time
	// Timezone is the IANA zone the calendar's starts are read in.
	Timezone string

	shifts []twin.Shift
	loc    *time.Location
}

// NewShiftWindow returns the occurrence of a's shift calendar in force at t;
// ok is false when a has no calendar.
func NewShiftWindow(a *twin.Asset, t time.Time) (*ShiftWindow, bool) {
	loc := a.Location()
	w, ok := twin.ShiftAt(a.Shifts, loc, t)
	if !ok {
		return nil, false
	}
	return newShiftWindow(w, a.Shifts, loc), true
}

func newShiftWindow(w twin.ShiftWindow, shifts []twin.Shift, loc *time.Location) *ShiftWindow {
	return &ShiftWindow{Name: w.Name, From: w.From, To: w.To, Timezone: loc.String(), shifts: shifts, loc: loc}
}

// Previous is the occurrence that ends where w begins.
func (w *ShiftWindow) Previous() *ShiftWindow {
	p, _ := twin.PreviousShift(w.shifts, w.loc, twin.ShiftWindow{Name: w.Name, From: w.From, To: w.To})
	return newShiftWindow(p, w.shifts, w.loc)
}

// Next is the occurrence that begins where w ends.
func (w *ShiftWindow) Next() *ShiftWindow {
	n, _ := twin.NextShift(w.shifts, w.loc, twin.ShiftWindow{Name: w.Name, From: w.From, To: w.To})
	return newShiftWindow(n, w.shifts, w.loc)
}
