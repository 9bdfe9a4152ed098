package hierarchy_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/internal/testmodel"
)

func TestImportDTDLFiles_LargeSet(t *testing.T) {
	models, twins := testmodel.WriteDTDLSet(t, t.TempDir())
	out, err := hierarchy.ImportDTDLFiles([]string{models, twins}, hierarchy.DTDLOptions{Contains: []string{"feeds"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := hierarchy.Load("imported.yaml", out)
	if err != nil {
		t.Fatalf("imported set does not pass model check: %v", err)
	}
	t.Run("types and assets", func(t *testing.T) {
		if n := len(m.Types()); n != 200 {
			t.Errorf("%d types, want 200", n)
		}
		if n := len(m.Assets()); n != 197 {
			t.Errorf("%d assets, want 197", n)
		}
		if n := len(m.Descendants("acme", "", 0)); n != 196 {
			t.Errorf("%d descendants of the site, want 196", n)
		}
		if got := ids(m.Parents("acme/l0/m0")); !slices.Equal(got, []string{"acme/l0", "acme/l1"}) {
			t.Errorf("m0 parents = %q, want l0 (isPartOf) and l1 (--contains feeds)", got)
		}
	})
	t.Run("diamond flattened once", func(t *testing.T) {
		mp := m.Type("motor_pump")
		var names []string
		for _, s := range mp.Signals {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, []string{"running", "flow", "current"}) {
			t.Errorf("motor_pump signals = %q, want running (once), flow, current", names)
		}
		if s := mp.Signal("flow"); s.Unit != "l/s" {
			t.Errorf("flow unit = %q", s.Unit)
		}
	})
	t.Run("components and enums", func(t *testing.T) {
		line := m.Type("line")
		for _, c := range []struct{ name, unit string }{{"thermostat1.temperature", "°C"}, {"thermostat2.temperature", "°C"}} {
			if s := line.Signal(c.name); s == nil || s.Unit != c.unit {
				t.Errorf("line signal %s = %+v, want unit %s", c.name, s, c.unit)
			}
		}
		if line.Signal("thermostat1.target_temperature") != nil {
			t.Error("a writable property became a signal")
		}
		if s := line.Signal("state"); s == nil || s.Kind != twin.KindString || !s.Allows("RUN") || s.Allows("JOG") {
			t.Errorf("state = %+v, want a string allowing RUN, not JOG", s)
		}
		if got := m.Asset("acme/l2").Attributes["thermostat1.targetTemperature"]; got != float64(21) {
			t.Errorf("component property attribute = %v, want 21", got)
		}
	})
	t.Run("chains across files", func(t *testing.T) {
		// M40 extends M32 … M0 extends MotorPump: every rate on the way.
		m40 := m.Type("m40")
		for _, name := range []string{"m40_rate", "m32_rate", "m0_rate", "ctl.temperature", "running"} {
			if m40.Signal(name) == nil {
				t.Errorf("m40 lacks %s", name)
			}
		}
		if a := m.Asset("acme/l0/m40"); a.Attributes["serialNumber"] != "SN-40" || a.Timezone != "Asia/Jakarta" {
			t.Errorf("m40 asset = %+v", a)
		}
	})
}

func TestImportDTDLSet_EveryProblemAcrossFiles(t *testing.T) {
	const ctx = `"@context": "dtmi:dtdl:context;3", `
	_, err := hierarchy.ImportDTDLSet([]hierarchy.DTDLSource{
		{Name: "a.json", Data: []byte(`{` + ctx + `"@id": "dtmi:x:A;1", "@type": "Interface", "extends": "dtmi:x:Missing;1"}`)},
		{Name: "b.json", Data: []byte("[\n{" + ctx + `"@id": "dtmi:x:B;1", "@type": "Interface", "extends": "dtmi:x:A;1",` + "\n" + `"contents": [{"@type": "Telemetry", "name": "t", "schema": "doubel"}]}]`)},
	}, hierarchy.DTDLOptions{})
	want := []string{
		"a.json:1: dtmi:x:A;1: extends dtmi:x:Missing;1, which is not in the set",
		`b.json:3: dtmi:x:B;1#t: unknown schema "doubel"`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("err =\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

func TestDTDLUnits_DistinctSymbols(t *testing.T) {
	// Every unit of the vocabulary imports, and no two read alike.
	bySymbol := map[string]string{}
	doc := `{"@context": ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"], "@id": "dtmi:x:U;1", "@type": "Interface", "contents": [`
	units := hierarchy.DTDLUnitNames()
	for i, u := range units {
		if i > 0 {
			doc += ","
		}
		doc += fmt.Sprintf(`{"@type": ["Telemetry", %q], "name": "u%d", "schema": "double", "unit": %q}`, u.Semantic, i, u.Unit)
	}
	out, err := hierarchy.ImportDTDL("units.json", []byte(doc+"]}"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hierarchy.Load("units.yaml", out)
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range units {
		s := m.Type("u").Signal(fmt.Sprintf("u%d", i))
		if s == nil || (s.Unit == "" && u.Unit != "unity") {
			t.Errorf("unit %s imported as %+v", u.Unit, s)
			continue
		}
		if prev, dup := bySymbol[s.Unit]; dup && prev != u.Unit && s.Unit != "" {
			t.Errorf("units %s and %s both become %q", prev, u.Unit, s.Unit)
		}
		bySymbol[s.Unit] = u.Unit
	}
	if len(units) < 200 {
		t.Errorf("only %d units in the vocabulary", len(units))
	}
}
