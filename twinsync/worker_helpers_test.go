package twinsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.uber.org/goleak"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/store/memory"
	"github.com/twingraph/twingraph/twinsync"
)

const l3ID = "plant/jkt1/packaging/line3"

// noLeaks fails the test if goroutines it started outlive it. It must be
// called first, so its check runs after every other cleanup (the broker's
// too). librdkafka's own threads are C threads, invisible here; the Go side
// of confluent-kafka-go ends when its clients close.
func noLeaks(t *testing.T) {
	t.Helper()
	opts := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opts) })
}

// mustModel loads the demo plant.
func mustModel(tb testing.TB) *hierarchy.Model {
	tb.Helper()
	m := testmodel.Demo(tb)
	return m
}

// stores is one set of memory stores.
type stores struct {
	states  twin.StateStore
	history twin.HistoryStore
	events  twin.EventStore
	bus     twin.Bus
}

func newStores() *stores {
	return &stores{memory.NewStateStore(), memory.NewHistoryStore(), memory.NewEventStore(), memory.NewBus()}
}

// msg is one telemetry record to produce.
type msg struct {
	key   string
	value string
}

// produce writes msgs to the topic with the production client, in order,
// waits until all are acknowledged, and returns where each landed
// ("partition/offset").
func produce(tb testing.TB, addr, topic string, msgs []msg) []string {
	tb.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": addr, "enable.metrics.push": false,
		"linger.ms": 5, "enable.idempotence": true})
	if err != nil {
		tb.Fatal(err)
	}
	defer p.Close()
	go func() {
		for range p.Events() {
		}
	}()
	reports := make(chan kafka.Event, len(msgs))
	for i, m := range msgs {
		for {
			err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
				Key: []byte(m.key), Value: []byte(m.value), Opaque: i}, reports)
			var ke kafka.Error
			if errors.As(err, &ke) && ke.Code() == kafka.ErrQueueFull {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			if err != nil {
				tb.Fatal(err)
			}
			break
		}
	}
	where := make([]string, len(msgs))
	for range msgs {
		m := (<-reports).(*kafka.Message)
		if m.TopicPartition.Error != nil {
			tb.Fatal(m.TopicPartition.Error)
		}
		where[m.Opaque.(int)] = fmt.Sprintf("%d/%d", m.TopicPartition.Partition, m.TopicPartition.Offset)
	}
	return where
}

// bgWorker is a worker running in the background.
type bgWorker struct {
	w      *twinsync.Worker
	cancel context.CancelFunc
	done   chan error
}

// start runs a worker on the stores until stop (or the test's end).
func start(tb testing.TB, addr, group string, s *stores) *bgWorker {
	tb.Helper()
	return startConfig(tb, addr, group, s, twinsync.Config{})
}

// startConfig is start with cfg (brokers, model and stores filled in from
// addr and s).
func startConfig(tb testing.TB, addr, group string, s *stores, cfg twinsync.Config) *bgWorker {
	tb.Helper()
	cfg.Brokers, cfg.Group, cfg.Model = addr, group, mustModel(tb)
	cfg.States, cfg.History, cfg.Events, cfg.Bus = s.states, s.history, s.events, s.bus
	w, err := twinsync.NewWorker(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &bgWorker{w: w, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx) }()
	tb.Cleanup(func() { r.stop(tb) })
	return r
}

// run runs a worker on the stores until it has flushed n records, and stops it.
func run(tb testing.TB, addr, group string, s *stores, n int) *bgWorker {
	tb.Helper()
	w := start(tb, addr, group, s)
	waitMessages(tb, int64(n), w)
	w.stop(tb)
	return w
}

// stop stops the worker and waits for Run to return; it is idempotent.
func (r *bgWorker) stop(tb testing.TB) {
	tb.Helper()
	r.cancel()
	if err, ok := <-r.done; ok {
		close(r.done)
		if err != nil {
			tb.Errorf("worker: %v", err)
		}
	}
}

// eventually polls cond until it holds or the time runs out.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitMessages waits until the workers together have flushed at least n records.
func waitMessages(tb testing.TB, n int64, ws ...*bgWorker) {
	tb.Helper()
	eventually(tb, fmt.Sprintf("%d records flushed", n), func() bool {
		var got int64
		for _, w := range ws {
			got += w.w.Stats().Messages
		}
		return got >= n
	})
}

// snapshot is everything the stores hold for some assets, comparable across runs.
type snapshot struct {
	States  map[string]*twin.State
	Events  []twin.Event
	History map[string][]twin.Point
}

