package loadtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/twingraph/twingraph/internal/testenv"
)

// fanOutResult is what fanOut measured.
type fanOutResult struct {
	latencies
	subscribers int
	perSubKiB   float64 // the server's heap and stack growth per subscriber; 0 when unknown
}

// fanOutServer is what fanOut loads: a server speaking graphql-transport-ws
// at http, flip making its i-th mode change of site/probe dated the instant
// it is made, and memory (nil when unknown) its Go heap and stack in bytes.
type fanOutServer struct {
	http   string
	flip   func(i int)
	memory func() float64
}

// devFanOut is the running twingraph as a fan-out server: a flip is one
// telemetry record that changes the probe's mode, produced to its Kafka.
func devFanOut(tb testing.TB, dev *devProcess) fanOutServer {
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": dev.kafka, "enable.metrics.push": false, "linger.ms": 0})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	go drain(p.Events())
	topic := "telemetry"
	return fanOutServer{
		http: dev.http,
		flip: func(i int) {
			if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
				Key: []byte("site/probe"), Value: fmt.Appendf(nil, `{"asset":"site/probe","signal":"speed_units_per_min","value":%d,"ts":%d}`,
					100*(i%2), time.Now().UnixMilli())}, nil); err != nil {
				tb.Error(err)
			}
		},
		memory: func() float64 { return dev.goMemory(tb) },
	}
}

// broadcastFanOut starts the fan-out baseline (internal/wsbroadcast): a
// minimal graphql-transport-ws server that sends one pre-encoded message to
// every subscriber on each flip, with nothing behind it.
func broadcastFanOut(tb testing.TB) fanOutServer {
	cmd := exec.Command(testenv.Build(tb, "github.com/twingraph/twingraph/loadtest/internal/wsbroadcast"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addrs, err := testenv.ReadyLine(stdout, "http")
	if err != nil {
		tb.Fatal(err)
	}
	return fanOutServer{http: addrs[0], flip: func(int) {
		resp, err := http.Post("http://"+addrs[0]+"/flip", "", nil)
		if err != nil {
			tb.Error(err)
			return
		}
		resp.Body.Close()
	}}
}

// fanOut opens n graphql-transport-ws connections to srv, each subscribed to
// modeChanged of site/probe, then flips the probe's mode flips times; every
// subscriber's receipt of every flip is one latency (arrival minus the
// flip's time as the message carries it).
func fanOut(tb testing.TB, name string, srv fanOutServer, n, flips int) fanOutResult {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	memory := func() float64 { return 0 }
	if srv.memory != nil {
		memory = srv.memory
	}
	before := memory()

	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	ready := make(chan error, n)
	sem := make(chan struct{}, 64) // connections opened at once
	for range n {
		go func() {
			sem <- struct{}{}
			conn, err := subscribeWS(ctx, srv.http)
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
	after := memory()

	for i := range flips {
		srv.flip(i)
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
	res.name = fmt.Sprintf("%s to %d WebSocket subscribers", name, n)
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
