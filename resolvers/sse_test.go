package resolvers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
)

// sseEvent is one event of a text/event-stream.
type sseEvent struct{ event, id, data string }

// sseStream is an open SSE response read event by event.
type sseStream struct {
	t      *testing.T
	close  func() // drops the connection
	events chan sseEvent
}

// sseRequest sends an SSE request (GET with params when body is "", else POST
// body) with extra headers and returns the response, whatever its status,
// and a function that drops the connection, as the test's end does.
func sseRequest(t *testing.T, srv *httptest.Server, params url.Values, body string, hdr http.Header) (*http.Response, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var req *http.Request
	if body == "" {
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/graphql?"+params.Encode(), nil)
	} else {
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	drop := func() { cancel(); resp.Body.Close() }
	t.Cleanup(drop)
	return resp, drop
}

// openSSE sends an SSE request as sseRequest does and returns the open stream.
func openSSE(t *testing.T, srv *httptest.Server, params url.Values, body string, hdr http.Header) *sseStream {
	t.Helper()
	resp, drop := sseRequest(t, srv, params, body, hdr)
	s := &sseStream{t: t, close: drop, events: make(chan sseEvent, 64)}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("SSE request: %d %q %s", resp.StatusCode, ct, b)
	}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				if ev.event != "" || ev.data != "" {
					s.events <- ev
				}
				ev = sseEvent{}
				continue
			}
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				ev.event = value
			case "id":
				ev.id = value
			case "data":
				ev.data += value
			}
		}
	}()
	return s
}

// next returns the next event; the bound only keeps a broken server from
// hanging the test.
func (s *sseStream) next() sseEvent {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatal("stream ended")
		}
		return ev
	case <-time.After(30 * time.Second):
		s.t.Fatal("no event in 30 s")
	}
	return sseEvent{}
}

// modeChangeEvent reads the next event and decodes a modeChanged result.
func (s *sseStream) modeChangeEvent() (id, toMode string) {
	s.t.Helper()
	ev := s.next()
	var r struct {
		Data   struct{ ModeChanged struct{ ToMode string } }
		Errors []gqlError
	}
	if ev.event != "next" || json.Unmarshal([]byte(ev.data), &r) != nil || len(r.Errors) > 0 {
		s.t.Fatalf("got %+v, want a next event with a mode change", ev)
	}
	return ev.id, r.Data.ModeChanged.ToMode
}

func subscriptionParams(q string) url.Values { return url.Values{"query": {q}} }

func TestSSE_GET(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)

	t.Run("subscription as EventSource sends it", func(t *testing.T) {
		s := openSSE(t, srv, url.Values{
			"query":     {`subscription($u: ID) { modeChanged(under: $u) { toMode } }`},
			"variables": {`{"u":"plant/jkt1/packaging"}`},
		}, "", nil)
		waitSubscribers(t, e.bus, 1)
		evs := e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 1))
		id, mode := s.modeChangeEvent()
		if mode != "RUNNING" || id != resolvers.EventCursor(evs[0].Seq) {
			t.Errorf("event id %q, mode %q; want id %q (the cursor), RUNNING", id, mode, resolvers.EventCursor(evs[0].Seq))
		}
		s.close()
		waitSubscribers(t, e.bus, 0)
	})
	t.Run("query answers once, then completes", func(t *testing.T) {
		s := openSSE(t, srv, subscriptionParams(`{ asset(id: "plant/jkt1") { id } }`), "", nil)
		if ev := s.next(); ev.event != "next" || ev.id != "" || !strings.Contains(ev.data, `"id":"plant/jkt1"`) {
			t.Errorf("got %+v", ev)
		}
		if ev := s.next(); ev.event != "complete" {
			t.Errorf("got %+v, want complete", ev)
		}
	})
	t.Run("POST stream carries ids too", func(t *testing.T) {
		s := openSSE(t, srv, nil, `{"query":"subscription { modeChanged { toMode } }"}`, nil)
		waitSubscribers(t, e.bus, 1)
		evs := e.appendAndPublish(t, modeChange(line3, twin.ModeRunning, twin.ModeFault, now.Add(time.Second), 1))
		if id, mode := s.modeChangeEvent(); mode != "FAULT" || id != resolvers.EventCursor(evs[0].Seq) {
			t.Errorf("event id %q, mode %q", id, mode)
		}
		s.close()
		waitSubscribers(t, e.bus, 0)
	})
	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			params url.Values
			hdr    http.Header
		}{
			{"bad Last-Event-ID", subscriptionParams(`subscription { twinEvents { id } }`), http.Header{"Last-Event-Id": {"garbage"}}},
			{"unknown asset", subscriptionParams(`subscription { modeChanged(under: "no/such") { toMode } }`), nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := openSSE(t, srv, tc.params, "", tc.hdr)
				ev := s.next()
				if ev.event != "next" || !strings.Contains(ev.data, `"errors"`) {
					t.Fatalf("got %+v, want an error result", ev)
				}
				if ev := s.next(); ev.event != "complete" {
					t.Errorf("got %+v, want complete", ev)
				}
			})
		}
		t.Run("variables not JSON", func(t *testing.T) {
			res, _ := sseRequest(t, srv, url.Values{"query": {"{__typename}"}, "variables": {"nope"}}, "", nil)
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), twin.EBADINPUT) {
				t.Errorf("got %d %s, want 400 BAD_INPUT", res.StatusCode, b)
			}
		})
	})
}

