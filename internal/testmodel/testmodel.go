// Package testmodel holds the models the tests of several packages share:
// the demo plant, loaded, synthetic plants of any size (Plant), and a large
// plant-shaped DTDL model set on disk.
package testmodel

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twingraph/twingraph/examples"
	"github.com/twingraph/twingraph/hierarchy"
)

// Demo loads the demo plant (examples/plant.yaml), failing tb if it does not load.
func Demo(tb testing.TB) *hierarchy.Model {
	tb.Helper()
	m, err := hierarchy.Load(examples.PlantFile, examples.PlantYAML)
	if err != nil {
		tb.Fatalf("demo model: %v", err)
	}
	return m
}

// WriteDTDLSet writes a plant-shaped DTDL set: 200 Interfaces over nested
// directories, each file on its own, with a diamond (MotorPump extends Pump
// and Motor, both extending Asset), components (a controller with two
// thermostats), chains of extends across files, a BOM on some files, and an
// import-job NDJSON of 1 site, 4 lines and 195 machines, one under two lines.
func WriteDTDLSet(t testing.TB, dir string) (models, twins string) {
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
