package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/lockedbuf"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/store/postgres"
	"github.com/twingraph/twingraph/store/redis"
)

// servedGateway is one in-process `twingraph serve`.
type servedGateway struct {
	addr   string
	stderr *lockedbuf.Buffer
	stop   func() // SIGTERM and wait for a clean exit
}

// startServe runs `twingraph serve` in-process on a free port.
func startServe(t *testing.T, args ...string) *servedGateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	g := &servedGateway{stderr: &lockedbuf.Buffer{}}
	done := make(chan int, 1)
	args = append([]string{"serve", "--http", "127.0.0.1:0", "--model", "../../examples/plant.yaml", "--log-level", "warn"}, args...)
	go func() { done <- run(ctx, args, pw, g.stderr); pw.Close() }()
	var once sync.Once
	g.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("serve exited %d: %s", code, g.stderr.String())
				}
			case <-time.After(30 * time.Second):
				t.Errorf("serve did not stop")
			}
		})
	}
	t.Cleanup(g.stop)
	addrs, err := testenv.ReadyLine(pr, "http")
	if err != nil {
		t.Fatalf("serve: %v; stderr: %s", err, g.stderr.String())
	}
	g.addr = addrs[0]
	return g
}

// balancer is the test's load balancer: it sends requests only to
// backends whose /readyz answered 200 at its last check (every 20 ms).
type balancer struct {
	mu       sync.Mutex
	backends map[string]bool // addr → in rotation
	saw503   map[string]bool // addr → /readyz answered 503 at least once
	next     int
}

func (b *balancer) add(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends[addr] = false
}

// pick returns a backend in rotation other than avoid, if there is one.
func (b *balancer) pick(avoid string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ready []string
	for a, ok := range b.backends {
		if ok && a != avoid {
			ready = append(ready, a)
		}
	}
	if len(ready) == 0 {
		return ""
	}
	b.next++
	return ready[b.next%len(ready)]
}

func (b *balancer) check(ctx context.Context) {
	for ctx.Err() == nil {
		b.mu.Lock()
		addrs := make([]string, 0, len(b.backends))
		for a := range b.backends {
			addrs = append(addrs, a)
		}
		b.mu.Unlock()
		for _, a := range addrs {
			code := 0
			if resp, err := http.Get("http://" + a + "/readyz"); err == nil {
				code = resp.StatusCode
				resp.Body.Close()
			}
			b.mu.Lock()
			b.backends[a] = code == http.StatusOK
			if code == http.StatusServiceUnavailable {
				b.saw503[a] = true
			}
			b.mu.Unlock()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitReady waits until addr is in rotation.
func (b *balancer) waitReady(t *testing.T, addr string) {
	t.Helper()
	if !eventually(t, 20*time.Second, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.backends[addr]
	}) {
		t.Fatalf("%s never became ready", addr)
	}
}

// sseSubscribe runs one SSE subscription to twinEvents after cursor on
// addr, sending each event's id and cursor to got, and returns how it
// ended: "complete" when the server completed the stream.
func sseSubscribe(ctx context.Context, addr, cursor string, got func(id, cursor string)) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"query":     `subscription($after: String) { twinEvents(after: $after) { id cursor } }`,
		"variables": map[string]any{"after": cursor},
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
			if event == "complete" {
				return "complete", nil
			}
		case strings.HasPrefix(line, "data: ") && event == "next":
			var msg struct {
				Data struct {
					TwinEvents struct{ ID, Cursor string }
				}
				Errors []any
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &msg); err != nil || len(msg.Errors) > 0 {
				return "", fmt.Errorf("bad message %q", line)
			}
			got(msg.Data.TwinEvents.ID, msg.Data.TwinEvents.Cursor)
		}
	}
	return "eof", sc.Err()
}

