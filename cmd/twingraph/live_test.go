package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/store/redis"
)

// wsClientDir is the npm project with the graphql-ws reference client;
// `npm ci` there installs its node_modules.
const wsClientDir = "../../resolvers/testdata/wsclient"

// wsSubscriber is a running graphql-ws reference client (a node process).
type wsSubscriber struct {
	t *testing.T
	*testenv.NodeScript
}

// startWSClient runs the reference client against the gateway at httpAddr
// with query and variables, and waits until the server acknowledged the
// connection.
func startWSClient(t *testing.T, httpAddr, query string, vars map[string]any) *wsSubscriber {
	t.Helper()
	node := testenv.Node(t, wsClientDir, "graphql-ws")
	vb, _ := json.Marshal(vars)
	s := &wsSubscriber{t, testenv.StartNode(t, node, wsClientDir, "subscribe.mjs", "ws://"+httpAddr+"/graphql", query, string(vb))}
	if l := s.next(); l.Text != `{"connected":true}` {
		t.Fatalf("first line from the client = %q, want the connection ack", l.Text)
	}
	return s
}

// next returns the client's next line; it fails the test if the client exits
// or says nothing for 30 s (a bound against hanging, not a latency check).
func (s *wsSubscriber) next() testenv.Line {
	s.t.Helper()
	select {
	case l, ok := <-s.Lines:
		if !ok {
			s.t.Fatalf("client exited: %s", s.Stderr.String())
		}
		return l
	case <-time.After(30 * time.Second):
		s.t.Fatalf("no message from the client in 30 s; stderr: %s", s.Stderr.String())
	}
	return testenv.Line{}
}

// disconnect closes the client's connection and waits for it to exit.
func (s *wsSubscriber) disconnect() {
	s.t.Helper()
	s.Stdin.Close()
	for range s.Lines {
		// Drain: nothing more is expected, and the reader must finish.
	}
	if err := s.Wait(); err != nil {
		s.t.Fatalf("client exited with %v: %s", err, s.Stderr.String())
	}
}

// modeChangeMsg is one modeChanged result as the client prints it.
type modeChangeMsg struct {
	Data *struct {
		ModeChanged struct {
			Cursor          string
			Asset           string
			FromMode        string
			ToMode          string
			TS              string
			DurationSeconds *float64
		}
	}
	Errors []map[string]any
}

// nextModeChange reads and decodes the next result; errors fail the test.
func (s *wsSubscriber) nextModeChange() (modeChangeMsg, time.Time) {
	s.t.Helper()
	l := s.next()
	var m modeChangeMsg
	if err := json.Unmarshal([]byte(l.Text), &m); err != nil || m.Data == nil || len(m.Errors) > 0 {
		s.t.Fatalf("client printed %s (%v)", l.Text, err)
	}
	return m, l.At
}

// graphqlErrors posts a query that must fail and returns its errors.
func graphqlErrors(t *testing.T, addr, query string) []gqlError {
	t.Helper()
	_, errs := postGraphQL(t, addr, query)
	if len(errs) == 0 {
		t.Fatalf("query succeeded, want an error: %s", query)
	}
	return errs
}

// redisCalls returns how many times Redis ran each command since the last
// CONFIG RESETSTAT, from INFO commandstats.
func redisCalls(t *testing.T, c rueidis.Client) map[string]int {
	t.Helper()
	info, err := c.Do(context.Background(), c.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		// cmdstat_mget:calls=1,usec=12,usec_per_call=12.00,...
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				calls[name], _ = strconv.Atoi(v)
			}
		}
	}
	return calls
}

const line3ID = "plant/jkt1/packaging/line3"

// line3Sample is one telemetry message for line 3 at 06:mm on the test day.
func line3Sample(minute int, signal, value string) string {
	return fmt.Sprintf(`{"asset":%q,"signal":%q,"value":%s,"ts":"2026-11-24T06:%02d:00Z"}`, line3ID, signal, value, minute)
}

