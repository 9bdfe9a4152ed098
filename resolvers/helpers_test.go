package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/examples"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/resolvers"
)

// Line3 is the demo model's seeded line.
const line3 = "plant/jkt1/packaging/line3"

// now is the clock every test reads: 2026-11-24 14:00 in Jakarta.
var now = time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)

// env is a handler over the demo model (or another) with in-process stores.
type env struct {
	model   twin.Model
	states  *countingStates
	history *fakeHistory
	events  *fakeEvents
	bus     *fakeBus
	h       *resolvers.Handler
	c       *client.Client
}

type envOpt func(*resolvers.Config)

func mustDemoModel(tb testing.TB) twin.Model {
	tb.Helper()
	m, err := hierarchy.Load(examples.PlantFile, examples.PlantYAML)
	if err != nil {
		tb.Fatalf("load demo model: %v", err)
	}
	return m
}

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
		states:  &countingStates{m: map[string]*twin.State{}},
		history: &fakeHistory{},
		events:  &fakeEvents{},
		bus:     &fakeBus{},
	}
	cfg := resolvers.Config{
		Model: m, States: e.states, History: e.history, Events: e.events, Bus: e.bus,
		Now: func() time.Time { return now },
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.h = resolvers.New(cfg)
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

// putState stores a state for an asset with the given metrics.
func (e *env) putState(st *twin.State) {
	e.states.mu.Lock()
	defer e.states.mu.Unlock()
	e.states.m[st.Asset] = st
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

// countingStates is a StateStore in memory that counts GetStates calls.
type countingStates struct {
	mu    gosync.Mutex
	m     map[string]*twin.State
	calls atomic.Int64
	keys  atomic.Int64
	panic bool
}

func (s *countingStates) GetStates(ctx context.Context, ids []string) ([]*twin.State, error) {
	s.calls.Add(1)
	s.keys.Add(int64(len(ids)))
	if s.panic {
		panic("state store exploded")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*twin.State, len(ids))
	for i, id := range ids {
		out[i] = s.m[id].Clone()
	}
	return out, nil
}

func (s *countingStates) PutStates(ctx context.Context, states []*twin.State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range states {
		s.m[st.Asset] = st.Clone()
	}
	return nil
}

func (s *countingStates) DeleteStates(ctx context.Context, ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.m, id)
	}
	return nil
}

// fakeHistory answers every query with one point per interval whose value is
// the bucket's index, and records the batches it got.
type fakeHistory struct {
	mu      gosync.Mutex
	batches [][]twin.HistoryQuery
	series  func(q twin.HistoryQuery) []twin.Point
}

func (h *fakeHistory) AppendSamples(ctx context.Context, samples []twin.Sample) error { return nil }

func (h *fakeHistory) QueryHistory(ctx context.Context, qs []twin.HistoryQuery) ([]twin.Series, error) {
	h.mu.Lock()
	h.batches = append(h.batches, slices.Clone(qs))
	f := h.series
	h.mu.Unlock()
	out := make([]twin.Series, len(qs))
	for i, q := range qs {
		out[i] = twin.Series{Asset: q.Asset, Metric: q.Metric, Interval: q.Interval, Agg: q.Agg}
		if f != nil {
			out[i].Points = f(q)
			continue
		}
		if q.Interval <= 0 {
			continue
		}
		n := 0
		for t := q.From; t.Before(q.To); t = t.Add(q.Interval) {
			v := float64(n)
			out[i].Points = append(out[i].Points, twin.Point{TS: t, Value: &v})
			n++
		}
	}
	return out, nil
}

// fakeEvents keeps events in Seq order and publishes nothing by itself.
type fakeEvents struct {
	mu         gosync.Mutex
	events     []twin.Event
	calls      atomic.Int64
	beforeList func() // run once, unlocked, at the start of the next ListEvents
}

// onNextList sets a hook the next ListEvents runs before it reads.
func (s *fakeEvents) onNextList(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeList = f
}

