package redis_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/store/redis"
	"github.com/twingraph/twingraph/store/storetest"
)

// roundTrip encodes st, decodes the bytes and requires exactly st back
// (reflect.DeepEqual, so nil and empty maps and slices must survive as they
// were); times must be UTC in st since they decode in UTC.
func roundTrip(t *testing.T, what string, st *twin.State) []byte {
	t.Helper()
	b, err := redis.EncodeState(nil, st)
	if err != nil {
		t.Fatalf("%s: encode: %v", what, err)
	}
	got, err := redis.DecodeState(string(b))
	if err != nil {
		t.Fatalf("%s: decode: %v", what, err)
	}
	if !reflect.DeepEqual(got, st) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(st)
		t.Fatalf("%s: round trip changed the state:\n got  %s\n want %s\n(%#v)", what, gj, wj, got)
	}
	return b
}

func TestCodec_RoundTrip(t *testing.T) {
	full := storetest.FullState("plant/jkt1/packaging/line3")
	roundTrip(t, "full", full)
	roundTrip(t, "new", twin.NewState("plant/a"))
	roundTrip(t, "zero", &twin.State{})
	roundTrip(t, "bare", &twin.State{Asset: "plant/a", Mode: twin.ModeUnknown})

	empty := &twin.State{Asset: "x", FaultCodes: []string{}, FaultSince: map[string]time.Time{},
		Metrics: map[string]twin.Metric{}, Offsets: map[string]int64{}}
	roundTrip(t, "empty maps and slices", empty)

	kinds := twin.NewState("plant/kinds")
	kinds.Metrics = map[string]twin.Metric{
		"absent":      {},
		"absent-ts":   {TS: time.Unix(5, 6).UTC()},
		"num-max":     {Value: twin.Number(math.MaxFloat64)},
		"num-min":     {Value: twin.Number(-math.SmallestNonzeroFloat64)},
		"num-negzero": {Value: twin.Number(math.Copysign(0, -1))},
		"bool-true":   {Value: twin.Bool(true)},
		"bool-false":  {Value: twin.Bool(false)},
		"str-empty":   {Value: twin.String("")},
		"str-bytes":   {Value: twin.String("\x00\xff not utf-8 \xc3")},
		"list-nil":    {Value: twin.Value{Kind: twin.KindList}},
		"list-empty":  {Value: twin.NewList(nil)},
		"list-one":    {Value: twin.NewList([]string{""})},
		"list-many":   {Value: twin.NewList([]string{"b", "a", "c"})},
		"":            {Value: twin.String("empty metric name")},
	}
	b := roundTrip(t, "every value kind", kinds)
	if got, _ := redis.DecodeState(string(b)); !math.Signbit(got.Metrics["num-negzero"].Value.Num) {
		t.Fatalf("-0 came back as %v", got.Metrics["num-negzero"].Value.Num)
	}

	times := twin.NewState("plant/times")
	times.ModeSince = time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)
	times.PendingSince = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	times.BatchSince = time.Unix(0, 0).UTC()
	times.UptimeAsOf = time.Unix(-1, 999999999).UTC()
	times.DayStart = time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)
	times.UpdatedAt = time.Date(2262, 4, 12, 0, 0, 0, 0, time.UTC) // past UnixNano's range
	times.FaultSince = map[string]time.Time{"zero": {}}
	times.Offsets = map[string]int64{"min": math.MinInt64, "max": math.MaxInt64, "zero": 0, "neg": -1}
	times.UptimeSeconds = -0.5
	roundTrip(t, "times and offsets", times)

	// Every field set to something distinct, so a swapped field order fails.
	distinct := &twin.State{
		Asset: "a", Mode: "b", ModeSince: time.Unix(1, 1).UTC(), PendingMode: "c",
		PendingSince: time.Unix(2, 2).UTC(), FaultCodes: []string{"d", "d"},
		FaultSince: map[string]time.Time{"e": time.Unix(3, 3).UTC()}, Product: "f", Batch: "g",
		BatchSince: time.Unix(4, 4).UTC(), UptimeDay: "h", UptimeSeconds: 5.5,
		UptimeAsOf: time.Unix(6, 6).UTC(), DayStart: time.Unix(7, 7).UTC(),
		Metrics:   map[string]twin.Metric{"i": {Value: twin.Number(8), TS: time.Unix(9, 9).UTC()}},
		UpdatedAt: time.Unix(10, 10).UTC(), Offsets: map[string]int64{"j": 11}, Model: "v1@0123456789ab",
		RunSeconds: 12.5, RunDays: map[string]float64{"k": 13}, DueFor: "l",
	}
	b = roundTrip(t, "distinct fields", distinct)
	if b[0] != 0x02 {
		t.Errorf("a state with a model stamp and run hours encodes as version 0x%02x, want 0x02", b[0])
	}
	// Without a stamp or maintenance fields the encoding stays version 1, byte for byte.
	plain := full.Clone()
	plain.Model, plain.RunSeconds, plain.RunDays, plain.DueFor = "", 0, nil, ""
	if b := roundTrip(t, "no model stamp", plain); b[0] != 0x01 {
		t.Errorf("a state without a model stamp or run hours encodes as version 0x%02x, want 0x01", b[0])
	}
	stamped := plain.Clone()
	stamped.Model = "v2@0123456789ab"
	if b := roundTrip(t, "model stamp only", stamped); b[0] != 0x02 {
		t.Errorf("a state with only a model stamp encodes as version 0x%02x, want 0x02", b[0])
	}

	// Every field of twin.State is covered: a field added to the type without
	// a place in the encoding fails here.
	v := reflect.ValueOf(*distinct)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("field %s unset in the distinct state: add it to the test and the encoding", v.Type().Field(i).Name)
		}
	}
}

