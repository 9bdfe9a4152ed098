package twinsync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/ingest"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/twinsync"
)

// nowTS is a sample time close to the wall clock (the broker stamps records
// with it, and samples may not lie far after that).
func nowTS(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339Nano) }

func state(t *testing.T, s *stores, id string) *twin.State {
	t.Helper()
	sts, err := s.states.GetStates(context.Background(), []string{id})
	if err != nil {
		t.Fatal(err)
	}
	return sts[0]
}

// TestWorker_OneDeadLetterPerRecord is issue row 1: an array whose every
// element names an unknown asset was dead-lettered once per element, each a
// full copy of the message (2,000 elements → 2,000 records, 356 MB).
func TestWorker_OneDeadLetterPerRecord(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	s := newStores()
	el := fmt.Sprintf(`{"asset":"plant/nope","signal":"x","value":1,"ts":%q}`, ts(0))
	allBad := "[" + strings.Repeat(el+",", 1999) + el + "]"
	mixed := "[" + curated(l3ID, "speed_units_per_min", "17", time.Minute) + "," + el + "," +
		curated(l3ID, "batch", `"B-9"`, time.Minute) + "," + el + "]"
	script := []msg{{"plant/nope", allBad}, {l3ID, mixed}}
	produce(t, addr, "telemetry", script)
	w := startConfig(t, addr, "dl-per-record", s, twinsync.Config{})
	waitMessages(t, int64(len(script)), w)

	// The worker counts a batch flushed only after its dead letters are acknowledged.
	dl := readDLQ(t, addr, 2)
	if extra := len(readDLQRecords(t, addr, "dl-per-record-check", 0, false)); extra != 2 {
		t.Fatalf("%d dead letters, want 2 (one per record)", extra)
	}
	byCount := map[string]dlqRecord{}
	for _, r := range dl {
		byCount[r.headers["rejected"]] = r
	}
	for _, tt := range []struct {
		name, rejected string
		listed         []int
		value          string
	}{
		{"every element bad", "2000", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, allBad},
		{"some elements bad", "2", []int{1, 3}, mixed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := byCount[tt.rejected]
			if !ok {
				t.Fatalf("no dead letter with rejected=%s: %v", tt.rejected, dl)
			}
			want := tt.value[:min(len(tt.value), twinsync.DefaultDLQMaxPayload)]
			if !strings.HasPrefix(r.headers["reason"], "unknown_asset:") || r.value != want ||
				r.headers["original_size"] != strconv.Itoa(len(tt.value)) {
				t.Errorf("reason %q, value of %d bytes", r.headers["reason"], len(r.value))
			}
			var elems []struct {
				Index  int    `json:"index"`
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal([]byte(r.headers["elements"]), &elems); err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, e := range elems {
				got = append(got, e.Index)
				if !strings.HasPrefix(e.Reason, "unknown_asset:") {
					t.Errorf("element %d reason %q", e.Index, e.Reason)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.listed) {
				t.Errorf("listed elements %v, want %v", got, tt.listed)
			}
			if r.headers["element"] != strconv.Itoa(tt.listed[0]) {
				t.Errorf("element header %q", r.headers["element"])
			}
		})
	}
	if st := w.w.Stats(); st.Rejected != 2002 || st.DeadLetters != 2 {
		t.Errorf("rejected %d dead letters %d, want 2002 and 2", st.Rejected, st.DeadLetters)
	}
	// The good elements of the mixed record applied.
	if st := state(t, s, l3ID); st == nil || st.Batch != "B-9" {
		t.Errorf("state %+v, want batch B-9", st)
	}
}

// TestWorker_HugeMessage is issue row 2: a message near 1 MB was accepted on
// the telemetry topic, its dead letter (the same bytes plus headers) refused
// by the dead-letter topic, and the flush retried forever: the partition
// never moved again. Now the record is refused as too_large, its dead letter
// keeps only the first DLQMaxPayload bytes, and the next sample applies.
func TestWorker_HugeMessage(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	s := newStores()
	huge := strings.Repeat("#", 999_900)
	script := []msg{
		{l3ID, huge},
		{l3ID, fmt.Sprintf(`{"asset":%q,"signal":"speed_units_per_min","value":42,"ts":%q}`, l3ID, nowTS(0))},
	}
	produce(t, addr, "telemetry", script)
	w := startConfig(t, addr, "huge", s, twinsync.Config{})
	waitMessages(t, int64(len(script)), w)

	r := readDLQ(t, addr, 1)[0]
	for k, want := range map[string]string{"original_size": "999900", "truncated": "true", "rejected": "1"} {
		if r.headers[k] != want {
			t.Errorf("header %s = %q, want %q", k, r.headers[k], want)
		}
	}
	if !strings.HasPrefix(r.headers["reason"], "too_large:") || r.value != huge[:twinsync.DefaultDLQMaxPayload] {
		t.Errorf("reason %q, value of %d bytes", r.headers["reason"], len(r.value))
	}
	if st := state(t, s, l3ID); st == nil || !st.Metrics["speed_units_per_min"].Value.Equal(twin.Number(42)) {
		t.Errorf("the sample after the huge message did not apply: %+v", st)
	}
}

// TestWorker_DeadLetterRefusedForGood: a dead letter the broker can never
// take (here: a payload bound above the producer's message size) is logged,
// counted and skipped; it must not hold its partition.
func TestWorker_DeadLetterRefusedForGood(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	s := newStores()
	script := []msg{
		{l3ID, strings.Repeat("#", 999_900)},
		{l3ID, fmt.Sprintf(`{"asset":%q,"signal":"speed_units_per_min","value":43,"ts":%q}`, l3ID, nowTS(0))},
	}
	produce(t, addr, "telemetry", script)
	w := startConfig(t, addr, "refused", s, twinsync.Config{
		Limits: ingest.Limits{MaxMessageBytes: 2 << 20}, DLQMaxPayload: 2 << 20})
	waitMessages(t, int64(len(script)), w)
	if st := w.w.Stats(); st.DeadLettersDropped != 1 {
		t.Errorf("dropped %d dead letters, want 1", st.DeadLettersDropped)
	}
	if st := state(t, s, l3ID); st == nil || !st.Metrics["speed_units_per_min"].Value.Equal(twin.Number(43)) {
		t.Errorf("the sample after the refused dead letter did not apply: %+v", st)
	}
}

// TestWorker_FutureTimestamp is issue row 3: a sample dated 2100 made every
// real sample late, and power_on=false dated 9999-12-31 held the asset in
// STOP for good. Both are now bad_ts, and current samples drive the state.
func TestWorker_FutureTimestamp(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	s := newStores()
	el := func(signal, value, at string) string {
		return fmt.Sprintf(`{"asset":%q,"signal":%q,"value":%s,"ts":%q}`, l3ID, signal, value, at)
	}
	script := []msg{
		{l3ID, el("speed_units_per_min", "999", "2100-01-01T00:00:00Z")},
		{l3ID, el("power_on", "false", "9999-12-31T00:00:00Z")},
		{l3ID, "[" + el("power_on", "true", nowTS(-time.Second)) + "," + el("fault_codes", "[]", nowTS(-time.Second)) + "," +
			el("speed_units_per_min", "120", nowTS(-time.Second)) + "]"},
	}
	produce(t, addr, "telemetry", script)
	w := startConfig(t, addr, "future", s, twinsync.Config{})
	waitMessages(t, int64(len(script)), w)

	for _, r := range readDLQ(t, addr, 2) {
		if !strings.HasPrefix(r.headers["reason"], "bad_ts:") {
			t.Errorf("reason %q, want bad_ts", r.headers["reason"])
		}
	}
	st := state(t, s, l3ID)
	if st == nil || st.Mode != twin.ModeRunning || !st.Metrics["speed_units_per_min"].Value.Equal(twin.Number(120)) {
		t.Fatalf("state %+v, want RUNNING at speed 120", st)
	}
}

// TestWorker_OversizeValues is issue row 8: a long product string entered
// state and an event, and 20,000 fault codes became 20,000 FAULT_RAISED events.
func TestWorker_OversizeValues(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	s := newStores()
	el := func(signal, value string) string {
		return fmt.Sprintf(`{"asset":%q,"signal":%q,"value":%s,"ts":%q}`, l3ID, signal, value, ts(time.Minute))
	}
	script := []msg{
		{l3ID, el("product", `"`+strings.Repeat("P", 100_000)+`"`)},
		{l3ID, el("fault_codes", codes(20_000))},
		{l3ID, el("product", `"SKU-1"`)},
	}
	produce(t, addr, "telemetry", script)
	w := startConfig(t, addr, "oversize", s, twinsync.Config{})
	waitMessages(t, int64(len(script)), w)

	for _, r := range readDLQ(t, addr, 2) {
		if !strings.HasPrefix(r.headers["reason"], "too_large:") {
			t.Errorf("reason %q, want too_large", r.headers["reason"])
		}
	}
	if st := state(t, s, l3ID); st == nil || st.Product != "SKU-1" || len(st.FaultCodes) != 0 {
		t.Errorf("state %+v, want product SKU-1 and no faults", st)
	}
	page, err := s.events.ListEvents(context.Background(), twin.EventQuery{Assets: []string{l3ID}, First: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Events {
		if e.Kind == twin.EventFaultRaised {
			t.Fatalf("fault raised from an oversize list: %+v", e)
		}
	}
}

// TestWorker_StallReadiness: while every flush fails, Ready says so (with
// the store's error) once the oldest record has waited StallAfter, the age
// gauge grows; after the outage nothing is lost and Ready recovers.
func TestWorker_StallReadiness(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	m := mustModel(t)
	script := append(line3Script(), machinesScript(m, 3)...)
	produce(t, addr, "telemetry", script)

	clean := newStores()
	run(t, addr, "clean", clean, len(script))

	backing := newStores()
	// Eight failures back off 50 ms … 3.2 s: several seconds of outage.
	reg := prometheus.NewRegistry()
	f := startConfig(t, addr, "stalled", newFlaky(backing, 8), twinsync.Config{StallAfter: time.Second, Registerer: reg})
	var why error
	eventually(t, "not ready during the outage", func() bool { why = f.w.Ready(); return why != nil })
	if twin.ErrorCode(why) != twin.EUNAVAILABLE || !strings.Contains(why.Error(), "stalled") ||
		!strings.Contains(why.Error(), "store down") {
		t.Errorf("Ready = %v, want UNAVAILABLE naming the stall and the store error", why)
	}
	// The stall shows in the metrics too: the age of the oldest unapplied
	// record, and a lag that the (failing) commits do not bring down.
	if age := gauge(t, reg, "twingraph_sync_oldest_unapplied_seconds"); age < 0.5 {
		t.Errorf("oldest_unapplied_seconds = %v during the stall", age)
	}
	eventually(t, "lag during the outage", func() bool { return gauge(t, reg, "twingraph_sync_lag_messages") > 0 })
	waitMessages(t, int64(len(script)), f)
	eventually(t, "ready after the outage", func() bool { return f.w.Ready() == nil })
	f.stop(t)
	if d := diffSnapshots(takeSnapshot(t, m, clean, true), takeSnapshot(t, m, backing, true)); d != "" {
		t.Fatalf("outage changed the result: %s", d)
	}
}

// gauge sums the series of a gauge family.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// TestRebuild_JudgesTimestampsAsProduced: "in the future" is judged against
// each record's Kafka timestamp, so a rebuild long after the records were
// produced refuses and accepts exactly what the live worker did. (Judged
// against today's clock, the replay would accept the sample the live worker
// refused, and the two states would differ.)
func TestRebuild_JudgesTimestampsAsProduced(t *testing.T) {
	noLeaks(t)
	addr := testenv.Kafka(t)
	m := mustModel(t)
	s := newStores()
	produced := day0.Add(6 * time.Hour) // long before now
	topic := "telemetry"
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": addr, "enable.metrics.push": false})
	if err != nil {
		t.Fatal(err)
	}
	reports := make(chan kafka.Event, 2)
	for _, at := range []time.Duration{6*time.Hour + 4*time.Minute, 6*time.Hour + 10*time.Minute} {
		v := curated(l3ID, "speed_units_per_min", strconv.Itoa(int(at/time.Minute)), at)
		if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key: []byte(l3ID), Value: []byte(v), Timestamp: produced}, reports); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if e := (<-reports).(*kafka.Message); e.TopicPartition.Error != nil {
			t.Fatal(e.TopicPartition.Error)
		}
	}
	p.Close()

	w := startConfig(t, addr, "asproduced", s, twinsync.Config{})
	waitMessages(t, 2, w)
	w.stop(t)
	if st := w.w.Stats(); st.Rejected != 1 {
		t.Fatalf("live worker rejected %d samples, want 1 (10 min after its record was produced)", st.Rejected)
	}
	if st := state(t, s, l3ID); st == nil || !st.Metrics["speed_units_per_min"].Value.Equal(twin.Number(364)) {
		t.Fatalf("live state %+v, want speed 364 (4 min after produced)", st)
	}
	rebuilt, err := twinsync.Rebuild(context.Background(), twinsync.RebuildConfig{Brokers: addr, Model: m})
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.Rejected != 1 {
		t.Errorf("rebuild rejected %d, want 1", rebuilt.Rejected)
	}
	if diffs, err := twinsync.Verify(context.Background(), s.states, rebuilt, nil); err != nil || len(diffs) != 0 {
		t.Fatalf("rebuild differs from the live state: %v %v", diffs, err)
	}
}