// TestDev_LiveSubscriptionsAndQueries checks issue 5's "done when" against
// `dev` on private Redis and PostgreSQL: the graphql-ws reference client gets
// a mode change produced with the production Kafka client, and after a
// disconnect resumes with its last cursor to exactly the transitions it
// missed; paging limits, node(id), the Redis cost of a whole-plant state query
// and a shift report's coverage of its window.
func TestDev_LiveSubscriptionsAndQueries(t *testing.T) {
	testenv.Node(t, wsClientDir, "graphql-ws") // before starting servers for nothing
	pg := migratedPostgres(t)
	rd := testenv.Redis(t)
	ns := testenv.RedisNamespace(t)
	httpAddr, kafkaAddr := startDev(t, "--no-sim", "--redis", rd, "--postgres", pg, "--namespace", ns)
	rs, err := redis.Open(context.Background(), rd, redis.Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()

	// Line 3 starts IDLE (powered, not moving).
	produce(t, kafkaAddr, line3Sample(0, "power_on", "true"), line3Sample(0, "speed_units_per_min", "0"), line3Sample(0, "fault_codes", "[]"))
	var st line3State
	if !eventually(t, 20*time.Second, func() bool {
		graphql(t, httpAddr, line3Query, &st)
		return st.Asset.State != nil && st.Asset.State.Mode == "IDLE"
	}) {
		t.Fatalf("line3 never became IDLE: %+v", st.Asset.State)
	}

	type eventsPage struct {
		Asset struct {
			Events struct {
				Edges []struct {
					Cursor string
					Node   struct{ ToMode string }
				}
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
	}
	modeEvents := func() eventsPage {
		var p eventsPage
		graphql(t, httpAddr, `{ asset(id: "`+line3ID+`") { events(first: 100, kinds: [MODE_CHANGED]) {
			edges { cursor node { toMode } } pageInfo { hasNextPage endCursor } } } }`, &p)
		return p
	}
	// Subscribe after the newest stored change (if any): whatever happens
	// from here on is delivered, replayed or live, whenever the server
	// registers the subscription.
	var after *string
	if p := modeEvents(); p.Asset.Events.PageInfo.EndCursor != nil {
		after = p.Asset.Events.PageInfo.EndCursor
	}
	const sub = `subscription($cursor: String) { modeChanged(under: "plant/jkt1", after: $cursor) { cursor asset fromMode toMode ts durationSeconds } }`
	c := startWSClient(t, httpAddr, sub, map[string]any{"cursor": after})
	// For the latency figure the subscription should be live, not a replay:
	// the gateway's Redis subscription exists once its first subscriber does.
	channel := redis.Channel(ns)
	if !eventually(t, 10*time.Second, func() bool {
		n, err := rs.Client().Do(context.Background(), rs.Client().B().PubsubNumsub().Channel(channel).Build()).AsIntMap()
		return err == nil && n[channel] > 0
	}) {
		t.Log("the gateway has not subscribed to Redis yet; the first change may arrive by replay")
	}

	sent := time.Now()
	produce(t, kafkaAddr, line3Sample(1, "speed_units_per_min", "120"))
	m, at := c.nextModeChange()
	mc := m.Data.ModeChanged
	if mc.Asset != line3ID || mc.FromMode != "IDLE" || mc.ToMode != "RUNNING" || mc.TS != "2026-11-24T06:01:00Z" || mc.Cursor == "" ||
		mc.DurationSeconds == nil || *mc.DurationSeconds != 60 {
		t.Fatalf("first change = %+v, want line3 IDLE→RUNNING at 06:01 after 60 s", mc)
	}
	t.Logf("mode change produce → graphql-ws client: %v", at.Sub(sent))
	last := mc.Cursor

	// Disconnect; three transitions happen meanwhile.
	c.disconnect()
	produce(t, kafkaAddr,
		line3Sample(2, "speed_units_per_min", "0"),   // RUNNING → IDLE
		line3Sample(3, "speed_units_per_min", "150"), // IDLE → RUNNING
		line3Sample(4, "fault_codes", `["E7"]`),      // RUNNING → FAULT
	)
	if !eventually(t, 20*time.Second, func() bool {
		e := modeEvents().Asset.Events.Edges
		return len(e) > 0 && e[len(e)-1].Node.ToMode == "FAULT"
	}) {
		t.Fatalf("the missed transitions never reached the event store: %+v", modeEvents())
	}

	c2 := startWSClient(t, httpAddr, sub, map[string]any{"cursor": last})
	want := []struct{ from, to, ts string }{
		{"RUNNING", "IDLE", "06:02"}, {"IDLE", "RUNNING", "06:03"}, {"RUNNING", "FAULT", "06:04"},
	}
	for i, w := range want {
		m, _ := c2.nextModeChange()
		mc := m.Data.ModeChanged
		if mc.Asset != line3ID || mc.FromMode != w.from || mc.ToMode != w.to || mc.TS != "2026-11-24T"+w.ts+":00Z" {
			t.Fatalf("resumed change %d = %+v, want %s→%s at %s", i+1, mc, w.from, w.to, w.ts)
		}
		if mc.Cursor == last {
			t.Fatalf("resumed change %d repeats cursor %s", i+1, last)
		}
		last = mc.Cursor
	}
	// Nothing repeated after the three: the next message is the next change.
	produce(t, kafkaAddr, line3Sample(5, "fault_codes", "[]")) // FAULT → RUNNING
	m, _ = c2.nextModeChange()
	if mc := m.Data.ModeChanged; mc.FromMode != "FAULT" || mc.ToMode != "RUNNING" || mc.TS != "2026-11-24T06:05:00Z" {
		t.Fatalf("after the resume got %+v, want the live FAULT→RUNNING at 06:05", mc)
	}
	c2.disconnect()

	// Page sizes are bounded, with a stable error code; pages carry pageInfo.
	errs := graphqlErrors(t, httpAddr, `{ asset(id: "`+line3ID+`") { events(first: 100000) { edges { cursor } } } }`)
	if code, _ := errs[0].Extensions["code"].(string); code != "LIMIT" {
		t.Errorf("events(first: 100000) refused with %+v, want extensions.code LIMIT", errs)
	}
	var page eventsPage
	graphql(t, httpAddr, `{ asset(id: "`+line3ID+`") { events(first: 2, kinds: [MODE_CHANGED]) {
		edges { cursor node { toMode } } pageInfo { hasNextPage endCursor } } } }`, &page)
	pe := page.Asset.Events
	if len(pe.Edges) != 2 || !pe.PageInfo.HasNextPage || pe.PageInfo.EndCursor == nil || *pe.PageInfo.EndCursor != pe.Edges[1].Cursor {
		t.Errorf("first page = %+v, want 2 edges, hasNextPage and endCursor of the last", pe)
	}

	// node(id) resolves an asset.
	var node struct {
		Node *struct {
			ID, Type string
		}
	}
	graphql(t, httpAddr, `{ node(id: "`+line3ID+`") { id ... on Asset { type } } }`, &node)
	if node.Node == nil || node.Node.ID != line3ID || node.Node.Type != "packaging_line" {
		t.Errorf("node(id) = %+v", node.Node)
	}

	// A whole-plant state query costs at most 4 Redis reads.
	const plant = `{ asset(id: "plant/jkt1") { state { mode } descendants { id state { mode } } } }`
	var tree struct {
		Asset struct {
			Descendants []struct {
				ID    string
				State *struct{ Mode string }
			}
		}
	}
	rc := rs.Client()
	if os.Getenv("TWIN_TEST_REDIS_URL") != "" {
		graphql(t, httpAddr, plant, &tree)
		t.Log("shared Redis (TWIN_TEST_REDIS_URL): its command counts include other tests; not counting reads")
	} else {
		if err := rc.Do(context.Background(), rc.B().ConfigResetstat().Build()).Error(); err != nil {
			t.Fatal(err)
		}
		graphql(t, httpAddr, plant, &tree)
		calls := redisCalls(t, rc)
		reads := calls["mget"] + calls["get"]
		t.Logf("whole-plant descendants { state { mode } }: %d Redis reads (%d MGET, %d GET) for %d assets", reads, calls["mget"], calls["get"], len(tree.Asset.Descendants)+1)
		if reads > 4 || reads == 0 {
			t.Errorf("whole-plant state query cost %d Redis reads (commandstats %v), want 1..4", reads, calls)
		}
	}
	found := false
	for _, d := range tree.Asset.Descendants {
		if d.ID == line3ID {
			found = d.State != nil && d.State.Mode == "RUNNING"
		}
	}
	if len(tree.Asset.Descendants) < 17 || !found {
		t.Errorf("plant tree has %d descendants; line3 RUNNING among them: %v", len(tree.Asset.Descendants), found)
	}

	// The shift report covers a 10-minute window whole: 06:00 IDLE, 06:01
	// RUNNING, 06:02 IDLE, 06:03 RUNNING, 06:04 FAULT, 06:05 RUNNING on.
	var shift struct {
		ShiftReport struct {
			Assets []struct {
				Asset         string
				SecondsByMode []struct {
					Mode    string
					Seconds float64
				}
			}
		}
	}
	graphql(t, httpAddr, `{ shiftReport(under: "`+line3ID+`", from: "2026-11-24T06:00:00Z", to: "2026-11-24T06:10:00Z") {
		assets { asset secondsByMode { mode seconds } } } }`, &shift)
	seen := false
	for _, a := range shift.ShiftReport.Assets {
		if a.Asset != line3ID {
			continue
		}
		seen = true
		sum := 0.0
		got := map[string]float64{}
		for _, ms := range a.SecondsByMode {
			sum += ms.Seconds
			got[ms.Mode] = ms.Seconds
		}
		if sum != 600 {
			t.Errorf("line3 seconds by mode %v sum to %v, want 600", a.SecondsByMode, sum)
		}
		wantSecs := map[string]float64{"IDLE": 120, "RUNNING": 60 + 60 + 300, "FAULT": 60, "STOP": 0, "UNKNOWN": 0}
		for mode, w := range wantSecs {
			if got[mode] != w {
				t.Errorf("line3 %s = %v s, want %v", mode, got[mode], w)
			}
		}
	}
	if !seen {
		t.Errorf("line3 missing from its shift report: %+v", shift.ShiftReport)
	}
}
