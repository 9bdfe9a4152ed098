package redis

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	twin "github.com/twingraph/twingraph"
)

// stateV1 and stateV2 are the first byte of a state value in the layouts
// EncodeState describes.
const (
	stateV1 = 0x01
	stateV2 = 0x02
)

// Value kind tags of the encoding.
const (
	tagAbsent = iota
	tagNumber
	tagBool
	tagString
	tagList
)

// Unix seconds of the first and past the last instant the encoding accepts:
// years 1 to 9999, what RFC 3339 (and so the JSON encoding) can carry.
const (
	minUnixSec = -62135596800 // 0001-01-01T00:00:00Z, the zero time.Time
	endUnixSec = 253402300800 // 10000-01-01T00:00:00Z
)

// EncodeState appends the binary encoding of st to dst, the value PutStates
// stores. It fails on a nil state, a non-finite number, a value of unknown
// kind or a time outside years 1–9999.
//
// The encoding, version 1: a state value is a version byte 0x01 followed by
// the fields of twin.State in declaration order, with no field names and
// nothing after the last field:
//
//	str     uvarint byte length, then the bytes (kept exactly, no UTF-8 rewriting)
//	time    varint Unix seconds, then uvarint nanoseconds (< 1e9); the instant
//	        only: it decodes in UTC, and the zero time.Time is its own seconds
//	        (-62135596800), so it round-trips as zero
//	f64     8 bytes, IEEE 754 bits little-endian; finite only
//	count   uvarint: 0 for a nil slice or map, n+1 for n elements (so nil and
//	        empty both survive)
//	map     count, then the entries in ascending byte order of their keys
//	value   kind byte: 0 absent, 1 number (f64), 2 bool (a byte 0 or 1),
//	        3 string (str), 4 list (count, then a str per element)
//
//	Asset str, Mode str, ModeSince time, PendingMode str, PendingSince time,
//	FaultCodes count+str..., FaultSince map str→time, Product str, Batch str,
//	BatchSince time, UptimeDay str, UptimeSeconds f64, UptimeAsOf time,
//	DayStart time, Metrics map str→(value, TS time), UpdatedAt time,
//	Offsets map str→varint
//
// Version 2 is version 1 followed by the model stamp and the maintenance
// fields, written only when one of them is set (so states without them keep
// their version-1 bytes, and a version-2 value with all of them zero is
// refused). A reader that knows only version 1 refuses version 2 values:
// upgrade the gateways before the sync workers.
//
//	Model str, RunSeconds f64, RunDays map str→f64, DueFor str
//
// (uvarint and varint as encoding/binary writes them, shortest form only.) The
// encoding is canonical: equal states give equal bytes, whatever their maps'
// iteration order or their times' zones, and a value that decodes re-encodes
// to the same bytes; decoding refuses anything else (unsorted or repeated map
// keys, padded varints, bool bytes other than 0 and 1, trailing bytes).
//
// A value whose first byte is '{' is the JSON (encoding/json of twin.State)
// written before the binary encoding existed, and still decodes. A new layout gets a new version byte; the decoder refuses
// versions it does not know rather than guess.
//
// Why not JSON: decoding 1,000 JSON states took 20 ms, most of a subtree
// read's budget, while the MGET that fetched them took 1.6 ms; this layout
// decodes them in about a tenth of that, allocation-bound, because its
// strings are slices of the value read from Redis and nothing is parsed.
// The cost is that `redis-cli GET` shows bytes, not text: read a state
// through the gateway (GET /twin/<asset id>) instead.
func EncodeState(dst []byte, st *twin.State) ([]byte, error) {
	e := encoder{b: dst}
	err := e.state(st)
	return e.b, err
}

// state appends the encoding of st to e.b; on error e.b is left as it was.
// An encoder may encode many states in turn, reusing its scratch space.
func (e *encoder) state(st *twin.State) error {
	if st == nil {
		return errors.New("nil state")
	}
	start := len(e.b)
	e.err = nil
	ext := hasV2(st)
	if ext {
		e.b = append(e.b, stateV2)
	} else {
		e.b = append(e.b, stateV1)
	}
	e.str(st.Asset)
	e.str(string(st.Mode))
	e.time(st.ModeSince)
	e.str(string(st.PendingMode))
	e.time(st.PendingSince)
	e.count(st.FaultCodes == nil, len(st.FaultCodes))
	for _, c := range st.FaultCodes {
		e.str(c)
	}
	e.count(st.FaultSince == nil, len(st.FaultSince))
	for _, k := range sortedKeys(&e.keys, st.FaultSince) {
		e.str(k)
		e.time(st.FaultSince[k])
	}
	e.str(st.Product)
	e.str(st.Batch)
	e.time(st.BatchSince)
	e.str(st.UptimeDay)
	e.f64(st.UptimeSeconds)
	e.time(st.UptimeAsOf)
	e.time(st.DayStart)
	e.count(st.Metrics == nil, len(st.Metrics))
	for _, k := range sortedKeys(&e.keys, st.Metrics) {
		m := st.Metrics[k]
		e.str(k)
		e.value(m.Value)
		e.time(m.TS)
	}
	e.time(st.UpdatedAt)
	e.count(st.Offsets == nil, len(st.Offsets))
	for _, k := range sortedKeys(&e.keys, st.Offsets) {
		e.str(k)
		e.varint(st.Offsets[k])
	}
	if ext {
		e.str(st.Model)
		e.f64(st.RunSeconds)
		e.count(st.RunDays == nil, len(st.RunDays))
		for _, k := range sortedKeys(&e.keys, st.RunDays) {
			e.str(k)
			e.f64(st.RunDays[k])
		}
		e.str(st.DueFor)
	}
	if e.err != nil {
		e.b = e.b[:start]
		return fmt.Errorf("encode state of %q: %w", st.Asset, e.err)
	}
	return nil
}

