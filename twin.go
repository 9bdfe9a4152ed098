// Package twin holds twingraph's domain: the asset model, curated samples, the
// business state of an asset, business events, and the small batch-shaped
// interfaces the stores implement.
//
// It knows no infrastructure: no Kafka, Redis, SQL or GraphQL. Every other
// package depends on it; it depends on nothing but the standard library.
package twin

import (
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Mode is the business operating mode of an asset, computed by its type's mode rules.
type Mode string

// The modes. UNKNOWN is the mode before any data has arrived.
const (
	ModeRunning Mode = "RUNNING"
	ModeIdle    Mode = "IDLE"
	ModeFault   Mode = "FAULT"
	ModeStop    Mode = "STOP"
	ModeUnknown Mode = "UNKNOWN"
)

// Modes lists every mode in a stable order.
var Modes = []Mode{ModeRunning, ModeIdle, ModeFault, ModeStop, ModeUnknown}

// Valid reports whether m is one of the five modes.
func (m Mode) Valid() bool {
	switch m {
	case ModeRunning, ModeIdle, ModeFault, ModeStop, ModeUnknown:
		return true
	}
	return false
}

// Asset is one node of the asset hierarchy (site, area, line, machine, sub-assembly).
// Assets are owned by the model file; telemetry never changes them.
type Asset struct {
	// ID is the canonical asset path, e.g. "plant/jkt1/packaging/line3".
	ID string `json:"id"`
	// Name is the human-readable name.
	Name string `json:"name"`
	// Type names an AssetType of the model ("site", "packaging_line", ...).
	Type string `json:"type"`
	// Parents are the ids of the assets directly above; empty for a root.
	Parents []string `json:"parents,omitempty"`
	// Attributes is nameplate and other static data (rated speed, vendor, ...).
	Attributes map[string]any `json:"attributes,omitempty"`
	// Timezone is the IANA zone of the site the asset belongs to, inherited from
	// the nearest ancestor that sets one; "UTC" when none does.
	Timezone string `json:"timezone,omitempty"`
	// Shifts is the shift calendar of the asset's site, inherited like
	// Timezone from the nearest ancestor that declares one; empty when none does.
	Shifts []Shift `json:"shifts,omitempty"`
	// Aliases are earlier ids of the asset (it was renamed): lookups,
	// telemetry and stored history and events under them answer under ID.
	Aliases []string `json:"aliases,omitempty"`
	// Retired is set for an asset taken out of service: it accepts no new
	// telemetry and leaves the roots, children, descendants and asset
	// listings (and so rollups), while its history and events stay.
	Retired bool `json:"retired,omitempty"`
	// RetiredAt is when the asset was retired; zero when the model does not
	// say. Samples dated before it are still accepted (late data).
	RetiredAt time.Time `json:"retiredAt,omitzero"`
	// Line is the line of the model file that declares the asset (for error messages).
	Line int `json:"-"`
}

// RetiredBy reports whether a sample dated ts is refused because the asset
// is retired: any sample when RetiredAt is zero, else one dated at or after it.
func (a *Asset) RetiredBy(ts time.Time) bool {
	return a.Retired && (a.RetiredAt.IsZero() || !ts.Before(a.RetiredAt))
}

// Location returns the asset's time zone, UTC when it is unset or unknown.
func (a *Asset) Location() *time.Location {
	if a == nil || a.Timezone == "" {
		return time.UTC
	}
	if loc, ok := locations.Load(a.Timezone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(a.Timezone)
	if err != nil {
		loc = time.UTC
	}
	locations.Store(a.Timezone, loc)
	return loc
}

// locations caches loaded zones: LoadLocation reads the zone database every call.
var locations sync.Map

// ValueKind says which of the four telemetry value shapes a signal carries.
type ValueKind string

// The value kinds.
const (
	KindNumber ValueKind = "number"
	KindBool   ValueKind = "bool"
	KindString ValueKind = "string"
	KindList   ValueKind = "list" // a list of strings, e.g. active fault codes
)

// SignalDef is a curated signal of an asset type: a stable name with a unit and a valid range.
type SignalDef struct {
	// Name is the stable signal name, e.g. "press1_bar".
	Name string `json:"name"`
	// Kind is the value shape; numbers unless said otherwise.
	Kind ValueKind `json:"kind"`
	// Unit is the engineering unit ("bar", "°C", "units/min"); empty for unitless signals.
	Unit string `json:"unit,omitempty"`
	// Min and Max bound valid numeric values; nil means unbounded. A value outside
	// is kept in history with bad quality and never drives state.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// Description says what the signal measures.
	Description string `json:"description,omitempty"`
	// MaxLength bounds a string value, and each item of a list, in
	// characters; 0 means DefaultMaxLength. A longer value is refused.
	MaxLength int `json:"maxLength,omitempty"`
	// MaxItems bounds a list value's items; 0 means DefaultMaxItems. A
	// longer list is refused.
	MaxItems int `json:"maxItems,omitempty"`
	// Decimals is the resolution of a number signal in decimal places; nil
	// when the model does not say. Values are presented rounded to it.
	Decimals *int `json:"decimals,omitempty"`
	// Allowed lists the values a string signal may take (a DTDL Enum); empty
	// means any. Another value is refused at ingest.
	Allowed []string `json:"allowed,omitempty"`
	// Aliases are earlier names of the signal (it was renamed): telemetry
	// and queries under them answer under Name.
	Aliases []string `json:"aliases,omitempty"`
	// Rollup is set on a rolled-up signal (AssetType.Rollups): one computed
	// from the samples of the asset's descendants, never sent as telemetry.
	// Nil for a measured signal.
	Rollup *SignalRollup `json:"rollup,omitempty"`
}

// SignalRollup says how a rolled-up signal is computed from descendants.
// Per history bucket, each member asset's samples of From are aggregated by
// the query's aggregate, then the members' values are combined by Agg; a
// member without samples in a bucket takes no part in it.
type SignalRollup struct {
	// From is the signal of the descendants that is rolled up, e.g. "units_count".
	From string `json:"from"`
	// Agg combines the members' bucket values: SUM, AVG, MIN or MAX.
	Agg Agg `json:"agg"`
	// Over restricts the members to descendants of these types; empty means
	// every descendant whose type has the signal From.
	Over []string `json:"over,omitempty"`
}

// RollupAggs are the aggregates a SignalRollup may combine members with.
var RollupAggs = []Agg{AggSum, AggAvg, AggMin, AggMax}

// noiseDigits is the significant digits a number keeps when its signal has
// no Decimals: far beyond any sensor's resolution, yet it drops the binary
// rounding noise of scaling and averaging (5.5600000000000005 is 5.56).
const noiseDigits = 12

// Round presents a value of the signal: rounded to Decimals, or without
// float noise when the signal (possibly nil) has none. Non-finite values
// are returned as they are.
func (s *SignalDef) Round(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	if s != nil && s.Decimals != nil {
		p := math.Pow10(*s.Decimals)
		// A whole number over a power of ten is the double nearest the
		// decimal, so it prints without noise; huge values need no rounding.
		if r := math.Round(v * p); !math.IsInf(r, 0) && math.Abs(r) < 1<<53 {
			return r / p
		}
		return v
	}
	return Denoise(v)
}

// Denoise drops the binary rounding noise of a computed number (an average,
// a scaled reading): 5.5600000000000005 becomes 5.56. It keeps noiseDigits
// significant digits; non-finite values are returned as they are.
func Denoise(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', noiseDigits, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// Allows reports whether a string value is one of the signal's allowed values.
func (s *SignalDef) Allows(v string) bool {
	return len(s.Allowed) == 0 || slices.Contains(s.Allowed, v)
}

// Default bounds of string and list values: a product code or a fault code is
// short, and a device listing thousands of faults is broken, not informative
// (each would become an event).
const (
	DefaultMaxLength = 256
	DefaultMaxItems  = 64
)

// LengthLimit is the most characters a string value (or a list item) may have.
func (s *SignalDef) LengthLimit() int {
	if s.MaxLength > 0 {
		return s.MaxLength
	}
	return DefaultMaxLength
}

// ItemsLimit is the most items a list value may have.
func (s *SignalDef) ItemsLimit() int {
	if s.MaxItems > 0 {
		return s.MaxItems
	}
	return DefaultMaxItems
}

// InRange reports whether a numeric value lies within the signal's valid range.
func (s *SignalDef) InRange(v float64) bool {
	if s.Min != nil && v < *s.Min {
		return false
	}
	if s.Max != nil && v > *s.Max {
		return false
	}
	return true
}

// ModeRule maps a condition over an asset's current signal values to a mode.
// Rules of a type are tried in order; the first match wins.
type ModeRule struct {
	// When is the condition's source text (an expr-lang expression over signal names).
	When string `json:"when"`
	// Mode is the mode the asset takes when the condition holds.
	Mode Mode `json:"mode"`
	// Match evaluates the compiled condition against current signal values
	// (name → float64, bool, string or []string; absent signals are missing).
	// It is filled in when the model is loaded so the root package stays free of
	// the expression engine. An evaluation error counts as no match.
	Match func(env map[string]any) (bool, error) `json:"-"`
}

// OEEConfig names the inputs of an asset type's OEE estimate.
// OEE = availability × performance × quality, each clamped to [0, 1]:
// availability = running seconds today / seconds since local midnight (or since the first sample today),
// performance = total units / (rated speed × running minutes),
// quality = good units / total units.
type OEEConfig struct {
	// RatedSpeedAttribute names the nameplate attribute holding the rated speed in units/min.
	RatedSpeedAttribute string `json:"ratedSpeedAttribute,omitempty"`
	// SpeedSignal is the signal carrying actual speed in units/min (throughput).
	SpeedSignal string `json:"speedSignal,omitempty"`
	// GoodSignal and TotalSignal are today's good and total unit counters.
	GoodSignal  string `json:"goodSignal,omitempty"`
	TotalSignal string `json:"totalSignal,omitempty"`
}

// AssetType describes what assets of one type measure and how their mode is derived.
type AssetType struct {
	// Name is the type's name, referred to by Asset.Type.
	Name string `json:"name"`
	// Signals are the curated signals, in declaration order.
	Signals []SignalDef `json:"signals,omitempty"`
	// ModeRules decide the mode; empty means the type has no mode (stays UNKNOWN).
	// They are in force from ModeRulesFrom on (always when it is zero).
	ModeRules []ModeRule `json:"modeRules,omitempty"`
	// ModeRulesFrom is the sample time ModeRules took effect; zero means always.
	ModeRulesFrom time.Time `json:"modeRulesFrom,omitzero"`
	// EarlierModeRules are the rule sets in force before ModeRulesFrom,
	// oldest first, so a replay of old telemetry gives the events it gave.
	EarlierModeRules []ModeRuleSet `json:"earlierModeRules,omitempty"`
	// Debounce is the minimum time a new mode must hold (by sample time) before it is taken.
	Debounce time.Duration `json:"debounce,omitempty"`
	// FaultSignal, ProductSignal and BatchSignal name the signals that carry the
	// business fields; empty when the type has none.
	FaultSignal   string `json:"faultSignal,omitempty"`
	ProductSignal string `json:"productSignal,omitempty"`
	BatchSignal   string `json:"batchSignal,omitempty"`
	// OEE names the inputs of the OEE estimate; nil when the type has none.
	OEE *OEEConfig `json:"oee,omitempty"`
	// Rollups are the type's rolled-up signals (each with Rollup set), number
	// signals whose history is computed from the asset's descendants.
	Rollups []SignalDef `json:"rollups,omitempty"`
	// Maintenance names the inputs of the maintenance feed; nil when the type has none.
	Maintenance *MaintenanceConfig `json:"maintenance,omitempty"`
}

// MaintenanceConfig names the inputs of an asset type's maintenance feed.
// Run hours are the asset's time in RUNNING, kept by the transition function;
// the service figures come from nameplate attributes, so a service is recorded
// by editing the model.
type MaintenanceConfig struct {
	// CyclesSignal is a counter signal of operating cycles (never reset); empty when none.
	CyclesSignal string `json:"cyclesSignal,omitempty"`
	// VibrationSignal is the vibration signal the feed trends; empty when none.
	VibrationSignal string `json:"vibrationSignal,omitempty"`
	// VibrationAlarm is the vibration level (in the signal's unit) at or above
	// which the vibration is in alarm, e.g. 7.1 mm/s (ISO 10816 zone D); nil when none.
	VibrationAlarm *float64 `json:"vibrationAlarm,omitempty"`
	// LastServiceAttribute names the attribute holding the date of the last
	// service ("2026-11-20", site-local; an RFC 3339 time counts from its local date).
	LastServiceAttribute string `json:"lastServiceAttribute,omitempty"`
	// ServiceIntervalAttribute names the attribute holding the run hours
	// allowed between services.
	ServiceIntervalAttribute string `json:"serviceIntervalAttribute,omitempty"`
	// ServiceIntervalDaysAttribute names the attribute holding the calendar
	// days allowed between services.
	ServiceIntervalDaysAttribute string `json:"serviceIntervalDaysAttribute,omitempty"`
}

// ModeRuleSet is a list of mode rules in force from a sample time on.
type ModeRuleSet struct {
	// From is the sample time the rules took effect; zero means always.
	From time.Time `json:"from,omitzero"`
	// Rules are tried in order; the first match wins.
	Rules []ModeRule `json:"rules"`
}

// RulesAt returns the mode rules in force for a sample dated ts and the time
// they took effect (zero: always). Before every rule set's start there are
// no rules: the mode is not computed. Rules are chosen by sample time, so a
// replay of the log gives the events the live run gave, and a rule change
// never rewrites events before it.
func (t *AssetType) RulesAt(ts time.Time) ([]ModeRule, time.Time) {
	if t == nil {
		return nil, time.Time{}
	}
	if t.ModeRulesFrom.IsZero() || !ts.Before(t.ModeRulesFrom) {
		return t.ModeRules, t.ModeRulesFrom
	}
	for i := len(t.EarlierModeRules) - 1; i >= 0; i-- {
		rs := &t.EarlierModeRules[i]
		if rs.From.IsZero() || !ts.Before(rs.From) {
			return rs.Rules, rs.From
		}
	}
	return nil, time.Time{}
}

// Lookup returns the signal definition named name or, failing that, the one
// that lists name among its aliases; nil when neither exists.
func (t *AssetType) Lookup(name string) *SignalDef {
	if s := t.Signal(name); s != nil {
		return s
	}
	if t == nil {
		return nil
	}
	for i := range t.Signals {
		if slices.Contains(t.Signals[i].Aliases, name) {
			return &t.Signals[i]
		}
	}
	return nil
}

// Signal returns the named signal definition, or nil.
func (t *AssetType) Signal(name string) *SignalDef {
	if t == nil {
		return nil
	}
	for i := range t.Signals {
		if t.Signals[i].Name == name {
			return &t.Signals[i]
		}
	}
	return nil
}

// HistorySignal returns the named signal or rolled-up signal, or nil: the
// series history can answer for assets of the type.
func (t *AssetType) HistorySignal(name string) *SignalDef {
	if s := t.Lookup(name); s != nil {
		return s
	}
	if t == nil {
		return nil
	}
	for i := range t.Rollups {
		if t.Rollups[i].Name == name {
			return &t.Rollups[i]
		}
	}
	return nil
}

// TagMapping maps a raw device tag onto a curated signal by a linear transform:
// curated = raw × Scale + Offset.
type TagMapping struct {
	// Device and Tag identify the raw source ("plc-17", "1024").
	Device string `json:"device"`
	Tag    string `json:"tag"`
	// Asset and Signal identify the curated target.
	Asset  string `json:"asset"`
	Signal string `json:"signal"`
	// Scale multiplies the raw value (1 when unset); Offset is added after.
	Scale  float64 `json:"scale"`
	Offset float64 `json:"offset"`
}

// Model is the loaded, validated asset hierarchy: a DAG of assets with their
// types and the raw-tag signal map. Implementations are immutable and safe for
// concurrent use. Slices returned are in model-file order and must not be modified.
type Model interface {
	// Asset returns the asset with the id, or nil.
	Asset(id string) *Asset
	// Assets returns every asset.
	Assets() []*Asset
	// Roots returns the assets without parents.
	Roots() []*Asset
	// Parents returns the assets directly above id.
	Parents(id string) []*Asset
	// Children returns the assets directly below id, only of type typ unless typ is "".
	Children(id, typ string) []*Asset
	// Ancestors returns every distinct asset above id, nearest first.
	Ancestors(id string) []*Asset
	// Descendants returns every distinct asset below id (breadth first), only of
	// type typ unless typ is "", at most maxDepth levels down unless maxDepth <= 0.
	Descendants(id, typ string, maxDepth int) []*Asset
	// IsUnder reports whether id is under (or equal to) ancestor.
	IsUnder(id, ancestor string) bool
	// Type returns the named asset type, or nil.
	Type(name string) *AssetType
	// Mapping returns the signal map entry of a raw device tag.
	Mapping(device, tag string) (TagMapping, bool)
}

// Snapshot returns the model as it is now: m's own Snapshot when it has one
// (hierarchy.Live, which a reload swaps), else m. Work that must see one model
// throughout (a batch decoded and then applied, a shared subscription) takes it.
func Snapshot(m Model) Model {
	if s, ok := m.(interface{ Snapshot() Model }); ok {
		return s.Snapshot()
	}
	return m
}
