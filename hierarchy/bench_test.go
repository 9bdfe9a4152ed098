package hierarchy_test

import (
	"testing"

	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/internal/testmodel"
)

// bigModel generates a site with areas × lines × machines assets, the first
// machine of every line but an area's first also under the line before it.
func bigModel(areas, lines, machines int) []byte {
	return testmodel.Plant{
		Site: "s", Areas: areas, Lines: lines, Machines: machines, SharedFirst: true,
		PowerOn: true, Speed: testmodel.Signal{Name: "speed", Max: 500},
	}.YAML()
}

func TestBigModel(t *testing.T) {
	m, err := hierarchy.Load("big.yaml", bigModel(5, 10, 20))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(m.Descendants("s", "", 0)); got != 1055 {
		t.Errorf("descendants = %d, want 1055", got)
	}
	if got := len(m.Descendants("s", "machine", 0)); got != 1000 {
		t.Errorf("machine descendants = %d, want 1000", got)
	}
	if got := len(m.Descendants("s", "", 2)); got != 55 {
		t.Errorf("descendants to depth 2 = %d, want 55", got)
	}
}

func BenchmarkDescendants(b *testing.B) {
	m, err := hierarchy.Load("big.yaml", bigModel(5, 10, 20))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, typ string
		depth     int
	}{{"all", "", 0}, {"type", "machine", 0}, {"depth2", "", 2}, {"type+depth", "machine", 3}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n += len(m.Descendants("s", bc.typ, bc.depth))
			}
			if n == 0 {
				b.Fatal("no descendants")
			}
		})
	}
	b.Run("IsUnder", func(b *testing.B) {
		for b.Loop() {
			if !m.IsUnder("s/a4/l9/m19", "s") {
				b.Fatal("not under")
			}
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	data := bigModel(5, 10, 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := hierarchy.Load("big.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