// hasV2 reports whether st has a field only version 2 carries. A negative
// zero counts as set, so it survives the round trip.
func hasV2(st *twin.State) bool {
	return st.Model != "" || st.RunSeconds != 0 || math.Signbit(st.RunSeconds) || st.RunDays != nil || st.DueFor != ""
}

type encoder struct {
	b    []byte
	keys []string // scratch of sortedKeys
	err  error
}

func (e *encoder) uvarint(v uint64) {
	if v < 0x80 { // lengths, counts and tags: almost always one byte
		e.b = append(e.b, byte(v))
		return
	}
	for v >= 0x80 {
		e.b = append(e.b, byte(v)|0x80)
		v >>= 7
	}
	e.b = append(e.b, byte(v))
}

func (e *encoder) varint(v int64) { e.uvarint(uint64(v<<1) ^ uint64(v>>63)) }

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) count(isNil bool, n int) {
	if isNil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(n) + 1)
}

func (e *encoder) f64(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		e.fail(fmt.Errorf("non-finite number %v", v))
		return
	}
	u := math.Float64bits(v)
	e.b = append(e.b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24), byte(u>>32), byte(u>>40), byte(u>>48), byte(u>>56))
}

func (e *encoder) time(t time.Time) {
	sec := t.Unix()
	if sec < minUnixSec || sec >= endUnixSec {
		e.fail(fmt.Errorf("time %v outside years 1-9999", t))
		return
	}
	e.varint(sec)
	e.uvarint(uint64(t.Nanosecond()))
}

func (e *encoder) value(v twin.Value) {
	switch v.Kind {
	case "":
		e.b = append(e.b, tagAbsent)
	case twin.KindNumber:
		e.b = append(e.b, tagNumber)
		e.f64(v.Num)
	case twin.KindBool:
		b := byte(0)
		if v.Bool {
			b = 1
		}
		e.b = append(e.b, tagBool, b)
	case twin.KindString:
		e.b = append(e.b, tagString)
		e.str(v.Str)
	case twin.KindList:
		e.b = append(e.b, tagList)
		e.count(v.List == nil, len(v.List))
		for _, s := range v.List {
			e.str(s)
		}
	default:
		e.fail(fmt.Errorf("value of unknown kind %q", v.Kind))
	}
}

