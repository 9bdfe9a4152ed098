package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/twingraph/twingraph/internal/lockedbuf"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/internal/testmodel"
)

// startDev runs `twingraph dev` in-process on free ports and returns the
// gateway and broker addresses from its ready line. It stops at cleanup.
func startDev(t *testing.T, extra ...string) (httpAddr, kafkaAddr string) {
	t.Helper()
	httpAddr, kafkaAddr, stop := startDevStoppable(t, extra...)
	t.Cleanup(stop)
	return httpAddr, kafkaAddr
}

// startDevLogs is startDev logging to stderr; it returns the gateway address.
func startDevLogs(t *testing.T, stderr *lockedbuf.Buffer, extra ...string) (httpAddr string) {
	t.Helper()
	httpAddr, _, stop := startDevOut(t, stderr, extra...)
	t.Cleanup(stop)
	return httpAddr
}

// startDevStoppable is startDev returning a stop function for restart tests.
func startDevStoppable(t *testing.T, extra ...string) (httpAddr, kafkaAddr string, stop func()) {
	t.Helper()
	return startDevOut(t, &lockedbuf.Buffer{}, extra...)
}

func startDevOut(t *testing.T, stderr *lockedbuf.Buffer, extra ...string) (httpAddr, kafkaAddr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	args := append([]string{"dev", "--http", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0", "--log-level", "warn"}, extra...)
	go func() { done <- run(ctx, args, pw, stderr); pw.Close() }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("dev exited %d: %s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("dev did not stop")
		}
	}
	addrs, err := testenv.ReadyLine(pr, "http", "kafka")
	if err != nil {
		stop()
		t.Fatalf("dev: %v; stderr: %s", err, stderr.String())
	}
	return addrs[0], addrs[1], stop
}

// produce sends telemetry messages with the production client and waits for delivery.
func produce(t *testing.T, brokers string, msgs ...string) {
	t.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": brokers, "enable.metrics.push": false, "linger.ms": 0})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	topic := "telemetry"
	deliveries := make(chan kafka.Event, len(msgs))
	for _, m := range msgs {
		var key struct{ Asset, Device string }
		_ = json.Unmarshal([]byte(m), &key)
		k := key.Asset + key.Device
		if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key: []byte(k), Value: []byte(m)}, deliveries); err != nil {
			t.Fatal(err)
		}
	}
	for range msgs {
		select {
		case e := <-deliveries:
			if m, ok := e.(*kafka.Message); ok && m.TopicPartition.Error != nil {
				t.Fatal(m.TopicPartition.Error)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("delivery timed out")
		}
	}
}

// gqlError is one error of a GraphQL answer.
type gqlError struct {
	Message    string
	Extensions map[string]any
}

// postGraphQL posts a query and returns the answer's data and errors.
func postGraphQL(t *testing.T, addr, query string) (json.RawMessage, []gqlError) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	resp, err := http.Post("http://"+addr+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data   json.RawMessage
		Errors []gqlError
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r.Data, r.Errors
}

