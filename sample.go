package twin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Value is one telemetry value: a number, a bool, a string or a list of strings.
// Its JSON form is the plain JSON value.
type Value struct {
	// Kind says which of the fields below holds the value; "" is the absent value.
	Kind ValueKind
	// Num holds a number.
	Num float64
	// Bool holds a bool.
	Bool bool
	// Str holds a string.
	Str string
	// List holds a list of strings (sorted and de-duplicated by NewList).
	List []string
}

// Number, Bool, String and NewList build values.
func Number(v float64) Value { return Value{Kind: KindNumber, Num: v} }
func Bool(v bool) Value      { return Value{Kind: KindBool, Bool: v} }
func String(v string) Value  { return Value{Kind: KindString, Str: v} }

// NewList builds a list value, as a sorted set: fault codes have no order.
func NewList(v []string) Value {
	l := slices.Clone(v)
	slices.Sort(l)
	l = slices.Compact(l)
	if l == nil {
		l = []string{}
	}
	return Value{Kind: KindList, List: l}
}

// IsZero reports whether the value is absent.
func (v Value) IsZero() bool { return v.Kind == "" }

// Any returns the value as float64, bool, string or []string (nil when absent),
// the shape mode-rule expressions see.
func (v Value) Any() any {
	switch v.Kind {
	case KindNumber:
		return v.Num
	case KindBool:
		return v.Bool
	case KindString:
		return v.Str
	case KindList:
		return v.List
	}
	return nil
}

// Equal reports whether two values are the same.
func (v Value) Equal(o Value) bool {
	if v.Kind != o.Kind {
		return false
	}
	switch v.Kind {
	case KindNumber:
		return v.Num == o.Num
	case KindBool:
		return v.Bool == o.Bool
	case KindString:
		return v.Str == o.Str
	case KindList:
		return slices.Equal(v.List, o.List)
	}
	return true
}

// String formats the value for humans and logs.
func (v Value) String() string {
	switch v.Kind {
	case KindNumber:
		return strconv.FormatFloat(v.Num, 'g', -1, 64)
	case KindBool:
		return strconv.FormatBool(v.Bool)
	case KindString:
		return v.Str
	case KindList:
		b, _ := json.Marshal(v.List)
		return string(b)
	}
	return ""
}

// MarshalJSON writes the plain JSON value (null when absent).
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.Kind {
	case KindNumber:
		if math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
			return nil, fmt.Errorf("non-finite number %v", v.Num)
		}
		return strconv.AppendFloat(nil, v.Num, 'g', -1, 64), nil
	case KindBool:
		return strconv.AppendBool(nil, v.Bool), nil
	case KindString:
		return json.Marshal(v.Str)
	case KindList:
		if v.List == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(v.List)
	}
	return []byte("null"), nil
}

// UnmarshalJSON reads a number, bool, string or list of strings; anything else is an error.
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return fmt.Errorf("empty value")
	}
	switch b[0] {
	case 'n':
		*v = Value{}
		return nil
	case 't', 'f':
		var x bool
		if err := json.Unmarshal(b, &x); err != nil {
			return err
		}
		*v = Bool(x)
	case '"':
		var x string
		if err := json.Unmarshal(b, &x); err != nil {
			return err
		}
		*v = String(x)
	case '[':
		var x []string
		if err := json.Unmarshal(b, &x); err != nil {
			return fmt.Errorf("a list value must hold only strings")
		}
		*v = NewList(x)
	case '{':
		return fmt.Errorf("an object is not a telemetry value")
	default:
		x, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return fmt.Errorf("bad number %s", b)
		}
		*v = Number(x)
	}
	return nil
}

// Quality says whether a sample may drive state.
type Quality string

// The qualities. A bad sample (out of the signal's range) is kept in history only.
const (
	QualityGood Quality = "GOOD"
	QualityBad  Quality = "BAD"
)

// LogPos is a position in the telemetry log: the source of truth every store is stamped with.
type LogPos struct {
	// Log identifies one incarnation of the topic (e.g. "telemetry@<topic id>"), so
	// a recreated topic or another cluster is never mistaken for a replay.
	Log string `json:"log"`
	// Partition is the Kafka partition.
	Partition int32 `json:"partition"`
	// Offset is the record's offset in the partition.
	Offset int64 `json:"offset"`
}

// Key is the stable per-partition key under which a state records its applied offset.
func (p LogPos) Key() string { return p.Log + "/" + strconv.Itoa(int(p.Partition)) }

// Sample is one curated reading of one signal of one asset.
type Sample struct {
	// Asset is the asset id.
	Asset string `json:"asset"`
	// Signal is the curated signal name.
	Signal string `json:"signal"`
	// TS is when the value was measured (source time, not arrival time).
	TS time.Time `json:"ts"`
	// Value is the curated value (after the signal map's transform).
	Value Value `json:"value"`
	// Quality is BAD when the value is outside the signal's range.
	Quality Quality `json:"quality"`
	// Pos is where the sample came from in the log; zero for samples made outside it.
	Pos LogPos `json:"pos"`
}
