package ingest_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/ingest"
	"github.com/twingraph/twingraph/internal/testmodel"
)

const line3 = "plant/jkt1/packaging/line3"

var rejectCodes = []string{"bad_json", "missing_field", "bad_ts", "unknown_asset", "unknown_signal",
	"unknown_tag", "wrong_type", "non_finite", "too_large"}

func TestDecode_rejects(t *testing.T) {
	m := testmodel.Demo(t)
	cases := []struct{ name, msg, code string }{
		{"not JSON", `hello`, "bad_json"},
		{"truncated", `{"asset":"` + line3 + `","signal":`, "bad_json"},
		{"not an object", `42`, "bad_json"},
		{"empty", ``, "bad_json"},
		{"field of the wrong JSON type", `{"asset":5,"signal":"temp1_c","value":1,"ts":1}`, "bad_json"},
		{"no signal", `{"asset":"` + line3 + `","value":1,"ts":1795500000123}`, "missing_field"},
		{"no asset", `{"signal":"temp1_c","value":1,"ts":1795500000123}`, "missing_field"},
		{"no value", `{"asset":"` + line3 + `","signal":"temp1_c","ts":1795500000123}`, "missing_field"},
		{"null value", `{"asset":"` + line3 + `","signal":"temp1_c","value":null,"ts":1795500000123}`, "missing_field"},
		{"no ts", `{"asset":"` + line3 + `","signal":"temp1_c","value":1}`, "missing_field"},
		{"nothing", `{}`, "missing_field"},
		{"device without tag", `{"device":"plc-17","value":1,"ts":1}`, "missing_field"},
		{"ts not RFC 3339", `{"asset":"` + line3 + `","signal":"temp1_c","value":1,"ts":"yesterday"}`, "bad_ts"},
		{"ts a bool", `{"asset":"` + line3 + `","signal":"temp1_c","value":1,"ts":true}`, "bad_ts"},
		{"ts zero", `{"asset":"` + line3 + `","signal":"temp1_c","value":1,"ts":0}`, "bad_ts"},
		{"ts negative (1969)", `{"asset":"` + line3 + `","signal":"temp1_c","value":1,"ts":-5}`, "bad_ts"},
		{"raw ts negative", `{"device":"plc-17","tag":"1024","value":542,"ts":-1795500000123}`, "bad_ts"},
		{"ts text at the epoch", `{"asset":"` + line3 + `","signal":"temp1_c","value":1,"ts":"1970-01-01T00:00:00Z"}`, "bad_ts"},
		{"ts text year 0000", `{"asset":"` + line3 + `","signal":"temp1_c","value":1,"ts":"0000-01-01T00:00:00Z"}`, "bad_ts"},
		{"ts past year 9999", `{"asset":"` + line3 + `","signal":"temp1_c","value":1,"ts":999999999999999}`, "bad_ts"},
		{"unknown asset", `{"asset":"plant/nowhere","signal":"temp1_c","value":1,"ts":1795500000123}`, "unknown_asset"},
		{"unknown signal", `{"asset":"` + line3 + `","signal":"colour","value":1,"ts":1795500000123}`, "unknown_signal"},
		{"unknown tag", `{"device":"plc-17","tag":"77","value":1,"ts":1795500000123}`, "unknown_tag"},
		{"unknown device", `{"device":"plc-99","tag":"1024","value":1,"ts":1795500000123}`, "unknown_tag"},
		{"string for a number", `{"asset":"` + line3 + `","signal":"speed_units_per_min","value":"fast","ts":1795500000123}`, "wrong_type"},
		{"number for a bool", `{"asset":"` + line3 + `","signal":"power_on","value":1,"ts":1795500000123}`, "wrong_type"},
		{"list of numbers", `{"asset":"` + line3 + `","signal":"fault_codes","value":[1,2],"ts":1795500000123}`, "wrong_type"},
		{"object value", `{"asset":"` + line3 + `","signal":"temp1_c","value":{"v":1},"ts":1795500000123}`, "wrong_type"},
		{"raw list for a number", `{"device":"plc-17","tag":"1024","value":["a"],"ts":1795500000123}`, "wrong_type"},
		{"tag a bool", `{"device":"plc-17","tag":true,"value":1,"ts":1795500000123}`, "wrong_type"},
		{"overflowing number", `{"asset":"` + line3 + `","signal":"temp1_c","value":1e999,"ts":1795500000123}`, "non_finite"},
		{"overflowing negative raw", `{"device":"plc-17","tag":"1024","value":-1e999,"ts":1795500000123}`, "non_finite"},
		{"ts in 2100", `{"asset":"` + line3 + `","signal":"power_on","value":false,"ts":"2100-01-01T00:00:00Z"}`, "bad_ts"},
		{"ts 9999-12-31", `{"asset":"` + line3 + `","signal":"power_on","value":false,"ts":"9999-12-31T00:00:00Z"}`, "bad_ts"},
		{"string over 256 characters", `{"asset":"` + line3 + `","signal":"product","value":"` + strings.Repeat("é", 257) + `","ts":1795500000123}`, "too_large"},
		{"list over 64 items", `{"asset":"` + line3 + `","signal":"fault_codes","value":` + codes(65) + `,"ts":1795500000123}`, "too_large"},
		{"list item over 256 characters", `{"asset":"` + line3 + `","signal":"fault_codes","value":["` + strings.Repeat("x", 257) + `"],"ts":1795500000123}`, "too_large"},
		{"raw list item over 256 characters", `{"device":"plc-17","tag":"2","value":["` + strings.Repeat("x", 300) + `"],"ts":1795500000123}`, "too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			samples, rejects := ingest.Decode(m, []byte(c.msg))
			if len(samples) != 0 || len(rejects) != 1 {
				t.Fatalf("samples %v rejects %v", samples, rejects)
			}
			if r := rejects[0]; r.Index != 0 || !strings.HasPrefix(r.Reason, c.code+": ") {
				t.Fatalf("reject %+v, want code %s", r, c.code)
			}
		})
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.code] = true
	}
	for _, code := range rejectCodes {
		if !seen[code] {
			t.Errorf("no case for %s", code)
		}
	}
}

