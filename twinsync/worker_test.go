package twinsync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/lockedbuf"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/twinsync"
)

var day0 = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC) // 07:00 in Jakarta

func ts(d time.Duration) string { return day0.Add(d).Format(time.RFC3339Nano) }

func curated(asset, signal, value string, at time.Duration) string {
	return fmt.Sprintf(`{"asset":%q,"signal":%q,"value":%s,"ts":%q}`, asset, signal, value, ts(at))
}

// line3Script is a short shift of l3ID: power on, run, a fault and its
// clearing, a batch and product, raw PLC tags and a late sample.
func line3Script() []msg {
	c := func(signal, value string, at time.Duration) msg {
		return msg{l3ID, curated(l3ID, signal, value, at)}
	}
	return []msg{
		{l3ID, "[" + curated(l3ID, "power_on", "true", 0) + "," + curated(l3ID, "speed_units_per_min", "0", 0) +
			"," + curated(l3ID, "fault_codes", "[]", 0) + "]"},
		c("speed_units_per_min", "218", 1*time.Minute),
		c("batch", `"B-001"`, 2*time.Minute),
		c("product", `"SKU-COLA-330"`, 2*time.Minute),
		c("fault_codes", `["E101","E204"]`, 10*time.Minute),
		c("fault_codes", `["E204"]`, 11*time.Minute),
		c("fault_codes", `[]`, 12*time.Minute),
		// Raw PLC tags: press1_bar = raw × 0.01, speed unscaled, epoch-ms timestamps.
		{l3ID, fmt.Sprintf(`[{"device":"plc-17","tag":"1024","value":542,"ts":%d},{"device":"plc-17","tag":"900","value":231,"ts":%d}]`,
			day0.Add(13*time.Minute).UnixMilli(), day0.Add(13*time.Minute).UnixMilli())},
		// Late: older than the current speed; history only.
		c("speed_units_per_min", "5", 5*time.Minute),
		c("batch", `"B-002"`, 20*time.Minute),
	}
}

// machinesScript sends n rounds of speed and fault telemetry to every packaging machine.
func machinesScript(m twin.Model, rounds int) []msg {
	var out []msg
	for _, a := range m.Assets() {
		t := m.Type(a.Type)
		if t == nil || t.Signal("speed_units_per_min") == nil {
			continue
		}
		for i := range rounds {
			at := time.Duration(i) * 10 * time.Second
			speed := strconv.Itoa(100 + (i*7)%50)
			if i%10 == 9 {
				speed = "0"
			}
			faults := "[]"
			if i%15 == 7 {
				faults = `["E` + strconv.Itoa(300+i) + `"]`
			}
			out = append(out, msg{a.ID, "[" + curated(a.ID, "power_on", strconv.FormatBool(i%40 != 39), at) + "," +
				curated(a.ID, "speed_units_per_min", speed, at) + "," + curated(a.ID, "fault_codes", faults, at) + "]"})
		}
	}
	return out
}

