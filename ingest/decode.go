package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	twin "github.com/twingraph/twingraph"
)

// Reject says why one element of a telemetry message was refused.
type Reject struct {
	// Index is the element's position in the message (0 for a single object).
	Index int
	// Reason is "<code>: human text"; the codes are bad_json, missing_field,
	// bad_ts, unknown_asset, unknown_signal, unknown_tag, wrong_type,
	// non_finite, too_large, not_allowed, retired.
	Reason string
}

// Defaults of Limits.
const (
	// DefaultMaxMessageBytes is half the broker's default message size
	// (1 MB): a telemetry message that large is a device gone wrong, and the
	// bound is what keeps a batch's memory in check.
	DefaultMaxMessageBytes = 512 << 10
	// DefaultMaxClockSkew is how far a sample's ts may lie after the time
	// its message was produced.
	DefaultMaxClockSkew = 5 * time.Minute
)

// Limits bound what one telemetry message may carry. The string and list
// bounds are per signal, in the model (twin.SignalDef.LengthLimit, ItemsLimit).
type Limits struct {
	// MaxMessageBytes refuses a larger message whole, undecoded, as
	// too_large; DefaultMaxMessageBytes when <= 0.
	MaxMessageBytes int
	// MaxClockSkew refuses a sample dated more than this after its message
	// was produced as bad_ts: one far-future sample would make every real
	// one look late and freeze the asset. DefaultMaxClockSkew when <= 0.
	MaxClockSkew time.Duration
}

// WithDefaults returns l with its zero fields set to the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if l.MaxClockSkew <= 0 {
		l.MaxClockSkew = DefaultMaxClockSkew
	}
	return l
}

// wire is one telemetry object as sent. Fields stay raw so that each problem
// gets its own reject code instead of one opaque JSON error.
type wire struct {
	Asset  optString       `json:"asset"`
	Signal optString       `json:"signal"`
	Device optString       `json:"device"`
	Tag    json.RawMessage `json:"tag"`
	Value  json.RawMessage `json:"value"`
	TS     json.RawMessage `json:"ts"`
}

// optString is a string field that may be absent; null counts as absent.
type optString struct {
	s   string
	set bool
}