// TestServe_RollingRestart restarts both of two gateways, one after the
// other, under steady queries and a live subscription, as an orchestrator
// would: SIGTERM turns /readyz 503 first, so the balancer stops sending
// before the listener closes; requests in flight finish; the subscription
// completes and resumes by cursor on the other gateway. No request fails and
// the subscriber sees every event exactly once, in order.
func TestServe_RollingRestart(t *testing.T) {
	rd, pg := testenv.Redis(t), migratedPostgres(t)
	ns := testenv.RedisNamespace(t)
	ctx := context.Background()
	events, err := postgres.Open(ctx, pg, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	bus, err := redis.Open(ctx, rd, redis.Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()

	gwArgs := []string{"--redis", rd, "--postgres", pg, "--namespace", ns,
		"--drain-delay", "1s", "--shutdown-timeout", "10s"} // a drain window the balancer cannot miss on a busy machine
	lb := &balancer{backends: map[string]bool{}, saw503: map[string]bool{}}
	a, b := startServe(t, gwArgs...), startServe(t, gwArgs...)
	lb.add(a.addr)
	lb.add(b.addr)
	lbCtx, stopLB := context.WithCancel(ctx)
	defer stopLB()
	go lb.check(lbCtx)
	lb.waitReady(t, a.addr)
	lb.waitReady(t, b.addr)

	// The producer writes and announces events as a sync worker does.
	var produced []string
	var producedMu sync.Mutex
	prodCtx, stopProducer := context.WithCancel(ctx)
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		ts := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
		modes := []twin.Mode{twin.ModeRunning, twin.ModeIdle}
		for i := 0; prodCtx.Err() == nil; i++ {
			e := twin.Event{Kind: twin.EventModeChanged, TS: ts.Add(time.Duration(i) * time.Second),
				Asset: "plant/jkt1/packaging/line3", FromMode: modes[i%2], ToMode: modes[(i+1)%2]}
			e.ID = twin.EventID(&e)
			evs := []twin.Event{e}
			if err := events.AppendEvents(ctx, evs); err != nil {
				t.Error(err)
				return
			}
			producedMu.Lock()
			produced = append(produced, e.ID)
			producedMu.Unlock()
			if err := bus.Publish(ctx, []twin.Notice{{Event: &evs[0]}}); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	// Steady queries through the balancer; every failure counts.
	var requests, failures atomic.Int64
	var failMu sync.Mutex
	var failed []string
	loadCtx, stopLoad := context.WithCancel(ctx)
	var load sync.WaitGroup
	for range 4 {
		load.Add(1)
		go func() {
			defer load.Done()
			q, _ := json.Marshal(map[string]string{"query": `{ asset(id: "plant/jkt1/packaging/line3") { id events(first: 5) { edges { cursor } } } }`})
			for loadCtx.Err() == nil {
				addr := lb.pick("")
				if addr == "" {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				requests.Add(1)
				resp, err := http.Post("http://"+addr+"/graphql", "application/json", bytes.NewReader(q))
				if err == nil {
					var out struct{ Errors []any }
					err = json.NewDecoder(resp.Body).Decode(&out)
					resp.Body.Close()
					if err == nil && (resp.StatusCode != 200 || len(out.Errors) > 0) {
						err = fmt.Errorf("status %d, errors %v", resp.StatusCode, out.Errors)
					}
				}
				if err != nil {
					failures.Add(1)
					failMu.Lock()
					failed = append(failed, fmt.Sprintf("%s: %v", addr, err))
					failMu.Unlock()
				}
			}
		}()
	}

	// The subscriber starts on a and resumes wherever the balancer says.
	var gotMu sync.Mutex
	var got []string
	var ends []string
	cursor := twin.EventCursor(0)
	subCtx, stopSub := context.WithCancel(ctx)
	subDone := make(chan struct{})
	var onGateway atomic.Value
	go func() {
		defer close(subDone)
		addr := a.addr
		for subCtx.Err() == nil {
			onGateway.Store(addr)
			end, err := sseSubscribe(subCtx, addr, cursor, func(id, c string) {
				gotMu.Lock()
				got = append(got, id)
				gotMu.Unlock()
				cursor = c
			})
			if subCtx.Err() != nil {
				return
			}
			gotMu.Lock()
			ends = append(ends, fmt.Sprintf("%s %v", end, err))
			gotMu.Unlock()
			for addr = lb.pick(addr); addr == "" && subCtx.Err() == nil; addr = lb.pick("") {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()
	count := func() int {
		gotMu.Lock()
		defer gotMu.Unlock()
		return len(got)
	}
	waitMore := func(n int) {
		t.Helper()
		from := count()
		if !eventually(t, 20*time.Second, func() bool { return count() >= from+n }) {
			t.Fatalf("subscriber stuck at %d events (ends: %v)", count(), ends)
		}
	}

	waitMore(20)
	a.stop() // rolling restart: a first
	if onGateway.Load() == a.addr {
		t.Fatalf("subscriber did not move off the stopped gateway")
	}
	a2 := startServe(t, gwArgs...)
	lb.add(a2.addr)
	lb.waitReady(t, a2.addr)
	waitMore(20)
	b.stop() // then b
	waitMore(20)

	stopLoad()
	load.Wait()
	stopProducer()
	<-prodDone
	producedMu.Lock()
	want := append([]string(nil), produced...)
	producedMu.Unlock()
	if !eventually(t, 20*time.Second, func() bool { return count() >= len(want) }) {
		t.Errorf("subscriber got %d of %d events", count(), len(want))
	}
	stopSub()
	<-subDone

	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d requests failed, e.g. %v", n, requests.Load(), failed[:min(len(failed), 5)])
	}
	t.Logf("%d requests, %d events, subscription ends %q", requests.Load(), len(want), ends)
	if requests.Load() < 100 {
		t.Errorf("only %d requests made", requests.Load())
	}
	gotMu.Lock()
	defer gotMu.Unlock()
	if len(got) != len(want) {
		t.Errorf("subscriber got %d events, %d produced", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("event %d: got %s, want %s (resume not exact)", i, got[i], want[i])
		}
	}
	if len(ends) != 2 || ends[0] != "complete <nil>" || ends[1] != "complete <nil>" {
		t.Errorf("subscription ends = %q, want two completes (one per stopped gateway)", ends)
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if !lb.saw503[a.addr] || !lb.saw503[b.addr] {
		t.Errorf("/readyz of a stopping gateway never answered 503: %v", lb.saw503)
	}
}

// TestMain_DrainMakesUnready: once draining (SIGTERM on serve, sync or
// dev), readiness fails first, before anything stops.
func TestMain_DrainMakesUnready(t *testing.T) {
	m := NewMain(io.Discard, "error")
	if err := m.LoadModel(""); err != nil {
		t.Fatal(err)
	}
	if err := m.OpenStores(context.Background(), "", "", "twin", true); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Ready(context.Background()); err != nil {
		t.Fatalf("ready before draining: %v", err)
	}
	m.Drain()
	if err := m.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "draining") {
		t.Errorf("ready while draining = %v, want a draining error", err)
	}
}
