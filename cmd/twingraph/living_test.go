package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/twingraph/twingraph/examples"
	"github.com/twingraph/twingraph/internal/lockedbuf"
	"github.com/twingraph/twingraph/internal/testenv"
)

const line3New = "plant/jkt1/packaging/line3-glass"

// renamedPlant is the demo plant with line 3 renamed (its old id kept as an
// alias); its children still name it as parent by the old id, and the
// signal map still maps plc-17's tags to the old id: both resolve.
func renamedPlant(t *testing.T, extra string) []byte {
	t.Helper()
	old := "  - id: " + line3ID + "\n    name: Line 3 (glass 330 ml)\n"
	if !bytes.Contains(examples.PlantYAML, []byte(old)) {
		t.Fatalf("the demo plant no longer declares %s as expected", line3ID)
	}
	repl := "  - id: " + line3New + "\n    aliases: [" + line3ID + "]\n" + extra + "    name: Line 3 (glass 330 ml)\n"
	return bytes.Replace(examples.PlantYAML, []byte(old), []byte(repl), 1)
}

// readyModel returns the model stamp /readyz shows.
func readyModel(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	_, stamp, _ := strings.Cut(strings.TrimSpace(string(b)), "model=")
	return stamp
}

// reloadWith writes the model file and sends SIGHUP, then waits until
// /readyz shows a model other than before.
func reloadWith(t *testing.T, addr, path string, data []byte) string {
	t.Helper()
	before := readyModel(t, addr)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	var now string
	if !eventually(t, 20*time.Second, func() bool { now = readyModel(t, addr); return now != before }) {
		t.Fatalf("/readyz still shows model %s after SIGHUP", before)
	}
	return now
}

// sseStream starts a GraphQL subscription over SSE and returns the
// data of each `next` event on a channel.
func sseStream(t *testing.T, addr, query string) <-chan json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan json.RawMessage, 16)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		next := false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "event: next":
				next = true
			case next && strings.HasPrefix(line, "data: "):
				next = false
				var msg struct{ Data json.RawMessage }
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &msg) == nil {
					out <- msg.Data
				}
			}
		}
	}()
	return out
}

// dlqReasons reads the dead-letter topic's reason headers.
func dlqReasons(t *testing.T, brokers string, want int) []string {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": brokers, "group.id": fmt.Sprintf("dlq-%d", time.Now().UnixNano()),
		"auto.offset.reset": "earliest", "enable.metrics.push": false})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe("telemetry.dlq", nil); err != nil {
		t.Fatal(err)
	}
	var reasons []string
	deadline := time.Now().Add(20 * time.Second)
	for len(reasons) < want && time.Now().Before(deadline) {
		m, err := c.ReadMessage(500 * time.Millisecond)
		if err != nil {
			continue
		}
		for _, h := range m.Headers {
			if h.Key == "reason" {
				reasons = append(reasons, string(h.Value))
			}
		}
	}
	return reasons
}

