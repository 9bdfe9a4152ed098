package twinsync_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/twinsync"
)

// BenchmarkWorker_Latency measures produce → visible latency at a steady
// 20k records/s for 2 s: from just before a record is produced to the bus
// notice of the state that includes it (published after the state is stored),
// after a half-second warm-up.
//
//	go test ./sync -run '^$' -bench Worker_Latency -benchtime 1x
func BenchmarkWorker_Latency(b *testing.B) {
	const rate, seconds = 20_000, 2
	addr := testenv.Kafka(b)
	m := mustModel(b)
	var assets []string
	for _, a := range m.Assets() {
		if t := m.Type(a.Type); t != nil && t.Signal("speed_units_per_min") != nil {
			assets = append(assets, a.ID)
		}
	}
	for range b.N {
		s := newStores()
		ctx, cancel := context.WithCancel(context.Background())
		notices, err := s.bus.Subscribe(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		w, err := twinsync.NewWorker(twinsync.Config{Brokers: addr, Group: fmt.Sprintf("latency-%d", time.Now().UnixNano()),
			Model: m, States: s.states, History: s.history, Events: s.events, Bus: s.bus})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		for len(w.Stats().Partitions) == 0 {
			time.Sleep(time.Millisecond)
		}

		// sent[asset] holds the send times of its records in order; record k
		// of an asset carries sample time base + k ms.
		base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
		sent := make(map[string][]time.Time, len(assets))
		seen := make(map[string]int, len(assets))
		sentCh := make(chan [2]any, rate)
		var lat []time.Duration
		counted := 0
		// The first half second is left out: steady state is what is measured,
		// not the consumer's first fetches.
		warm := time.Now().Add(500 * time.Millisecond)
		total := rate * seconds
		var produced atomic.Int64
		go func() {
			p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": addr, "enable.metrics.push": false, "linger.ms": 1})
			if err != nil {
				panic(err)
			}
			defer p.Close()
			go func() {
				for range p.Events() {
				}
			}()
			topic := "telemetry"
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			start := time.Now()
			k := 0
			for k < total {
				<-tick.C
				due := min(total, int(time.Since(start).Seconds()*rate))
				for ; k < due; k++ {
					a := assets[k%len(assets)]
					seq := k / len(assets)
					v := fmt.Sprintf(`{"asset":%q,"signal":"speed_units_per_min","value":%d,"ts":%d}`,
						a, 100+seq%50, base.Add(time.Duration(seq)*time.Millisecond).UnixMilli())
					sentCh <- [2]any{a, time.Now()}
					if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
						Key: []byte(a), Value: []byte(v)}, nil); err != nil {
						panic(err)
					}
					produced.Add(1)
				}
			}
			p.Flush(10_000)
		}()

		deadline := time.After(60 * time.Second)
	collect:
		for counted < total {
			select {
			case x := <-sentCh:
				a := x[0].(string)
				sent[a] = append(sent[a], x[1].(time.Time))
			case n := <-notices:
				if n.State == nil {
					continue
				}
				now := time.Now()
				a := n.State.Asset
				upto := int(n.State.UpdatedAt.Sub(base)/time.Millisecond) + 1 // records of a visible now
				for len(sentCh) > 0 && len(sent[a]) < upto {
					x := <-sentCh
					sent[x[0].(string)] = append(sent[x[0].(string)], x[1].(time.Time))
				}
				for ; seen[a] < upto && seen[a] < len(sent[a]); seen[a]++ {
					counted++
					if at := sent[a][seen[a]]; at.After(warm) {
						lat = append(lat, now.Sub(at))
					}
				}
			case <-deadline:
				b.Logf("only %d of %d records seen (%d produced)", counted, total, produced.Load())
				break collect
			}
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		if len(lat) == 0 {
			b.Fatal("no latency measured")
		}
		slices.Sort(lat)
		q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
		b.ReportMetric(q(0.50), "p50-ms")
		b.ReportMetric(q(0.99), "p99-ms")
		b.ReportMetric(q(1), "max-ms")
	}
}