func TestDecode_good(t *testing.T) {
	m := testmodel.Demo(t)
	ms := time.UnixMilli(1795500000123).UTC()
	rfc := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	cases := []struct {
		name, msg string
		signal    string
		value     twin.Value
		ts        time.Time
		quality   twin.Quality
	}{
		{"curated number", `{"asset":"` + line3 + `","signal":"speed_units_per_min","value":218,"ts":"2026-11-24T06:00:00Z"}`,
			"speed_units_per_min", twin.Number(218), rfc, twin.QualityGood},
		{"local offset becomes UTC", `{"asset":"` + line3 + `","signal":"temp1_c","value":21.5,"ts":"2026-11-24T13:00:00+07:00"}`,
			"temp1_c", twin.Number(21.5), rfc, twin.QualityGood},
		{"fractional seconds", `{"asset":"` + line3 + `","signal":"temp1_c","value":21.5,"ts":"2026-11-24T06:00:00.25Z"}`,
			"temp1_c", twin.Number(21.5), rfc.Add(250 * time.Millisecond), twin.QualityGood},
		{"epoch milliseconds", `{"asset":"` + line3 + `","signal":"power_on","value":true,"ts":1795500000123}`,
			"power_on", twin.Bool(true), ms, twin.QualityGood},
		{"fault list is a sorted set", `{"asset":"` + line3 + `","signal":"fault_codes","value":["E9","E1","E9"],"ts":1795500000123}`,
			"fault_codes", twin.NewList([]string{"E1", "E9"}), ms, twin.QualityGood},
		{"empty fault list", `{"asset":"` + line3 + `","signal":"fault_codes","value":[],"ts":1795500000123}`,
			"fault_codes", twin.NewList(nil), ms, twin.QualityGood},
		{"string", `{"asset":"` + line3 + `","signal":"batch","value":"B-0042","ts":1795500000123}`,
			"batch", twin.String("B-0042"), ms, twin.QualityGood},
		{"out of range is kept as BAD", `{"asset":"` + line3 + `","signal":"speed_units_per_min","value":900,"ts":1795500000123}`,
			"speed_units_per_min", twin.Number(900), ms, twin.QualityBad},
		{"raw scaled", `{"device":"plc-17","tag":"1024","value":542,"ts":1795500000123}`,
			"press1_bar", twin.Number(5.42), ms, twin.QualityGood},
		{"raw tag as a number", `{"device":"plc-17","tag":1024,"value":542,"ts":1795500000123}`,
			"press1_bar", twin.Number(5.42), ms, twin.QualityGood},
		{"raw scaled out of range", `{"device":"plc-17","tag":"1024","value":5420,"ts":1795500000123}`,
			"press1_bar", twin.Number(54.2), ms, twin.QualityBad},
		{"raw bit becomes a bool", `{"device":"plc-17","tag":"1","value":0,"ts":1795500000123}`,
			"power_on", twin.Bool(false), ms, twin.QualityGood},
		{"raw fault list", `{"device":"plc-17","tag":"2","value":["F2"],"ts":1795500000123}`,
			"fault_codes", twin.NewList([]string{"F2"}), ms, twin.QualityGood},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			samples, rejects := ingest.Decode(m, []byte(c.msg))
			if len(rejects) != 0 || len(samples) != 1 {
				t.Fatalf("samples %v rejects %v", samples, rejects)
			}
			s := samples[0]
			if s.Asset != line3 || s.Signal != c.signal || !s.TS.Equal(c.ts) || s.Quality != c.quality || s.Pos != (twin.LogPos{}) {
				t.Fatalf("got %+v", s)
			}
			if c.value.Kind == twin.KindNumber && s.Value.Kind == twin.KindNumber {
				if math.Abs(s.Value.Num-c.value.Num) > 1e-9 {
					t.Fatalf("value %v, want %v", s.Value, c.value)
				}
			} else if !s.Value.Equal(c.value) {
				t.Fatalf("value %#v, want %#v", s.Value, c.value)
			}
			if s.TS.Location() != time.UTC {
				t.Fatalf("ts not in UTC: %v", s.TS)
			}
		})
	}
}