// graphql posts a query and decodes data into out; GraphQL errors fail the test.
func graphql(t *testing.T, addr, query string, out any) {
	t.Helper()
	data, errs := postGraphQL(t, addr, query)
	if len(errs) > 0 {
		t.Fatalf("graphql errors: %+v", errs)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}

type line3State struct {
	Asset struct {
		Type  string
		State *struct {
			Mode       string
			UpdatedAt  string
			FaultCodes []string
			Batch      string
			Press      *struct {
				Value float64
				Unit  string
			}
		}
	}
}

const line3Query = `{ asset(id: "plant/jkt1/packaging/line3") { type state { mode updatedAt faultCodes batch
  press: metric(name: "press1_bar") { value unit } } } }`

// eventually polls f until it returns true or the deadline passes.
func eventually(t *testing.T, within time.Duration, f func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if f() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func TestDev_TelemetryReachesGraphQL(t *testing.T) {
	httpAddr, kafkaAddr := startDev(t, "--no-sim")

	var before line3State
	graphql(t, httpAddr, line3Query, &before)
	if before.Asset.Type != "packaging_line" {
		t.Fatalf("line3 type = %q", before.Asset.Type)
	}
	if before.Asset.State != nil && before.Asset.State.Mode != "UNKNOWN" {
		t.Fatalf("mode before any telemetry = %q, want UNKNOWN or no state", before.Asset.State.Mode)
	}

	ts := "2026-11-24T06:00:00Z"
	produce(t, kafkaAddr,
		fmt.Sprintf(`[{"asset":"plant/jkt1/packaging/line3","signal":"power_on","value":true,"ts":%q},
		  {"asset":"plant/jkt1/packaging/line3","signal":"speed_units_per_min","value":218,"ts":%q}]`, ts, ts),
		`{"device":"plc-17","tag":"1024","value":542,"ts":1795500000123}`,
		`{"asset":"plant/jkt1/packaging/line3","signal":"fault_codes","value":["E42"],"ts":"2026-11-24T06:00:05Z"}`,
	)

	var got line3State
	ok := eventually(t, 20*time.Second, func() bool {
		graphql(t, httpAddr, line3Query, &got)
		s := got.Asset.State
		return s != nil && s.Mode == "FAULT" && s.Press != nil
	})
	if !ok {
		t.Fatalf("state never showed the telemetry: %+v", got.Asset.State)
	}
	s := got.Asset.State
	if s.Press.Unit != "bar" || s.Press.Value != 5.42 {
		t.Errorf("press1_bar = %+v, want 5.42 bar (raw 542 through the signal map)", *s.Press)
	}
	if len(s.FaultCodes) != 1 || s.FaultCodes[0] != "E42" {
		t.Errorf("faultCodes = %v", s.FaultCodes)
	}
	// updatedAt is the newest sample's time, not the wall clock.
	if want := "2026-11-24T06:00:05Z"; s.UpdatedAt != want {
		t.Errorf("updatedAt = %q, want %q", s.UpdatedAt, want)
	}
}

func TestDev_SimulatorKeepsStateFresh(t *testing.T) {
	httpAddr, _ := startDev(t)
	var first line3State
	if !eventually(t, 15*time.Second, func() bool {
		graphql(t, httpAddr, line3Query, &first)
		return first.Asset.State != nil && first.Asset.State.Press != nil && first.Asset.State.UpdatedAt != ""
	}) {
		t.Fatal("simulated line3 state never appeared")
	}
	modes := map[string]bool{"RUNNING": true, "IDLE": true, "FAULT": true, "STOP": true, "UNKNOWN": true}
	if !modes[first.Asset.State.Mode] {
		t.Errorf("mode = %q", first.Asset.State.Mode)
	}
	var second line3State
	if !eventually(t, 10*time.Second, func() bool {
		graphql(t, httpAddr, line3Query, &second)
		return second.Asset.State.UpdatedAt > first.Asset.State.UpdatedAt
	}) {
		t.Errorf("updatedAt did not advance from %s", first.Asset.State.UpdatedAt)
	}
}

func TestDev_DAGHasSharedMachine(t *testing.T) {
	httpAddr, _ := startDev(t, "--no-sim")
	var got struct {
		Roots []struct {
			ID          string
			Descendants []struct {
				ID      string
				Parents []struct{ ID string }
			}
		}
	}
	graphql(t, httpAddr, `{ roots { id descendants { id parents { id } } } }`, &got)
	if len(got.Roots) == 0 {
		t.Fatal("no roots")
	}
	for _, r := range got.Roots {
		seen := map[string]bool{}
		shared := 0
		for _, d := range r.Descendants {
			if seen[d.ID] {
				t.Errorf("%s listed twice under %s", d.ID, r.ID)
			}
			seen[d.ID] = true
			if len(d.Parents) > 1 {
				shared++
			}
		}
		if r.ID == "plant/jkt1" && (len(seen) < 17 || shared == 0) {
			t.Errorf("plant has %d descendants, %d with two parents", len(seen), shared)
		}
	}
}

func TestModelCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "cycle.yaml")
	os.WriteFile(bad, []byte(`types:
  site: {}
  area: {}
assets:
  - id: a
    type: site
    parents: [b]
  - id: b
    type: area
    parents: [a]
`), 0o644)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"model", "check", bad}, &stdout, &stderr)
	if code == 0 {
		t.Fatalf("model check on a cycle exited 0: %s", stdout.String())
	}
	if !regexp.MustCompile(regexp.QuoteMeta(bad) + `:\d+: .*cycle`).MatchString(stderr.String()) {
		t.Errorf("stderr does not name the file, a line and the cycle:\n%s", stderr.String())
	}

	stdout.Reset()
	stderr.Reset()
	good := filepath.Join(dir, "plant.yaml")
	data, _ := os.ReadFile("../../examples/plant.yaml")
	os.WriteFile(good, data, 0o644)
	if code := run(context.Background(), []string{"model", "check", good}, &stdout, &stderr); code != 0 {
		t.Fatalf("demo model check exited %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "ok") {
		t.Errorf("stdout = %q", stdout.String())
	}
}

