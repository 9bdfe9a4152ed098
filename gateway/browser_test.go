package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/resolvers"
	"github.com/twingraph/twingraph/store/memory"
)

// browserDir is the npm project that drives headless chromium; `make
// npm-deps` installs its node_modules.
const browserDir = "testdata/browser"

// browserLine is one line the page reported.
type browserLine struct {
	Open, Error, Complete bool
	ID                    string
	Data                  struct {
		Data   struct{ ModeChanged struct{ ToMode string } }
		Errors []map[string]any
	}
}

// A dashboard on another origin subscribes with the browser's own
// EventSource (the graphql-sse GET form); after a dropped connection the
// browser reconnects with Last-Event-ID and gets what it missed, then live
// events, with no gap and no duplicate.
func TestGateway_BrowserEventSource(t *testing.T) {
	node := testenv.Node(t, browserDir, "puppeteer-core")
	chromium := testenv.Tool(t, "chromium", "apt-get install chromium")
	f := newFixture(t)
	bus := memory.NewBus()
	gql, err := resolvers.New(resolvers.Config{
		Model: f.cfg.Model, States: f.cfg.States, History: f.cfg.History, Events: f.cfg.Events,
		Bus: bus, Now: f.cfg.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gql.Close)
	cfg := f.cfg
	cfg.GraphQL, cfg.Registerer = gql, nil
	cfg.CORSOrigins = []string{"http://127.0.0.1:*"}
	srv := httptest.NewServer(newGateway(t, cfg))
	t.Cleanup(srv.Close)
	// The dashboard's own origin: another port, so the stream is cross-origin.
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<!doctype html><title>line dashboard</title>")
	}))
	t.Cleanup(page.Close)

	stream := srv.URL + "/graphql?" + url.Values{"query": {`subscription { modeChanged(under: "plant/jkt1/packaging/line3") { toMode } }`}}.Encode()
	driver := testenv.StartNode(t, node, browserDir, "eventsource.mjs", chromium, page.URL, stream)
	// next returns the next line that is not a connection error; the bound
	// only keeps a broken browser from hanging the test.
	next := func() browserLine {
		t.Helper()
		for {
			select {
			case line, ok := <-driver.Lines:
				if !ok {
					t.Fatalf("browser exited: %s", driver.Stderr.String())
				}
				var l browserLine
				if json.Unmarshal([]byte(line.Text), &l) != nil || l.Error {
					continue // not a report, or the dropped connection: EventSource retries by itself
				}
				return l
			case <-time.After(60 * time.Second):
				t.Fatalf("nothing from the browser in 60 s: %s", driver.Stderr.String())
			}
		}
	}
	wantOpen := func() {
		t.Helper()
		if l := next(); !l.Open {
			t.Fatalf("got %+v, want the stream open", l)
		}
		waitBusSubscribers(t, bus, 1)
	}
	publish := func(from, to twin.Mode, at time.Duration) twin.Event {
		t.Helper()
		ev := twin.Event{Kind: twin.EventModeChanged, Asset: line3, FromMode: from, ToMode: to, TS: now.Add(at)}
		ev.ID = twin.EventID(&ev)
		evs := []twin.Event{ev}
		ctx := context.Background()
		if err := f.cfg.Events.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if err := bus.Publish(ctx, []twin.Notice{{Event: &evs[0]}}); err != nil {
			t.Fatal(err)
		}
		return evs[0]
	}
	wantEvent := func(want twin.Event) {
		t.Helper()
		l := next()
		if l.ID != twin.EventCursor(want.Seq) || l.Data.Data.ModeChanged.ToMode != string(want.ToMode) || len(l.Data.Errors) > 0 {
			t.Fatalf("browser got %+v, want id %s, toMode %s", l, twin.EventCursor(want.Seq), want.ToMode)
		}
	}

	wantOpen()
	wantEvent(publish(twin.ModeRunning, twin.ModeFault, time.Second))

	// Drop the connection; two changes happen while the browser is away.
	srv.CloseClientConnections()
	waitBusSubscribers(t, bus, 0)
	missed := []twin.Event{
		publish(twin.ModeFault, twin.ModeIdle, 2*time.Second),
		publish(twin.ModeIdle, twin.ModeRunning, 3*time.Second),
	}
	wantOpen()
	for _, ev := range missed {
		wantEvent(ev)
	}
	wantEvent(publish(twin.ModeRunning, twin.ModeStop, 4*time.Second))
}

// waitBusSubscribers waits until the bus has n subscribers.
func waitBusSubscribers(t *testing.T, b *memory.Bus, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for b.Subscribers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("bus has %d subscribers, want %d", b.Subscribers(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// curl, as in the README, receives live mode changes over SSE.
func TestGateway_CurlSSE(t *testing.T) {
	curl := testenv.Tool(t, "curl", "apt-get install curl")
	f := newFixture(t)
	bus := memory.NewBus()
	gql, err := resolvers.New(resolvers.Config{Model: f.cfg.Model, States: f.cfg.States, Events: f.cfg.Events, Bus: bus, Now: f.cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gql.Close)
	cfg := f.cfg
	cfg.GraphQL, cfg.Registerer = gql, nil
	srv := httptest.NewServer(newGateway(t, cfg))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, curl, "-sN", "-H", "Accept: text/event-stream", "-G", srv.URL+"/graphql",
		"--data-urlencode", "query=subscription { modeChanged { toMode } }")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	waitBusSubscribers(t, bus, 1)
	ev := twin.Event{Kind: twin.EventModeChanged, Asset: line3, FromMode: twin.ModeRunning, ToMode: twin.ModeFault, TS: now}
	ev.ID = twin.EventID(&ev)
	evs := []twin.Event{ev}
	if err := f.cfg.Events.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	bus.Publish(ctx, []twin.Notice{{Event: &evs[0]}})
	sc := bufio.NewScanner(out)
	var id string
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			id = v
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(data, "modeChanged") {
			if !strings.Contains(data, `"toMode":"FAULT"`) || id != twin.EventCursor(evs[0].Seq) {
				t.Errorf("curl got id %q data %s", id, data)
			}
			return
		}
	}
	t.Fatal("curl's stream ended without the mode change")
}
