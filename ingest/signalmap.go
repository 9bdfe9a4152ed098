package ingest

import (
	"fmt"
	"math"
	"unicode/utf8"

	twin "github.com/twingraph/twingraph"
)

// MapValue applies a tag mapping's linear transform to a raw value:
// curated = raw × Scale + Offset, where a Scale of 0 means 1 (an unset scale
// must not zero every reading). Non-numeric values pass unchanged.
func MapValue(mp twin.TagMapping, raw twin.Value) twin.Value {
	if raw.Kind != twin.KindNumber {
		return raw
	}
	scale := mp.Scale
	if scale == 0 {
		scale = 1
	}
	return twin.Number(raw.Num*scale + mp.Offset)
}

// coerceRaw converts a raw device value to the kind of its curated signal.
// Controllers report bits as 0/1 and flags as numbers, so a raw number
// becomes a bool (non-zero is true) and a raw bool a number (1 or 0); every
// other mismatch is refused. Curated messages get no such leniency: their
// sender knows the signal's kind. It runs before MapValue, so a raw bool on
// a numeric signal is scaled and range-checked like any number (the model
// allows a transform on numeric signals only).
func coerceRaw(v twin.Value, kind twin.ValueKind) (twin.Value, bool) {
	switch {
	case v.Kind == kind:
		return v, true
	case kind == twin.KindBool && v.Kind == twin.KindNumber:
		return twin.Bool(v.Num != 0), true
	case kind == twin.KindNumber && v.Kind == twin.KindBool:
		if v.Bool {
			return twin.Number(1), true
		}
		return twin.Number(0), true
	}
	return v, false
}

// curate checks a value against its signal definition and grades it: the
// reject reason is "" when the value is acceptable. A number out of the
// signal's range is accepted with BAD quality, so history keeps it but state
// never follows it.
func curate(def *twin.SignalDef, v twin.Value) (twin.Quality, string) {
	kind := def.Kind
	if kind == "" {
		kind = twin.KindNumber
	}
	if v.Kind != kind {
		return "", fmt.Sprintf("wrong_type: signal %q takes a %s, got a %s", def.Name, kind, v.Kind)
	}
	if kind == twin.KindNumber {
		if math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
			return "", fmt.Sprintf("non_finite: signal %q got a non-finite number", def.Name)
		}
		if !def.InRange(v.Num) {
			return twin.QualityBad, ""
		}
	}
	if reason := checkSize(def, v); reason != "" {
		return "", reason
	}
	if v.Kind == twin.KindString && !def.Allows(v.Str) {
		return "", fmt.Sprintf("not_allowed: signal %q takes one of %q, got %q", def.Name, def.Allowed, v.Str)
	}
	return twin.QualityGood, ""
}

// checkSize refuses a string or list beyond its signal's bounds: such a value
// would sit in state and in an event (a list, in one event per item).
func checkSize(def *twin.SignalDef, v twin.Value) string {
	maxLen := def.LengthLimit()
	switch v.Kind {
	case twin.KindString:
		if n := utf8.RuneCountInString(v.Str); n > maxLen {
			return fmt.Sprintf("too_large: signal %q takes at most %d characters, got %d", def.Name, maxLen, n)
		}
	case twin.KindList:
		if n := len(v.List); n > def.ItemsLimit() {
			return fmt.Sprintf("too_large: signal %q takes at most %d items, got %d", def.Name, def.ItemsLimit(), n)
		}
		for i, item := range v.List {
			if n := utf8.RuneCountInString(item); n > maxLen {
				return fmt.Sprintf("too_large: signal %q takes items of at most %d characters, item %d has %d", def.Name, maxLen, i, n)
			}
		}
	}
	return ""
}