func (s *fakeEvents) AppendEvents(ctx context.Context, events []twin.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		if e.ID == "" {
			e.ID = twin.EventID(&e)
		}
		e.Seq = int64(len(s.events) + 1)
		s.events = append(s.events, e)
	}
	return nil
}

// stored returns the stored copies of the last n events (with Seq).
func (s *fakeEvents) last(n int) []twin.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events[len(s.events)-n:])
}

func (s *fakeEvents) ListEvents(ctx context.Context, q twin.EventQuery) (twin.EventPage, error) {
	s.calls.Add(1)
	s.mu.Lock()
	hook := s.beforeList
	s.beforeList = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	if q.First <= 0 {
		return twin.EventPage{}, twin.Errorf(twin.EBADINPUT, "first must be positive")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var page twin.EventPage
	for _, e := range s.events {
		if e.Seq <= q.AfterSeq || (q.Assets != nil && !slices.Contains(q.Assets, e.Asset)) ||
			(q.Kinds != nil && !slices.Contains(q.Kinds, e.Kind)) ||
			(!q.From.IsZero() && e.TS.Before(q.From)) || (!q.To.IsZero() && !e.TS.Before(q.To)) {
			continue
		}
		if len(page.Events) == q.First {
			page.HasNext = true
			break
		}
		page.Events = append(page.Events, e)
	}
	return page, nil
}

// fakeBus fans notices out to subscribers in process.
type fakeBus struct {
	mu   gosync.Mutex
	subs map[chan twin.Notice]struct{}
}

func (b *fakeBus) Publish(ctx context.Context, ns []twin.Notice) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		for _, n := range ns {
			select {
			case ch <- n:
			default:
			}
		}
	}
	return nil
}

func (b *fakeBus) Subscribe(ctx context.Context) (<-chan twin.Notice, error) {
	ch := make(chan twin.Notice, 1024)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan twin.Notice]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		delete(b.subs, ch)
		close(ch)
		b.mu.Unlock()
	}()
	return ch, nil
}

func (b *fakeBus) subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// appendAndPublish stores events and then announces them, as the sync worker does.
func (e *env) appendAndPublish(tb testing.TB, evs ...twin.Event) []twin.Event {
	tb.Helper()
	ctx := context.Background()
	if err := e.events.AppendEvents(ctx, evs); err != nil {
		tb.Fatal(err)
	}
	stored := e.events.last(len(evs))
	ns := make([]twin.Notice, len(stored))
	for i := range stored {
		ns[i] = twin.Notice{Event: &stored[i]}
	}
	if err := e.bus.Publish(ctx, ns); err != nil {
		tb.Fatal(err)
	}
	return stored
}

func modeChange(asset string, from, to twin.Mode, ts time.Time, dur float64) twin.Event {
	e := twin.Event{Kind: twin.EventModeChanged, Asset: asset, FromMode: from, ToMode: to, TS: ts, DurationSeconds: &dur}
	e.ID = twin.EventID(&e)
	return e
}

// bigModel generates a site with n machines under lines of 50.
func bigModel(n int) string {
	var b strings.Builder
	b.WriteString(`types:
  site: {}
  line: {}
  machine:
    signals:
      - {name: speed, unit: units/min}
    modeRules:
      - {when: "speed > 0", mode: RUNNING}
      - {when: "true", mode: IDLE}
assets:
  - {id: s, name: S, type: site, timezone: Asia/Jakarta}
`)
	lines := (n + 49) / 50
	for l := range lines {
		fmt.Fprintf(&b, "  - {id: s/l%d, name: L%d, type: line, parent: s}\n", l, l)
	}
	for i := range n - lines - 1 {
		fmt.Fprintf(&b, "  - {id: s/l%d/m%d, name: M%d, type: machine, parent: s/l%d}\n", i%lines, i, i, i%lines)
	}
	return b.String()
}
