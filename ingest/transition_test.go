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

// t0 is 13:00 in Jakarta (UTC+7); test times are seconds after it.
var t0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

var line = &twin.Asset{ID: "plant/jkt1/packaging/line3", Type: "packaging_line", Timezone: "Asia/Jakarta",
	Attributes: map[string]any{"rated_speed_units_per_min": 300}}

func f64(v float64) *float64 { return &v }

// lineType mirrors the demo line's type with the rules written as Go closures:
// STOP if power_on == false; FAULT if fault codes non-empty; RUNNING if speed > 0; else IDLE.
func lineType(debounce time.Duration) *twin.AssetType {
	return &twin.AssetType{
		Name: "packaging_line",
		Signals: []twin.SignalDef{
			{Name: "power_on", Kind: twin.KindBool},
			{Name: "speed_units_per_min", Kind: twin.KindNumber, Min: f64(0), Max: f64(400)},
			{Name: "fault_codes", Kind: twin.KindList},
			{Name: "product", Kind: twin.KindString},
			{Name: "batch", Kind: twin.KindString},
			{Name: "good_units", Kind: twin.KindNumber},
			{Name: "total_units", Kind: twin.KindNumber},
			{Name: "temp1_c", Kind: twin.KindNumber},
		},
		ModeRules: []twin.ModeRule{
			{When: "power_on == false", Mode: twin.ModeStop, Match: func(env map[string]any) (bool, error) {
				p, ok := env["power_on"].(bool)
				return ok && !p, nil
			}},
			{When: "len(fault_codes) > 0", Mode: twin.ModeFault, Match: func(env map[string]any) (bool, error) {
				l, _ := env["fault_codes"].([]string)
				return len(l) > 0, nil
			}},
			{When: "speed_units_per_min > 0", Mode: twin.ModeRunning, Match: func(env map[string]any) (bool, error) {
				v, ok := env["speed_units_per_min"].(float64)
				if !ok {
					return false, fmt.Errorf("speed_units_per_min is missing")
				}
				return v > 0, nil
			}},
			{When: "true", Mode: twin.ModeIdle, Match: func(map[string]any) (bool, error) { return true, nil }},
		},
		Debounce:      debounce,
		FaultSignal:   "fault_codes",
		ProductSignal: "product",
		BatchSignal:   "batch",
		OEE: &twin.OEEConfig{RatedSpeedAttribute: "rated_speed_units_per_min", SpeedSignal: "speed_units_per_min",
			GoodSignal: "good_units", TotalSignal: "total_units"},
	}
}

func smp(sec float64, signal string, v twin.Value) twin.Sample {
	return twin.Sample{Asset: line.ID, Signal: signal, TS: at(sec), Value: v, Quality: twin.QualityGood}
}
func power(sec float64, on bool) twin.Sample { return smp(sec, "power_on", twin.Bool(on)) }
func speed(sec, v float64) twin.Sample       { return smp(sec, "speed_units_per_min", twin.Number(v)) }
func faults(sec float64, codes ...string) twin.Sample {
	return smp(sec, "fault_codes", twin.NewList(codes))
}
func batch(sec float64, b string) twin.Sample   { return smp(sec, "batch", twin.String(b)) }
func product(sec float64, p string) twin.Sample { return smp(sec, "product", twin.String(p)) }
func temp(sec, v float64) twin.Sample           { return smp(sec, "temp1_c", twin.Number(v)) }
func bad(s twin.Sample) twin.Sample             { s.Quality = twin.QualityBad; return s }
func pos(s twin.Sample, log string, part int32, off int64) twin.Sample {
	s.Pos = twin.LogPos{Log: log, Partition: part, Offset: off}
	return s
}
func other(s twin.Sample) twin.Sample { s.Asset = "plant/jkt1/packaging/line1"; return s }

// running is a line in RUNNING since 0 s (power and speed at 0 s).
var running = []twin.Sample{power(0, true), speed(0, 100)}

