package testmodel

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Plant describes a synthetic plant model of any size, for load tests and
// benchmarks: a site, areas under it if any, lines under every area (or
// under the site), and machines under every line.
//
// Its YAML has the types site, area (with areas), line, machine and probe
// (with Probe), then the assets: the site, its probe, and each area followed
// by its lines, each line by its machines. Assets are named after their id
// (<site>/a<i>/l<j>/m<k>) unless Named is set too.
type Plant struct {
	Site  string // the site's id
	Areas int    // areas under the site; with none the lines are under the site
	Lines int    // lines under each area, or under the site
	// Machines is the number of machines on each line, numbered from 0 on
	// every line: <line>/m<k>.
	Machines int
	// Dealt, used instead of Machines, is the number of machines of the whole
	// plant (without areas), listed after all the lines, dealt to them in
	// turn and numbered across the plant: machine i is <site>/l<i mod Lines>/m<i>.
	Dealt int
	// SharedFirst gives the first machine of every line but an area's first a
	// second parent: the line before it.
	SharedFirst bool
	// Named gives every asset a name: S for the site, A<i>, L<j> and M<k>.
	Named bool

	// PowerOn gives the machines a boolean power_on signal, first, and the
	// mode rule power_on == false → STOP.
	PowerOn bool
	// Speed is the machines' speed signal: above 0 a machine is RUNNING, else
	// IDLE.
	Speed Signal
	// Signals are the machines' further signals, after the speed.
	Signals []Signal
	// Probe adds <site>/probe, the only asset of type probe, whose one signal
	// is the machines' speed signal with the same mode rules.
	Probe bool
}

// Signal is a numeric signal of a synthetic plant's type.
type Signal struct {
	Name, Unit string
	Min, Max   float64 // bounds, when Min < Max
}

// YAML returns the plant as a model file hierarchy.Load reads.
func (p Plant) YAML() []byte {
	var b strings.Builder
	b.WriteString("types:\n  site: {}\n")
	if p.Areas > 0 {
		b.WriteString("  area: {}\n")
	}
	b.WriteString("  line: {}\n")
	signals := append([]Signal{p.Speed}, p.Signals...)
	p.writeType(&b, "machine", p.PowerOn, signals)
	if p.Probe {
		p.writeType(&b, "probe", false, signals[:1])
	}
	b.WriteString("assets:\n")
	p.writeAsset(&b, p.Site, "S", "site", "", "timezone: Asia/Jakarta")
	if p.Probe {
		p.writeAsset(&b, p.Site+"/probe", "", "probe", "parent: "+p.Site, "")
	}
	if p.Dealt > 0 {
		for l := range p.Lines {
			p.writeAsset(&b, fmt.Sprintf("%s/l%d", p.Site, l), fmt.Sprintf("L%d", l), "line", "parent: "+p.Site, "")
		}
		for i := range p.Dealt {
			line := fmt.Sprintf("%s/l%d", p.Site, i%p.Lines)
			p.writeAsset(&b, fmt.Sprintf("%s/m%d", line, i), fmt.Sprintf("M%d", i), "machine", "parent: "+line, "")
		}
		return []byte(b.String())
	}
	if p.Areas == 0 {
		p.writeLines(&b, p.Site)
	}
	for a := range p.Areas {
		area := fmt.Sprintf("%s/a%d", p.Site, a)
		p.writeAsset(&b, area, fmt.Sprintf("A%d", a), "area", "parent: "+p.Site, "")
		p.writeLines(&b, area)
	}
	return []byte(b.String())
}

// Write writes the plant's YAML to a file in a temporary directory of tb and
// returns its path.
func (p Plant) Write(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "plant.yaml")
	if err := os.WriteFile(path, p.YAML(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// writeLines writes the lines under parent, each followed by its machines.
func (p Plant) writeLines(b *strings.Builder, parent string) {
	for l := range p.Lines {
		line := fmt.Sprintf("%s/l%d", parent, l)
		p.writeAsset(b, line, fmt.Sprintf("L%d", l), "line", "parent: "+parent, "")
		for m := range p.Machines {
			parents := "parent: " + line
			if p.SharedFirst && l > 0 && m == 0 {
				parents = fmt.Sprintf("parents: [%s, %s/l%d]", line, parent, l-1)
			}
			p.writeAsset(b, fmt.Sprintf("%s/m%d", line, m), fmt.Sprintf("M%d", m), "machine", parents, "")
		}
	}
}

// writeAsset writes one entry of the asset list; parents and more are
// "key: value" pairs, left out when empty.
func (p Plant) writeAsset(b *strings.Builder, id, name, typ, parents, more string) {
	fmt.Fprintf(b, "  - {id: %s", id)
	if p.Named && name != "" {
		fmt.Fprintf(b, ", name: %s", name)
	}
	fmt.Fprintf(b, ", type: %s", typ)
	for _, kv := range []string{parents, more} {
		if kv != "" {
			b.WriteString(", " + kv)
		}
	}
	b.WriteString("}\n")
}

// writeType writes a type whose mode follows power_on (when it has it) and
// then its first signal, the speed.
func (p Plant) writeType(b *strings.Builder, name string, powerOn bool, signals []Signal) {
	fmt.Fprintf(b, "  %s:\n    signals:\n", name)
	if powerOn {
		b.WriteString("      - {name: power_on, kind: bool}\n")
	}
	for _, s := range signals {
		fmt.Fprintf(b, "      - {name: %s", s.Name)
		if s.Unit != "" {
			fmt.Fprintf(b, ", unit: %s", s.Unit)
		}
		if s.Min < s.Max {
			fmt.Fprintf(b, ", min: %s, max: %s", num(s.Min), num(s.Max))
		}
		b.WriteString("}\n")
	}
	b.WriteString("    modeRules:\n")
	if powerOn {
		b.WriteString("      - {when: \"power_on == false\", mode: STOP}\n")
	}
	fmt.Fprintf(b, "      - {when: \"%s > 0\", mode: RUNNING}\n", signals[0].Name)
	b.WriteString("      - {when: \"true\", mode: IDLE}\n")
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
