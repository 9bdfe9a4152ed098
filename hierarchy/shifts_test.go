package hierarchy_test

import (
	"slices"
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/internal/testmodel"
)

func TestLoad_Shifts(t *testing.T) {
	m, err := hierarchy.Load("m.yaml", []byte(`types: {site: {}, line: {}}
assets:
  - id: s
    type: site
    timezone: Asia/Jakarta
    shifts:
      - {name: B, start: "14:00"}
      - {name: A, start: "06:00"}
      - {name: C, start: 22:30}
  - {id: s/l, type: line, parent: s}
  - {id: s/l/m, type: line, parents: [s/l, s]}
  - {id: t, type: site}
  - {id: u, type: site, shifts: [{name: day, start: "07:00"}]}
  - {id: u/l, type: line, parent: u, shifts: [{name: X, start: "00:00"}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	abc := []twin.Shift{{Name: "A", Start: 360}, {Name: "B", Start: 840}, {Name: "C", Start: 1350}}
	for id, want := range map[string][]twin.Shift{
		"s":     abc, // sorted by start
		"s/l":   abc, // inherited
		"s/l/m": abc, // two paths to one calendar
		"t":     nil,
		"u":     {{Name: "day", Start: 420}},
		"u/l":   {{Name: "X", Start: 0}}, // its own wins
	} {
		if got := m.Asset(id).Shifts; !slices.Equal(got, want) {
			t.Errorf("%s shifts = %v, want %v", id, got, want)
		}
	}
	// The demo plant declares three shifts on its site.
	demo := testmodel.Demo(t)
	if got := demo.Asset("plant/jkt1/packaging/line3").Shifts; len(got) != 3 {
		t.Errorf("demo line3 shifts = %v, want the site's three", got)
	}
}

func TestLoad_ShiftProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		line int
		msg  string
	}{
		{"empty", `types: {site: {}}
assets:
  - id: s
    type: site
    shifts: []
`, 5, `asset "s": shifts must list at least one shift`},
		{"bad start", `types: {site: {}}
assets:
  - id: s
    type: site
    shifts:
      - {name: A, start: "06:00"}
      - {name: B, start: "24:00"}
`, 7, `shift "B": bad start "24:00": want a 24-hour local time HH:MM`},
		{"no leading zero", `types: {site: {}}
assets:
  - id: s
    type: site
    shifts:
      - name: A
        start: 6:00
`, 7, `bad start "6:00"`},
		{"missing name", `types: {site: {}}
assets:
  - id: s
    type: site
    shifts:
      - {start: "06:00"}
`, 6, "shift: missing required field name"},
		{"missing start", `types: {site: {}}
assets:
  - id: s
    type: site
    shifts:
      - {name: A}
`, 6, `shift "A": missing required field start`},
		{"duplicate name", `types: {site: {}}
assets:
  - id: s
    type: site
    shifts:
      - {name: A, start: "06:00"}
      - {name: A, start: "18:00"}
`, 7, `duplicate shift "A" (first at line 6)`},
		{"duplicate start", `types: {site: {}}
assets:
  - id: s
    type: site
    shifts:
      - {name: A, start: "06:00"}
      - {name: B, start: "06:00"}
`, 7, `shift "B" starts at 06:00 like the shift at line 6`},
		{"unknown key", `types: {site: {}}
assets:
  - id: s
    type: site
    shifts:
      - {name: A, start: "06:00", end: "14:00"}
`, 6, `end`},
		{"two calendars", `types: {site: {}}
assets:
  - {id: s, type: site, shifts: [{name: A, start: "06:00"}]}
  - {id: t, type: site, shifts: [{name: A, start: "07:00"}]}
  - {id: m, type: site, parents: [s, t]}
`, 5, `asset "m": inherits the shifts of "s" and different shifts of "t"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantProblem(t, tt.yaml, tt.line, tt.msg) })
	}
}
