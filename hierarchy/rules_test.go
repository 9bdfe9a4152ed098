package hierarchy_test

import (
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testmodel"
)

// mode applies rules the way the sync worker does: first match wins.
func mode(t *testing.T, typ *twin.AssetType, env map[string]any) twin.Mode {
	t.Helper()
	for _, r := range typ.ModeRules {
		ok, err := r.Match(env)
		if err != nil {
			t.Logf("rule %q: %v", r.When, err)
		}
		if ok {
			return r.Mode
		}
	}
	return twin.ModeUnknown
}

func TestModeRules(t *testing.T) {
	m := testmodel.Demo(t)
	line := m.TypeOf(line3)
	oven := m.TypeOf("plant/jkt1/processing/cooking/oven1")
	tests := []struct {
		name string
		typ  *twin.AssetType
		env  map[string]any
		want twin.Mode
	}{
		{"power off wins over faults", line, map[string]any{"power_on": false, "fault_codes": []string{"E1"}, "speed_units_per_min": 200.0}, twin.ModeStop},
		{"fault", line, map[string]any{"power_on": true, "fault_codes": []string{"E42"}, "speed_units_per_min": 200.0}, twin.ModeFault},
		{"running", line, map[string]any{"power_on": true, "fault_codes": []string{}, "speed_units_per_min": 218.0}, twin.ModeRunning},
		{"idle at zero speed", line, map[string]any{"power_on": true, "fault_codes": []string{}, "speed_units_per_min": 0.0}, twin.ModeIdle},
		{"no data is idle, not stop", line, map[string]any{}, twin.ModeIdle},
		{"absent power does not stop", line, map[string]any{"speed_units_per_min": 10.0}, twin.ModeRunning},
		{"nil value is absent", line, map[string]any{"power_on": nil, "fault_codes": nil}, twin.ModeIdle},
		{"wrong runtime type is no match", line, map[string]any{"power_on": true, "speed_units_per_min": "fast"}, twin.ModeIdle},
		{"oven warming up", oven, map[string]any{"power_on": true, "fault_codes": []string{}, "belt_speed_m_min": 2.0, "zone1_temp_c": 90.0}, twin.ModeIdle},
		{"oven baking", oven, map[string]any{"power_on": true, "fault_codes": []string{}, "belt_speed_m_min": 2.0, "zone1_temp_c": 180.0}, twin.ModeRunning},
		{"oven rule needs both signals", oven, map[string]any{"power_on": true, "belt_speed_m_min": 2.0}, twin.ModeIdle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mode(t, tt.typ, tt.env); got != tt.want {
				t.Errorf("mode = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestModeRules_RuntimeErrorIsReported(t *testing.T) {
	r := testmodel.Demo(t).TypeOf(line3).ModeRules[2] // speed_units_per_min > 0
	ok, err := r.Match(map[string]any{"speed_units_per_min": "fast"})
	if ok || err == nil {
		t.Errorf("Match = %v, %v; want false and an error", ok, err)
	}
}

func BenchmarkModeRules(b *testing.B) {
	typ := testmodel.Demo(b).TypeOf(line3)
	env := map[string]any{"power_on": true, "fault_codes": []string{}, "speed_units_per_min": 218.0}
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range typ.ModeRules {
			if ok, _ := r.Match(env); ok {
				break
			}
		}
	}
}

// Rules are shared by every worker goroutine; Match must be safe concurrently.
func TestModeRules_Concurrent(t *testing.T) {
	typ := testmodel.Demo(t).TypeOf(line3)
	done := make(chan twin.Mode)
	for i := range 4 {
		go func() {
			env := map[string]any{"power_on": true, "fault_codes": []string{}, "speed_units_per_min": float64(i)}
			var got twin.Mode
			for range 200 {
				got = mode(t, typ, env)
			}
			done <- got
		}()
	}
	running := 0
	for range 4 {
		if <-done == twin.ModeRunning {
			running++
		}
	}
	if running != 3 { // speeds 1, 2, 3 run; speed 0 idles
		t.Errorf("%d goroutines saw RUNNING, want 3", running)
	}
}