// A reconnect with Last-Event-ID gets exactly what was missed, then live
// events: what an EventSource does after a dropped connection.
func TestSSE_ResumeFromLastEventID(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	// The URL's own after is older than Last-Event-ID: the header wins.
	first := e.appendAndPublish(t, modeChange(line3, twin.ModeUnknown, twin.ModeIdle, now.Add(-time.Minute), 1))
	params := subscriptionParams(`subscription { modeChanged(under: "plant/jkt1/packaging/line3", after: "` + resolvers.EventCursor(first[0].Seq) + `") { toMode } }`)

	s := openSSE(t, srv, params, "", nil)
	waitSubscribers(t, e.bus, 1)
	e.appendAndPublish(t, modeChange(line3, twin.ModeIdle, twin.ModeRunning, now, 1))
	lastID, _ := s.modeChangeEvent()
	s.close()
	waitSubscribers(t, e.bus, 0)

	missed := e.appendAndPublish(t,
		modeChange(line3, twin.ModeRunning, twin.ModeFault, now.Add(time.Second), 1),
		modeChange("plant/jkt1/processing/cooking", twin.ModeIdle, twin.ModeRunning, now, 1), // not under line3
		modeChange(line3, twin.ModeFault, twin.ModeStop, now.Add(2*time.Second), 1),
	)
	s = openSSE(t, srv, params, "", http.Header{"Last-Event-Id": {lastID}})
	for _, want := range []twin.Event{missed[0], missed[2]} {
		if id, mode := s.modeChangeEvent(); id != resolvers.EventCursor(want.Seq) || mode != string(want.ToMode) {
			t.Fatalf("resumed with %q %s, want %q %s", id, mode, resolvers.EventCursor(want.Seq), want.ToMode)
		}
	}
	waitSubscribers(t, e.bus, 1)
	live := e.appendAndPublish(t, modeChange(line3, twin.ModeStop, twin.ModeIdle, now.Add(3*time.Second), 1))
	if id, mode := s.modeChangeEvent(); id != resolvers.EventCursor(live[0].Seq) || mode != "IDLE" {
		t.Fatalf("after the replay got %q %s, want the live event", id, mode)
	}
}

func TestSSE_StreamCapAndPlainGET(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.MaxStreams = 1 })
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	q := `subscription { modeChanged { toMode } }`
	openSSE(t, srv, subscriptionParams(q), "", nil)

	res, _ := sseRequest(t, srv, subscriptionParams(q), "", nil)
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), `"limit":"streams"`) {
		t.Errorf("second GET stream: %d %s, want 503 LIMIT streams", res.StatusCode, b)
	}

	// Without Accept: text/event-stream a GET is a plain query, which a
	// subscription is not.
	res, err := http.Get(srv.URL + "/graphql?" + subscriptionParams(q).Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(res.Header.Get("Content-Type"), "event-stream") || !strings.Contains(string(b), `"errors"`) {
		t.Errorf("plain GET subscription: %d %s, want a refusal", res.StatusCode, b)
	}
}

func TestHandler_MultipartSubscriptionRefused(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", strings.NewReader(`{"query":"subscription { modeChanged { toMode } }"}`))
	req.Header.Set("Content-Type", "application/json")
	// What Apollo Client sends for a subscription over HTTP.
	req.Header.Set("Accept", `multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json`)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r struct{ Errors []gqlError }
	json.NewDecoder(res.Body).Decode(&r)
	if res.StatusCode != http.StatusNotAcceptable || len(r.Errors) != 1 || codeOf(r.Errors) != twin.EBADINPUT ||
		!strings.Contains(r.Errors[0].Message, "WebSocket") || !strings.Contains(r.Errors[0].Message, "text/event-stream") {
		t.Errorf("got %d %+v, want 406 naming the supported transports", res.StatusCode, r.Errors)
	}
}
