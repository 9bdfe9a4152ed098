package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twingraph/twingraph/examples"
	"github.com/twingraph/twingraph/internal/testenv"
)

// browserDir is the npm project that drives headless Debian chromium
// (puppeteer-core, no browser download); `make npm-deps` installs it.
const browserDir = "../../gateway/testdata/browser"

// The pages against `dev`: a scripted shift goes through the broker with
// the production Kafka client and the sync worker, then headless chromium
// loads /handover and /overview (and an asset page) and checks what they
// show against the script: modes, faults, units and OEE, time by mode, the
// event timeline, the copied handover text, sparklines and zoomable charts.
// New mode changes must appear without a reload (the wait for each is
// bounded at 2 s), and after a dropped connection the timeline resumes from
// its cursor: an event produced while the page was cut off appears once.
// Screenshots go to $TWIN_TEST_ARTIFACTS (else a temporary directory).
func TestDev_Pages(t *testing.T) {
	node := testenv.Node(t, browserDir, "puppeteer-core")
	chromium := testenv.Tool(t, "chromium", "apt-get install chromium")
	shots := os.Getenv("TWIN_TEST_ARTIFACTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// The demo plant with a shift calendar whose shift A began two hours ago,
	// so the scripted shift lies inside the shift in force.
	jkt, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	shiftFrom := time.Now().In(jkt).Add(-2 * time.Hour).Truncate(time.Minute)
	start := func(d time.Duration) string { return shiftFrom.Add(d).Format("15:04") }
	model := strings.Replace(string(examples.PlantYAML), `    shifts:
      - {name: A, start: "06:00"}
      - {name: B, start: "14:00"}
      - {name: C, start: "22:00"}
`, fmt.Sprintf(`    shifts:
      - {name: A, start: %q}
      - {name: B, start: %q}
      - {name: C, start: %q}
`, start(0), start(8*time.Hour), start(16*time.Hour)), 1)
	if model == string(examples.PlantYAML) {
		t.Fatal("the demo plant's shifts block changed; update this test")
	}
	modelFile := filepath.Join(t.TempDir(), "plant.yaml")
	if err := os.WriteFile(modelFile, []byte(model), 0o644); err != nil {
		t.Fatal(err)
	}
	httpAddr, kafkaAddr := startDev(t, "--model", modelFile, "--no-sim")

	const (
		site   = "plant/jkt1"
		line1  = "plant/jkt1/packaging/line1"
		line2  = "plant/jkt1/packaging/line2"
		line3  = "plant/jkt1/packaging/line3"
		filler = "plant/jkt1/packaging/line3/filler"
		cooker = "plant/jkt1/processing/cooking"
	)
	msg := func(asset, signal string, value any, at time.Time) string {
		b, _ := json.Marshal(map[string]any{"asset": asset, "signal": signal, "value": value, "ts": at.UTC().Format(time.RFC3339Nano)})
		return string(b)
	}
	at := func(m int) time.Time { return shiftFrom.Add(time.Duration(m) * time.Minute) }
	// Line 3 runs from minute 5, stops on fault E42 from 60 to 75, runs
	// again and faults on J7 at 100 (still active); its filler faults on F3 at
	// 110. Line 1 idles, line 2 is switched off; the cooking line never
	// reports.
	produce(t, kafkaAddr,
		msg(line3, "power_on", true, at(5)), msg(line3, "fault_codes", []string{}, at(5)),
		msg(line3, "product", "Lager 330", at(5)), msg(line3, "batch", "L-0412", at(5)),
		msg(line3, "total_units", 0, at(5)), msg(line3, "good_units", 0, at(5)),
		msg(line3, "speed_units_per_min", 200, at(5)),
		msg(line3, "total_units", 11000, at(60)), msg(line3, "good_units", 10800, at(60)),
		msg(line3, "fault_codes", []string{"E42"}, at(60)),
		msg(line3, "fault_codes", []string{}, at(75)), msg(line3, "speed_units_per_min", 210, at(75)),
		msg(line3, "total_units", 16000, at(100)), msg(line3, "good_units", 15700, at(100)),
		msg(line3, "speed_units_per_min", 205, at(100)),
		msg(line3, "fault_codes", []string{"J7"}, at(100)),
		msg(filler, "power_on", true, at(5)), msg(filler, "speed_units_per_min", 200, at(5)),
		msg(filler, "fault_codes", []string{"F3"}, at(110)),
		msg(line1, "power_on", true, at(5)), msg(line1, "speed_units_per_min", 0, at(5)),
		msg(line2, "power_on", false, at(5)),
	)
	var report struct {
		ShiftReport struct {
			Assets []struct {
				AssetID       string
				OEE           *float64
				UnitsProduced *float64
			}
		}
	}
	// Each asset's state is written by its own partition's worker: wait for
	// the last sample of every scripted asset.
	if !eventually(t, 30*time.Second, func() bool {
		type state struct {
			State *struct {
				Mode       string
				FaultCodes []string
			}
		}
		var s struct{ L1, L2, L3, Filler state }
		graphql(t, httpAddr, fmt.Sprintf(`{ l1: asset(id: %q) { ...S } l2: asset(id: %q) { ...S } l3: asset(id: %q) { ...S }
			filler: asset(id: %q) { ...S } } fragment S on Asset { state { mode faultCodes } }`, line1, line2, line3, filler), &s)
		is := func(a state, mode, faults string) bool {
			return a.State != nil && a.State.Mode == mode && strings.Join(a.State.FaultCodes, ",") == faults
		}
		return is(s.L1, "IDLE", "") && is(s.L2, "STOP", "") && is(s.L3, "FAULT", "J7") && is(s.Filler, "FAULT", "F3")
	}) {
		t.Fatal("the scripted shift did not reach the state store")
	}

	px := startProxy(t, httpAddr)
	b := startBrowser(t, node, chromium, "http://"+px.addr())
	base := "http://" + px.addr()

	t.Run("handover", func(t *testing.T) {
		b.do(t, "goto", "url", base+"/handover")
		b.wait(t, `document.querySelector('#live-status')?.dataset.status === 'live' && document.querySelectorAll('article.line').length === 4`, 15*time.Second)
		graphql(t, httpAddr, fmt.Sprintf(`{ shiftReport(under: %q, from: %q, to: %q) { assets { assetId oee unitsProduced } } }`,
			site, shiftFrom.UTC().Format(time.RFC3339), shiftFrom.Add(8*time.Hour).UTC().Format(time.RFC3339)), &report)

		var page struct {
			Shift, From string
			Lines       map[string]struct {
				Mode, OEE, Units string
				Below            map[string]string
				Bar              map[string]float64
				Faults           map[string]struct {
					Count, Seconds string
					Active         bool
				}
			}
			Timeline []struct{ Kind, Asset, ToMode, Text string }
		}
		b.eval(t, `(() => {
			const lines = {};
			for (const a of document.querySelectorAll('article.line')) {
				const faults = {}, bar = {}, below = {};
				for (const li of a.querySelectorAll('.below li')) below[li.dataset.asset] = li.textContent;
				for (const r of a.querySelectorAll('tr[data-code]')) faults[r.dataset.code] = {
					count: r.querySelector('.count').textContent, seconds: r.querySelector('.seconds').textContent, active: r.dataset.active === 'true' };
				for (const s of a.querySelectorAll('.modebar .seg')) bar[s.dataset.mode] = Number(s.dataset.seconds);
				lines[a.dataset.asset] = { mode: a.querySelector('h2 .mode').dataset.mode, oee: a.querySelector('.oee').textContent,
					units: a.querySelector('.units').textContent, faults, bar, below };
			}
			const w = document.querySelector('#shift-window');
			return { shift: document.querySelector('#shift-name').textContent, from: w.dataset.from, lines,
				timeline: [...document.querySelectorAll('#timeline li[data-kind]')].map((li) => ({ kind: li.dataset.kind, asset: li.dataset.asset,
					toMode: li.dataset.toMode, text: li.querySelector('.what').textContent })) };
		})()`, &page)

		if page.Shift != "A" || !sameTime(page.From, shiftFrom) {
			t.Errorf("shift %s from %s, want A from %s", page.Shift, page.From, shiftFrom.UTC().Format(time.RFC3339))
		}
		for id, want := range map[string]string{line1: "IDLE", line2: "STOP", line3: "FAULT", cooker: "UNKNOWN"} {
			if got := page.Lines[id].Mode; got != want {
				t.Errorf("%s shows mode %s, want %s", id, got, want)
			}
		}
		l3 := page.Lines[line3]
		if l3.Units != "16,000" {
			t.Errorf("line3 units %q, want 16,000", l3.Units)
		}
		for _, a := range report.ShiftReport.Assets {
			if a.AssetID != line3 {
				continue
			}
			// The page's OEE comes from the same report a moment earlier:
			// the known time (and so availability) has grown a little since.
			shown, err := strconv.ParseFloat(strings.TrimSuffix(l3.OEE, "%"), 64)
			if a.OEE == nil || err != nil || shown-*a.OEE*100 > 0.2 || *a.OEE*100-shown > 0.2 {
				t.Errorf("line3 OEE shows %q, the API says %v", l3.OEE, a.OEE)
			}
		}
		// RUNNING 5→60 and 75→100 minutes; no data for the first five.
		// UNKNOWN is the report's less the rest of the shift, which the page
		// reckons by its own clock a moment after the server did.
		if l3.Bar["RUNNING"] != 80*60 || math.Abs(l3.Bar["UNKNOWN"]-5*60) > 2 || l3.Bar["FAULT"] < 35*60 || l3.Bar["REST"] <= 0 {
			t.Errorf("line3 time by mode %v, want RUNNING 4800 s, UNKNOWN 300 s, FAULT ≥ 2100 s and the rest of the shift", l3.Bar)
		}
		if f := l3.Faults["E42"]; f.Count != "1" || f.Seconds != "15m 00s" || f.Active {
			t.Errorf("line3 fault E42 %+v, want raised once, 15m 00s, cleared", f)
		}
		if f := l3.Faults["J7"]; f.Count != "1" || !f.Active {
			t.Errorf("line3 fault J7 %+v, want raised once and active", f)
		}
		if m := l3.Below[filler]; !strings.HasPrefix(m, "FAULT Line 3 filler · F3 · for ") {
			t.Errorf("line3's card shows its filler as %q, want in FAULT with F3", m)
		}
		want := map[string]bool{"MODE_CHANGED " + line3 + " FAULT": false, "FAULT_RAISED " + line3 + " fault E42 raised": false,
			"FAULT_CLEARED " + line3 + " fault E42 cleared after 15m 00s": false, "BATCH_STARTED " + line3 + " batch L-0412 started (Lager 330)": false,
			"MODE_CHANGED " + line2 + " STOP": false}
		for _, e := range page.Timeline {
			for _, k := range []string{e.Kind + " " + e.Asset + " " + e.ToMode, e.Kind + " " + e.Asset + " " + e.Text} {
				if _, ok := want[k]; ok {
					want[k] = true
				}
			}
		}
		for k, seen := range want {
			if !seen {
				t.Errorf("timeline lacks %s: %+v", k, page.Timeline)
			}
		}
		b.screenshot(t, filepath.Join(shots, "handover.png"), "")
		b.screenshot(t, filepath.Join(shots, "handover-print.png"), "print")

		b.do(t, "click", "selector", "#copy-text")
		b.wait(t, `document.querySelector('#copy-text').textContent === 'Copied'`, 5*time.Second)
		var text string
		b.decode(t, b.do(t, "clipboard"), &text)
		for _, w := range []string{"Shift A: ", "Line 3 (glass 330 ml): FAULT since ", "units 16,000", "fault E42: raised 1×, 15m 00s in shift",
			"fault J7: raised 1×", ", ACTIVE", "Line 3 filler: FAULT (F3) since ", "Line 2 (PET 1.5 l): STOP", "Events (newest first):"} {
			if !strings.Contains(text, w) {
				t.Errorf("copied text lacks %q:\n%s", w, text)
			}
		}

		// A live mode change: J7 clears. The page must show it without a reload.
		liveRunning := `document.querySelectorAll('#timeline li[data-asset="` + line3 + `"][data-to-mode="RUNNING"]').length`
		var before int
		b.eval(t, liveRunning, &before)
		produce(t, kafkaAddr, msg(line3, "fault_codes", []string{}, time.Now()))
		b.wait(t, liveRunning+` === `+strconv.Itoa(before+1)+` && document.querySelector('article.line[data-asset="`+line3+`"] h2 .mode').dataset.mode === 'RUNNING'`, 2*time.Second)

		// Cut the page off, change line 1's mode while it is away, let it back:
		// it resumes from its last cursor and shows the change exactly once.
		px.block()
		b.wait(t, `document.querySelector('#live-status').dataset.status === 'reconnecting'`, 10*time.Second)
		produce(t, kafkaAddr, msg(line1, "speed_units_per_min", 150, time.Now()))
		if !eventually(t, 10*time.Second, func() bool {
			var s struct {
				Asset struct{ State *struct{ Mode string } }
			}
			graphql(t, httpAddr, `{ asset(id: "`+line1+`") { state { mode } } }`, &s)
			return s.Asset.State != nil && s.Asset.State.Mode == "RUNNING"
		}) {
			t.Fatal("line1 did not start running")
		}
		px.unblock()
		missed := `document.querySelectorAll('#timeline li[data-asset="` + line1 + `"][data-to-mode="RUNNING"]').length`
		b.wait(t, missed+` >= 1 && document.querySelector('#live-status').dataset.status === 'live' && document.querySelector('article.line[data-asset="`+line1+`"] h2 .mode').dataset.mode === 'RUNNING'`, 15*time.Second)
		var dup struct{ Missed, Items, Cursors int }
		b.eval(t, `({ missed: `+missed+`, items: document.querySelectorAll('#timeline li[data-cursor]').length,
			cursors: new Set([...document.querySelectorAll('#timeline li[data-cursor]')].map((li) => li.dataset.cursor)).size })`, &dup)
		if dup.Missed != 1 || dup.Items != dup.Cursors {
			t.Errorf("after the reconnect: line1 → RUNNING shown %d times, %d items for %d cursors; want once, no duplicates", dup.Missed, dup.Items, dup.Cursors)
		}
		b.screenshot(t, filepath.Join(shots, "handover-live.png"), "")

		// The shift before: C, ending where A began, without data.
		b.do(t, "goto", "url", base+"/handover?under=plant%2Fjkt1&shift=previous")
		b.wait(t, `document.querySelector('#shift-name')?.textContent === 'C' && document.querySelectorAll('article.line').length === 4`, 15*time.Second)
		var prev struct {
			From, To string
			Bar      map[string]float64
			Events   int
		}
		b.eval(t, `(() => {
			const w = document.querySelector('#shift-window'), bar = {};
			for (const s of document.querySelectorAll('article.line[data-asset="`+line3+`"] .modebar .seg')) bar[s.dataset.mode] = Number(s.dataset.seconds);
			return { from: w.dataset.from, to: w.dataset.to, bar, events: document.querySelectorAll('#timeline li[data-kind]').length };
		})()`, &prev)
		if !sameTime(prev.From, shiftFrom.Add(-8*time.Hour)) || !sameTime(prev.To, shiftFrom) || len(prev.Bar) != 1 || prev.Bar["UNKNOWN"] != 8*3600 || prev.Events != 0 {
			t.Errorf("previous shift %+v, want C from %s to %s all without data and no events", prev, shiftFrom.Add(-8*time.Hour).UTC(), shiftFrom.UTC())
		}
	})

	t.Run("overview", func(t *testing.T) {
		b.do(t, "goto", "url", base+"/overview")
		row := func(id string) string { return `document.querySelector('#tree li[data-asset="` + id + `"] > .row')` }
		b.wait(t, `document.querySelector('#live-status')?.dataset.status === 'live' && `+row(line3)+`?.querySelector('.spark canvas')`, 15*time.Second)
		var page struct {
			Modes       map[string]string
			Packaging   map[string]string
			SparkPoints int
		}
		b.eval(t, `(() => {
			const modes = {};
			for (const r of document.querySelectorAll('#tree li[data-asset] > .row')) {
				const m = r.querySelector('.mode');
				if (m) modes[r.parentElement.dataset.asset] = m.dataset.mode;
			}
			const packaging = {};
			for (const c of `+row("plant/jkt1/packaging")+`.querySelectorAll('.rollup .count')) packaging[c.dataset.mode] = c.textContent;
			return { modes, packaging, sparkPoints: Number(`+row(line3)+`.querySelector('.spark').dataset.points) };
		})()`, &page)
		for id, want := range map[string]string{line1: "RUNNING", line2: "STOP", line3: "RUNNING", cooker: "UNKNOWN"} {
			if got := page.Modes[id]; got != want {
				t.Errorf("%s shows %s, want %s", id, got, want)
			}
		}
		if _, ok := page.Modes[site]; ok {
			t.Errorf("the site (a type without signals) shows a mode badge")
		}
		if page.Packaging["RUNNING"] != "2" || page.Packaging["STOP"] != "1" {
			t.Errorf("packaging rollup by mode %v, want 2 RUNNING and 1 STOP", page.Packaging)
		}
		if page.SparkPoints < 2 {
			t.Errorf("line3's sparkline has %d points, want the last hour's speed", page.SparkPoints)
		}
		// Line 2 is switched on: its badge turns without a reload.
		produce(t, kafkaAddr, msg(line2, "power_on", true, time.Now()), msg(line2, "speed_units_per_min", 120, time.Now()))
		b.wait(t, row(line2)+`.querySelector('.mode').dataset.mode === 'RUNNING'`, 2*time.Second)
		b.screenshot(t, filepath.Join(shots, "overview.png"), "")
	})

	t.Run("asset", func(t *testing.T) {
		b.do(t, "click", "selector", `#tree li[data-asset="`+line3+`"] > .row a.name`, "navigate", true)
		chart := `document.querySelector('.chart[data-signal="speed_units_per_min"]')`
		b.wait(t, chart+`?.dataset.interval === '5m' && `+chart+`.querySelector('canvas') && document.querySelectorAll('#events li[data-kind]').length > 0`, 15*time.Second)
		var page struct {
			Mode, Speed, Faults string
			Charts              int
			Events              []string
		}
		b.eval(t, `({ mode: document.querySelector('#state .mode').dataset.mode,
			speed: document.querySelector('#signals tr[data-signal="speed_units_per_min"] .value').textContent,
			faults: document.querySelector('#state .faults').textContent,
			charts: document.querySelectorAll('.chart canvas').length,
			events: [...document.querySelectorAll('#events li[data-kind]')].map((li) => li.querySelector('.what').textContent) })`, &page)
		if page.Mode != "RUNNING" || page.Speed != "205 units/min" || page.Faults != "none" {
			t.Errorf("line3 page: mode %s, speed %q, faults %q; want RUNNING, 205 units/min, none", page.Mode, page.Speed, page.Faults)
		}
		if page.Charts < 6 {
			t.Errorf("%d charts, want one per number signal of line3", page.Charts)
		}
		if !strings.Contains(strings.Join(page.Events, "\n"), "fault E42 cleared after 15m 00s") {
			t.Errorf("events lack E42's clearing: %q", page.Events)
		}
		// Zooming to the last few percent of the day asks for a finer interval.
		b.do(t, "drag", "selector", `.chart[data-signal="speed_units_per_min"] .u-over`, "from", 0.94, "to", 0.99)
		b.wait(t, chart+`.dataset.interval === '1m'`, 10*time.Second)
		b.screenshot(t, filepath.Join(shots, "asset.png"), "")
	})
	t.Logf("screenshots in %s", shots)
}

// sameTime reports whether an RFC 3339 string is the instant t.
func sameTime(s string, t time.Time) bool {
	p, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && p.Equal(t)
}

// browser is one chromium tab run by drive.mjs.
type browser struct {
	stdin   io.WriteCloser
	mu      sync.Mutex
	replies map[int]chan browserReply
	logs    []string
	seq     int
}

type browserReply struct {
	ID    int
	OK    bool
	Value json.RawMessage
	Error string
	Log   string
}

func startBrowser(t *testing.T, node, chromium, origin string) *browser {
	t.Helper()
	b := &browser{replies: map[int]chan browserReply{}}
	t.Cleanup(func() { // after the driver's end, so its last words are in
		if t.Failed() {
			b.mu.Lock()
			t.Logf("browser log:\n%s", strings.Join(b.logs, "\n"))
			b.mu.Unlock()
		}
	})
	driver := testenv.StartNode(t, node, browserDir, "drive.mjs", chromium, origin)
	b.stdin = driver.Stdin
	go func() {
		for l := range driver.Lines {
			var r browserReply
			if json.Unmarshal([]byte(l.Text), &r) != nil {
				continue
			}
			b.mu.Lock()
			if r.Log != "" {
				b.logs = append(b.logs, r.Log)
			} else if ch, ok := b.replies[r.ID]; ok {
				ch <- r
			}
			b.mu.Unlock()
		}
		b.mu.Lock()
		b.logs = append(b.logs, "driver exited: "+driver.Stderr.String())
		for _, ch := range b.replies {
			close(ch)
		}
		b.replies = nil
		b.mu.Unlock()
	}()
	return b
}

// do sends a command (op with key/value pairs) and returns its value; a
// failed command fails the test. The 60 s bound only keeps a broken browser
// from hanging the test.
func (b *browser) do(t *testing.T, op string, kv ...any) json.RawMessage {
	t.Helper()
	b.mu.Lock()
	if b.replies == nil {
		b.mu.Unlock()
		t.Fatalf("browser is gone:\n%s", strings.Join(b.logs, "\n"))
	}
	b.seq++
	id := b.seq
	ch := make(chan browserReply, 1)
	b.replies[id] = ch
	b.mu.Unlock()
	c := map[string]any{"id": id, "op": op}
	for i := 0; i+1 < len(kv); i += 2 {
		c[kv[i].(string)] = kv[i+1]
	}
	line, _ := json.Marshal(c)
	if _, err := b.stdin.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
	select {
	case r, ok := <-ch:
		b.mu.Lock()
		logs := strings.Join(b.logs, "\n")
		b.mu.Unlock()
		if !ok {
			t.Fatalf("browser exited during %s:\n%s", op, logs)
		}
		if !r.OK {
			t.Fatalf("browser %s %v: %s\npage log:\n%s", op, kv, r.Error, logs)
		}
		return r.Value
	case <-time.After(60 * time.Second):
		t.Fatalf("browser %s did not answer in 60 s", op)
	}
	return nil
}

// wait polls a page expression until it is truthy; within bounds how long
// the page may take (a deadline, not a measurement).
func (b *browser) wait(t *testing.T, expr string, within time.Duration) {
	t.Helper()
	b.do(t, "wait", "expr", expr, "timeout", within.Milliseconds())
}

// eval evaluates a page expression into out.
func (b *browser) eval(t *testing.T, expr string, out any) {
	t.Helper()
	b.decode(t, b.do(t, "eval", "expr", expr), out)
}

func (b *browser) decode(t *testing.T, v json.RawMessage, out any) {
	t.Helper()
	if err := json.Unmarshal(v, out); err != nil {
		t.Fatalf("decode %s: %v", v, err)
	}
}

// screenshot saves the full page as a PNG (media "print" for the print view).
func (b *browser) screenshot(t *testing.T, path, media string) {
	t.Helper()
	b.do(t, "screenshot", "path", path, "media", media)
}

// proxy forwards TCP connections to the gateway so the test can cut the
// browser off (block closes every connection and refuses new ones) and let
// it back (unblock).
type proxy struct {
	ln      net.Listener
	mu      sync.Mutex
	blocked bool
	conns   map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.block() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.blocked {
				p.mu.Unlock()
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns[c], p.conns[u] = true, true
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) block() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) unblock() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = false
}
