package ingest_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/ingest"
	"github.com/twingraph/twingraph/internal/testmodel"
)

// TestTransition_plantLine3 runs a scripted morning of the demo plant's line 3
// through Decode and Transition with the model's compiled rules, then
// produces the whole script again.
func TestTransition_plantLine3(t *testing.T) {
	m := testmodel.Demo(t)
	a := m.Asset(line3)
	typ := m.Type(a.Type)
	day := func(hm string) string { return "2026-11-24T" + hm + ":00+07:00" }
	cur := func(hm, signal, value string) string {
		return fmt.Sprintf(`{"asset":%q,"signal":%q,"value":%s,"ts":%q}`, line3, signal, value, day(hm))
	}
	script := []string{
		"[" + cur("06:00", "power_on", "true") + "," + cur("06:00", "speed_units_per_min", "0") + "," +
			cur("06:00", "product", `"COLA-330"`) + "," + cur("06:00", "batch", `"B1"`) + "]",
		cur("06:10", "speed_units_per_min", "250"),
		`{"device":"plc-17","tag":"1024","value":612,"ts":"` + day("06:11") + `"}`,
		cur("08:00", "fault_codes", `["E12"]`),
		cur("08:05", "fault_codes", `["E40","E12"]`),
		cur("08:15", "fault_codes", `[]`),
		cur("06:05", "speed_units_per_min", "0"), // older than the 06:10 speed: history only
		cur("10:00", "batch", `"B2"`),
		cur("11:59", "total_units", "50000") + "\n",
		cur("11:59", "good_units", "49000"),
		`{"device":"plc-17","tag":"1","value":0,"ts":"` + day("12:00") + `"}`,
	}
	var st *twin.State
	var events []twin.Event
	offset := int64(0)
	produce := func() {
		for _, msg := range script {
			samples, rejects := ingest.Decode(m, []byte(msg))
			if len(rejects) > 0 {
				t.Fatalf("%s: %v", msg, rejects)
			}
			for i := range samples {
				samples[i].Pos = twin.LogPos{Log: "telemetry@test", Partition: 3, Offset: offset}
			}
			offset++
			var evs []twin.Event
			st, evs = ingest.Transition(a, typ, st, samples)
			events = append(events, evs...)
		}
	}
	produce()

	local := func(e twin.Event) string {
		s := evString(e)
		_, rest, _ := strings.Cut(s, "@")
		sec, rest, _ := strings.Cut(rest, " ")
		var f float64
		fmt.Sscan(sec, &f)
		return string(e.Kind) + "@" + t0.Add(time.Duration(f)*time.Second).In(a.Location()).Format("15:04") + " " + rest
	}
	var got []string
	for _, e := range events {
		got = append(got, local(e))
	}
	want := []string{
		"MODE_CHANGED@06:00 UNKNOWN>IDLE",
		"PRODUCT_CHANGED@06:00 COLA-330",
		"BATCH_STARTED@06:00 B1/COLA-330",
		"MODE_CHANGED@06:10 IDLE>RUNNING 600s",
		"MODE_CHANGED@08:00 RUNNING>FAULT 6600s",
		"FAULT_RAISED@08:00 E12",
		"FAULT_RAISED@08:05 E40",
		"MODE_CHANGED@08:15 FAULT>RUNNING 900s",
		"FAULT_CLEARED@08:15 E12 900s",
		"FAULT_CLEARED@08:15 E40 600s",
		"BATCH_ENDED@10:00 B1/COLA-330 14400s",
		"BATCH_STARTED@10:00 B2/COLA-330",
		"MODE_CHANGED@12:00 RUNNING>STOP 13500s",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
	if st.Mode != twin.ModeStop || st.Batch != "B2" || st.Product != "COLA-330" || len(st.FaultCodes) != 0 {
		t.Fatalf("state %+v", st)
	}
	if sp := st.Metrics["speed_units_per_min"]; sp.Value.Num != 250 {
		t.Fatalf("late sample moved speed to %v", sp.Value)
	}
	if p := st.Metrics["press1_bar"].Value.Num; p < 6.119 || p > 6.121 {
		t.Fatalf("press1_bar %v", p)
	}
	const uptime = 6600 + 13500
	if st.UptimeSeconds != uptime || st.UptimeDay != "2026-11-24" {
		t.Fatalf("uptime %v on %s", st.UptimeSeconds, st.UptimeDay)
	}
	readAt := time.Date(2026, 11, 24, 12, 30, 0, 0, a.Location())
	if u := st.UptimeAt(readAt, a.Location()); u != uptime {
		t.Fatalf("UptimeAt %v", u)
	}
	// Known since 06:00 (6.5 h at the read), running 20100 s.
	var rated float64
	if _, err := fmt.Sscan(fmt.Sprint(a.Attributes[typ.OEE.RatedSpeedAttribute]), &rated); err != nil || rated <= 0 {
		t.Fatalf("rated speed %v", a.Attributes)
	}
	oee, ok := twin.OEEAt(a, typ, st, readAt)
	wantOEE := (uptime / (6.5 * 3600)) * min(1, 50000/(rated*uptime/60.0)) * (49000 / 50000.0)
	if !ok || oee < wantOEE-1e-9 || oee > wantOEE+1e-9 {
		t.Fatalf("OEE %v, %v; want %v", oee, ok, wantOEE)
	}

	// The gateway produces the whole script again: nothing changes.
	before, n := st.Clone(), len(events)
	produce()
	if len(events) != n {
		t.Fatalf("second production emitted %q", evStrings(events[n:]))
	}
	st.Offsets, before.Offsets = nil, nil
	if !reflect.DeepEqual(st, before) {
		t.Fatalf("second production changed the state:\n%+v\n%+v", st, before)
	}
}