func TestWorker_EndToEnd(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	s := newStores()
	script := line3Script()
	produce(t, addr, "telemetry", script)
	w := start(t, addr, "e2e", s)
	waitMessages(t, int64(len(script)), w)

	ctx := context.Background()
	sts, err := s.states.GetStates(ctx, []string{l3ID})
	if err != nil {
		t.Fatal(err)
	}
	st := sts[0]
	if st == nil {
		t.Fatal("no state for l3ID")
	}
	if st.Mode != twin.ModeRunning {
		t.Errorf("mode = %s, want RUNNING", st.Mode)
	}
	if got := st.Metrics["speed_units_per_min"].Value; !got.Equal(twin.Number(231)) {
		t.Errorf("speed = %v, want 231 (the late 5 must not apply)", got)
	}
	if got := st.Metrics["press1_bar"].Value; got.Kind != twin.KindNumber || got.Num < 5.4199 || got.Num > 5.4201 {
		t.Errorf("press1_bar = %v, want 5.42 from the raw tag", got)
	}
	if st.Batch != "B-002" || st.Product != "SKU-COLA-330" || len(st.FaultCodes) != 0 {
		t.Errorf("batch %q product %q faults %v", st.Batch, st.Product, st.FaultCodes)
	}
	if !st.UpdatedAt.Equal(day0.Add(20 * time.Minute)) {
		t.Errorf("updatedAt = %v", st.UpdatedAt)
	}
	if len(st.Offsets) == 0 {
		t.Error("state carries no log offsets")
	}
	for k := range st.Offsets {
		if !strings.HasPrefix(k, "telemetry@") {
			t.Errorf("offset key %q does not name the telemetry log", k)
		}
	}

	page, err := s.events.ListEvents(ctx, twin.EventQuery{Assets: []string{l3ID}, First: 100})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[twin.EventKind]int{}
	var modes []string
	for _, e := range page.Events {
		kinds[e.Kind]++
		if e.Kind == twin.EventModeChanged {
			modes = append(modes, string(e.FromMode)+">"+string(e.ToMode))
		}
	}
	want := map[twin.EventKind]int{twin.EventFaultRaised: 2, twin.EventFaultCleared: 2, twin.EventBatchStarted: 2,
		twin.EventBatchEnded: 1, twin.EventProductChanged: 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s events, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
	if got, want := strings.Join(modes, " "), "UNKNOWN>IDLE IDLE>RUNNING RUNNING>FAULT FAULT>RUNNING"; got != want {
		t.Errorf("mode changes %s, want %s", got, want)
	}

	// The late speed sample is in history although it never drove state.
	series, err := s.history.QueryHistory(ctx, []twin.HistoryQuery{{Asset: l3ID, Metric: "speed_units_per_min",
		From: day0, To: day0.Add(time.Hour), Agg: twin.AggAvg}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(series[0].Points); n != 4 {
		t.Errorf("%d speed samples in history, want 4 (late one included): %v", n, series[0].Points)
	}
	st2 := w.w.Stats()
	if st2.Rejected != 0 || st2.Events == 0 || st2.Batches == 0 || !strings.HasPrefix(st2.Log, "telemetry@") {
		t.Errorf("stats %+v", st2)
	}
}

// dlqRecord is one record read back from the dead-letter topic.
type dlqRecord struct {
	value   string
	headers map[string]string
}

func readDLQ(t *testing.T, addr string, n int) []dlqRecord {
	t.Helper()
	out := readDLQRecords(t, addr, "dlq-reader", n, true)
	if len(out) < n {
		t.Fatalf("%d dead letters, want %d", len(out), n)
	}
	return out
}

// readDLQRecords reads the dead-letter topic in its own consumer group to
// the end of every partition, once at least n records are there (within a
// minute), with their values when values is set (a drill's would not fit).
func readDLQRecords(t *testing.T, addr, group string, n int, values bool) []dlqRecord {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": addr, "group.id": group,
		"auto.offset.reset": "earliest", "enable.metrics.push": false, "enable.partition.eof": true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	md, err := c.GetMetadata(nil, true, 10000)
	if err != nil {
		t.Fatal(err)
	}
	parts := len(md.Topics["telemetry.dlq"].Partitions)
	if err := c.Subscribe("telemetry.dlq", nil); err != nil {
		t.Fatal(err)
	}
	var out []dlqRecord
	eofs := map[int32]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for (len(out) < n || len(eofs) < parts) && time.Now().Before(deadline) {
		switch e := c.Poll(100).(type) {
		case *kafka.Message:
			r := dlqRecord{headers: map[string]string{}}
			if values {
				r.value = string(e.Value)
			}
			for _, h := range e.Headers {
				r.headers[h.Key] = string(h.Value)
			}
			out = append(out, r)
			delete(eofs, e.TopicPartition.Partition)
		case kafka.PartitionEOF:
			eofs[e.Partition] = true
		}
	}
	return out
}

func TestWorker_DeadLetters(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	s := newStores()
	bad := []msg{
		{"x", `this is not json`},
		{"plant/nowhere", curated("plant/nowhere", "speed_units_per_min", "1", 0)},
		{l3ID, curated(l3ID, "speed_units_per_min", `"fast"`, 3*time.Minute)},
		{l3ID, `{"asset":"` + l3ID + `","signal":"press1_bar","value":1e999,"ts":"` + ts(4*time.Minute) + `"}`},
	}
	wantCodes := []string{"bad_json", "unknown_asset", "wrong_type", "non_finite"}
	var script []msg
	good := line3Script()
	for i, g := range good {
		script = append(script, g)
		if i < len(bad) {
			script = append(script, bad[i])
		}
	}
	produce(t, addr, "telemetry", script)
	w := start(t, addr, "dlq", s)
	waitMessages(t, int64(len(script)), w)

	dl := readDLQ(t, addr, len(bad))
	byValue := map[string]dlqRecord{}
	for _, r := range dl {
		byValue[r.value] = r
	}
	for i, b := range bad {
		r, ok := byValue[b.value]
		if !ok {
			t.Errorf("%s: original bytes not in the dead-letter topic", wantCodes[i])
			continue
		}
		if !strings.HasPrefix(r.headers["reason"], wantCodes[i]+":") {
			t.Errorf("reason %q, want code %s", r.headers["reason"], wantCodes[i])
		}
		if r.headers["source_topic"] != "telemetry" || r.headers["source_partition"] == "" || r.headers["source_offset"] == "" {
			t.Errorf("source headers %v", r.headers)
		}
	}
	if got := w.w.Stats().Rejected; got != int64(len(bad)) {
		t.Errorf("rejected %d, want %d", got, len(bad))
	}
	// The good telemetry around the bad applied as if the bad was never there.
	sts, _ := s.states.GetStates(context.Background(), []string{l3ID})
	if st := sts[0]; st == nil || st.Mode != twin.ModeRunning || st.Batch != "B-002" ||
		!st.Metrics["speed_units_per_min"].Value.Equal(twin.Number(231)) {
		t.Errorf("state after bad input: %+v", st)
	}
}

// TestWorker_Redelivery replays the log into the same stores under a new group
// (as after a crash before commit), then produces the same script again: the
// stores are unchanged both times.
func TestWorker_Redelivery(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	m := mustModel(t)
	s := newStores()
	script := append(line3Script(), machinesScript(m, 20)...)
	produce(t, addr, "telemetry", script)
	run(t, addr, "first", s, len(script))
	clean := takeSnapshot(t, m, s, true)

	// Same offsets consumed again: every record is skipped by its offset.
	run(t, addr, "second", s, len(script))
	if d := diffSnapshots(clean, takeSnapshot(t, m, s, true)); d != "" {
		t.Fatalf("replaying the same offsets changed the stores: %s", d)
	}

	// The same payloads at new offsets: late/duplicate samples change nothing
	// but the recorded offsets.
	produce(t, addr, "telemetry", script)
	run(t, addr, "first", s, len(script))
	if d := diffSnapshots(takeSnapshotNoOffsets(clean), takeSnapshot(t, m, s, false)); d != "" {
		t.Fatalf("producing the script again changed the stores: %s", d)
	}
}

func takeSnapshotNoOffsets(s snapshot) snapshot {
	out := s
	out.States = map[string]*twin.State{}
	for id, st := range s.States {
		st = st.Clone()
		st.Offsets = nil
		out.States[id] = st
	}
	return out
}

// TestWorker_ScaleOut runs two workers in one group beside one worker alone:
// the results are equal, and equal to a rebuild from the log.
func TestWorker_ScaleOut(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	m := mustModel(t)
	script := append(line3Script(), machinesScript(m, 30)...)
	half := len(script) / 2
	produce(t, addr, "telemetry", script[:half])

	shared := newStores()
	a := start(t, addr, "pair", shared)
	b := start(t, addr, "pair", shared)
	eventually(t, "both workers to own partitions", func() bool {
		pa, pb := a.w.Stats().Partitions, b.w.Stats().Partitions
		return len(pa) > 0 && len(pb) > 0 && len(pa)+len(pb) == 6
	})
	produce(t, addr, "telemetry", script[half:])

	alone := newStores()
	run(t, addr, "alone", alone, len(script))
	want := takeSnapshot(t, m, alone, true)

	rebuilt, err := twinsync.Rebuild(context.Background(), twinsync.RebuildConfig{Brokers: addr, Model: m})
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.Messages != int64(len(script)) {
		t.Errorf("rebuild read %d records, want %d", rebuilt.Messages, len(script))
	}
	ctx := context.Background()
	eventually(t, "two workers to match one", func() bool {
		diffs, err := twinsync.Verify(ctx, shared.states, rebuilt, nil)
		return err == nil && len(diffs) == 0
	})
	a.stop(t)
	b.stop(t)
	if d := diffSnapshots(want, takeSnapshot(t, m, shared, true)); d != "" {
		t.Fatalf("two workers differ from one: %s", d)
	}
	if diffs, err := twinsync.Verify(ctx, alone.states, rebuilt, nil); err != nil || len(diffs) != 0 {
		t.Fatalf("rebuild differs from the live state: %v %v", diffs, err)
	}
	if a.w.Stats().Messages == 0 || b.w.Stats().Messages == 0 {
		t.Errorf("one worker of the pair got no records (a: %+v, b: %+v)", a.w.Stats(), b.w.Stats())
	}
}

// TestWorker_StoreOutage makes every store fail for a while: the worker backs
// off and retries, commits nothing meanwhile, and ends with what a clean run gets.
func TestWorker_StoreOutage(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	m := mustModel(t)
	script := append(line3Script(), machinesScript(m, 10)...)
	produce(t, addr, "telemetry", script)

	clean := newStores()
	run(t, addr, "clean", clean, len(script))

	backing := newStores()
	f := run(t, addr, "flaky", newFlaky(backing, 6), len(script))
	if f.w.Stats().StoreErrors == 0 {
		t.Error("no store error seen")
	}
	if d := diffSnapshots(takeSnapshot(t, m, clean, true), takeSnapshot(t, m, backing, true)); d != "" {
		t.Fatalf("outage changed the result: %s", d)
	}
}

func TestVerify_ReportsDifferences(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	m := mustModel(t)
	s := newStores()
	script := line3Script()
	produce(t, addr, "telemetry", script)
	run(t, addr, "verify", s, len(script))

	ctx := context.Background()
	rebuilt, err := twinsync.Rebuild(ctx, twinsync.RebuildConfig{Brokers: addr, Model: m})
	if err != nil {
		t.Fatal(err)
	}
	if diffs, err := twinsync.Verify(ctx, s.states, rebuilt, nil); err != nil || len(diffs) != 0 {
		t.Fatalf("fresh rebuild differs: %v %v", diffs, err)
	}
	// A rebuild that re-appends history and events yields the same rows and events.
	fresh := newStores()
	if _, err := twinsync.Rebuild(ctx, twinsync.RebuildConfig{Brokers: addr, Model: m,
		History: fresh.history, Events: fresh.events}); err != nil {
		t.Fatal(err)
	}
	live, again := takeSnapshot(t, m, s, true), takeSnapshot(t, m, fresh, true)
	live.States, again.States = nil, nil
	if d := diffSnapshots(live, again); d != "" {
		t.Fatalf("rebuilt history and events differ: %s", d)
	}
	// Tamper with the live state.
	sts, _ := s.states.GetStates(ctx, []string{l3ID})
	bad := sts[0].Clone()
	bad.Mode = twin.ModeStop
	bad.Batch = "forged"
	bad.Metrics["press1_bar"] = twin.Metric{Value: twin.Number(9), TS: bad.UpdatedAt}
	if err := s.states.PutStates(ctx, []*twin.State{bad}); err != nil {
		t.Fatal(err)
	}
	diffs, err := twinsync.Verify(ctx, s.states, rebuilt, []string{l3ID, "plant/jkt1"})
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]bool{}
	for _, d := range diffs {
		fields[d.Field] = true
	}
	for _, f := range []string{"mode", "batch", "metrics.press1_bar"} {
		if !fields[f] {
			t.Errorf("no difference reported on %s: %v", f, diffs)
		}
	}
	if len(diffs) != 3 {
		t.Errorf("differences %v, want exactly 3", diffs)
	}
	if err := twinsync.Replace(ctx, s.states, rebuilt, nil); err != nil {
		t.Fatal(err)
	}
	if diffs, err := twinsync.Verify(ctx, s.states, rebuilt, nil); err != nil || len(diffs) != 0 {
		t.Fatalf("after replace: %v %v", diffs, err)
	}
}

// TestWorker_RecreatedTopic deletes and recreates the telemetry topic while a
// worker runs: the new topic's offsets start again at 0, and its records must
// apply, not be skipped as replays of the old log.
func TestWorker_RecreatedTopic(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	s := newStores()
	script := line3Script()
	produce(t, addr, "telemetry", script)
	w := start(t, addr, "recreate", s)
	waitMessages(t, int64(len(script)), w)
	oldLog := w.w.Stats().Log

	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": addr, "enable.metrics.push": false})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := admin.DeleteTopics(ctx, []string{"telemetry"}); err != nil || res[0].Error.Code() != kafka.ErrNoError {
		t.Fatalf("delete topic: %v %v", res, err)
	}
	eventually(t, "topic recreated", func() bool {
		res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: "telemetry", NumPartitions: 6, ReplicationFactor: 1}})
		return err == nil && res[0].Error.Code() == kafka.ErrNoError
	})

	// Fewer records than before, newer timestamps: every offset is one the
	// old log already had.
	next := []msg{
		{l3ID, curated(l3ID, "speed_units_per_min", "0", 30*time.Minute)},
		{l3ID, curated(l3ID, "batch", `"B-003"`, 31*time.Minute)},
	}
	produce(t, addr, "telemetry", next)
	eventually(t, "records of the new log applied", func() bool {
		sts, err := s.states.GetStates(context.Background(), []string{l3ID})
		return err == nil && sts[0] != nil && sts[0].Batch == "B-003" && sts[0].Mode == twin.ModeIdle
	})
	if newLog := w.w.Stats().Log; newLog == oldLog {
		t.Errorf("log identity %s unchanged after the topic was recreated", newLog)
	}
}