// UnmarshalJSON reads a JSON string or null.
func (o *optString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*o = optString{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*o = optString{s, true}
	return nil
}

// Timestamps after maxTS cannot be written as RFC 3339 (years up to 9999)
// and are refused rather than failing later in a store. Timestamps at or
// before the Unix epoch are refused too: epoch 0 or a negative number is a
// device with an unset clock or a sign error, never a real 1969 reading, and
// would otherwise become the newest-looking value of nothing but sort before
// all real data.
var (
	epoch = time.Unix(0, 0)
	maxTS = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// Decode turns one telemetry message (one JSON object or an array of them)
// into curated samples, in message order. Good elements decode even if others
// are rejected; a message that is not JSON at all is one bad_json reject at
// index 0. Curated elements ({"asset","signal"}) are checked against the
// asset type's signals; raw ones ({"device","tag"}) go through the model's
// signal map first. A number out of its signal's range decodes with BAD
// quality. Samples carry no log position: the caller sets Pos.
//
// Decode applies the default Limits and takes the message as produced now.
func Decode(m twin.Model, value []byte) ([]twin.Sample, []Reject) {
	return DecodeAt(m, value, time.Now(), Limits{})
}

// DecodeAt is Decode under lim for a message produced at produced: a sample
// dated more than lim.MaxClockSkew after it is refused as bad_ts. The worker
// and rebuild pass the record's Kafka timestamp (capped at the clock of the
// reader), so a replay of the log judges every sample as the live worker did.
func DecodeAt(m twin.Model, value []byte, produced time.Time, lim Limits) ([]twin.Sample, []Reject) {
	return decode(m, value, true, produced, lim)
}

// decode is DecodeAt with the fast path optional, so tests can hold the two
// paths to the same answers.
func decode(m twin.Model, value []byte, fast bool, produced time.Time, lim Limits) ([]twin.Sample, []Reject) {
	lim = lim.WithDefaults()
	if len(value) > lim.MaxMessageBytes {
		return nil, []Reject{{0, fmt.Sprintf("too_large: message of %d bytes, more than %d", len(value), lim.MaxMessageBytes)}}
	}
	latest := produced.Add(lim.MaxClockSkew)
	b := bytes.TrimSpace(value)
	if fast {
		if ws, ok := scanMessage(b); ok {
			samples := make([]twin.Sample, 0, len(ws))
			var rejects []Reject
			for i := range ws {
				s, reason := curateWire(m, &ws[i], latest)
				if reason != "" {
					rejects = append(rejects, Reject{i, reason})
					continue
				}
				samples = append(samples, s)
			}
			return samples, rejects
		}
	}
	if len(b) > 0 && b[0] == '[' {
		var elems []json.RawMessage
		if err := json.Unmarshal(b, &elems); err != nil {
			return nil, []Reject{{0, "bad_json: " + jsonError(err)}}
		}
		samples := make([]twin.Sample, 0, len(elems))
		var rejects []Reject
		for i, e := range elems {
			s, reason := decodeOne(m, e, latest)
			if reason != "" {
				rejects = append(rejects, Reject{i, reason})
				continue
			}
			samples = append(samples, s)
		}
		return samples, rejects
	}
	s, reason := decodeOne(m, b, latest)
	if reason != "" {
		return nil, []Reject{{0, reason}}
	}
	return []twin.Sample{s}, nil
}

// decodeOne decodes one telemetry object; reason is "" on success.
func decodeOne(m twin.Model, b []byte, latest time.Time) (twin.Sample, string) {
	var w wire
	if len(b) == 0 || b[0] != '{' {
		return twin.Sample{}, "bad_json: a telemetry element must be a JSON object"
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return twin.Sample{}, "bad_json: " + jsonError(err)
	}
	return curateWire(m, &w, latest)
}

// curateWire checks one parsed telemetry object against the model and turns
// it into a curated sample; reason is "" on success. A ts after latest is refused.
func curateWire(m twin.Model, w *wire, latest time.Time) (twin.Sample, string) {
	var (
		asset, signal string
		mp            twin.TagMapping
		raw           bool
	)
	switch {
	case w.Asset.set || w.Signal.set:
		if w.Asset.s == "" {
			return twin.Sample{}, "missing_field: asset"
		}
		if w.Signal.s == "" {
			return twin.Sample{}, "missing_field: signal"
		}
		asset, signal = w.Asset.s, w.Signal.s
	case w.Device.set || isSet(w.Tag):
		if w.Device.s == "" {
			return twin.Sample{}, "missing_field: device"
		}
		if !isSet(w.Tag) {
			return twin.Sample{}, "missing_field: tag"
		}
		tag, ok := tagString(w.Tag)
		if !ok {
			return twin.Sample{}, "wrong_type: tag must be a string or a number"
		}
		if mp, ok = m.Mapping(w.Device.s, tag); !ok {
			return twin.Sample{}, fmt.Sprintf("unknown_tag: no signal map entry for device %s tag %s", quote(w.Device.s), quote(tag))
		}
		asset, signal, raw = mp.Asset, mp.Signal, true
	default:
		return twin.Sample{}, "missing_field: asset and signal (or device and tag)"
	}
	if !isSet(w.Value) {
		return twin.Sample{}, "missing_field: value"
	}
	if !isSet(w.TS) {
		return twin.Sample{}, "missing_field: ts"
	}
	ts, reason := parseTS(w.TS)
	if reason != "" {
		return twin.Sample{}, reason
	}
	if ts.After(latest) {
		return twin.Sample{}, fmt.Sprintf("bad_ts: %s is in the future: after %s, the time the message was produced plus the allowed clock skew",
			ts.Format(time.RFC3339Nano), latest.UTC().Format(time.RFC3339))
	}
	a := m.Asset(asset)
	if a == nil {
		return twin.Sample{}, "unknown_asset: " + quote(asset)
	}
	if a.RetiredBy(ts) {
		if a.RetiredAt.IsZero() {
			return twin.Sample{}, fmt.Sprintf("retired: asset %s is retired", quote(a.ID))
		}
		return twin.Sample{}, fmt.Sprintf("retired: asset %s is retired since %s", quote(a.ID), a.RetiredAt.Format(time.RFC3339))
	}
	def := m.Type(a.Type).Lookup(signal)
	if def == nil {
		return twin.Sample{}, fmt.Sprintf("unknown_signal: asset %s has no signal %s", quote(asset), quote(signal))
	}
	// An earlier id or signal name (a rename the device has not caught up
	// with) is stored under the current one.
	asset, signal = a.ID, def.Name
	v, reason := parseValue(w.Value)
	if reason != "" {
		return twin.Sample{}, reason
	}
	if raw {
		// Coerce before transforming: a raw bit on a numeric tag is a number
		// of the device's units, and must be scaled like any other reading.
		// What cannot be coerced is left for curate to refuse as wrong_type.
		kind := def.Kind
		if kind == "" {
			kind = twin.KindNumber
		}
		if c, ok := coerceRaw(v, kind); ok {
			v = MapValue(mp, c)
		}
	}
	q, reason := curate(def, v)
	if reason != "" {
		return twin.Sample{}, reason
	}
	return twin.Sample{Asset: asset, Signal: signal, TS: ts, Value: v, Quality: q}, ""
}

// isSet reports whether a raw field was present and not null.
func isSet(r json.RawMessage) bool { return len(r) > 0 && string(r) != "null" }

// tagString reads a tag given as a string or (by some gateways) a number.
func tagString(r json.RawMessage) (string, bool) {
	if r[0] == '"' {
		s, ok := plainString(r)
		if !ok && json.Unmarshal(r, &s) != nil {
			return "", false
		}
		return s, s != ""
	}
	if _, err := strconv.ParseFloat(string(r), 64); err == nil {
		return string(r), true
	}
	return "", false
}

// plainString returns the contents of a JSON string without escapes or
// non-ASCII bytes, which need no decoding; ok is false for any other.
func plainString(r json.RawMessage) (string, bool) {
	if len(r) < 2 || r[0] != '"' || r[len(r)-1] != '"' {
		return "", false
	}
	for _, c := range r[1 : len(r)-1] {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			return "", false
		}
	}
	return string(r[1 : len(r)-1]), true
}

// parseTS reads RFC 3339 text or epoch milliseconds.
func parseTS(r json.RawMessage) (time.Time, string) {
	var ts time.Time
	if r[0] == '"' {
		s, ok := plainString(r)
		if !ok {
			if err := json.Unmarshal(r, &s); err != nil {
				return ts, "bad_ts: not a string"
			}
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return ts, "bad_ts: not RFC 3339 text or epoch milliseconds: " + quote(s)
		}
		ts = t
	} else {
		ms, err := strconv.ParseFloat(string(r), 64)
		if err != nil || math.IsInf(ms, 0) || math.Abs(ms) > 1e15 {
			return ts, "bad_ts: not RFC 3339 text or epoch milliseconds: " + quote(string(r))
		}
		whole := math.Floor(ms)
		ts = time.UnixMilli(int64(whole)).Add(time.Duration(math.Round((ms - whole) * 1e6)))
	}
	if !ts.After(epoch) {
		return time.Time{}, "bad_ts: not after 1970-01-01T00:00:00Z (epoch milliseconds must be positive)"
	}
	if ts.After(maxTS) {
		return time.Time{}, "bad_ts: after year 9999"
	}
	return ts.UTC(), ""
}

// parseValue reads a telemetry value, telling overflowing numbers from other shapes.
func parseValue(r json.RawMessage) (twin.Value, string) {
	var v twin.Value
	if c := r[0]; c == '-' || (c >= '0' && c <= '9') {
		f, err := strconv.ParseFloat(string(r), 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0) {
				return v, "non_finite: number out of float64 range: " + quote(string(r))
			}
			return v, "bad_json: bad number " + quote(string(r))
		}
		return twin.Number(f), ""
	}
	if err := v.UnmarshalJSON(r); err != nil {
		return v, "wrong_type: value must be a number, bool, string or list of strings: " + err.Error()
	}
	return v, ""
}

