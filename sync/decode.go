package sync

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
	// bad_ts, unknown_asset, unknown_signal, unknown_tag, wrong_type, non_finite.
	Reason string
}

// wire is one telemetry object as sent. Fields stay raw so that each problem
// gets its own reject code instead of one opaque JSON error.
type wire struct {
	Asset  *string         `json:"asset"`
	Signal *string         `json:"signal"`
	Device *string         `json:"device"`
	Tag    json.RawMessage `json:"tag"`
	Value  json.RawMessage `json:"value"`
	TS     json.RawMessage `json:"ts"`
}

// Timestamps outside these bounds cannot be written as RFC 3339 (years
// 0000-9999) and are refused rather than failing later in a store.
var (
	minTS = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTS = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// Decode turns one telemetry message (one JSON object or an array of them)
// into curated samples, in message order. Good elements decode even if others
// are rejected; a message that is not JSON at all is one bad_json reject at
// index 0. Curated elements ({"asset","signal"}) are checked against the
// asset type's signals; raw ones ({"device","tag"}) go through the model's
// signal map first. A number out of its signal's range decodes with BAD
// quality. Samples carry no log position: the caller sets Pos.
func Decode(m twin.Model, value []byte) ([]twin.Sample, []Reject) {
	b := bytes.TrimSpace(value)
	if len(b) > 0 && b[0] == '[' {
		var elems []json.RawMessage
		if err := json.Unmarshal(b, &elems); err != nil {
			return nil, []Reject{{0, "bad_json: " + jsonError(err)}}
		}
		samples := make([]twin.Sample, 0, len(elems))
		var rejects []Reject
		for i, e := range elems {
			s, reason := decodeOne(m, e)
			if reason != "" {
				rejects = append(rejects, Reject{i, reason})
				continue
			}
			samples = append(samples, s)
		}
		return samples, rejects
	}
	s, reason := decodeOne(m, b)
	if reason != "" {
		return nil, []Reject{{0, reason}}
	}
	return []twin.Sample{s}, nil
}

// decodeOne decodes one telemetry object; reason is "" on success.
func decodeOne(m twin.Model, b []byte) (twin.Sample, string) {
	var w wire
	if len(b) == 0 || b[0] != '{' {
		return twin.Sample{}, "bad_json: a telemetry element must be a JSON object"
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return twin.Sample{}, "bad_json: " + jsonError(err)
	}
	var (
		asset, signal string
		mp            twin.TagMapping
		raw           bool
	)
	switch {
	case w.Asset != nil || w.Signal != nil:
		if w.Asset == nil || *w.Asset == "" {
			return twin.Sample{}, "missing_field: asset"
		}
		if w.Signal == nil || *w.Signal == "" {
			return twin.Sample{}, "missing_field: signal"
		}
		asset, signal = *w.Asset, *w.Signal
	case w.Device != nil || isSet(w.Tag):
		if w.Device == nil || *w.Device == "" {
			return twin.Sample{}, "missing_field: device"
		}
		if !isSet(w.Tag) {
			return twin.Sample{}, "missing_field: tag"
		}
		tag, ok := tagString(w.Tag)
		if !ok {
			return twin.Sample{}, "wrong_type: tag must be a string or a number"
		}
		if mp, ok = m.Mapping(*w.Device, tag); !ok {
			return twin.Sample{}, fmt.Sprintf("unknown_tag: no signal map entry for device %s tag %s", quote(*w.Device), quote(tag))
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
	a := m.Asset(asset)
	if a == nil {
		return twin.Sample{}, "unknown_asset: " + quote(asset)
	}
	def := m.Type(a.Type).Signal(signal)
	if def == nil {
		return twin.Sample{}, fmt.Sprintf("unknown_signal: asset %s has no signal %s", quote(asset), quote(signal))
	}
	v, reason := parseValue(w.Value)
	if reason != "" {
		return twin.Sample{}, reason
	}
	if raw {
		kind := def.Kind
		if kind == "" {
			kind = twin.KindNumber
		}
		v = MapValue(mp, v)
		if c, ok := coerceRaw(v, kind); ok {
			v = c
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
		var s string
		if json.Unmarshal(r, &s) != nil || s == "" {
			return "", false
		}
		return s, true
	}
	if _, err := strconv.ParseFloat(string(r), 64); err == nil {
		return string(r), true
	}
	return "", false
}

// parseTS reads RFC 3339 text or epoch milliseconds.
func parseTS(r json.RawMessage) (time.Time, string) {
	var ts time.Time
	if r[0] == '"' {
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return ts, "bad_ts: not a string"
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
	if ts.Before(minTS) || ts.After(maxTS) {
		return time.Time{}, "bad_ts: outside years 0000-9999"
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
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}