func TestDecode_array(t *testing.T) {
	m := testmodel.Demo(t)
	msg := `[
	  {"asset":"` + line3 + `","signal":"power_on","value":true,"ts":"2026-11-24T06:00:00Z"},
	  "garbage",
	  {"asset":"plant/nowhere","signal":"x","value":1,"ts":1},
	  {"device":"plc-17","tag":"900","value":218,"ts":"2026-11-24T06:00:00Z"},
	  {"asset":"` + line3 + `","signal":"speed_units_per_min","value":"fast","ts":1}
	]`
	samples, rejects := ingest.Decode(m, []byte(msg))
	if len(samples) != 2 || samples[0].Signal != "power_on" || samples[1].Signal != "speed_units_per_min" {
		t.Fatalf("samples %+v", samples)
	}
	want := []struct {
		i    int
		code string
	}{{1, "bad_json"}, {2, "unknown_asset"}, {4, "wrong_type"}}
	if len(rejects) != len(want) {
		t.Fatalf("rejects %+v", rejects)
	}
	for k, w := range want {
		if rejects[k].Index != w.i || !strings.HasPrefix(rejects[k].Reason, w.code+":") {
			t.Errorf("reject %d = %+v, want index %d code %s", k, rejects[k], w.i, w.code)
		}
	}

	// An array that is not JSON at all is one reject.
	if s, r := ingest.Decode(m, []byte(`[{"asset":`)); len(s) != 0 || len(r) != 1 || !strings.HasPrefix(r[0].Reason, "bad_json") {
		t.Fatalf("broken array: %v %v", s, r)
	}
	if s, r := ingest.Decode(m, []byte(` [] `)); len(s) != 0 || len(r) != 0 {
		t.Fatalf("empty array: %v %v", s, r)
	}
}

