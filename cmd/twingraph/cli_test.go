package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twingraph/twingraph/internal/lockedbuf"
	"github.com/twingraph/twingraph/internal/testenv"
)

// TestRun_UsageErrors: a mistake in how a command is called exits 2 with
// one line naming the culprit and --help, never the whole usage.
func TestRun_UsageErrors(t *testing.T) {
	t.Setenv("TWIN_MODEL", "")
	for _, tc := range []struct {
		name string
		args []string
		want string // in the one line
	}{
		{"serve without model", []string{"serve", "--redis", "redis://x", "--postgres", "postgres://x"}, "--model FILE required (or set TWIN_MODEL)"},
		{"sync without model", []string{"sync", "--redis", "redis://x", "--postgres", "postgres://x"}, "--model FILE required"},
		{"rebuild without model", []string{"rebuild", "--redis", "redis://x"}, "--model FILE required"},
		{"unknown flag", []string{"serve", "--bogus"}, "flag provided but not defined: -bogus"},
		{"bad flag value", []string{"dev", "--http-", "x"}, "-http-"},
		{"bad duration", []string{"sync", "--stall-after", "soon"}, "-stall-after"},
		{"log format", []string{"dev", "--log-format", "xml"}, "--log-format \"xml\""},
		{"log level", []string{"serve", "--model", "m.yaml", "--log-level", "loud"}, "--log-level \"loud\""},
		{"stray argument", []string{"migrate", "extra"}, "unexpected argument \"extra\""},
		{"model subcommand", []string{"model", "frob"}, "unknown subcommand \"frob\""},
		{"model check arity", []string{"model", "check"}, "want one model FILE"},
		{"unknown command", []string{"frobnicate"}, "unknown command \"frobnicate\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit = %d, want 2; stderr:\n%s", code, stderr.String())
			}
			out := stderr.String()
			if strings.Count(out, "\n") != 1 {
				t.Errorf("stderr is not one line:\n%s", out)
			}
			if !strings.Contains(out, tc.want) || !strings.Contains(out, "--help") {
				t.Errorf("stderr = %q, want it to contain %q and --help", out, tc.want)
			}
		})
	}
}

// TestRun_Help: -h of every command prints its flags (or its synopsis) and exits 0.
func TestRun_Help(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // in stdout+stderr
	}{
		{"serve", []string{"serve", "-h"}, "-shutdown-timeout"},
		{"sync", []string{"sync", "--help"}, "-log-format"},
		{"model", []string{"model", "-h"}, "twingraph model check FILE"},
		{"model check", []string{"model", "check", "-h"}, "Usage: twingraph model check [flags] FILE"},
		{"model import-dtdl", []string{"model", "import-dtdl", "-h"}, "-o string"},
		{"top", []string{"--help"}, "version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &out); code != 0 {
				t.Errorf("exit = %d, want 0:\n%s", code, out.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("help does not mention %q:\n%s", tc.want, out.String())
			}
		})
	}
}

// TestRun_Version: `version` and `--version` name the build and the Go toolchain.
func TestRun_Version(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		t.Run(arg, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), []string{arg}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if !strings.HasPrefix(stdout.String(), "twingraph ") || !strings.Contains(stdout.String(), runtime.Version()) ||
				!strings.Contains(stdout.String(), "revision ") {
				t.Errorf("version = %q", stdout.String())
			}
		})
	}
}

// TestServe_UnmigratedDatabase: the operator is told to migrate, in words
// meant for them (no API error code in front).
func TestServe_UnmigratedDatabase(t *testing.T) {
	pg, rd := testenv.Postgres(t), testenv.Redis(t)
	code, out := runCmd(t, "serve", "--model", "../../examples/plant.yaml", "--http", "127.0.0.1:0",
		"--redis", rd, "--postgres", pg)
	if code != 1 {
		t.Errorf("exit = %d, want 1", code)
	}
	if !strings.HasPrefix(out, "twingraph serve: the PostgreSQL database has no twingraph schema: run `twingraph migrate") {
		t.Errorf("stderr = %q", out)
	}
}

// TestDev_JSONLogs: --log-format json logs one JSON object a line: the
// startup line with the build and model, and request logs at info with the
// route pattern, never the asset id of the path.
func TestDev_JSONLogs(t *testing.T) {
	var stderr lockedbuf.Buffer
	addr := startDevLogs(t, &stderr, "--no-sim", "--log-format", "json", "--log-level", "info")
	getJSON(t, addr, "/twin/"+strings.ReplaceAll("plant/jkt1/packaging/line3", "/", "%2F")+"/events")
	var started, request map[string]any
	eventually(t, 10e9, func() bool {
		started, request = nil, nil
		for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line is not JSON: %q", line)
			}
			switch rec["msg"] {
			case "dev serving":
				started = rec
			case "http request":
				if rec["route"] != "/metrics" {
					request = rec
				}
			}
		}
		return started != nil && request != nil
	})
	if started == nil || started["version"] == nil || started["model"] != "embedded demo plant" {
		t.Errorf("startup log = %v", started)
	}
	if request == nil || request["level"] != "INFO" || request["route"] != "/twin/{id}/events" ||
		request["method"] != "GET" || request["code"] != "200" {
		t.Errorf("request log = %v", request)
	}
	if strings.Contains(stderr.String(), "line3") {
		t.Errorf("an asset id reached the logs:\n%s", stderr.String())
	}
}

// TestDev_ReadmeKcatExample does what the README's kcat example does: a
// sample keyed by its asset and dated now visibly changes the state, and a
// refused one shows in the dead-letter counters by reason.
func TestDev_ReadmeKcatExample(t *testing.T) {
	addr, kafkaAddr := startDev(t, "--no-sim")
	now := time.Now().UTC().Format(time.RFC3339)
	produce(t, kafkaAddr,
		`{"asset":"plant/jkt1/packaging/line3","signal":"speed_units_per_min","value":218,"ts":"`+now+`"}`,
		`{"asset":"plant/jkt1/packaging/line3","signal":"speed","value":1,"ts":"`+now+`"}`)
	var twin struct {
		State struct {
			Mode  string  `json:"mode"`
			Speed float64 `json:"speed_units_per_min"`
		} `json:"state"`
	}
	if !eventually(t, 20*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/twin/plant/jkt1/packaging/line3")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&twin) == nil && twin.State.Speed == 218
	}) {
		t.Fatalf("state after the example: %+v", twin)
	}
	if twin.State.Mode != "RUNNING" {
		t.Errorf("mode = %s, want RUNNING", twin.State.Mode)
	}
	if !eventually(t, 20*time.Second, func() bool {
		_, fams := scrape(t, addr)
		return sample(fams, "twingraph_sync_dlq_total", map[string]string{"reason": "unknown_signal"}) == 1
	}) {
		t.Error("the refused sample is not counted as unknown_signal")
	}
}
