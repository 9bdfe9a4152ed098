package loadtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// fanOutResult is what fanOut measured.
type fanOutResult struct {
	latencies
	subscribers int
	perSubKiB   float64 // the gateway's heap and stack growth per subscriber
}

// fanOut opens n graphql-transport-ws connections, each subscribed to
// modeChanged of site/probe, then flips the probe's mode flips times, each
// record dated the instant it is produced; every subscriber's receipt of
// every flip is one latency (arrival minus sample time).
func fanOut(tb testing.TB, dev *devProcess, n, flips int) fanOutResult {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := dev.goMemory(tb)

	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	ready := make(chan error, n)
	sem := make(chan struct{}, 64) // connections opened at once
	for range n {
		go func() {
			sem <- struct{}{}
			conn, err := subscribeWS(ctx, dev.http)
			<-sem
			ready <- err
			if err != nil {
				return
			}
			defer conn.CloseNow()
			for {
				var msg struct {
					Type    string
					Payload struct {
						Data struct{ ModeChanged struct{ TS time.Time } }
					}
				}
				if err := wsjson.Read(ctx, conn, &msg); err != nil {
					return
				}
				if msg.Type == "next" {
					d := time.Since(msg.Payload.Data.ModeChanged.TS)
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}
		}()
	}
	failed := 0
	var firstErr error
	for range n {
		if err := <-ready; err != nil {
			if failed++; firstErr == nil {
				firstErr = err
			}
		}
	}
	time.Sleep(time.Second) // let the gateway settle before reading its memory
	after := dev.goMemory(tb)

	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": dev.kafka, "enable.metrics.push": false, "linger.ms": 0})
	if err != nil {
		tb.Fatal(err)
	}
	defer p.Close()
	go drain(p.Events())
	topic := "telemetry"
	for i := range flips {
		speed := 100 * (i % 2)
		if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key: []byte("site/probe"), Value: fmt.Appendf(nil, `{"asset":"site/probe","signal":"speed_units_per_min","value":%d,"ts":%d}`,
				speed, time.Now().UnixMilli())}, nil); err != nil {
			tb.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	want := (n - failed) * flips
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		got := len(lat)
		mu.Unlock()
		if got >= want {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	res := fanOutResult{subscribers: n - failed, perSubKiB: (after - before) / 1024 / float64(max(n-failed, 1))}
	res.name = fmt.Sprintf("modeChanged fan-out to %d WebSocket subscribers", n)
	res.rate, res.sent = float64(flips), want
	res.errors = failed + max(0, want-len(lat))
	if firstErr != nil {
		res.firstErr = firstErr.Error()
	} else if want > len(lat) {
		res.firstErr = fmt.Sprintf("%d of %d deliveries missing after 20 s", want-len(lat), want)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		res.p50, res.p99, res.pmax = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	return res
}

// subscribeWS opens one graphql-transport-ws connection and subscribes it to
// the probe's mode changes.
func subscribeWS(ctx context.Context, httpAddr string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, "ws://"+httpAddr+"/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return nil, err
	}
	if err := wsjson.Write(dctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{}}); err != nil {
		conn.CloseNow()
		return nil, err
	}
	var ack struct{ Type string }
	if err := wsjson.Read(dctx, conn, &ack); err != nil || ack.Type != "connection_ack" {
		conn.CloseNow()
		return nil, fmt.Errorf("connection_init: %q %v", ack.Type, err)
	}
	sub, _ := json.Marshal(map[string]any{"id": "1", "type": "subscribe",
		"payload": map[string]any{"query": `subscription { modeChanged(under: "site/probe") { ts } }`}})
	if err := conn.Write(dctx, websocket.MessageText, sub); err != nil {
		conn.CloseNow()
		return nil, err
	}
	return conn, nil
}