func TestDecode_longNamesAreCut(t *testing.T) {
	m := testmodel.Demo(t)
	long := strings.Repeat("é", 500)
	_, r := ingest.Decode(m, []byte(`{"asset":"`+long+`","signal":"x","value":1,"ts":1}`))
	if len(r) != 1 || len(r[0].Reason) > 200 {
		t.Fatalf("reasons %+v", r)
	}
}

// codes is a JSON list of n distinct fault codes.
func codes(n int) string {
	l := make([]string, n)
	for i := range l {
		l[i] = fmt.Sprintf("%q", fmt.Sprintf("E%04d", i))
	}
	return "[" + strings.Join(l, ",") + "]"
}

func TestDecodeAt_limits(t *testing.T) {
	m := testmodel.Demo(t)
	produced := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string {
		return `{"asset":"` + line3 + `","signal":"temp1_c","value":1,"ts":"` + produced.Add(d).Format(time.RFC3339Nano) + `"}`
	}
	big := `[` + strings.Repeat(at(0)+",", 2000) + at(0) + `]`
	cases := []struct {
		name string
		msg  string
		lim  ingest.Limits
		code string // "" when the message decodes
	}{
		{"ts at the skew bound", at(5 * time.Minute), ingest.Limits{}, ""},
		{"ts just past the skew bound", at(5*time.Minute + time.Millisecond), ingest.Limits{}, "bad_ts"},
		{"ts past a smaller skew", at(2 * time.Minute), ingest.Limits{MaxClockSkew: time.Minute}, "bad_ts"},
		{"old ts", at(-24 * time.Hour), ingest.Limits{}, ""},
		{"message at the size bound", big, ingest.Limits{MaxMessageBytes: len(big)}, ""},
		{"message past the size bound", big, ingest.Limits{MaxMessageBytes: len(big) - 1}, "too_large"},
		{"message past the default size bound", `"` + strings.Repeat("x", ingest.DefaultMaxMessageBytes) + `"`, ingest.Limits{}, "too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			samples, rejects := ingest.DecodeAt(m, []byte(c.msg), produced, c.lim)
			if c.code == "" {
				if len(rejects) != 0 || len(samples) == 0 {
					t.Fatalf("samples %d rejects %v", len(samples), rejects)
				}
				return
			}
			if len(samples) != 0 || len(rejects) != 1 || !strings.HasPrefix(rejects[0].Reason, c.code+": ") {
				t.Fatalf("samples %d rejects %v, want one %s", len(samples), rejects, c.code)
			}
		})
	}
}

