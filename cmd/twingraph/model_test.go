package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeDTDLSet writes a small plant as a DTDL directory (a diamond, a
// component, files in subdirectories, one with a BOM) and its twins as NDJSON.
func writeDTDLSet(t *testing.T, dir string) (models, twins string) {
	t.Helper()
	models = filepath.Join(dir, "models")
	const ctx = `"@context": ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"]`
	files := map[string]string{
		"base/asset.json": `{` + ctx + `, "@id": "dtmi:acme:Asset;1", "@type": "Interface", "contents": [
			{"@type": "Telemetry", "name": "running", "schema": "boolean"}, {"@type": "Property", "name": "serialNumber", "schema": "string"}]}`,
		"base/pump.json":  `{` + ctx + `, "@id": "dtmi:acme:Pump;1", "@type": "Interface", "extends": "dtmi:acme:Asset;1"}`,
		"base/motor.json": "\ufeff" + `{` + ctx + `, "@id": "dtmi:acme:Motor;1", "@type": "Interface", "extends": "dtmi:acme:Asset;1"}`,
		"parts/thermostat.json": `{` + ctx + `, "@id": "dtmi:acme:Thermostat;1", "@type": "Interface", "contents": [
			{"@type": ["Telemetry", "Temperature"], "name": "temperature", "schema": "double", "unit": "degreeCelsius"}]}`,
		"motorpump.json": `{` + ctx + `, "@id": "dtmi:acme:MotorPump;1", "@type": "Interface", "extends": ["dtmi:acme:Pump;1", "dtmi:acme:Motor;1"],
			"contents": [{"@type": "Component", "name": "thermostat1", "schema": "dtmi:acme:Thermostat;1"}]}`,
		"site.json": `{` + ctx + `, "@id": "dtmi:acme:Site;1", "@type": "Interface"}`,
	}
	for rel, body := range files {
		p := filepath.Join(models, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	twins = filepath.Join(dir, "plant.ndjson")
	nd := `{"Section": "Twins"}
{"$dtId": "acme", "$metadata": {"$model": "dtmi:acme:Site;1"}, "timezone": "Europe/Berlin"}
{"$dtId": "acme/p1", "$metadata": {"$model": "dtmi:acme:MotorPump;1"}, "serialNumber": "SN-1"}
{"$dtId": "acme/p2", "$metadata": {"$model": "dtmi:acme:MotorPump;1"}}
{"Section": "Relationships"}
{"$dtId": "acme", "$relationshipId": "r1", "$targetId": "acme/p1", "$relationshipName": "hosts"}
{"$dtId": "acme/p2", "$relationshipId": "r2", "$targetId": "acme", "$relationshipName": "isPartOf"}
`
	if err := os.WriteFile(twins, []byte(nd), 0o644); err != nil {
		t.Fatal(err)
	}
	return models, twins
}

func TestModelImportDTDL_Set(t *testing.T) {
	dir := t.TempDir()
	models, twins := writeDTDLSet(t, dir)
	out := filepath.Join(dir, "plant.yaml")
	var stdout, stderr bytes.Buffer
	t.Setenv("TWIN_CONTAINS", "hosts") // the env twin of --contains
	if code := run(context.Background(), []string{"model", "import-dtdl", models, twins, "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("import-dtdl exited %d: %s", code, stderr.String())
	}
	t.Run("model check", func(t *testing.T) {
		stdout.Reset()
		if code := run(context.Background(), []string{"model", "check", out}, &stdout, &stderr); code != 0 {
			t.Fatalf("check exited %d: %s", code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "ok (3 assets, 1 roots)") {
			t.Errorf("check: %s (want 3 assets under one root: hosts counts as containment)", stdout.String())
		}
	})
	t.Run("dev serves it", func(t *testing.T) {
		httpAddr, _ := startDev(t, "--no-sim", "--model", out)
		var r struct {
			Asset struct {
				Type       string
				Attributes map[string]any
				Parents    []struct{ ID string }
				Signals    []struct{ Name, Unit string }
			}
		}
		graphql(t, httpAddr, `{ asset(id: "acme/p1") { type attributes parents { id } signals { name unit } } }`, &r)
		a := r.Asset
		got := fmt.Sprint(a.Signals)
		if a.Type != "motor_pump" || got != "[{running } {thermostat1.temperature °C}]" {
			t.Errorf("p1 = %+v; signals %s, want running once (diamond) and thermostat1.temperature in °C", a, got)
		}
		if a.Attributes["serialNumber"] != "SN-1" || len(a.Parents) != 1 || a.Parents[0].ID != "acme" {
			t.Errorf("p1 attributes %v parents %v", a.Attributes, a.Parents)
		}
	})
}

func TestModelImportDTDL_Problems(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:acme:A;1", "@type": "Interface",
  "contents": [{"@type": "Telemtry", "name": "t", "schema": "double"},
    {"@type": "Telemetry", "name": "u", "schema": "doubel"}]}]`), 0o644)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"model", "import-dtdl", dir}, &stdout, &stderr); code == 0 {
		t.Fatal("import of an invalid set exited 0")
	}
	for _, want := range []string{
		bad + `:2: dtmi:acme:A;1#t: unknown @type "Telemtry"`,
		bad + `:3: dtmi:acme:A;1#u: unknown schema "doubel"`,
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
}
