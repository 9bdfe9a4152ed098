package hierarchy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/hierarchy"
)

// writeLargeSet writes a plant-shaped DTDL set: 200 Interfaces over nested
// directories, each file on its own, with a diamond (MotorPump extends Pump
// and Motor, both extending Asset), components (a controller with two
// thermostats), chains of extends across files, a BOM on some files, and an
// import-job NDJSON of 1 site, 4 lines and 195 machines, one under two lines.
func writeLargeSet(t testing.TB, dir string) (models, twins string) {
	t.Helper()
	models = filepath.Join(dir, "models")
	write := func(rel, body string) {
		p := filepath.Join(models, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const ctx = `"@context": ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"]`
	write("base/asset.json", `{`+ctx+`, "@id": "dtmi:com:acme:Asset;1", "@type": "Interface", "contents": [
  {"@type": "Property", "name": "serialNumber", "schema": "string"},
  {"@type": "Telemetry", "name": "running", "schema": "boolean"}]}`)
	write("base/pump.json", `{`+ctx+`, "@id": "dtmi:com:acme:Pump;1", "@type": "Interface", "extends": "dtmi:com:acme:Asset;1", "contents": [
  {"@type": ["Telemetry", "VolumeFlowRate"], "name": "flow", "schema": "double", "unit": "litrePerSecond"}]}`)
	write("base/motor.json", "\ufeff"+`{`+ctx+`, "@id": "dtmi:com:acme:Motor;1", "@type": "Interface", "extends": "dtmi:com:acme:Asset;1", "contents": [
  {"@type": ["Telemetry", "Current"], "name": "current", "schema": "double", "unit": "ampere"}]}`)
	write("base/motorpump.json", `{`+ctx+`, "@id": "dtmi:com:acme:MotorPump;1", "@type": "Interface",
  "extends": ["dtmi:com:acme:Pump;1", "dtmi:com:acme:Motor;1"]}`)
	write("parts/thermostat.json", `{`+ctx+`, "@id": "dtmi:com:acme:Thermostat;1", "@type": "Interface", "contents": [
  {"@type": ["Telemetry", "Temperature"], "name": "temperature", "schema": "double", "unit": "degreeCelsius"},
  {"@type": "Property", "name": "targetTemperature", "schema": "double", "writable": true}]}`)
	write("parts/controller.json", `{`+ctx+`, "@id": "dtmi:com:acme:Controller;1", "@type": "Interface", "contents": [
  {"@type": "Component", "name": "thermostat1", "schema": "dtmi:com:acme:Thermostat;1"},
  {"@type": "Component", "name": "thermostat2", "schema": "dtmi:com:acme:Thermostat;1"},
  {"@type": "Telemetry", "name": "state", "schema": {"@type": "Enum", "valueSchema": "string", "enumValues": [
    {"name": "run", "enumValue": "RUN"}, {"name": "stop", "enumValue": "STOP"}]}}]}`)
	write("site/site.json", `{`+ctx+`, "@id": "dtmi:com:acme:Site;1", "@type": "Interface", "contents": [
  {"@type": "Property", "name": "timezone", "schema": "string"}]}`)
	write("site/line.json", `{`+ctx+`, "@id": "dtmi:com:acme:Line;1", "@type": "Interface", "extends": "dtmi:com:acme:Controller;1", "contents": [
  {"@type": "Telemetry", "name": "speed", "schema": "double"},
  {"@type": "Relationship", "name": "contains"}]}`)
	// 192 machines: machine k extends machine k-8 (chains of depth ≤ 24/8+2),
	// the first eight extend MotorPump; each holds a controller component.
	for k := 0; k < 192; k++ {
		base := "dtmi:com:acme:MotorPump;1"
		if k >= 8 && k%48 >= 8 {
			base = fmt.Sprintf("dtmi:com:acme:machines:M%d;1", k-8)
		}
		bom := ""
		if k%7 == 0 {
			bom = "\ufeff"
		}
		write(fmt.Sprintf("machines/d%d/s%d/m%d.json", k%10, k%3, k), bom+fmt.Sprintf(`{`+ctx+`, "@id": "dtmi:com:acme:machines:M%d;1", "@type": "Interface", "extends": %q, "contents": [
  {"@type": "Component", "name": "ctl", "schema": "dtmi:com:acme:Thermostat;1"},
  {"@type": "Telemetry", "name": "m%dRate", "schema": "double"}]}`, k, base, k))
	}
	var nd strings.Builder
	nd.WriteString(`{"Section": "Header"}` + "\n" + `{"fileVersion": "1.0.0", "author": "test", "organization": "acme"}` + "\n")
	nd.WriteString(`{"Section": "Twins"}` + "\n")
	nd.WriteString(`{"$dtId": "acme", "$metadata": {"$model": "dtmi:com:acme:Site;1"}, "timezone": "Asia/Jakarta", "name": "Acme Plant"}` + "\n")
	for l := 0; l < 4; l++ {
		fmt.Fprintf(&nd, `{"$dtId": "acme/l%d", "$metadata": {"$model": "dtmi:com:acme:Line;1"}, "thermostat1": {"$metadata": {}, "targetTemperature": 21}}`+"\n", l)
	}
	for k := 0; k < 192; k++ {
		fmt.Fprintf(&nd, `{"$dtId": "acme/l%d/m%d", "$metadata": {"$model": "dtmi:com:acme:machines:M%d;1"}, "serialNumber": "SN-%d"}`+"\n", k%4, k, k, k)
	}
	nd.WriteString(`{"Section": "Relationships"}` + "\n")
	for l := 0; l < 4; l++ {
		fmt.Fprintf(&nd, `{"$dtId": "acme", "$relationshipId": "r%d", "$targetId": "acme/l%d", "$relationshipName": "contains"}`+"\n", l, l)
	}
	for k := 0; k < 192; k++ {
		fmt.Fprintf(&nd, `{"$dtId": "acme/l%d/m%d", "$relationshipId": "m%d", "$targetId": "acme/l%d", "$relationshipName": "isPartOf"}`+"\n", k%4, k, k, k%4)
	}
	// Machine 0 also feeds line 1: with --contains feeds, a second parent.
	nd.WriteString(`{"$dtId": "acme/l1", "$relationshipId": "f0", "$targetId": "acme/l0/m0", "$relationshipName": "feeds"}` + "\n")
	twins = filepath.Join(dir, "plant.ndjson")
	if err := os.WriteFile(twins, []byte(nd.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return models, twins
}

func TestImportDTDLFiles_LargeSet(t *testing.T) {
	models, twins := writeLargeSet(t, t.TempDir())
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