// TestDecode_modelBounds checks that a model's maxLength and maxItems replace the defaults.
func TestDecode_modelBounds(t *testing.T) {
	m, err := hierarchy.Load("m.yaml", []byte(`types:
  line:
    signals:
      - {name: product, kind: string, maxLength: 4}
      - {name: faults, kind: list, maxItems: 2, maxLength: 3}
      - {name: state, kind: string, allowed: [open, closed]}
    faultSignal: faults
    productSignal: product
assets:
  - {id: l, type: line}
`))
	if err != nil {
		t.Fatal(err)
	}
	el := func(signal, value string) string {
		return `{"asset":"l","signal":"` + signal + `","value":` + value + `,"ts":1795500000123}`
	}
	cases := []struct {
		name, msg string
		ok        bool
		code      string
	}{
		{"string at the bound", el("product", `"ABCD"`), true, ""},
		{"string past the bound", el("product", `"ABCDE"`), false, "too_large"},
		{"list at the bounds", el("faults", `["E01","E02"]`), true, ""},
		{"list with too many items", el("faults", `["E01","E02","E03"]`), false, "too_large"},
		{"list item too long", el("faults", `["E001"]`), false, "too_large"},
		{"an allowed value", el("state", `"open"`), true, ""},
		{"a value not allowed", el("state", `"ajar"`), false, "not_allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			samples, rejects := ingest.Decode(m, []byte(c.msg))
			if c.ok != (len(samples) == 1 && len(rejects) == 0) {
				t.Fatalf("samples %v rejects %v, want ok=%v", samples, rejects, c.ok)
			}
			if !c.ok && !strings.HasPrefix(rejects[0].Reason, c.code+": ") {
				t.Fatalf("reason %q, want %s", rejects[0].Reason, c.code)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	m := testmodel.Demo(f)
	for _, s := range []string{
		`{"asset":"` + line3 + `","signal":"speed_units_per_min","value":218,"ts":"2026-11-24T06:00:00Z"}`,
		`{"device":"plc-17","tag":"1024","value":542,"ts":1795500000123}`,
		`[{"device":"plc-17","tag":"1","value":1,"ts":1.5},{"asset":"` + line3 + `","signal":"fault_codes","value":["a"],"ts":0}]`,
		`{"asset":"` + line3 + `","signal":"temp1_c","value":1e999,"ts":-1}`,
		`[1,"x",null,{},[]]`, `null`, `"`, `{"ts":"2026-11-24T06:00:00+25:00"}`,
		`{"asset":"` + line3 + `","signal":"power_on","value":false,"ts":"2100-01-01T00:00:00Z"}`,
		`{"asset":"` + line3 + `","signal":"product","value":"` + strings.Repeat("p", 300) + `","ts":1795500000123}`,
		`{"asset":"` + line3 + `","signal":"fault_codes","value":[` + strings.Repeat(`"E",`, 70) + `"E"],"ts":1795500000123}`,
		`[` + strings.Repeat(`{"asset":"plant/nope","signal":"x","value":1,"ts":1795500000123},`, 60) + `1]`,
	} {
		f.Add([]byte(s))
	}
	// Small bounds, so that the fuzzer reaches them.
	produced := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	lim := ingest.Limits{MaxMessageBytes: 4096, MaxClockSkew: time.Minute}
	f.Fuzz(func(t *testing.T, msg []byte) {
		samples, rejects := ingest.DecodeAt(m, msg, produced, lim)
		if len(msg) > lim.MaxMessageBytes && (len(samples) != 0 || len(rejects) != 1 || !strings.HasPrefix(rejects[0].Reason, "too_large: ")) {
			t.Fatalf("oversize message: %d samples, rejects %v", len(samples), rejects)
		}
		for _, r := range rejects {
			code, _, ok := strings.Cut(r.Reason, ": ")
			if !ok || !contains(rejectCodes, code) {
				t.Fatalf("reason %q", r.Reason)
			}
		}
		for _, s := range samples {
			a := m.Asset(s.Asset)
			if a == nil {
				t.Fatalf("sample of unknown asset %q", s.Asset)
			}
			def := m.Type(a.Type).Signal(s.Signal)
			if def == nil || s.Value.Kind != kindOf(def) {
				t.Fatalf("sample %+v does not fit its signal", s)
			}
			if s.Value.Kind == twin.KindNumber && (math.IsNaN(s.Value.Num) || math.IsInf(s.Value.Num, 0)) {
				t.Fatalf("non-finite sample %+v", s)
			}
			if s.Quality != twin.QualityGood && s.Quality != twin.QualityBad {
				t.Fatalf("quality %q", s.Quality)
			}
			if _, err := s.TS.MarshalJSON(); err != nil {
				t.Fatalf("ts %v: %v", s.TS, err)
			}
			if s.TS.After(produced.Add(lim.MaxClockSkew)) {
				t.Fatalf("sample from the future %+v", s)
			}
			if n := utf8.RuneCountInString(s.Value.Str); n > def.LengthLimit() {
				t.Fatalf("string of %d characters passed", n)
			}
			if len(s.Value.List) > def.ItemsLimit() {
				t.Fatalf("list of %d items passed", len(s.Value.List))
			}
		}
	})
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func kindOf(def *twin.SignalDef) twin.ValueKind {
	if def.Kind == "" {
		return twin.KindNumber
	}
	return def.Kind
}

// rawKindsModel has one signal of each kind, each fed by a raw tag; the
// numeric one's mapping scales by 2 and offsets by -4 (the model allows a
// transform on numeric signals only).
const rawKindsModel = `
types:
  box:
    signals:
      - {name: n, min: 0, max: 100}
      - {name: b, kind: bool}
      - {name: s, kind: string}
      - {name: l, kind: list}
assets:
  - {id: box1, name: Box 1, type: box}
signalMap:
  - {device: d, tag: N, asset: box1, signal: n, scale: 2, offset: -4}
  - {device: d, tag: B, asset: box1, signal: b}
  - {device: d, tag: S, asset: box1, signal: s}
  - {device: d, tag: L, asset: box1, signal: l}
`

// TestDecode_rawKinds checks every raw value kind against every signal kind:
// the raw value is coerced to the signal's kind first and only then
// transformed and range-checked, so a raw bool on a numeric tag is scaled.
func TestDecode_rawKinds(t *testing.T) {
	m, err := hierarchy.Load("raw.yaml", []byte(rawKindsModel))
	if err != nil {
		t.Fatal(err)
	}
	raws := map[string]string{"number": `3`, "zero": `0`, "true": `true`, "false": `false`, "string": `"x"`, "list": `["a"]`}
	type want struct {
		value   twin.Value // zero Value: rejected as wrong_type
		quality twin.Quality
	}
	good := func(v twin.Value) want { return want{v, twin.QualityGood} }
	bad := func(v twin.Value) want { return want{v, twin.QualityBad} }
	refused := want{}
	cases := map[string]map[string]want{
		"N": {"number": good(twin.Number(2)), "zero": bad(twin.Number(-4)), "true": bad(twin.Number(-2)),
			"false": bad(twin.Number(-4)), "string": refused, "list": refused},
		"B": {"number": good(twin.Bool(true)), "zero": good(twin.Bool(false)), "true": good(twin.Bool(true)),
			"false": good(twin.Bool(false)), "string": refused, "list": refused},
		"S": {"number": refused, "zero": refused, "true": refused, "false": refused,
			"string": good(twin.String("x")), "list": refused},
		"L": {"number": refused, "zero": refused, "true": refused, "false": refused, "string": refused,
			"list": good(twin.NewList([]string{"a"}))},
	}
	for tag, byRaw := range cases {
		for rawName, w := range byRaw {
			t.Run(tag+"/"+rawName, func(t *testing.T) {
				msg := `{"device":"d","tag":"` + tag + `","value":` + raws[rawName] + `,"ts":1795500000123}`
				samples, rejects := ingest.Decode(m, []byte(msg))
				if w.value.IsZero() {
					if len(samples) != 0 || len(rejects) != 1 || !strings.HasPrefix(rejects[0].Reason, "wrong_type: ") {
						t.Fatalf("samples %+v rejects %+v, want one wrong_type", samples, rejects)
					}
					return
				}
				if len(rejects) != 0 || len(samples) != 1 {
					t.Fatalf("samples %+v rejects %+v", samples, rejects)
				}
				if s := samples[0]; !s.Value.Equal(w.value) || s.Quality != w.quality {
					t.Fatalf("got %#v %s, want %#v %s", s.Value, s.Quality, w.value, w.quality)
				}
			})
		}
	}
}

// TestDecode_rawBoolOnScaledTag is the plant case: the pump's discharge
// pressure is a 4–20 mA loop (bar = mA − 4), so a raw true is 1 mA, −3 bar,
// out of range.
func TestDecode_rawBoolOnScaledTag(t *testing.T) {
	m := testmodel.Demo(t)
	samples, rejects := ingest.Decode(m, []byte(`{"device":"rio-3","tag":"AI1","value":true,"ts":1795500000123}`))
	if len(rejects) != 0 || len(samples) != 1 {
		t.Fatalf("samples %+v rejects %+v", samples, rejects)
	}
	if s := samples[0]; s.Signal != "discharge_bar" || !s.Value.Equal(twin.Number(-3)) || s.Quality != twin.QualityBad {
		t.Fatalf("got %+v, want discharge_bar -3 BAD", s)
	}
}