// jsonError shortens a JSON error for a reason header.
func jsonError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se.Error())
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q must be a %s, got %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}

// quote quotes a name for a reason, cut short so a hostile message cannot
// blow up a header.
func quote(s string) string {
	return strconv.Quote(shorten(s, 80))
}

// ShortReason is the reason cut to at most n bytes plus an ellipsis (never
// inside a UTF-8 sequence), for places that bound it, such as a header.
func (r Reject) ShortReason(n int) string { return shorten(r.Reason, n) }

// shorten cuts s to at most n bytes plus an ellipsis, never inside a UTF-8 sequence.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// A fast path for the common shape of telemetry: flat objects with only the
// six known keys, plain ASCII strings without escapes, and values that are
// strings, numbers, bools, null or lists of plain strings. It allocates
// nothing beyond the field strings. Anything else (escapes, other keys,
// duplicate keys, nesting, non-ASCII, malformed JSON) makes it give up, and
// encoding/json decodes the message instead, so its rejects and messages
// stay those of the general path; tests hold both paths to the same answers.

// scanMessage scans one object or an array of objects (b already trimmed).
func scanMessage(b []byte) ([]wire, bool) {
	sc := scanner{b: b}
	sc.space()
	if sc.peek() == '[' {
		sc.i++
		var ws []wire
		sc.space()
		if sc.peek() == ']' {
			sc.i++
			return ws, sc.end()
		}
		for {
			sc.space()
			var w wire
			if !sc.object(&w) {
				return nil, false
			}
			ws = append(ws, w)
			sc.space()
			switch sc.next() {
			case ',':
				continue
			case ']':
				return ws, sc.end()
			}
			return nil, false
		}
	}
	ws := make([]wire, 1)
	if !sc.object(&ws[0]) {
		return nil, false
	}
	return ws, sc.end()
}