// v1zeroAsV2 is a state without maintenance fields written as version 2
// with those fields zero: not canonical (version 1 is its encoding).
func v1zeroAsV2(t *testing.T) []byte {
	b, err := redis.EncodeState(nil, twin.NewState("plant/a"))
	if err != nil {
		t.Fatal(err)
	}
	b[0] = 0x02
	return append(b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) // Model "", RunSeconds 0, RunDays nil, DueFor ""
}

func TestCodec_Deterministic(t *testing.T) {
	a := storetest.FullState("plant/a")
	want, err := redis.EncodeState(nil, a)
	if err != nil {
		t.Fatal(err)
	}
	jkt := time.FixedZone("WIB", 7*3600)
	for i := range 20 { // map iteration order differs run to run
		b := a.Clone()
		b.ModeSince = b.ModeSince.In(jkt)
		b.Metrics["speed_units_per_min"] = twin.Metric{Value: b.Metrics["speed_units_per_min"].Value, TS: b.Metrics["speed_units_per_min"].TS.In(jkt)}
		got, err := redis.EncodeState([]byte("prefix"), b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[len("prefix"):], want) || string(got[:len("prefix")]) != "prefix" {
			t.Fatalf("encoding %d differs:\n got  %q\n want %q", i, got, want)
		}
	}
	// Times in other zones decode as the same instants, in UTC.
	c := a.Clone()
	c.UpdatedAt = time.Date(2026, 11, 24, 13, 0, 0, 5, jkt)
	b, err := redis.EncodeState(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := redis.DecodeState(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if !got.UpdatedAt.Equal(c.UpdatedAt) || got.UpdatedAt.Location() != time.UTC {
		t.Fatalf("UpdatedAt = %v, want %v in UTC", got.UpdatedAt, c.UpdatedAt)
	}
}

// TestCodec_JSON checks that values written as JSON before the binary
// encoding still decode, as encoding/json decodes them.
func TestCodec_JSON(t *testing.T) {
	for _, st := range []*twin.State{storetest.FullState("plant/a"), twin.NewState("plant/b"), {Asset: "plant/c"}} {
		j, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		got, err := redis.DecodeState(string(j))
		if err != nil {
			t.Fatalf("decode JSON %s: %v", j, err)
		}
		want := new(twin.State)
		if err := json.Unmarshal(j, want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("JSON decode differs:\n got  %+v\n want %+v", got, want)
		}
	}
	if _, err := redis.DecodeState(`{"asset": 5}`); err == nil {
		t.Fatal("bad JSON decoded")
	}
}

func TestCodec_Errors(t *testing.T) {
	bad := map[string]*twin.State{
		"nil":            nil,
		"NaN metric":     {Metrics: map[string]twin.Metric{"x": {Value: twin.Number(math.NaN())}}},
		"Inf uptime":     {UptimeSeconds: math.Inf(1)},
		"unknown kind":   {Metrics: map[string]twin.Metric{"x": {Value: twin.Value{Kind: "blob"}}}},
		"year 10000":     {UpdatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"before year 1":  {ModeSince: time.Time{}.Add(-time.Nanosecond)},
		"fault year 1e4": {FaultSince: map[string]time.Time{"x": time.Date(10001, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for what, st := range bad {
		if b, err := redis.EncodeState([]byte("keep"), st); err == nil {
			t.Errorf("%s: encoded to %q, want an error", what, b)
		} else if string(b) != "keep" {
			t.Errorf("%s: failed encoding left %q in the buffer, want it unchanged", what, b)
		}
	}

	good, err := redis.EncodeState(nil, storetest.FullState("plant/a"))
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation of a valid value is an error.
	for n := range len(good) {
		if _, err := redis.DecodeState(string(good[:n])); err == nil {
			t.Fatalf("a value truncated to %d of %d bytes decoded", n, len(good))
		}
	}
	corrupt := map[string]string{
		"trailing byte":   string(good) + "\x00",
		"version 3":       "\x03" + string(good[1:]),
		"empty version 2": string(v1zeroAsV2(t)),
		"text":            "hello",
		"huge string":     "\x01\xff\xff\xff\xff\x0f",
		"varint overflow": "\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
		"overlong varint": "\x01\x80\x00" + string(good[2:]),
		"huge count":      string(encodeUntilFaultCodes(t)) + "\xff\xff\xff\xff\x0f",
	}
	for what, v := range corrupt {
		if st, err := redis.DecodeState(v); err == nil {
			t.Errorf("%s: decoded to %+v, want an error", what, st)
		}
	}
	// Map keys out of order or repeated are corrupt, not silently merged.
	dup := &twin.State{Offsets: map[string]int64{"a": 1}}
	b, err := redis.EncodeState(nil, dup)
	if err != nil {
		t.Fatal(err)
	}
	// The offsets map ends the value: count 2 then "a" 1 "a" 1 instead of count 1 then "a" 1.
	i := bytes.LastIndex(b, []byte{2, 1, 'a', 2})
	if i < 0 {
		t.Fatalf("offsets not at the end of %q", b)
	}
	twice := append(append(b[:i:i], 3), "\x01a\x02\x01a\x02"...)
	if st, err := redis.DecodeState(string(twice)); err == nil {
		t.Errorf("repeated map key decoded to %+v", st)
	}
}

// encodeUntilFaultCodes returns the encoding of an empty state up to (not
// including) its FaultCodes count.
func encodeUntilFaultCodes(t *testing.T) []byte {
	b, err := redis.EncodeState(nil, &twin.State{})
	if err != nil {
		t.Fatal(err)
	}
	zero := binary.AppendVarint(nil, time.Time{}.Unix())
	zero = append(zero, 0)
	// version, Asset "", Mode "", ModeSince, PendingMode "", PendingSince
	n := 1 + 1 + 1 + len(zero) + 1 + len(zero)
	return b[:n]
}

// FuzzDecodeState checks that decoding arbitrary bytes never panics, that a
// binary value that decodes re-encodes to the same bytes, and that whatever
// decodes (JSON too) re-encodes to a value decoding to the same state.
func FuzzDecodeState(f *testing.F) {
	for _, st := range []*twin.State{storetest.FullState("plant/a"), twin.NewState("b"), {}} {
		b, err := redis.EncodeState(nil, st)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		j, _ := json.Marshal(st)
		f.Add(j)
	}
	f.Add([]byte("\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := redis.DecodeState(string(data))
		if err != nil {
			return
		}
		b, err := redis.EncodeState(nil, st)
		if err != nil {
			if data[0] == '{' {
				return // JSON may hold what the encoding refuses (e.g. year 0)
			}
			t.Fatalf("decoded %q but cannot encode it: %v", data, err)
		}
		if data[0] != '{' && !bytes.Equal(b, data) {
			// The encoding is canonical: one state, one byte string.
			t.Fatalf("re-encoding %q gave %q", data, b)
		}
		again, err := redis.DecodeState(string(b))
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", b, err)
		}
		if !reflect.DeepEqual(utcState(again), utcState(st)) {
			t.Fatalf("encode→decode changed %+v into %+v", st, again)
		}
	})
}

// FuzzEncodeState builds states from fuzzed fields and checks encode→decode
// is the identity.
func FuzzEncodeState(f *testing.F) {
	f.Add("plant/a", "RUNNING", int64(1764000000), uint32(123456789), "E7", "speed", 218.125, uint8(1), "x", int64(17))
	f.Add("", "", int64(-62135596800), uint32(0), "", "", 0.0, uint8(0), "", int64(-1))
	f.Fuzz(func(t *testing.T, asset, mode string, sec int64, nsec uint32, code, metric string, num float64, kind uint8, str string, off int64) {
		if sec < -62135596800 || sec >= 253402300800 || math.IsNaN(num) || math.IsInf(num, 0) {
			return // refused by the encoding, see TestCodec_Errors
		}
		ts := time.Unix(sec, int64(nsec%1e9)).UTC()
		var v twin.Value
		switch kind % 6 {
		case 1:
			v = twin.Number(num)
		case 2:
			v = twin.Bool(num > 0)
		case 3:
			v = twin.String(str)
		case 4:
			v = twin.NewList(strings.Split(str, ","))
		case 5:
			v = twin.Value{Kind: twin.KindList}
		}
		st := &twin.State{
			Asset: asset, Mode: twin.Mode(mode), ModeSince: ts, PendingMode: twin.Mode(str),
			PendingSince: ts.Add(time.Nanosecond), FaultCodes: []string{code, str},
			FaultSince: map[string]time.Time{code: ts, str: {}}, Product: str, Batch: code,
			BatchSince: ts, UptimeDay: mode, UptimeSeconds: num, UptimeAsOf: ts, DayStart: ts,
			Metrics:   map[string]twin.Metric{metric: {Value: v, TS: ts}, str: {TS: ts}},
			UpdatedAt: ts, Offsets: map[string]int64{code: off, metric: -off},
		}
		if kind&8 != 0 {
			st.FaultCodes, st.FaultSince, st.Metrics, st.Offsets = nil, nil, nil, nil
		}
		if st.PendingSince.Unix() >= 253402300800 {
			return
		}
		roundTrip(t, "fuzzed", st)
	})
}

func utcState(st *twin.State) *twin.State {
	c := st.Clone()
	fix := func(t *time.Time) { *t = t.UTC() }
	fix(&c.ModeSince)
	fix(&c.PendingSince)
	fix(&c.BatchSince)
	fix(&c.UptimeAsOf)
	fix(&c.DayStart)
	fix(&c.UpdatedAt)
	for k, v := range c.FaultSince {
		c.FaultSince[k] = v.UTC()
	}
	for k, m := range c.Metrics {
		m.TS = m.TS.UTC()
		c.Metrics[k] = m
	}
	// Clone turns nil into empty for these two; compare them as decoded.
	c.FaultCodes, c.Metrics = st.FaultCodes, mapOrNil(st.Metrics, c.Metrics)
	return c
}

func mapOrNil(orig, c map[string]twin.Metric) map[string]twin.Metric {
	if orig == nil {
		return nil
	}
	return c
}
