package ingest

import (
	"reflect"
	"testing"
	"time"

	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/internal/testmodel"
)

// seedNow is when the seeds were produced: both paths judge ts against it.
var seedNow = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

// decodeSeeds are messages in and out of the fast path's shape.
var decodeSeeds = []string{
	`{"asset":"plant/jkt1/packaging/line3","signal":"speed_units_per_min","value":218,"ts":"2026-11-24T06:00:00Z"}`,
	` { "device" : "plc-17" , "tag" : "1024" , "value" : 542 , "ts" : 1795500000123 } `,
	`[{"device":"plc-17","tag":1,"value":1,"ts":1.5},{"asset":"plant/jkt1/packaging/line3","signal":"fault_codes","value":["b", "a"],"ts":0}]`,
	`[{"asset":"plant/jkt1/packaging/line3","signal":"temp1_c","value":-1e999,"ts":-1}, 5]`,
	`{"asset":"plant/jkt1/packaging/line3","signal":"power_on","value":true,"ts":"2026-11-24T13:00:00+07:00","extra":{"a":[1]}}`,
	`{"Asset":"plant/jkt1/packaging/line3","signal":"power_on","value":false,"ts":1}`,
	`{"asset":"plant/jkt1/packaging/line3","asset":"x","signal":"power_on","value":false,"ts":1}`,
	`{"asset":"plant/jkt1/packaging/line3","signal":"batch","value":"B\u00e9","ts":1}`,
	`{"asset":"plant/jkt1/packaging/line3","signal":"batch","value":"Bé","ts":1}`,
	`{"asset":null,"signal":"batch","value":"x","ts":1}`, `{}`, `[]`, `[{}]`, `{"value":01,"ts":1}`,
	`{"asset":"a","signal":"b","value":1.,"ts":1}`, `{"asset":"a","signal":"b","value":[],"ts":"x"}`,
	`[{"asset":"a"},]`, `{"asset":"a"}}`, `{"tag":"1","device":"plc-17","value":nul,"ts":1}`, `"x"`, ``,
}

func TestDecode_fastPathAgrees(t *testing.T) {
	m := testmodel.Demo(t)
	fast := 0
	for _, s := range decodeSeeds {
		if _, ok := scanMessage([]byte(s)); ok {
			fast++
		}
		checkFastPath(t, m, []byte(s))
	}
	if fast < 8 {
		t.Fatalf("only %d seeds took the fast path", fast)
	}
}

func FuzzDecode_fastPath(f *testing.F) {
	m := testmodel.Demo(f)
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) { checkFastPath(t, m, msg) })
}

func checkFastPath(t *testing.T, m *hierarchy.Model, msg []byte) {
	t.Helper()
	fs, fr := decode(m, msg, true, seedNow, Limits{})
	ss, sr := decode(m, msg, false, seedNow, Limits{})
	if len(fs) == 0 && len(ss) == 0 {
		fs, ss = nil, nil
	}
	if !reflect.DeepEqual(fs, ss) || !reflect.DeepEqual(fr, sr) {
		t.Fatalf("%s:\nfast %+v %+v\nslow %+v %+v", msg, fs, fr, ss, sr)
	}
}