// evString renders an event compactly for the tables: KIND@seconds fields [duration].
func evString(e twin.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s@%g", e.Kind, e.TS.Sub(t0).Seconds())
	switch e.Kind {
	case twin.EventModeChanged:
		fmt.Fprintf(&b, " %s>%s", e.FromMode, e.ToMode)
	case twin.EventFaultRaised, twin.EventFaultCleared:
		fmt.Fprintf(&b, " %s", e.Code)
	case twin.EventBatchStarted, twin.EventBatchEnded:
		fmt.Fprintf(&b, " %s/%s", e.Batch, e.Product)
	case twin.EventProductChanged:
		fmt.Fprintf(&b, " %s", e.Product)
	}
	if e.DurationSeconds != nil {
		fmt.Fprintf(&b, " %gs", *e.DurationSeconds)
	}
	return b.String()
}

func evStrings(es []twin.Event) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, evString(e))
	}
	return out
}

// want is the expected state after a case; zero fields are not checked
// except Mode, which is always checked.
type want struct {
	mode      twin.Mode
	since     *float64 // ModeSince in seconds after t0
	pending   twin.Mode
	faults    []string // nil: not checked
	batch     *string
	product   *string
	uptime    *float64
	uptimeDay string
	dayStart  *time.Time
	metric    map[string]twin.Value // current values
	metricTS  map[string]float64
	offsets   map[string]int64
}

func sp(s string) *string { return &s }