// TestDev_RenameAndRetireLine3 is issue 13's "done when" for the living
// model, on `dev` with private Redis and PostgreSQL: line 3 is renamed in
// the model file (its old id kept as an alias) and the model reloaded by
// SIGHUP; its history, events, event cursors and a modeChanged subscription
// opened under the old id carry on under the new id, telemetry still keyed
// by the old id is accepted under the new one, and its state carries over
// (the next mode change has the right duration). Then line 3 is retired:
// new telemetry is dead-lettered as retired while history and events stay
// queryable, and it leaves its area's children.
func TestDev_RenameAndRetireLine3(t *testing.T) {
	pg := migratedPostgres(t)
	rd := testenv.Redis(t)
	ns := testenv.RedisNamespace(t)
	path := filepath.Join(t.TempDir(), "plant.yaml")
	if err := os.WriteFile(path, examples.PlantYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	// SIGHUP only: the reloads below are the signal's doing.
	httpAddr, kafkaAddr := startDev(t, "--no-sim", "--redis", rd, "--postgres", pg, "--namespace", ns,
		"--model", path, "--model-watch", "0")
	first := readyModel(t, httpAddr)
	if first == "" {
		t.Fatal("/readyz names no model")
	}

	// Line 3 goes IDLE at 06:00, RUNNING at 06:01, under its first id.
	produce(t, kafkaAddr, line3Sample(0, "power_on", "true"), line3Sample(0, "speed_units_per_min", "0"), line3Sample(0, "fault_codes", "[]"))
	produce(t, kafkaAddr, line3Sample(1, "speed_units_per_min", "120"))
	type event struct {
		Cursor string
		Node   struct{ Asset, FromMode, ToMode, TS string }
	}
	type assetPage struct {
		Asset *struct {
			ID      string
			Aliases []string
			Retired bool
			State   *struct{ Mode, Model string }
			Events  struct{ Edges []event }
			History struct {
				Points []struct{ Value *float64 }
			}
		}
	}
	query := func(id, after string) assetPage {
		var p assetPage
		afterArg := ""
		if after != "" {
			afterArg = fmt.Sprintf(`, after: %q`, after)
		}
		graphql(t, httpAddr, fmt.Sprintf(`{ asset(id: %q) { id aliases retired state { mode model }
			events(first: 100, kinds: [MODE_CHANGED]%s) { edges { cursor node { asset fromMode toMode ts } } }
			history(metric: "speed_units_per_min", from: "2026-11-24T00:00:00Z", to: "2026-11-25T00:00:00Z") { points { value } } } }`, id, afterArg), &p)
		return p
	}
	var before assetPage
	if !eventually(t, 20*time.Second, func() bool {
		before = query(line3ID, "")
		e := before.Asset.Events.Edges
		return len(e) == 2 && e[1].Node.ToMode == "RUNNING" && len(before.Asset.History.Points) == 2
	}) {
		t.Fatalf("line3 never reached RUNNING with two speed samples: %+v", before.Asset)
	}
	cursor := before.Asset.Events.Edges[1].Cursor

	// A subscription under the old id, open across the rename.
	// It resumes after the last change before the rename, so nothing is
	// missed however late the gateway registers it.
	sub := sseStream(t, httpAddr, `subscription { modeChanged(under: "`+line3ID+`", after: "`+cursor+`") { assetId fromMode toMode ts durationSeconds } }`)
	// It is registered once the gateway's stream is counted.
	eventually(t, 10*time.Second, func() bool {
		_, fams := scrape(t, httpAddr)
		return sample(fams, "twingraph_subscriptions_active", map[string]string{"protocol": "sse"}) == 1
	})

	renamed := reloadWith(t, httpAddr, path, renamedPlant(t, ""))
	if renamed == first {
		t.Fatalf("the model stamp did not change on rename: %s", renamed)
	}
	// A device not yet reconfigured still sends under the old id.
	produce(t, kafkaAddr, line3Sample(2, "speed_units_per_min", "0"))
	select {
	case data := <-sub:
		var m struct {
			ModeChanged struct {
				AssetID, FromMode, ToMode, TS string
				DurationSeconds               *float64
			}
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		mc := m.ModeChanged
		if mc.AssetID != line3New || mc.FromMode != "RUNNING" || mc.ToMode != "IDLE" || mc.TS != "2026-11-24T06:02:00Z" ||
			mc.DurationSeconds == nil || *mc.DurationSeconds != 60 {
			t.Fatalf("change after the rename = %+v, want %s RUNNING→IDLE at 06:02 after 60 s (the state carried over)", mc, line3New)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the subscription opened under the old id got nothing after the rename")
	}

	// History and events under both ids answer under the new id.
	for _, id := range []string{line3New, line3ID} {
		var p assetPage
		if !eventually(t, 20*time.Second, func() bool {
			p = query(id, "")
			return p.Asset != nil && len(p.Asset.Events.Edges) == 3 && len(p.Asset.History.Points) == 3
		}) {
			t.Fatalf("asset(id: %s) = %+v, want 3 mode changes and 3 speed samples", id, p.Asset)
		}
		if p.Asset.ID != line3New || len(p.Asset.Aliases) != 1 || p.Asset.Aliases[0] != line3ID || p.Asset.State == nil ||
			p.Asset.State.Mode != "IDLE" || p.Asset.State.Model != renamed {
			t.Errorf("asset(id: %s) = %+v, want id %s with alias %s, IDLE, computed under model %s", id, p.Asset, line3New, line3ID, renamed)
		}
		for i, e := range p.Asset.Events.Edges {
			if e.Node.Asset != line3New {
				t.Errorf("event %d is under %q, want %s", i, e.Node.Asset, line3New)
			}
			if i < 2 && e.Cursor != before.Asset.Events.Edges[i].Cursor {
				t.Errorf("event %d cursor changed across the rename", i)
			}
		}
	}
	// A cursor taken before the rename pages on after it.
	if p := query(line3New, cursor); len(p.Asset.Events.Edges) != 1 || p.Asset.Events.Edges[0].Node.ToMode != "IDLE" {
		t.Errorf("events after the pre-rename cursor = %+v, want the one IDLE change", p.Asset.Events.Edges)
	}
	// REST under the old id.
	var rest series
	if err := json.Unmarshal(getJSON(t, httpAddr, "/twin/"+url.PathEscape(line3ID)+"/history?metric=speed_units_per_min&from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z"), &rest); err != nil {
		t.Fatal(err)
	}
	if len(rest.Points) != 3 {
		t.Errorf("REST history under the old id = %d points, want 3", len(rest.Points))
	}

	// The area's rollup and listing count it while it is in service.
	type areaPage struct {
		Asset struct {
			Children []struct{ ID string }
			Rollup   struct {
				ByMode []struct {
					Mode  string
					Count int
				}
			}
		}
		Assets struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	area := func() (p areaPage, idle int, listed bool) {
		graphql(t, httpAddr, `{ asset(id: "plant/jkt1/packaging") { children { id } rollup { byMode { mode count } } }
			assets(under: "plant/jkt1", first: 100) { edges { node { id } } } }`, &p)
		for _, m := range p.Asset.Rollup.ByMode {
			if m.Mode == "IDLE" {
				idle = m.Count
			}
		}
		for _, e := range p.Assets.Edges {
			listed = listed || e.Node.ID == line3New
		}
		for _, c := range p.Asset.Children {
			listed = listed || c.ID == line3New
		}
		return p, idle, listed
	}
	if _, idle, listed := area(); idle != 1 || !listed {
		t.Errorf("before retiring: the area's rollup counts %d IDLE, listed %v; want line 3 in both", idle, listed)
	}

	// Retire it from 06:03: a later sample is dead-lettered as retired.
	reloadWith(t, httpAddr, path, renamedPlant(t, "    retiredAt: 2026-11-24T06:03:00Z\n"))
	produce(t, kafkaAddr, `{"asset":"`+line3New+`","signal":"speed_units_per_min","value":99,"ts":"2026-11-24T06:04:00Z"}`)
	if !eventually(t, 20*time.Second, func() bool {
		_, fams := scrape(t, httpAddr)
		return sample(fams, "twingraph_sync_dlq_total", map[string]string{"reason": "retired"}) == 1
	}) {
		t.Fatal("telemetry of the retired line was not dead-lettered as retired")
	}
	if r := dlqReasons(t, kafkaAddr, 1); len(r) != 1 || !strings.HasPrefix(r[0], "retired: ") {
		t.Errorf("dead-letter reasons = %q, want one retired", r)
	}
	p := query(line3New, "")
	if !p.Asset.Retired || len(p.Asset.Events.Edges) != 3 || len(p.Asset.History.Points) != 3 {
		t.Errorf("retired line = %+v, want retired with its 3 events and 3 samples", p.Asset)
	}
	if _, idle, listed := area(); idle != 0 || listed {
		t.Errorf("after retiring: the area's rollup counts %d IDLE, listed %v; want the retired line in neither", idle, listed)
	}
}

// TestModelDiff: diff(1)'s exit codes (0 equal, 1 different, 2 trouble),
// the text and JSON forms, and check's version and hash.
func TestModelDiff(t *testing.T) {
	dir := t.TempDir()
	oldPath, newPath, badPath := filepath.Join(dir, "old.yaml"), filepath.Join(dir, "new.yaml"), filepath.Join(dir, "bad.yaml")
	os.WriteFile(oldPath, examples.PlantYAML, 0o644)
	os.WriteFile(newPath, append([]byte("version: 2026-12.1\n"), renamedPlant(t, "    retired: true\n")...), 0o644)
	os.WriteFile(badPath, []byte("types: {a: {signals: [{name: x, kind: blob}]}}\n"), 0o644)

	code, out := runCmd(t, "model", "check", newPath)
	if code != 0 || !regexp.MustCompile(`ok \(\d+ assets, 1 roots\) model=2026-12\.1@[0-9a-f]{12}\n`).MatchString(out) {
		t.Errorf("model check = %d %q, want the version and hash", code, out)
	}
	if code, out := runCmd(t, "model", "diff", oldPath, oldPath); code != 0 || strings.Contains(out, "~") {
		t.Errorf("diff of a file with itself = %d %q", code, out)
	}
	code, out = runCmd(t, "model", "diff", oldPath, newPath)
	for _, want := range []string{"~ asset " + line3ID + " renamed to " + line3New, "~ asset " + line3New + " retired", "models differ"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff output lacks %q:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("diff of different models exited %d, want 1", code)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"model", "diff", "--format", "json", oldPath, newPath}, &stdout, &stderr); code != 1 {
		t.Errorf("json diff exited %d", code)
	}
	var doc struct {
		Old, New string
		Equal    bool
		Changes  []struct{ Kind, Asset, From, To string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("json diff: %v\n%s", err, stdout.String())
	}
	if doc.Equal || len(doc.Changes) < 2 || doc.Changes[0].Kind != "asset_renamed" || doc.Changes[0].From != line3ID || !strings.HasPrefix(doc.New, "2026-12.1@") {
		t.Errorf("json diff = %+v", doc)
	}
	for _, args := range [][]string{{"model", "diff", oldPath}, {"model", "diff", oldPath, badPath}, {"model", "diff", "--format", "xml", oldPath, newPath}} {
		if code, out := runCmd(t, args...); code != 2 {
			t.Errorf("%v exited %d, want 2: %s", args, code, out)
		}
	}
	if _, out := runCmd(t, "model", "diff", oldPath, badPath); !strings.Contains(out, badPath+":1: ") {
		t.Errorf("an invalid file is not reported as FILE:LINE:\n%s", out)
	}
}

// TestDev_ReloadRefusesBadModel: a model file edited into an invalid one is
// refused on the next look (file watch): the FILE:LINE problem is logged,
// the refusal counted, and the previous model stays in service; fixing the
// file brings the new model in.
func TestDev_ReloadRefusesBadModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plant.yaml")
	os.WriteFile(path, examples.PlantYAML, 0o644)
	var stderr lockedbuf.Buffer
	addr := startDevLogs(t, &stderr, "--no-sim", "--model", path, "--model-watch", "50ms", "--log-level", "info")
	first := readyModel(t, addr)

	bad := bytes.Replace(examples.PlantYAML, []byte("type: packaging_line\n"), []byte("type: packaging_lin\n"), 1)
	os.WriteFile(path, bad, 0o644)
	if !eventually(t, 20*time.Second, func() bool {
		_, fams := scrape(t, addr)
		return sample(fams, "twingraph_model_reload_errors_total", nil) == 1
	}) {
		t.Fatalf("the bad model was not counted; log:\n%s", stderr.String())
	}
	if !regexp.MustCompile(regexp.QuoteMeta(path) + `:\d+: asset .*unknown type`).MatchString(stderr.String()) {
		t.Errorf("the log does not give the problem as FILE:LINE:\n%s", stderr.String())
	}
	if now := readyModel(t, addr); now != first {
		t.Errorf("/readyz shows %s after a refused reload, want %s", now, first)
	}
	var st line3State
	graphql(t, addr, line3Query, &st)
	if st.Asset.Type != "packaging_line" {
		t.Errorf("line 3 after a refused reload: %+v", st.Asset)
	}

	os.WriteFile(path, renamedPlant(t, ""), 0o644)
	if !eventually(t, 20*time.Second, func() bool { return readyModel(t, addr) != first }) {
		t.Fatal("the fixed model was never loaded")
	}
	var p struct{ Asset struct{ ID string } }
	graphql(t, addr, `{ asset(id: "`+line3ID+`") { id } }`, &p)
	if p.Asset.ID != line3New {
		t.Errorf("asset(id: old) = %q after the reload, want %s", p.Asset.ID, line3New)
	}
	if !strings.Contains(stderr.String(), "model reloaded") {
		t.Errorf("the reload was not logged:\n%s", stderr.String())
	}
}
