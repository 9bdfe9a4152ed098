package hierarchy_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/hierarchy"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestImportDTDL(t *testing.T) {
	in, err := os.ReadFile("testdata/line.dtdl.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := hierarchy.ImportDTDL("line.dtdl.json", in)
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/line.golden.yaml"
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("output differs from %s (rerun with -update if intended):\n%s", golden, out)
	}

	// Round trip: the output is a valid model, and adding an asset uses it.
	m, err := hierarchy.Load("imported.yaml", out)
	if err != nil {
		t.Fatalf("imported model does not load: %v\n%s", err, out)
	}
	typ := m.Type("packaging_line")
	if typ == nil {
		t.Fatalf("no packaging_line type; types: %v", m.Types())
	}
	checks := []struct {
		name string
		kind twin.ValueKind
		unit string
	}{
		{"power_on", twin.KindBool, ""},    // inherited through extends
		{"fault_codes", twin.KindList, ""}, // array of strings
		{"press1_bar", twin.KindNumber, "bar"},
		{"temp1_c", twin.KindNumber, "°C"}, // degreeCelsius
		{"vibration_rms", twin.KindNumber, "cm/s"},
		{"state", twin.KindString, ""}, // string enum
	}
	for _, c := range checks {
		s := typ.Signal(c.name)
		if s == nil || s.Kind != c.kind || s.Unit != c.unit {
			t.Errorf("signal %s = %+v, want kind %s unit %q", c.name, s, c.kind, c.unit)
		}
	}
	if s := typ.Signal("state"); s == nil || !slices.Equal(s.Allowed, []string{"RUN", "STOP"}) {
		t.Errorf("enum state = %+v, want allowed RUN, STOP", s)
	}
	for _, name := range []string{"position", "feeds", "rated_speed", "serial_number"} {
		if typ.Signal(name) != nil {
			t.Errorf("%s became a signal: object telemetry, relationships and properties must not", name)
		}
	}
	for _, want := range []string{
		"nameplate attributes: serialNumber (string), ratedSpeed (number)",
		"not imported: Telemetry position (schema has no signal form), Relationship feeds, Command reset",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output does not list %q", want)
		}
	}

	withAsset := strings.Replace(string(out), "assets: []", "assets:\n  - {id: l3, type: packaging_line}", 1)
	if _, err := hierarchy.Load("imported.yaml", []byte(withAsset)); err != nil {
		t.Errorf("imported types do not take assets: %v", err)
	}
}

