package twinsync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/twinsync"
)

// benchRecords is how many telemetry records the end-to-end benchmark produces.
const benchRecords = 200_000

// benchScript is single-sample telemetry spread over every packaging asset
// with a speed signal, each sample newer than the last, so all of it applies.
func benchScript(m twin.Model, n int) []msg {
	var assets []string
	hasBatch := map[string]bool{}
	for _, a := range m.Assets() {
		if t := m.Type(a.Type); t != nil && t.Signal("speed_units_per_min") != nil {
			assets = append(assets, a.ID)
			hasBatch[a.ID] = t.Signal("batch") != nil
		}
	}
	out := make([]msg, n)
	for i := range out {
		a := assets[i%len(assets)]
		j := i / len(assets) // the asset's own sequence number
		at := time.Duration(j) * time.Second
		sig, val := "speed_units_per_min", fmt.Sprint(100+j%50)
		switch j % 50 {
		case 0:
			sig, val = "power_on", "true"
		case 10:
			sig, val = "fault_codes", `["E1"]`
		case 20:
			sig, val = "fault_codes", `[]`
		case 30:
			if hasBatch[a] {
				sig, val = "batch", fmt.Sprintf(`"B%d"`, j)
			}
		case 40:
			sig, val = "speed_units_per_min", "0"
		}
		out[i] = msg{a, curated(a, sig, val, at)}
	}
	return out
}

// BenchmarkWorker_EndToEnd measures telemetry records per second from Kafka to
// state + history + events in memory stores, beside the raw consume rate of
// the same topic by a plain confluent-kafka-go consumer in the same run, and
// the rate of a Rebuild of the whole topic into fresh states.
//
//	go test ./twinsync -run '^$' -bench WorkerEndToEnd -benchtime 1x
func BenchmarkWorker_EndToEnd(b *testing.B) {
	addr := testenv.Kafka(b)
	m := mustModel(b)
	produce(b, addr, "telemetry", benchScript(m, benchRecords))
	group := 0

	b.Run("raw-consume", func(b *testing.B) {
		var total int
		var elapsed time.Duration
		for range b.N {
			group++
			n, d := rawConsume(b, addr, fmt.Sprintf("raw-%d", group), benchRecords)
			total += n
			elapsed += d
		}
		b.ReportMetric(float64(total)/elapsed.Seconds(), "records/s")
	})
	b.Run("worker", func(b *testing.B) {
		var total, samples, events int64
		var elapsed time.Duration
		for range b.N {
			group++
			s := newStores()
			w, err := twinsync.NewWorker(twinsync.Config{Brokers: addr, Group: fmt.Sprintf("bench-%d", group),
				Model: m, States: s.states, History: s.history, Events: s.events, Bus: s.bus})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			// The clock starts at the partition assignment, before the first
			// record arrives: group joins are not what is measured.
			for len(w.Stats().Partitions) == 0 {
				time.Sleep(100 * time.Microsecond)
			}
			start := time.Now()
			for w.Stats().Messages < benchRecords {
				time.Sleep(time.Millisecond)
			}
			elapsed += time.Since(start)
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			st := w.Stats()
			total += st.Messages
			samples += st.Samples
			events += st.Events
		}
		b.ReportMetric(float64(total)/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(samples)/elapsed.Seconds(), "samples/s")
		b.ReportMetric(float64(events)/elapsed.Seconds(), "twinevents/s")
	})
	b.Run("rebuild", func(b *testing.B) {
		var total int64
		var elapsed time.Duration
		for range b.N {
			start := time.Now()
			r, err := twinsync.Rebuild(context.Background(), twinsync.RebuildConfig{Brokers: addr, Model: m})
			if err != nil {
				b.Fatal(err)
			}
			elapsed += time.Since(start)
			total += r.Messages
		}
		b.ReportMetric(float64(total)/elapsed.Seconds(), "records/s")
	})
}

// rawConsume reads n records of the telemetry topic in a fresh group and
// returns how many it read and how long that took from the first record on.
func rawConsume(tb testing.TB, addr, group string, n int) (int, time.Duration) {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": addr, "group.id": group,
		"auto.offset.reset": "earliest", "enable.metrics.push": false, "enable.auto.commit": false,
		"fetch.queue.backoff.ms": 20}) // as the worker has it
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe("telemetry", nil); err != nil {
		tb.Fatal(err)
	}
	got := 0
	var start time.Time
	for got < n {
		if _, ok := c.Poll(100).(*kafka.Message); ok {
			if got == 0 {
				start = time.Now()
			}
			got++
		}
	}
	return got, time.Since(start)
}
