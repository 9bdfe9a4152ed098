package hierarchy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twingraph/twingraph/hierarchy"
)

// livingModel has a renamed line (its old id an alias, still named as a
// parent and in the signal map), a renamed signal and a retired machine.
const livingModel = `version: "2026-12.1"
types:
  site: {}
  line:
    signals:
      - {name: power_on, kind: bool}
      - {name: speed_units_per_min, aliases: [speed]}
    modeRules:
      - {when: "power_on == false", mode: STOP}
      - {when: "speed_units_per_min > 0", mode: RUNNING}
      - {when: "true", mode: IDLE}
  machine: {}
assets:
  - {id: s, type: site}
  - {id: s/line3-glass, aliases: [s/line3], type: line, parent: s}
  - {id: s/line3/filler, type: machine, parent: s/line3}
  - {id: s/line3/old_capper, type: machine, parent: s/line3, retired: true}
  - {id: s/line2, type: line, parent: s, retiredAt: 2026-11-24T06:03:00Z}
signalMap:
  - {device: plc-17, tag: "900", asset: s/line3, signal: speed}
`

func mustLoad(t *testing.T, yml string) *hierarchy.Model {
	t.Helper()
	m, err := hierarchy.Load("model.yaml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLoad_Aliases(t *testing.T) {
	m := mustLoad(t, livingModel)
	t.Run("asset by old id", func(t *testing.T) {
		a := m.Asset("s/line3")
		if a == nil || a.ID != "s/line3-glass" {
			t.Fatalf("Asset(s/line3) = %+v, want s/line3-glass", a)
		}
		if id, ok := m.Canonical("s/line3"); !ok || id != "s/line3-glass" {
			t.Errorf("Canonical(s/line3) = %q, %v", id, ok)
		}
	})
	t.Run("parent named by old id", func(t *testing.T) {
		f := m.Asset("s/line3/filler")
		if len(f.Parents) != 1 || f.Parents[0] != "s/line3-glass" {
			t.Errorf("filler parents = %v, want the new id", f.Parents)
		}
		if !m.IsUnder("s/line3/filler", "s/line3") || !m.IsUnder("s/line3/filler", "s/line3-glass") {
			t.Error("filler is not under line 3 by both ids")
		}
	})
	t.Run("signal map by old ids", func(t *testing.T) {
		tm, ok := m.Mapping("plc-17", "900")
		if !ok || tm.Asset != "s/line3-glass" || tm.Signal != "speed_units_per_min" {
			t.Errorf("mapping = %+v, want the current asset id and signal name", tm)
		}
	})
	t.Run("signal by old name", func(t *testing.T) {
		typ := m.TypeOf("s/line3")
		if s := typ.Lookup("speed"); s == nil || s.Name != "speed_units_per_min" {
			t.Errorf("Lookup(speed) = %+v", s)
		}
		if typ.Signal("speed") != nil {
			t.Error("Signal(speed) answers an alias; only Lookup should")
		}
	})
	if !m.Aliased() {
		t.Error("Aliased() = false")
	}
	if len(m.Assets()) != 3 || len(m.All()) != 5 {
		t.Errorf("Assets() %d, All() %d; want 3 listed of 5", len(m.Assets()), len(m.All()))
	}
}

func TestLoad_Retired(t *testing.T) {
	m := mustLoad(t, livingModel)
	capper, line2 := m.Asset("s/line3/old_capper"), m.Asset("s/line2")
	if capper == nil || !capper.Retired || !capper.RetiredAt.IsZero() {
		t.Fatalf("old_capper = %+v, want retired without a time", capper)
	}
	if !line2.Retired || !line2.RetiredAt.Equal(time.Date(2026, 11, 24, 6, 3, 0, 0, time.UTC)) {
		t.Errorf("line2 = %+v, want retired at 06:03", line2)
	}
	if !line2.RetiredBy(line2.RetiredAt) || line2.RetiredBy(line2.RetiredAt.Add(-time.Second)) || !capper.RetiredBy(time.Time{}) {
		t.Error("RetiredBy: want samples from retiredAt on refused, before it accepted; all refused without a time")
	}
	for _, c := range []struct {
		name string
		got  int
		want int
	}{
		{"children of s", len(m.Children("s", "")), 1},
		{"children of line 3", len(m.Children("s/line3-glass", "")), 1},
		{"descendants of s", len(m.Descendants("s", "", 0)), 2},
		{"roots", len(m.Roots()), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d (retired assets left out)", c.name, c.got, c.want)
		}
	}
	if len(m.Ancestors("s/line3/old_capper")) != 2 {
		t.Error("a retired asset lost its ancestors")
	}
}

func TestLoad_VersionAndHash(t *testing.T) {
	m := mustLoad(t, livingModel)
	if m.Version() != "2026-12.1" || len(m.Hash()) != 12 || m.Stamp() != "2026-12.1@"+m.Hash() {
		t.Errorf("version %q hash %q stamp %q", m.Version(), m.Hash(), m.Stamp())
	}
	other := mustLoad(t, livingModel+"\n# a comment\n")
	if other.Hash() == m.Hash() {
		t.Error("a changed file kept its hash")
	}
	plain := mustLoad(t, strings.Replace(livingModel, `version: "2026-12.1"`, "", 1))
	if plain.Version() != "" || plain.Stamp() != plain.Hash() {
		t.Errorf("without version: %q %q", plain.Version(), plain.Stamp())
	}
}

func TestLoad_LivingProblems(t *testing.T) {
	tests := []struct {
		name, yaml, msg string
	}{
		{"alias of another asset's id", `types: {site: {}}
assets:
  - {id: a, type: site}
  - {id: b, type: site, aliases: [a]}
`, `alias "a" is the id of another asset`},
		{"alias twice", `types: {site: {}}
assets:
  - {id: a, type: site, aliases: [x]}
  - {id: b, type: site, aliases: [x]}
`, `alias "x" is already an alias of asset "a"`},
		{"own id", `types: {site: {}}
assets:
  - {id: a, type: site, aliases: [a]}
`, "is the asset's own id"},
		{"parent twice by two ids", `types: {site: {}}
assets:
  - {id: a, type: site, aliases: [old]}
  - {id: b, type: site, parents: [a, old]}
`, `parents "a" and "old" are one asset`},
		{"bad retired", `types: {site: {}}
assets:
  - {id: a, type: site, retired: yes please}
`, "retired must be true or false"},
		{"bad retiredAt", `types: {site: {}}
assets:
  - {id: a, type: site, retiredAt: last week}
`, "bad time"},
		{"signal alias clash", `types:
  t:
    signals:
      - {name: a, aliases: [b]}
      - {name: b}
`, `is an alias of signal "a"`},
		{"earlier rules without from", `types:
  t:
    signals: [{name: a}]
    modeRules: [{when: "a > 0", mode: RUNNING}]
    earlierModeRules: [{rules: [{when: "a > 1", mode: RUNNING}]}]
`, "earlierModeRules needs modeRulesFrom"},
		{"earlier set after current", `types:
  t:
    signals: [{name: a}]
    modeRules: [{when: "a > 0", mode: RUNNING}]
    modeRulesFrom: 2026-12-01T00:00:00Z
    earlierModeRules: [{from: 2026-12-02T00:00:00Z, rules: [{when: "a > 1", mode: RUNNING}]}]
`, "must be before modeRulesFrom"},
		{"bad version", "version: two words\ntypes: {}\n", "bad version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hierarchy.Load("m.yaml", []byte(tc.yaml))
			var le *hierarchy.LoadError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Load error = %v, want one containing %q", err, tc.msg)
			}
			if le.Problems[0].Line == 0 {
				t.Errorf("problem has no line: %v", le.Problems[0])
			}
		})
	}
}