func TestImportDTDL_Errors(t *testing.T) {
	const ctx = `"@context": "dtmi:dtdl:context;3", `
	tests := []struct {
		name, doc, msg string
	}{
		{"not json", `types: {}`, "x.json:1: not a DTDL document"},
		{"bad json", `[{"@id": }]`, "x.json:1: not a DTDL document: invalid JSON"},
		{"bad element", `[{` + ctx + `"@id": 5, "@type": "Interface"}]`, "x.json:1: Interface @id must be a string"},
		{"not an interface", `[{` + ctx + `"@id": "dtmi:a:B;1", "@type": "Telemetry"}]`, "@type must be Interface"},
		{"missing id", `[{` + ctx + `"@type": "Interface"}]`, "Interface without @id"},
		{"missing context", `[{"@id": "dtmi:a:B;1", "@type": "Interface"}]`, "x.json:1: dtmi:a:B;1: no @context"},
		{"duplicate id", `[{` + ctx + `"@id": "dtmi:a:B;1", "@type": "Interface"},
			{` + ctx + `"@id": "dtmi:a:B;1", "@type": "Interface"}]`, "x.json:2: dtmi:a:B;1: defined twice (first at x.json:1)"},
		{"same type name", `[{` + ctx + `"@id": "dtmi:a:B;1", "@type": "Interface"},
			{` + ctx + `"@id": "dtmi:a:B;2", "@type": "Interface"}]`, `both become type "b"`},
		{"unknown base", `[{` + ctx + `"@id": "dtmi:a:B;1", "@type": "Interface", "extends": "dtmi:a:C;1"}]`, "extends dtmi:a:C;1, which is not in the set"},
		{"extends cycle", `[{` + ctx + `"@id": "dtmi:a:B;1", "@type": "Interface", "extends": ["dtmi:a:C;1"]},
			{` + ctx + `"@id": "dtmi:a:C;1", "@type": "Interface", "extends": "dtmi:a:B;1"}]`, "extends cycle"},
		{"twin of unknown model", `{"digitalTwinsModels": [], "digitalTwinsGraph": {"digitalTwins": [
			{"$dtId": "a", "$metadata": {"$model": "dtmi:a:B;1"}}]}}`, "x.json:2: twin a: model dtmi:a:B;1 is not in the set"},
		{"twin without id", `{"digitalTwinsModels": [], "digitalTwinsGraph": {"digitalTwins": [{}]}}`, "twin without $dtId"},
		{"twin with bad id", `{"digitalTwinsModels": [{` + ctx + `"@id": "dtmi:a:B;1", "@type": "Interface"}], "digitalTwinsGraph": {"digitalTwins": [
			{"$dtId": "a b", "$metadata": {"$model": "dtmi:a:B;1"}}]}}`, "twin a b: not usable as an asset id"},
		{"relationship to unknown twin", `{"digitalTwinsModels": [{` + ctx + `"@id": "dtmi:a:B;1", "@type": "Interface"}], "digitalTwinsGraph": {
			"digitalTwins": [{"$dtId": "a", "$metadata": {"$model": "dtmi:a:B;1"}}],
			"relationships": [{"$sourceId": "a", "$relationshipName": "contains", "$targetId": "b"}]}}`, "x.json:3: relationship contains: from \"a\" to \"b\" names an unknown twin"},
		{"signal name clash", `[{` + ctx + `"@id": "dtmi:a:B;1", "@type": "Interface", "contents": [
			{"@type": "Telemetry", "name": "fooBar", "schema": "double"},
			{"@type": "Telemetry", "name": "foo_bar", "schema": "double"}]}]`, `both become signal "foo_bar"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := hierarchy.ImportDTDL("x.json", []byte(tt.doc))
			var le *hierarchy.LoadError
			if !errors.As(err, &le) || !strings.HasPrefix(err.Error(), "x.json:") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want a *LoadError with x.json:LINE: ...%s", err, tt.msg)
			}
		})
	}
}

func TestImportDTDL_TwinsExport(t *testing.T) {
	in, err := os.ReadFile("testdata/plant.adt.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := hierarchy.ImportDTDL("plant.adt.json", in)
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/plant.golden.yaml"
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile(golden); err != nil || !bytes.Equal(out, want) {
		t.Errorf("output differs from %s (%v; rerun with -update if intended):\n%s", golden, err, out)
	}
	m, err := hierarchy.Load("plant.yaml", out)
	if err != nil {
		t.Fatalf("imported model does not load: %v\n%s", err, out)
	}
	if got := ids(m.Parents("jkt1/packaging/palletizer")); !slices.Equal(got, []string{"jkt1/packaging/line2", "jkt1/packaging/line3"}) {
		t.Errorf("palletizer parents = %q", got)
	}
	if got := ids(m.Parents("jkt1/packaging/line2")); !slices.Equal(got, []string{"jkt1/packaging"}) {
		t.Errorf("line2 parents (from isPartOf) = %q", got)
	}
	if got := len(m.Descendants("jkt1", "", 0)); got != 4 {
		t.Errorf("%d descendants, want 4", got)
	}
	l3 := m.Asset("jkt1/packaging/line3")
	if l3.Type != "packaging_line" || l3.Timezone != "Asia/Jakarta" || l3.Attributes["ratedSpeed"] != float64(240) {
		t.Errorf("line3 = %+v", l3)
	}
	if n := m.Asset("jkt1").Name; n != "Jakarta Plant 1" {
		t.Errorf("site name = %q", n)
	}
}

func TestImportDTDL_SingleInterface(t *testing.T) {
	out, err := hierarchy.ImportDTDL("pump.json", []byte(`{"@context": "dtmi:dtdl:context;2", "@id": "dtmi:acme:HTTPPump;1", "@type": "Interface",
		"contents": [{"@type": ["Telemetry", "VolumeFlowRate"], "name": "flow", "schema": "float", "unit": "litrePerSecond"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hierarchy.Load("pump.yaml", out)
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Type("http_pump").Signal("flow"); s == nil || s.Unit != "l/s" {
		t.Errorf("flow = %+v\n%s", s, out)
	}
}