type scanner struct {
	b []byte
	i int
}

func (sc *scanner) peek() byte {
	if sc.i < len(sc.b) {
		return sc.b[sc.i]
	}
	return 0
}

func (sc *scanner) next() byte {
	c := sc.peek()
	sc.i++
	return c
}

func (sc *scanner) space() {
	for sc.i < len(sc.b) {
		switch sc.b[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// end reports whether only whitespace is left.
func (sc *scanner) end() bool {
	sc.space()
	return sc.i == len(sc.b)
}

// object scans one flat telemetry object into w.
func (sc *scanner) object(w *wire) bool {
	if sc.next() != '{' {
		return false
	}
	var seen uint8
	sc.space()
	if sc.peek() == '}' {
		sc.i++
		return true
	}
	for {
		sc.space()
		key, ok := sc.str()
		if !ok {
			return false
		}
		sc.space()
		if sc.next() != ':' {
			return false
		}
		sc.space()
		var bit uint8
		switch string(key) {
		case "asset":
			bit, ok = 1, sc.strField(&w.Asset)
		case "signal":
			bit, ok = 2, sc.strField(&w.Signal)
		case "device":
			bit, ok = 4, sc.strField(&w.Device)
		case "tag":
			bit, ok = 8, sc.raw(&w.Tag, false)
		case "value":
			bit, ok = 16, sc.raw(&w.Value, true)
		case "ts":
			bit, ok = 32, sc.raw(&w.TS, false)
		default:
			return false
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		sc.space()
		switch sc.next() {
		case ',':
			continue
		case '}':
			return true
		}
		return false
	}
}

// str scans a plain string and returns its contents (aliasing the input).
func (sc *scanner) str() ([]byte, bool) {
	if sc.next() != '"' {
		return nil, false
	}
	start := sc.i
	for sc.i < len(sc.b) {
		c := sc.b[sc.i]
		switch {
		case c == '"':
			sc.i++
			return sc.b[start : sc.i-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
		sc.i++
	}
	return nil, false
}

// strField scans a string (or null, which leaves the field unset).
func (sc *scanner) strField(dst *optString) bool {
	if sc.literal("null") {
		*dst = optString{}
		return true
	}
	s, ok := sc.str()
	if !ok {
		return false
	}
	*dst = optString{string(s), true}
	return true
}

// raw scans a string, number, bool or null (and a list of strings when
// lists are allowed) and keeps its bytes.
func (sc *scanner) raw(dst *json.RawMessage, lists bool) bool {
	start := sc.i
	var ok bool
	switch c := sc.peek(); {
	case c == '"':
		_, ok = sc.str()
	case c == '-' || (c >= '0' && c <= '9'):
		ok = sc.number()
	case c == 't':
		ok = sc.literal("true")
	case c == 'f':
		ok = sc.literal("false")
	case c == 'n':
		ok = sc.literal("null")
	case c == '[' && lists:
		ok = sc.list()
	}
	if ok {
		*dst = sc.b[start:sc.i]
	}
	return ok
}

func (sc *scanner) literal(lit string) bool {
	if len(sc.b)-sc.i >= len(lit) && string(sc.b[sc.i:sc.i+len(lit)]) == lit {
		sc.i += len(lit)
		return true
	}
	return false
}

// list scans a list of plain strings.
func (sc *scanner) list() bool {
	sc.i++ // '['
	sc.space()
	if sc.peek() == ']' {
		sc.i++
		return true
	}
	for {
		sc.space()
		if _, ok := sc.str(); !ok {
			return false
		}
		sc.space()
		switch sc.next() {
		case ',':
			continue
		case ']':
			return true
		}
		return false
	}
}

// number scans a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (sc *scanner) number() bool {
	if sc.peek() == '-' {
		sc.i++
	}
	switch c := sc.peek(); {
	case c == '0':
		sc.i++
	case c >= '1' && c <= '9':
		sc.digits()
	default:
		return false
	}
	if sc.peek() == '.' {
		sc.i++
		if !sc.digits() {
			return false
		}
	}
	if c := sc.peek(); c == 'e' || c == 'E' {
		sc.i++
		if c := sc.peek(); c == '+' || c == '-' {
			sc.i++
		}
		if !sc.digits() {
			return false
		}
	}
	return true
}

// digits scans one or more digits.
func (sc *scanner) digits() bool {
	start := sc.i
	for sc.i < len(sc.b) && sc.b[sc.i] >= '0' && sc.b[sc.i] <= '9' {
		sc.i++
	}
	return sc.i > start
}