// TestWorker_BusAndMetrics checks the notices a worker publishes after its
// writes and the metrics it registers.
func TestWorker_BusAndMetrics(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	s := newStores()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	notices, err := s.bus.Subscribe(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	script := append(line3Script(), msg{"x", "not json"})
	produce(t, addr, "telemetry", script)
	reg := prometheus.NewRegistry()
	var logs lockedbuf.Buffer
	w, err := twinsync.NewWorker(twinsync.Config{Brokers: addr, Group: "bus", Model: mustModel(t),
		States: s.states, History: s.history, Events: s.events, Bus: s.bus, Registerer: reg,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	wctx, stop := context.WithCancel(context.Background())
	go func() { done <- w.Run(wctx) }()

	var sawEvent, sawState bool
	timeout := time.After(60 * time.Second)
	for !sawEvent || !sawState {
		select {
		case n := <-notices:
			if n.Event != nil && n.Event.Kind == twin.EventFaultRaised && n.Event.Seq > 0 {
				sawEvent = true
			}
			if n.State != nil && n.State.Asset == l3ID {
				sawState = true
			}
		case <-timeout:
			t.Fatalf("notices: event %v, state %v", sawEvent, sawState)
		}
	}
	eventually(t, "all records flushed", func() bool { return w.Stats().Messages >= int64(len(script)) })
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetCounter().GetValue()
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					got[mf.GetName()+"{"+l.GetValue()+"}"] = v
				}
			}
			if got[mf.GetName()] == 0 {
				got[mf.GetName()] = v
			}
		}
	}
	for name, want := range map[string]float64{
		"twingraph_sync_messages_total":      float64(len(script)),
		"twingraph_sync_dlq_total{bad_json}": 1,
		"twingraph_sync_samples_total":       -1,
		"twingraph_sync_events_total":        -1,
		"twingraph_sync_batches_total":       -1,
		"twingraph_sync_commits_total":       -1,
		"twingraph_sync_flush_seconds":       0,
		"twingraph_sync_store_errors_total":  0,
		"twingraph_sync_lag_messages":        0,
		"twingraph_sync_lag_seconds":         0,
		"twingraph_sync_flush_stage_seconds": 0,
		"twingraph_sync_assigned_partitions": 0,
	} {
		v, ok := got[name]
		switch {
		case !ok:
			t.Errorf("metric %s not registered (have %v)", name, got)
		case want > 0 && v != want:
			t.Errorf("%s = %v, want %v", name, v, want)
		case want < 0 && v <= 0:
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}

	// The dead letter is logged with where to find its source.
	var refused map[string]any
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "telemetry refused to the dead-letter topic" {
			refused = rec
		}
	}
	if refused == nil || !strings.HasPrefix(fmt.Sprint(refused["reason"]), "bad_json") || refused["partition"] == nil ||
		refused["offset"] == nil || refused["key"] != "x" || refused["dlqTopic"] != "telemetry.dlq" {
		t.Errorf("dead-letter log = %v", refused)
	}
}