// sortedKeys returns the keys of m sorted, in *buf (reused by the next call):
// the encoding orders map entries so that it is deterministic.
func sortedKeys[V any](buf *[]string, m map[string]V) []string {
	if len(m) == 0 {
		return nil
	}
	*buf = (*buf)[:0]
	for k := range m {
		*buf = append(*buf, k)
	}
	slices.Sort(*buf)
	return *buf
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// DecodeState decodes a state value: the binary encoding (see EncodeState) or
// the JSON an older version wrote. Strings of the result share memory with
// data, which is why it takes a string (immutable), not a []byte. It returns
// an error, never panics, on any malformed input.
func DecodeState(data string) (*twin.State, error) {
	if data == "" {
		return nil, errors.New("empty state value")
	}
	switch data[0] {
	case stateV1, stateV2:
		d := decoder{s: data, i: 1}
		st := d.state()
		if data[0] == stateV2 {
			d.v2(st)
		}
		if d.err == nil && d.i != len(d.s) {
			d.fail("%d bytes after the last field", len(d.s)-d.i)
		}
		if d.err != nil {
			return nil, d.err
		}
		return st, nil
	case '{':
		st := new(twin.State)
		if err := json.Unmarshal([]byte(data), st); err != nil {
			return nil, fmt.Errorf("decode JSON state: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("unknown state encoding version 0x%02x", data[0])
}

// decoder reads the binary encoding. After the first error every read
// returns a zero value, so state() runs to its end and the error is checked once.
type decoder struct {
	s   string
	i   int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("decode state at byte %d: %s", d.i, fmt.Sprintf(format, args...))
	}
	d.i = len(d.s) // stop every later read
}

func (d *decoder) state() *twin.State {
	st := &twin.State{}
	st.Asset = d.str()
	st.Mode = twin.Mode(d.str())
	st.ModeSince = d.time()
	st.PendingMode = twin.Mode(d.str())
	st.PendingSince = d.time()
	if n, ok := d.count(); ok {
		st.FaultCodes = make([]string, n)
		for i := range st.FaultCodes {
			st.FaultCodes[i] = d.str()
		}
	}
	st.FaultSince = keyedMap(d, d.time)
	st.Product = d.str()
	st.Batch = d.str()
	st.BatchSince = d.time()
	st.UptimeDay = d.str()
	st.UptimeSeconds = d.f64()
	st.UptimeAsOf = d.time()
	st.DayStart = d.time()
	st.Metrics = keyedMap(d, func() twin.Metric {
		v := d.value()
		return twin.Metric{Value: v, TS: d.time()}
	})
	st.UpdatedAt = d.time()
	st.Offsets = keyedMap(d, d.varint)
	return st
}

// keyedMap reads a map as the encoder writes it: a count (absent for a nil
// map), then the keys in order, each prefix-compressed against the one
// before and followed by its value.
func keyedMap[V any](d *decoder, value func() V) map[string]V {
	n, ok := d.count()
	if !ok {
		return nil
	}
	m := make(map[string]V, n)
	prev := ""
	for i := range n {
		k := d.key(i, prev)
		m[k] = value()
		prev = k
	}
	return m
}

// v2 reads the maintenance fields of version 2.
func (d *decoder) v2(st *twin.State) {
	st.Model = d.str()
	st.RunSeconds = d.f64()
	st.RunDays = keyedMap(d, d.f64)
	st.DueFor = d.str()
	if d.err == nil && !hasV2(st) {
		d.fail("version 2 without its fields (not canonical)")
	}
}

func (d *decoder) uvarint() uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if d.i >= len(d.s) {
			d.fail("truncated")
			return 0
		}
		c := d.s[d.i]
		d.i++
		if shift == 63 && c > 1 {
			d.fail("varint overflows 64 bits")
			return 0
		}
		if c == 0 && shift > 0 {
			d.fail("overlong varint") // so that each state has exactly one encoding
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.s)-d.i) {
		d.fail("string of %d bytes past the end", n)
		return ""
	}
	s := d.s[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}

// key reads the i-th key of a map, which must sort after the previous one.
func (d *decoder) key(i int, prev string) string {
	k := d.str()
	if i > 0 && strings.Compare(k, prev) <= 0 && d.err == nil {
		d.fail("map key %q not after %q", k, prev)
	}
	return k
}

// count reads a slice or map length: ok is false for nil. Every element takes
// at least one byte, so a length past the remaining bytes is refused before
// anything that large is allocated.
func (d *decoder) count() (n int, ok bool) {
	c := d.uvarint()
	if c == 0 {
		return 0, false
	}
	if c-1 > uint64(len(d.s)-d.i) {
		d.fail("%d elements past the end", c-1)
		return 0, false
	}
	return int(c - 1), true
}

func (d *decoder) u8() byte {
	if d.i >= len(d.s) {
		d.fail("truncated")
		return 0
	}
	c := d.s[d.i]
	d.i++
	return c
}

func (d *decoder) f64() float64 {
	if len(d.s)-d.i < 8 {
		d.fail("truncated")
		return 0
	}
	s := d.s[d.i : d.i+8]
	d.i += 8
	v := math.Float64frombits(uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		d.fail("non-finite number")
		return 0
	}
	return v
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if d.err != nil {
		return time.Time{}
	}
	if sec < minUnixSec || sec >= endUnixSec || nsec >= 1e9 {
		d.fail("time %d s %d ns out of range", sec, nsec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) value() twin.Value {
	switch tag := d.u8(); tag {
	case tagAbsent:
		return twin.Value{}
	case tagNumber:
		return twin.Value{Kind: twin.KindNumber, Num: d.f64()}
	case tagBool:
		switch b := d.u8(); b {
		case 0, 1:
			return twin.Value{Kind: twin.KindBool, Bool: b == 1}
		default:
			d.fail("bool byte %d", b)
		}
	case tagString:
		return twin.Value{Kind: twin.KindString, Str: d.str()}
	case tagList:
		v := twin.Value{Kind: twin.KindList}
		if n, ok := d.count(); ok {
			v.List = make([]string, n)
			for i := range v.List {
				v.List[i] = d.str()
			}
		}
		return v
	default:
		d.fail("unknown value kind %d", tag)
	}
	return twin.Value{}
}