func TestParseFlags_EnvTwin(t *testing.T) {
	t.Setenv("TWIN_KAFKA_LISTEN", "127.0.0.1:19092")
	t.Setenv("TWIN_NO_SIM", "true")
	t.Setenv("TWIN_HTTP", "127.0.0.1:18080")
	fs := newFlagSet("dev", io.Discard)
	listen := fs.String("kafka-listen", "127.0.0.1:9092", "")
	noSim := fs.Bool("no-sim", false, "")
	httpAddr := fs.String("http", "127.0.0.1:8080", "")
	if err := parseFlags(fs, []string{"--http", "127.0.0.1:28080"}); err != nil {
		t.Fatal(err)
	}
	if *listen != "127.0.0.1:19092" || !*noSim {
		t.Errorf("env twins not applied: kafka-listen=%q no-sim=%v", *listen, *noSim)
	}
	if *httpAddr != "127.0.0.1:28080" {
		t.Errorf("command line must win over env: http=%q", *httpAddr)
	}

	t.Setenv("TWIN_NO_SIM", "maybe")
	fs = newFlagSet("dev", io.Discard)
	fs.Bool("no-sim", false, "")
	if err := parseFlags(fs, nil); err == nil || !strings.Contains(err.Error(), "TWIN_NO_SIM") {
		t.Errorf("bad env value error = %v, want one naming TWIN_NO_SIM", err)
	}

	t.Setenv("TWIN_POSTGRES", "")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"migrate"}, &stdout, &stderr); code == 0 {
		t.Fatal("migrate without --postgres exited 0")
	}
	if !strings.Contains(stderr.String(), "TWIN_POSTGRES") {
		t.Errorf("error does not name the env twin: %s", stderr.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit = %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "unknown command") {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestModelImportDTDL(t *testing.T) {
	out := filepath.Join(t.TempDir(), "plant.yaml")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"model", "import-dtdl", "../../hierarchy/testdata/plant.adt.json", "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("import-dtdl exited %d: %s", code, stderr.String())
	}
	// The imported model is a valid model file.
	stdout.Reset()
	if code := run(context.Background(), []string{"model", "check", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("check of the imported model exited %d: %s", code, stderr.String())
	}
	if code := run(context.Background(), []string{"model", "import-dtdl", "main_test.go"}, &stdout, &stderr); code == 0 {
		t.Error("import-dtdl of a Go file exited 0")
	}
}

// TestDev_ServesImportedDTDLSet: a large multi-file DTDL set (diamonds,
// components, extends across files, BOMs) and its twins import in one
// command, pass model check, and serve in dev with telemetry flowing.
func TestDev_ServesImportedDTDLSet(t *testing.T) {
	dir := t.TempDir()
	models, twins := testmodel.WriteDTDLSet(t, dir)
	out := filepath.Join(dir, "acme.yaml")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"model", "import-dtdl", "--contains", "feeds", "-o", out, models, twins}, &stdout, &stderr); code != 0 {
		t.Fatalf("import-dtdl exited %d: %s", code, stderr.String())
	}
	if code := run(context.Background(), []string{"model", "check", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("model check exited %d: %s", code, stderr.String())
	}
	httpAddr, kafkaAddr := startDev(t, "--no-sim", "--model", out)
	var site struct {
		Asset struct {
			Descendants []struct{ ID string }
		}
	}
	graphql(t, httpAddr, `{ asset(id: "acme") { descendants { id } } }`, &site)
	if n := len(site.Asset.Descendants); n != 196 {
		t.Errorf("acme has %d descendants, want 196 (4 lines, 192 machines)", n)
	}
	// A machine of the diamond (MotorPump over Pump and Motor over Asset)
	// with a flattened component signal takes telemetry.
	produce(t, kafkaAddr, `{"asset":"acme/l0/m0","signal":"ctl.temperature","value":41.5,"ts":"2026-11-24T08:00:00Z"}`,
		`{"asset":"acme/l0/m0","signal":"flow","value":3.25,"ts":"2026-11-24T08:00:00Z"}`)
	var m0 struct {
		Asset struct {
			Parents []struct{ ID string }
			State   *struct {
				Temp struct{ Value float64 }
				Flow struct{ Value float64 }
			}
		}
	}
	if !eventually(t, 10*time.Second, func() bool {
		graphql(t, httpAddr, `{ asset(id: "acme/l0/m0") { parents { id } state { temp: metric(name: "ctl.temperature") { value } flow: metric(name: "flow") { value } } } }`, &m0)
		return m0.Asset.State != nil && m0.Asset.State.Temp.Value == 41.5 && m0.Asset.State.Flow.Value == 3.25
	}) {
		t.Fatalf("m0's telemetry never reached its state: %+v", m0.Asset.State)
	}
	if len(m0.Asset.Parents) != 2 {
		t.Errorf("m0 parents = %v, want l0 and l1 (--contains feeds)", m0.Asset.Parents)
	}
}

func TestDev_MaxPageSize(t *testing.T) {
	httpAddr, _ := startDev(t, "--no-sim", "--max-page-size", "5")
	query := func(first int) []map[string]any {
		body, _ := json.Marshal(map[string]string{"query": fmt.Sprintf(`{ asset(id: "plant/jkt1/packaging/line3") { events(first: %d) { pageInfo { hasNextPage } } } }`, first)})
		resp, err := http.Post("http://"+httpAddr+"/graphql", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct{ Errors []map[string]any }
		json.NewDecoder(resp.Body).Decode(&r)
		return r.Errors
	}
	if errs := query(5); len(errs) != 0 {
		t.Errorf("first: 5 refused: %v", errs)
	}
	errs := query(6)
	if len(errs) == 0 {
		t.Fatal("first: 6 accepted with --max-page-size 5")
	}
	if ext, _ := errs[0]["extensions"].(map[string]any); ext["code"] != "LIMIT" && ext["code"] != "BAD_INPUT" {
		t.Errorf("error = %v, want extensions.code LIMIT", errs[0])
	}
	resp, err := http.Get("http://" + httpAddr + "/twin/plant/jkt1/packaging/line3/events?first=6")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("REST first=6: status %d, want 400", resp.StatusCode)
	}
}

func TestDev_Limits(t *testing.T) {
	t.Setenv("TWIN_MAX_QUERY_FIELDS", "2")
	httpAddr, _ := startDev(t, "--no-sim", "--max-body-bytes", "512")
	post := func(body string) (int, string) {
		resp, err := http.Post("http://"+httpAddr+"/graphql", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if _, b := post(`{"query":"{ asset(id: \"plant/jkt1\") { id name type } }"}`); !strings.Contains(b, `"limit":"fields"`) {
		t.Errorf("three fields with TWIN_MAX_QUERY_FIELDS=2: %s", b)
	}
	if code, b := post(`{"query":"{ __typename }","pad":"` + strings.Repeat("x", 600) + `"}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("600-byte body with --max-body-bytes 512: %d %s", code, b)
	}
}