func TestTransition(t *testing.T) {
	jkt, _ := time.LoadLocation("Asia/Jakarta")
	// 16:00Z is 23:00 in Jakarta; local midnight is 17:00Z.
	evening := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	ev := func(sec float64) float64 { return evening.Sub(t0).Seconds() + sec }
	midnightJKT := time.Date(2026, 11, 25, 0, 0, 0, 0, jkt)

	cases := []struct {
		name     string
		debounce time.Duration
		noRules  bool
		before   []twin.Sample // applied first; their events are not checked
		in       []twin.Sample
		events   []string
		want     want
	}{
		// --- modes
		{name: "first data leaves UNKNOWN without duration", in: []twin.Sample{power(0, true)},
			events: []string{"MODE_CHANGED@0 UNKNOWN>IDLE"}, want: want{mode: twin.ModeIdle, since: f64(0)}},
		{name: "power and speed at one instant do not flicker", in: []twin.Sample{power(0, true), speed(0, 100)},
			events: []string{"MODE_CHANGED@0 UNKNOWN>RUNNING"}, want: want{mode: twin.ModeRunning}},
		{name: "speed first then power at one instant", in: []twin.Sample{speed(0, 100), power(0, true)},
			events: []string{"MODE_CHANGED@0 UNKNOWN>RUNNING"}, want: want{mode: twin.ModeRunning}},
		{name: "idle then running carries idle duration", in: []twin.Sample{power(0, true), speed(10, 100)},
			events: []string{"MODE_CHANGED@0 UNKNOWN>IDLE", "MODE_CHANGED@10 IDLE>RUNNING 10s"},
			want:   want{mode: twin.ModeRunning, since: f64(10)}},
		{name: "running to stop", before: running, in: []twin.Sample{power(60, false)},
			events: []string{"MODE_CHANGED@60 RUNNING>STOP 60s"}, want: want{mode: twin.ModeStop, since: f64(60)}},
		{name: "stop wins over fault", before: running, in: []twin.Sample{power(5, false), faults(5, "E1")},
			events: []string{"MODE_CHANGED@5 RUNNING>STOP 5s", "FAULT_RAISED@5 E1"}, want: want{mode: twin.ModeStop, faults: []string{"E1"}}},
		{name: "running to fault with the code raised", before: running, in: []twin.Sample{faults(30, "E7")},
			events: []string{"MODE_CHANGED@30 RUNNING>FAULT 30s", "FAULT_RAISED@30 E7"},
			want:   want{mode: twin.ModeFault, faults: []string{"E7"}}},
		{name: "fault back to running clears with duration", before: append(slices.Clone(running), faults(30, "E7")),
			in:     []twin.Sample{faults(45)},
			events: []string{"MODE_CHANGED@45 FAULT>RUNNING 15s", "FAULT_CLEARED@45 E7 15s"},
			want:   want{mode: twin.ModeRunning, faults: []string{}}},
		{name: "stop to idle on power", before: []twin.Sample{power(0, false)}, in: []twin.Sample{power(20, true)},
			events: []string{"MODE_CHANGED@20 STOP>IDLE 20s"}, want: want{mode: twin.ModeIdle}},
		{name: "running to idle to running", before: running, in: []twin.Sample{speed(10, 0), speed(25, 50)},
			events: []string{"MODE_CHANGED@10 RUNNING>IDLE 10s", "MODE_CHANGED@25 IDLE>RUNNING 15s"},
			want:   want{mode: twin.ModeRunning, since: f64(25)}},
		{name: "same mode at newer data emits nothing", before: running, in: []twin.Sample{speed(10, 120), speed(20, 130)},
			want: want{mode: twin.ModeRunning, since: f64(0), metric: map[string]twin.Value{"speed_units_per_min": twin.Number(130)},
				metricTS: map[string]float64{"speed_units_per_min": 20}}},
		{name: "type without rules stays UNKNOWN but tracks faults", noRules: true, in: []twin.Sample{power(0, true), faults(0, "E1")},
			events: []string{"FAULT_RAISED@0 E1"}, want: want{mode: twin.ModeUnknown, faults: []string{"E1"}}},
		{name: "rule error counts as no match", in: []twin.Sample{temp(0, 40)},
			events: []string{"MODE_CHANGED@0 UNKNOWN>IDLE"}, want: want{mode: twin.ModeIdle}},
		{name: "other asset's samples are ignored", in: []twin.Sample{other(power(0, true))},
			want: want{mode: twin.ModeUnknown, metric: map[string]twin.Value{}}},

		// --- debounce (5 s dwell)
		{name: "debounce: leaving UNKNOWN is immediate", debounce: 5 * time.Second, in: []twin.Sample{power(0, true)},
			events: []string{"MODE_CHANGED@0 UNKNOWN>IDLE"}, want: want{mode: twin.ModeIdle}},
		{name: "debounce: held candidate is dated at its start", debounce: 5 * time.Second,
			before: []twin.Sample{power(0, true)}, in: []twin.Sample{speed(10, 100), speed(16, 100)},
			events: []string{"MODE_CHANGED@10 IDLE>RUNNING 10s"}, want: want{mode: twin.ModeRunning, since: f64(10)}},
		{name: "debounce: exact dwell is enough", debounce: 5 * time.Second,
			before: []twin.Sample{power(0, true)}, in: []twin.Sample{speed(10, 100), temp(15, 30)},
			events: []string{"MODE_CHANGED@10 IDLE>RUNNING 10s"}, want: want{mode: twin.ModeRunning}},
		{name: "debounce: flicker leaves no trace", debounce: 5 * time.Second,
			before: []twin.Sample{power(0, true)}, in: []twin.Sample{speed(10, 100), speed(12, 0), temp(30, 20)},
			want: want{mode: twin.ModeIdle, since: f64(0)}},
		{name: "debounce: candidate still waiting", debounce: 5 * time.Second,
			before: []twin.Sample{power(0, true)}, in: []twin.Sample{speed(10, 100), temp(13, 20)},
			want: want{mode: twin.ModeIdle, pending: twin.ModeRunning}},
		{name: "debounce: replaced candidate is dropped", debounce: 5 * time.Second,
			before: []twin.Sample{power(0, true)}, in: []twin.Sample{speed(10, 100), power(12, false), temp(20, 20)},
			events: []string{"MODE_CHANGED@12 IDLE>STOP 12s"}, want: want{mode: twin.ModeStop, since: f64(12)}},
		{name: "debounce: candidate that held is taken when the next one appears", debounce: 5 * time.Second,
			before: []twin.Sample{power(0, true)}, in: []twin.Sample{speed(10, 100), speed(20, 0)},
			events: []string{"MODE_CHANGED@10 IDLE>RUNNING 10s"}, want: want{mode: twin.ModeRunning, pending: twin.ModeIdle}},
		{name: "debounce: uptime follows the dated change", debounce: 5 * time.Second,
			before: []twin.Sample{power(0, true)}, in: []twin.Sample{speed(10, 100), temp(30, 20)},
			events: []string{"MODE_CHANGED@10 IDLE>RUNNING 10s"}, want: want{mode: twin.ModeRunning, uptime: f64(20)}},
		{name: "debounce: flicker out of running keeps uptime", debounce: 5 * time.Second,
			before: running, in: []twin.Sample{speed(10, 100), speed(20, 0), speed(22, 90), temp(40, 20)},
			want: want{mode: twin.ModeRunning, since: f64(0), uptime: f64(40)}},

		// --- fault sets
		{name: "two codes raised at once, sorted", before: running, in: []twin.Sample{faults(5, "E2", "E1")},
			events: []string{"MODE_CHANGED@5 RUNNING>FAULT 5s", "FAULT_RAISED@5 E1", "FAULT_RAISED@5 E2"},
			want:   want{mode: twin.ModeFault, faults: []string{"E1", "E2"}}},
		{name: "a code added to the set", before: append(slices.Clone(running), faults(5, "E1")), in: []twin.Sample{faults(8, "E1", "E2")},
			events: []string{"FAULT_RAISED@8 E2"}, want: want{mode: twin.ModeFault, faults: []string{"E1", "E2"}}},
		{name: "one of two codes cleared", before: append(slices.Clone(running), faults(5, "E1", "E2")), in: []twin.Sample{faults(9, "E2")},
			events: []string{"FAULT_CLEARED@9 E1 4s"}, want: want{mode: twin.ModeFault, faults: []string{"E2"}}},
		{name: "set replaced", before: append(slices.Clone(running), faults(5, "E1", "E2")), in: []twin.Sample{faults(9, "E3", "E2")},
			events: []string{"FAULT_CLEARED@9 E1 4s", "FAULT_RAISED@9 E3"}, want: want{mode: twin.ModeFault, faults: []string{"E2", "E3"}}},
		{name: "all codes cleared", before: append(slices.Clone(running), faults(5, "E1", "E2")), in: []twin.Sample{faults(11)},
			events: []string{"MODE_CHANGED@11 FAULT>RUNNING 6s", "FAULT_CLEARED@11 E1 6s", "FAULT_CLEARED@11 E2 6s"},
			want:   want{mode: twin.ModeRunning, faults: []string{}}},
		{name: "cleared duration counts from each code's raise", before: append(slices.Clone(running), faults(5, "E1"), faults(7, "E1", "E2")),
			in: []twin.Sample{faults(10)}, events: []string{"MODE_CHANGED@10 FAULT>RUNNING 5s", "FAULT_CLEARED@10 E1 5s", "FAULT_CLEARED@10 E2 3s"},
			want: want{mode: twin.ModeRunning, faults: []string{}}},
		{name: "unsorted duplicate list is a set", before: running,
			in:     []twin.Sample{smp(5, "fault_codes", twin.Value{Kind: twin.KindList, List: []string{"E2", "E1", "E2"}})},
			events: []string{"MODE_CHANGED@5 RUNNING>FAULT 5s", "FAULT_RAISED@5 E1", "FAULT_RAISED@5 E2"},
			want:   want{mode: twin.ModeFault, faults: []string{"E1", "E2"}}},
		{name: "same set at a newer time emits nothing", before: append(slices.Clone(running), faults(5, "E1")), in: []twin.Sample{faults(20, "E1")},
			want: want{mode: twin.ModeFault, faults: []string{"E1"}}},

		// --- batch and product
		{name: "first batch starts", before: running, in: []twin.Sample{batch(5, "B1")},
			events: []string{"BATCH_STARTED@5 B1/"}, want: want{mode: twin.ModeRunning, batch: sp("B1")}},
		{name: "batch change ends old and starts new", before: append(slices.Clone(running), product(0, "P1"), batch(5, "B1")),
			in: []twin.Sample{batch(65, "B2")}, events: []string{"BATCH_ENDED@65 B1/P1 60s", "BATCH_STARTED@65 B2/P1"},
			want: want{mode: twin.ModeRunning, batch: sp("B2")}},
		{name: "empty batch ends the batch", before: append(slices.Clone(running), batch(5, "B1")),
			in: []twin.Sample{batch(10, "")}, events: []string{"BATCH_ENDED@10 B1/ 5s"}, want: want{mode: twin.ModeRunning, batch: sp("")}},
		{name: "product change", before: append(slices.Clone(running), product(0, "P1")),
			in: []twin.Sample{product(30, "P2")}, events: []string{"PRODUCT_CHANGED@30 P2"}, want: want{mode: twin.ModeRunning, product: sp("P2")}},
		{name: "first product", in: []twin.Sample{product(0, "P1")},
			events: []string{"MODE_CHANGED@0 UNKNOWN>IDLE", "PRODUCT_CHANGED@0 P1"}, want: want{mode: twin.ModeIdle, product: sp("P1")}},
		{name: "changeover: batch and product at one instant", before: append(slices.Clone(running), product(0, "P1"), batch(0, "B1")),
			in:     []twin.Sample{batch(100, "B2"), product(100, "P2")},
			events: []string{"BATCH_ENDED@100 B1/P1 100s", "PRODUCT_CHANGED@100 P2", "BATCH_STARTED@100 B2/P2"},
			want:   want{mode: twin.ModeRunning, batch: sp("B2"), product: sp("P2")}},
		{name: "same batch again emits nothing", before: append(slices.Clone(running), batch(5, "B1")),
			in: []twin.Sample{batch(50, "B1")}, want: want{mode: twin.ModeRunning, batch: sp("B1")}},

		// --- late, duplicate, replay, quality
		{name: "late sample changes nothing", before: append(slices.Clone(running), speed(20, 100)),
			in:   []twin.Sample{pos(speed(10, 0), "L", 0, 7)},
			want: want{mode: twin.ModeRunning, metricTS: map[string]float64{"speed_units_per_min": 20}, offsets: map[string]int64{"L/0": 7}}},
		{name: "duplicate sample changes nothing", before: append(slices.Clone(running), faults(5, "E1")),
			in:   []twin.Sample{faults(5, "E1"), faults(5)},
			want: want{mode: twin.ModeFault, faults: []string{"E1"}}},
		{name: "replayed offsets are skipped even when newer", before: []twin.Sample{pos(power(0, true), "L", 0, 10)},
			in:   []twin.Sample{pos(speed(30, 100), "L", 0, 9), pos(speed(31, 100), "L", 0, 10)},
			want: want{mode: twin.ModeIdle, offsets: map[string]int64{"L/0": 10}}},
		{name: "new log identity is not a replay", before: []twin.Sample{pos(power(0, true), "L@old", 0, 500)},
			in:     []twin.Sample{pos(speed(30, 100), "L@new", 0, 3)},
			events: []string{"MODE_CHANGED@30 IDLE>RUNNING 30s"},
			want:   want{mode: twin.ModeRunning, offsets: map[string]int64{"L@old/0": 500, "L@new/0": 3}}},
		{name: "other partition is not a replay", before: []twin.Sample{pos(power(0, true), "L", 0, 500)},
			in:     []twin.Sample{pos(speed(30, 100), "L", 1, 3)},
			events: []string{"MODE_CHANGED@30 IDLE>RUNNING 30s"},
			want:   want{mode: twin.ModeRunning, offsets: map[string]int64{"L/0": 500, "L/1": 3}}},
		{name: "samples of one message share an offset", in: []twin.Sample{pos(power(0, true), "L", 2, 4), pos(speed(0, 9), "L", 2, 4)},
			events: []string{"MODE_CHANGED@0 UNKNOWN>RUNNING"}, want: want{mode: twin.ModeRunning, offsets: map[string]int64{"L/2": 4}}},
		{name: "redelivery inside an instant does not split it", before: []twin.Sample{pos(temp(-10, 30), "L", 0, 1)},
			in:     []twin.Sample{pos(power(0, true), "L", 0, 2), pos(temp(-10, 30), "L", 0, 1), pos(temp(-10, 30), "L", 0, 3), pos(speed(0, 50), "L", 0, 2)},
			events: []string{"MODE_CHANGED@0 IDLE>RUNNING 10s"}, want: want{mode: twin.ModeRunning, offsets: map[string]int64{"L/0": 3}}},
		{name: "bad quality never drives state", before: []twin.Sample{power(0, true)},
			in:   []twin.Sample{pos(bad(speed(10, 900)), "L", 0, 5)},
			want: want{mode: twin.ModeIdle, metric: map[string]twin.Value{"power_on": twin.Bool(true)}, offsets: map[string]int64{"L/0": 5}}},
		{name: "bad quality then good value", before: []twin.Sample{power(0, true)},
			in:     []twin.Sample{bad(speed(10, 900)), speed(12, 200)},
			events: []string{"MODE_CHANGED@12 IDLE>RUNNING 12s"}, want: want{mode: twin.ModeRunning}},
		{name: "older instant of another signal is dated at the newest time", before: append(slices.Clone(running), temp(50, 20)),
			in:     []twin.Sample{power(40, false)},
			events: []string{"MODE_CHANGED@50 RUNNING>STOP 50s"},
			want:   want{mode: twin.ModeStop, since: f64(50), metricTS: map[string]float64{"power_on": 40, "temp1_c": 50}}},

		// --- uptime (Asia/Jakarta)
		{name: "uptime counts running time", before: running, in: []twin.Sample{temp(3600, 20)},
			want: want{mode: twin.ModeRunning, uptime: f64(3600), uptimeDay: "2026-11-24", dayStart: &t0}},
		{name: "uptime skips idle and stop", before: running,
			in:     []twin.Sample{speed(600, 0), speed(1200, 10), power(1500, false), temp(3600, 20)},
			events: []string{"MODE_CHANGED@600 RUNNING>IDLE 600s", "MODE_CHANGED@1200 IDLE>RUNNING 600s", "MODE_CHANGED@1500 RUNNING>STOP 300s"},
			want:   want{mode: twin.ModeStop, uptime: f64(900)}},
		{name: "uptime splits at Jakarta midnight, not UTC midnight",
			before: []twin.Sample{power(ev(0), true), speed(ev(0), 100)}, in: []twin.Sample{temp(ev(7200), 20)},
			want: want{mode: twin.ModeRunning, uptime: f64(3600), uptimeDay: "2026-11-25", dayStart: &midnightJKT}},
		{name: "UTC midnight is mid-morning in Jakarta",
			before: []twin.Sample{power(ev(0), true)},
			in:     []twin.Sample{speed(ev(7*3600), 100), temp(ev(9*3600), 20)},
			events: []string{"MODE_CHANGED@61200 IDLE>RUNNING 25200s"},
			want:   want{mode: twin.ModeRunning, uptime: f64(7200), uptimeDay: "2026-11-25"}},
		{name: "a new day after a gap starts from zero", before: []twin.Sample{power(0, true), speed(0, 100), power(600, false)},
			in:     []twin.Sample{power(3*86400, true)},
			events: []string{"MODE_CHANGED@259200 STOP>RUNNING 258600s"},
			want:   want{mode: twin.ModeRunning, uptime: f64(0), uptimeDay: "2026-11-27"}},
		{name: "running through a gap of days counts today from midnight", before: running,
			in:   []twin.Sample{temp(2*86400, 20)},
			want: want{mode: twin.ModeRunning, uptime: f64(13 * 3600), uptimeDay: "2026-11-26"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ := lineType(c.debounce)
			if c.noRules {
				typ.ModeRules = nil
			}
			st, _ := ingest.Transition(line, typ, nil, c.before)
			keep := st.Clone()
			in := cloneSamples(c.in)
			got, events := ingest.Transition(line, typ, st, c.in)

			if !reflect.DeepEqual(st, keep) {
				t.Errorf("input state mutated:\n got %+v\nwant %+v", st, keep)
			}
			if !reflect.DeepEqual(c.in, in) {
				t.Errorf("input samples mutated")
			}
			if g := evStrings(events); !slices.Equal(g, append([]string{}, c.events...)) {
				t.Errorf("events:\n got %q\nwant %q", g, c.events)
			}
			for _, e := range events {
				if e.Asset != line.ID || e.ID != twin.EventID(&e) {
					t.Errorf("event %s: asset %q id %q", evString(e), e.Asset, e.ID)
				}
			}
			checkState(t, got, c.want)
		})
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
}

func checkState(t *testing.T, got *twin.State, w want) {
	t.Helper()
	if got.Asset != line.ID {
		t.Errorf("asset %q", got.Asset)
	}
	if got.Mode != w.mode {
		t.Errorf("mode %s, want %s", got.Mode, w.mode)
	}
	if w.since != nil && !got.ModeSince.Equal(at(*w.since)) {
		t.Errorf("modeSince %v, want %v", got.ModeSince, at(*w.since))
	}
	if got.PendingMode != w.pending {
		t.Errorf("pending %q, want %q", got.PendingMode, w.pending)
	}
	if w.faults != nil {
		if !slices.Equal(got.FaultCodes, w.faults) {
			t.Errorf("faults %q, want %q", got.FaultCodes, w.faults)
		}
		if len(got.FaultSince) != len(w.faults) {
			t.Errorf("faultSince %v for %q", got.FaultSince, w.faults)
		}
	}
	if w.batch != nil && got.Batch != *w.batch {
		t.Errorf("batch %q, want %q", got.Batch, *w.batch)
	}
	if w.product != nil && got.Product != *w.product {
		t.Errorf("product %q, want %q", got.Product, *w.product)
	}
	if w.uptime != nil && got.UptimeSeconds != *w.uptime {
		t.Errorf("uptime %v, want %v", got.UptimeSeconds, *w.uptime)
	}
	if w.uptimeDay != "" && got.UptimeDay != w.uptimeDay {
		t.Errorf("uptimeDay %q, want %q", got.UptimeDay, w.uptimeDay)
	}
	if w.dayStart != nil && !got.DayStart.Equal(*w.dayStart) {
		t.Errorf("dayStart %v, want %v", got.DayStart, *w.dayStart)
	}
	if w.metric != nil {
		if len(w.metric) == 0 && len(got.Metrics) != 0 {
			t.Errorf("metrics %v, want none", got.Metrics)
		}
		for k, v := range w.metric {
			if m, ok := got.Metrics[k]; !ok || !m.Value.Equal(v) {
				t.Errorf("metric %s = %v, want %v", k, m.Value, v)
			}
		}
	}
	for k, sec := range w.metricTS {
		if m := got.Metrics[k]; !m.TS.Equal(at(sec)) {
			t.Errorf("metric %s ts %v, want %v", k, m.TS, at(sec))
		}
	}
	if w.offsets != nil && !reflect.DeepEqual(got.Offsets, w.offsets) {
		t.Errorf("offsets %v, want %v", got.Offsets, w.offsets)
	}
	var newest time.Time
	for _, m := range got.Metrics {
		if m.TS.After(newest) {
			newest = m.TS
		}
	}
	if !got.UpdatedAt.Equal(newest) {
		t.Errorf("updatedAt %v, newest metric %v", got.UpdatedAt, newest)
	}
}

func cloneSamples(in []twin.Sample) []twin.Sample {
	out := slices.Clone(in)
	for i := range out {
		out[i].Value.List = slices.Clone(out[i].Value.List)
	}
	return out
}

// TestTransition_pendingModeThenSilence: the cooking line stops (flow 0) and
// then sends nothing. Readers see IDLE since the stop once the debounce has
// passed; the event follows with the next sample, dated at the stop, and the
// state it produces agrees with what readers saw.
func TestTransition_pendingModeThenSilence(t *testing.T) {
	m := testmodel.Demo(t)
	a := m.Asset("plant/jkt1/processing/cooking")
	typ := m.Type(a.Type)
	loc := a.Location()
	clock := func(h, min int) time.Time { return time.Date(2026, 11, 24, h, min, 0, 0, loc) }
	s := func(ts time.Time, signal string, v twin.Value) twin.Sample {
		return twin.Sample{Asset: a.ID, Signal: signal, TS: ts, Value: v, Quality: twin.QualityGood}
	}
	st, evs := ingest.Transition(a, typ, nil, []twin.Sample{
		s(clock(10, 0), "power_on", twin.Bool(true)), s(clock(10, 0), "flow_kg_h", twin.Number(1200))})
	if st.Mode != twin.ModeRunning || len(evs) != 1 {
		t.Fatalf("start: %s %v", st.Mode, evStrings(evs))
	}
	st, evs = ingest.Transition(a, typ, st, []twin.Sample{s(clock(10, 30), "flow_kg_h", twin.Number(0))})
	if len(evs) != 0 || st.PendingMode != twin.ModeIdle {
		t.Fatalf("stop: pending %q events %v", st.PendingMode, evStrings(evs))
	}

	read := clock(12, 20)
	if mode, since := st.ModeAt(read, typ.Debounce); mode != twin.ModeIdle || !since.Equal(clock(10, 30)) {
		t.Fatalf("ModeAt = %s since %v, want IDLE since 10:30", mode, since)
	}
	if up := st.UptimeAtDebounced(read, loc, typ.Debounce); up != 1800 {
		t.Fatalf("uptime at 12:20 = %v, want 1800", up)
	}
	// Within the debounce the line still counts as running.
	if mode, _ := st.ModeAt(clock(10, 30).Add(time.Second), typ.Debounce); mode != twin.ModeRunning {
		t.Fatalf("ModeAt within the debounce = %s", mode)
	}

	next, evs := ingest.Transition(a, typ, st, []twin.Sample{s(clock(12, 25), "flow_kg_h", twin.Number(0))})
	if got := evStrings(evs); len(evs) != 1 || evs[0].Kind != twin.EventModeChanged || !evs[0].TS.Equal(clock(10, 30)) ||
		evs[0].ToMode != twin.ModeIdle || evs[0].DurationSeconds == nil || *evs[0].DurationSeconds != 1800 {
		t.Fatalf("next sample: events %v, want RUNNING>IDLE at 10:30 after 1800 s", got)
	}
	if next.Mode != twin.ModeIdle || !next.ModeSince.Equal(clock(10, 30)) || next.PendingMode != "" {
		t.Fatalf("next sample: state %s since %v pending %q", next.Mode, next.ModeSince, next.PendingMode)
	}
	if up := next.UptimeAt(read, loc); up != 1800 {
		t.Fatalf("uptime after the next sample = %v, want 1800", up)
	}
}
