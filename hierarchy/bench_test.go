package hierarchy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twingraph/twingraph/hierarchy"
)

// bigModel generates a site with areas × lines × machines assets, every
// machine after the first on a line also shared with the previous line.
func bigModel(areas, lines, machines int) []byte {
	var b strings.Builder
	b.WriteString(`types:
  site: {}
  area: {}
  line: {}
  machine:
    signals:
      - {name: power_on, kind: bool}
      - {name: speed, min: 0, max: 500}
    modeRules:
      - {when: "power_on == false", mode: STOP}
      - {when: "speed > 0", mode: RUNNING}
      - {when: "true", mode: IDLE}
assets:
  - {id: s, type: site, timezone: Asia/Jakarta}
`)
	for a := range areas {
		fmt.Fprintf(&b, "  - {id: s/a%d, type: area, parent: s}\n", a)
		for l := range lines {
			fmt.Fprintf(&b, "  - {id: s/a%d/l%d, type: line, parent: s/a%d}\n", a, l, a)
			for m := range machines {
				if l > 0 && m == 0 {
					fmt.Fprintf(&b, "  - {id: s/a%d/l%d/m%d, type: machine, parents: [s/a%d/l%d, s/a%d/l%d]}\n", a, l, m, a, l, a, l-1)
				} else {
					fmt.Fprintf(&b, "  - {id: s/a%d/l%d/m%d, type: machine, parent: s/a%d/l%d}\n", a, l, m, a, l)
				}
			}
		}
	}
	return []byte(b.String())
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