func takeSnapshot(tb testing.TB, m twin.Model, s *stores, withOffsets bool) snapshot {
	tb.Helper()
	ctx := context.Background()
	var ids []string
	for _, a := range m.Assets() {
		ids = append(ids, a.ID)
	}
	sts, err := s.states.GetStates(ctx, ids)
	if err != nil {
		tb.Fatal(err)
	}
	snap := snapshot{States: map[string]*twin.State{}, History: map[string][]twin.Point{}}
	for i, st := range sts {
		if st == nil {
			continue
		}
		st = st.Clone()
		if !withOffsets {
			st.Offsets = nil
		}
		snap.States[ids[i]] = st
	}
	var after int64
	for {
		page, err := s.events.ListEvents(ctx, twin.EventQuery{AfterSeq: after, First: 1000})
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range page.Events {
			after = e.Seq
			e.Seq = 0
			snap.Events = append(snap.Events, e)
		}
		if !page.HasNext {
			break
		}
	}
	slices.SortFunc(snap.Events, func(a, b twin.Event) int {
		if c := a.TS.Compare(b.TS); c != 0 {
			return c
		}
		return compareStr(a.ID, b.ID)
	})
	var qs []twin.HistoryQuery
	from, to := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, a := range m.Assets() {
		if t := m.Type(a.Type); t != nil {
			for _, sig := range t.Signals {
				if sig.Kind == "" || sig.Kind == twin.KindNumber {
					qs = append(qs, twin.HistoryQuery{Asset: a.ID, Metric: sig.Name, From: from, To: to, Agg: twin.AggAvg})
				}
			}
		}
	}
	series, err := s.history.QueryHistory(ctx, qs)
	if err != nil {
		tb.Fatal(err)
	}
	for _, se := range series {
		if len(se.Points) > 0 {
			snap.History[se.Asset+"/"+se.Metric] = se.Points
		}
	}
	return snap
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// equalSnapshots reports the first difference between two snapshots.
func diffSnapshots(a, b snapshot) string {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) == string(jb) {
		return ""
	}
	for id, sa := range a.States {
		x, _ := json.Marshal(sa)
		y, _ := json.Marshal(b.States[id])
		if string(x) != string(y) {
			return fmt.Sprintf("state of %s:\n%s\n%s", id, x, y)
		}
	}
	if len(a.States) != len(b.States) {
		return fmt.Sprintf("%d states vs %d", len(a.States), len(b.States))
	}
	if len(a.Events) != len(b.Events) {
		return fmt.Sprintf("%d events vs %d", len(a.Events), len(b.Events))
	}
	for k, pa := range a.History {
		if len(pa) != len(b.History[k]) {
			return fmt.Sprintf("history %s: %d points vs %d", k, len(pa), len(b.History[k]))
		}
	}
	return fmt.Sprintf("snapshots differ:\n%s\n%s", ja, jb)
}

// flaky fails the first n calls of each write method, then behaves.
type flaky struct {
	fails atomic.Int64
}

var errDown = errors.New("store down")

func newFlaky(s *stores, n int64) *stores {
	f := &flaky{}
	f.fails.Store(n)
	return &stores{
		states:  &flakyStates{StateStore: s.states, f: f},
		history: &flakyHistory{HistoryStore: s.history, f: f},
		events:  &flakyEvents{EventStore: s.events, f: f},
		bus:     s.bus,
	}
}

func (f *flaky) fail() bool { return f.fails.Add(-1) >= 0 }

type flakyStates struct {
	twin.StateStore
	f *flaky
}

func (s *flakyStates) PutStates(ctx context.Context, sts []*twin.State) error {
	if s.f.fail() {
		return errDown
	}
	return s.StateStore.PutStates(ctx, sts)
}

func (s *flakyStates) GetStates(ctx context.Context, ids []string) ([]*twin.State, error) {
	if s.f.fail() {
		return nil, errDown
	}
	return s.StateStore.GetStates(ctx, ids)
}

type flakyHistory struct {
	twin.HistoryStore
	f *flaky
}

func (s *flakyHistory) AppendSamples(ctx context.Context, ss []twin.Sample) error {
	if s.f.fail() {
		return errDown
	}
	return s.HistoryStore.AppendSamples(ctx, ss)
}

type flakyEvents struct {
	twin.EventStore
	f *flaky
}

func (s *flakyEvents) AppendEvents(ctx context.Context, es []twin.Event) error {
	if s.f.fail() {
		return errDown
	}
	return s.EventStore.AppendEvents(ctx, es)
}

// codes is a JSON list of n distinct fault codes.
func codes(n int) string {
	l := make([]string, n)
	for i := range l {
		l[i] = fmt.Sprintf("%q", fmt.Sprintf("E%04d", i))
	}
	return "[" + strings.Join(l, ",") + "]"
}