// TestWorker_OutageThenStop stops a worker whose stores never come back: it
// gives up without committing, so the next worker of the group gets every record.
func TestWorker_OutageThenStop(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	script := line3Script()
	produce(t, addr, "telemetry", script)

	down := start(t, addr, "outage", newFlaky(newStores(), 1<<40))
	eventually(t, "failed flushes", func() bool { return down.w.Stats().StoreErrors >= 2 })
	down.stop(t)
	if got := down.w.Stats().Messages; got != 0 {
		t.Fatalf("%d records counted as flushed while the stores were down", got)
	}

	s := newStores()
	w := start(t, addr, "outage", s)
	waitMessages(t, int64(len(script)), w)
	sts, err := s.states.GetStates(context.Background(), []string{l3ID})
	if err != nil {
		t.Fatal(err)
	}
	if st := sts[0]; st == nil || st.Batch != "B-002" || st.Mode != twin.ModeRunning {
		t.Fatalf("state after the outage: %+v", st)
	}
}

// TestWorker_LagSeconds: while the stores are down, the partitions holding
// unapplied records report how long ago the oldest of them was produced.
func TestWorker_LagSeconds(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	produce(t, addr, "telemetry", line3Script())
	reg := prometheus.NewRegistry()
	s := newFlaky(newStores(), 1<<40)
	w, err := twinsync.NewWorker(twinsync.Config{Brokers: addr, Group: "lag", Model: mustModel(t),
		States: s.states, History: s.history, Events: s.events, Bus: s.bus, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	lagSeconds := func() float64 {
		mfs, _ := reg.Gather()
		most := 0.0
		for _, mf := range mfs {
			if mf.GetName() == "twingraph_sync_lag_seconds" {
				for _, m := range mf.GetMetric() {
					most = max(most, m.GetGauge().GetValue())
				}
			}
		}
		return most
	}
	eventually(t, "lag_seconds above 1 while stalled", func() bool { return lagSeconds() > 1 })
}
