package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
	"github.com/twingraph/twingraph/store/memory"
)

// Line3 is the demo model's seeded line.
const line3 = "plant/jkt1/packaging/line3"

// now is the clock every test reads: 2026-11-24 14:00 in Jakarta.
var now = time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)

// env is a handler over the demo model (or another) with in-process stores.
type env struct {
	model   twin.Model
	states  *countingStates
	history *recordingHistory
	events  *hookedEvents
	bus     *memory.Bus
	h       *resolvers.Handler
	c       *client.Client
}

type envOpt func(*resolvers.Config)

func mustModel(tb testing.TB, yaml string) twin.Model {
	tb.Helper()
	m, err := hierarchy.Load("test.yaml", []byte(yaml))
	if err != nil {
		tb.Fatalf("load model: %v", err)
	}
	return m
}

func newEnv(tb testing.TB, m twin.Model, opts ...envOpt) *env {
	tb.Helper()
	e := &env{
		model:   m,
		states:  &countingStates{StateStore: memory.NewStateStore()},
		history: &recordingHistory{HistoryStore: memory.NewHistoryStore()},
		events:  &hookedEvents{EventStore: memory.NewEventStore()},
		bus:     memory.NewBus(),
	}
	cfg := resolvers.Config{
		Model: m, States: e.states, History: e.history, Events: e.events, Bus: e.bus,
		Now: func() time.Time { return now },
	}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := resolvers.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	e.h = h
	tb.Cleanup(e.h.Close)
	e.c = client.New(e.h)
	return e
}

// post runs a query and fails the test on any error.
func (e *env) post(tb testing.TB, q string, out any, vars ...client.Option) {
	tb.Helper()
	if err := e.c.Post(q, out, vars...); err != nil {
		tb.Fatalf("query failed: %v\n%s", err, q)
	}
}

// gqlError is one error of a response.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// errorsOf runs a query that must fail and returns its errors.
func (e *env) errorsOf(tb testing.TB, q string) []gqlError {
	tb.Helper()
	body, _ := json.Marshal(map[string]any{"query": q})
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	var resp struct{ Errors []gqlError }
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		tb.Fatalf("decode %s: %v", rec.Body, err)
	}
	errs := resp.Errors
	if len(errs) == 0 {
		tb.Fatalf("query succeeded, want an error: %s", q)
	}
	return errs
}

func codeOf(errs []gqlError) string {
	c, _ := errs[0].Extensions["code"].(string)
	return c
}

// putState stores a state.
func (e *env) putState(st *twin.State) {
	if err := e.states.PutStates(context.Background(), []*twin.State{st}); err != nil {
		panic(err)
	}
}

// runningLine3 is a plausible state of line3 at now.
func runningLine3() *twin.State {
	st := twin.NewState(line3)
	st.Mode = twin.ModeRunning
	st.ModeSince = now.Add(-time.Hour)
	st.UpdatedAt = now.Add(-time.Second)
	st.FaultCodes = []string{}
	st.Product = "SKU-600"
	st.Batch = "B-42"
	st.BatchSince = now.Add(-2 * time.Hour)
	st.UptimeDay = "2026-11-24"
	st.UptimeSeconds = 3000
	st.UptimeAsOf = now.Add(-time.Second)
	st.DayStart = now.Add(-7 * time.Hour)
	ts := now.Add(-time.Second)
	st.Metrics = map[string]twin.Metric{
		"power_on":            {Value: twin.Bool(true), TS: ts},
		"speed_units_per_min": {Value: twin.Number(218), TS: ts},
		"fault_codes":         {Value: twin.NewList(nil), TS: ts},
		"press1_bar":          {Value: twin.Number(6.2), TS: ts},
		"product":             {Value: twin.String("SKU-600"), TS: ts},
		"total_units":         {Value: twin.Number(1000), TS: ts},
		"good_units":          {Value: twin.Number(990), TS: ts},
	}
	return st
}

// countingStates is the memory StateStore, counting GetStates calls (and
// able to panic or fail, to test recovery and error codes).
type countingStates struct {
	*memory.StateStore
	calls atomic.Int64
	panic atomic.Bool
	fail  atomic.Pointer[error] // when set, GetStates returns it
}

func (s *countingStates) GetStates(ctx context.Context, ids []string) ([]*twin.State, error) {
	s.calls.Add(1)
	if s.panic.Load() {
		panic("state store exploded")
	}
	if err := s.fail.Load(); err != nil {
		return nil, *err
	}
	return s.StateStore.GetStates(ctx, ids)
}

// recordingHistory is the memory HistoryStore, recording the batches it gets.
type recordingHistory struct {
	*memory.HistoryStore
	mu      sync.Mutex
	batches [][]twin.HistoryQuery
}

func (h *recordingHistory) QueryHistory(ctx context.Context, qs []twin.HistoryQuery) ([]twin.Series, error) {
	h.mu.Lock()
	h.batches = append(h.batches, slices.Clone(qs))
	h.mu.Unlock()
	return h.HistoryStore.QueryHistory(ctx, qs)
}

// hookedEvents is the memory EventStore with a hook into the next ListEvents.
type hookedEvents struct {
	*memory.EventStore
	mu         sync.Mutex
	beforeList func()
}

// onNextList sets a hook the next ListEvents runs before it reads.
func (s *hookedEvents) onNextList(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeList = f
}

func (s *hookedEvents) ListEvents(ctx context.Context, q twin.EventQuery) (twin.EventPage, error) {
	s.mu.Lock()
	hook := s.beforeList
	s.beforeList = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return s.EventStore.ListEvents(ctx, q)
}

// appendAndPublish stores events and then announces them, as the sync worker
// does; it returns them as stored (with Seq).
func (e *env) appendAndPublish(tb testing.TB, evs ...twin.Event) []twin.Event {
	tb.Helper()
	ctx := context.Background()
	evs = slices.Clone(evs)
	if err := e.events.AppendEvents(ctx, evs); err != nil {
		tb.Error(err)
		return nil
	}
	ns := make([]twin.Notice, len(evs))
	for i := range evs {
		ns[i] = twin.Notice{Event: &evs[i]}
	}
	if err := e.bus.Publish(ctx, ns); err != nil {
		tb.Error(err)
	}
	return evs
}

// appendSamples writes samples of one asset's signal to history.
func (e *env) appendSamples(tb testing.TB, asset, signal string, pts ...twin.Point) {
	tb.Helper()
	ss := make([]twin.Sample, len(pts))
	for i, p := range pts {
		ss[i] = twin.Sample{Asset: asset, Signal: signal, TS: p.TS, Value: twin.Number(*p.Value), Quality: twin.QualityGood}
	}
	if err := e.history.AppendSamples(context.Background(), ss); err != nil {
		tb.Fatal(err)
	}
}

func pt(ts time.Time, v float64) twin.Point { return twin.Point{TS: ts, Value: &v} }

func modeChange(asset string, from, to twin.Mode, ts time.Time, dur float64) twin.Event {
	e := twin.Event{Kind: twin.EventModeChanged, Asset: asset, FromMode: from, ToMode: to, TS: ts, DurationSeconds: &dur}
	e.ID = twin.EventID(&e)
	return e
}

// bigModel generates a site with n assets: machines dealt to lines of 50.
func bigModel(n int) string {
	lines := (n + 49) / 50
	return string(testmodel.Plant{
		Site: "s", Lines: lines, Dealt: n - lines - 1, Named: true,
		Speed: testmodel.Signal{Name: "speed", Unit: "units/min"},
	}.YAML())
}
