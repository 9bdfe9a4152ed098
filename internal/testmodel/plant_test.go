package testmodel_test

import (
	"slices"
	"testing"

	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/internal/testmodel"
)

// TestPlant loads every shape of synthetic plant and checks where its assets are.
func TestPlant(t *testing.T) {
	speed := testmodel.Signal{Name: "speed", Unit: "units/min", Max: 1000}
	for _, c := range []struct {
		name     string
		plant    testmodel.Plant
		assets   int
		machines int
		parents  map[string][]string // asset → its parents
		typ      map[string]string   // asset → its type
	}{
		{"lines", testmodel.Plant{Site: "site", Lines: 3, Machines: 4, PowerOn: true, Speed: speed,
			Signals: []testmodel.Signal{{Name: "temp_c", Min: -50, Max: 500}}},
			1 + 3 + 12, 12,
			map[string][]string{"site/l2/m3": {"site/l2"}, "site/l0": {"site"}}, nil},
		{"areas shared", testmodel.Plant{Site: "s", Areas: 2, Lines: 3, Machines: 2, SharedFirst: true, Speed: speed},
			1 + 2 + 6 + 12, 12,
			map[string][]string{"s/a1/l0/m0": {"s/a1/l0"}, "s/a1/l2/m0": {"s/a1/l2", "s/a1/l1"}, "s/a1/l2/m1": {"s/a1/l2"}}, nil},
		{"dealt", testmodel.Plant{Site: "s", Lines: 3, Dealt: 7, Named: true, Speed: speed},
			1 + 3 + 7, 7,
			map[string][]string{"s/l0/m6": {"s/l0"}, "s/l2/m5": {"s/l2"}}, nil},
		{"probe", testmodel.Plant{Site: "site", Lines: 1, Machines: 2, PowerOn: true, Probe: true, Speed: speed},
			1 + 1 + 1 + 2, 2,
			map[string][]string{"site/probe": {"site"}}, map[string]string{"site/probe": "probe"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := hierarchy.Load("plant.yaml", c.plant.YAML())
			if err != nil {
				t.Fatalf("%v\n%s", err, c.plant.YAML())
			}
			if got := len(m.Assets()); got != c.assets {
				t.Errorf("%d assets, want %d", got, c.assets)
			}
			if got := len(m.Descendants(c.plant.Site, "machine", 0)); got != c.machines {
				t.Errorf("%d machines, want %d", got, c.machines)
			}
			for id, want := range c.parents {
				var got []string
				for _, p := range m.Parents(id) {
					got = append(got, p.ID)
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("parents of %s = %v, want %v", id, got, want)
				}
			}
			for id, want := range c.typ {
				if a := m.Asset(id); a == nil || a.Type != want {
					t.Errorf("%s = %+v, want type %s", id, a, want)
				}
			}
		})
	}
}