func TestLoad_RuleTimes(t *testing.T) {
	m := mustLoad(t, `types:
  t:
    signals: [{name: a}]
    modeRules: [{when: "a > 10", mode: RUNNING}, {when: "true", mode: IDLE}]
    modeRulesFrom: 2026-12-01T00:00:00Z
    earlierModeRules:
      - rules: [{when: "a > 0", mode: RUNNING}, {when: "true", mode: IDLE}]
      - from: 2026-06-01T00:00:00Z
        rules: [{when: "a > 5", mode: RUNNING}, {when: "true", mode: IDLE}]
`)
	typ := m.Type("t")
	for _, c := range []struct {
		at   time.Time
		when string
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "a > 0"},
		{time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), "a > 5"},
		{time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC), "a > 5"},
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "a > 10"},
	} {
		rules, _ := typ.RulesAt(c.at)
		if len(rules) == 0 || rules[0].When != c.when {
			t.Errorf("RulesAt(%s) = %v, want %q first", c.at, rules, c.when)
		}
	}
}

func TestDiff(t *testing.T) {
	old := mustLoad(t, `types:
  site: {}
  line:
    signals:
      - {name: speed, unit: units/min, max: 400}
      - {name: temp, unit: C}
      - {name: gone}
    modeRules: [{when: "speed > 0", mode: RUNNING}]
assets:
  - {id: s, type: site}
  - {id: s/line3, type: line, parent: s}
  - {id: s/line4, type: line, parent: s}
  - {id: s/old, type: line, parent: s}
signalMap:
  - {device: d, tag: "1", asset: s/line3, signal: speed}
`)
	cur := mustLoad(t, `version: v2
types:
  site: {}
  line:
    signals:
      - {name: speed_units_per_min, aliases: [speed], unit: units/min, max: 500}
      - {name: temp, unit: K}
      - {name: fresh, kind: bool}
    modeRules: [{when: "speed_units_per_min > 1", mode: RUNNING}]
  cell: {}
assets:
  - {id: s, type: site}
  - {id: s/line3-glass, aliases: [s/line3], type: line, parent: s}
  - {id: s/line4, type: line, parent: s, retired: true}
  - {id: s/new, type: cell, parent: s}
signalMap:
  - {device: d, tag: "1", asset: s/line3, signal: speed}
`)
	var got []string
	for _, c := range hierarchy.Diff(old, cur) {
		got = append(got, c.String())
	}
	want := []string{
		"~ signal line.speed renamed to speed_units_per_min",
		"~ signal line.speed_units_per_min: max: 400 -> 500",
		"~ signal line.temp: unit: C -> K",
		"+ signal line.fresh: kind bool",
		"- signal line.gone",
		"~ mode rules of type line: modeRules: [RUNNING if speed > 0] -> [RUNNING if speed_units_per_min > 1]",
		"+ type cell",
		"~ asset s/line3 renamed to s/line3-glass",
		"~ asset s/line3-glass: name: line3 -> line3-glass", // the default name follows the id
		"~ asset s/line4 retired",
		"+ asset s/new: type cell",
		"- asset s/old",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Diff =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := hierarchy.Diff(cur, cur); len(d) != 0 {
		t.Errorf("Diff of a model with itself = %v", d)
	}
}

// TestWatcher_Reload swaps in a changed file, refuses a bad one with its
// FILE:LINE problems while the previous model stays, and picks up a file
// change by polling.
func TestWatcher_Reload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plant.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(livingModel)
	first, err := hierarchy.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	live := hierarchy.NewLive(first)
	var mu sync.Mutex
	var reloaded []string
	var failed []error
	w := &hierarchy.Watcher{Live: live, Path: path, Interval: 10 * time.Millisecond,
		OnReload: func(_, cur *hierarchy.Model) { mu.Lock(); reloaded = append(reloaded, cur.Stamp()); mu.Unlock() },
		OnError:  func(err error) { mu.Lock(); failed = append(failed, err); mu.Unlock() },
	}
	t.Run("unchanged", func(t *testing.T) {
		if _, err := w.Reload(); !errors.Is(err, hierarchy.ErrUnchanged) {
			t.Errorf("Reload of the same file = %v, want ErrUnchanged", err)
		}
	})
	t.Run("bad file refused", func(t *testing.T) {
		write(strings.Replace(livingModel, "type: machine, parent: s/line3}", "type: machin, parent: s/line3}", 1))
		_, err := w.Reload()
		var le *hierarchy.LoadError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), path+":16: ") || !strings.Contains(err.Error(), `unknown type "machin"`) {
			t.Fatalf("Reload of a bad file = %v, want its FILE:LINE problem", err)
		}
		if live.Load() != first || live.Asset("s/line3/filler") == nil {
			t.Error("a refused reload replaced the model")
		}
	})
	t.Run("changed file swapped in", func(t *testing.T) {
		write(strings.Replace(livingModel, `"2026-12.1"`, `"2026-12.2"`, 1))
		m, err := w.Reload()
		if err != nil || live.Load() != m || m.Version() != "2026-12.2" {
			t.Fatalf("Reload = %v, %v; live serves %s", m, err, live.Stamp())
		}
	})
	t.Run("file watch", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { w.Run(ctx, nil); close(done) }()
		defer func() { cancel(); <-done }()
		// A different size, so the change shows whatever the clock's resolution.
		write(strings.Replace(livingModel, `"2026-12.1"`, `"2026-12.10"`, 1))
		deadline := time.Now().Add(10 * time.Second)
		for live.Load().Version() != "2026-12.10" && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if v := live.Load().Version(); v != "2026-12.10" {
			t.Fatalf("the watcher did not reload the changed file: serving %s", v)
		}
		write("types: [\n") // broken: reported once, not every poll
		deadline = time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := len(failed)
			mu.Unlock()
			if n > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // several more polls
		mu.Lock()
		defer mu.Unlock()
		if len(failed) != 1 {
			t.Errorf("a broken file was reported %d times, want once", len(failed))
		}
		if live.Load().Version() != "2026-12.10" {
			t.Error("a broken file replaced the model")
		}
	})
}
