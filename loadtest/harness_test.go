package loadtest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/twingraph/twingraph/internal/lockedbuf"
	"github.com/twingraph/twingraph/internal/testenv"
)

// twingraphBinary is the binary TWIN_BENCH_BIN names, else the real binary
// built for the run.
func twingraphBinary(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv("TWIN_BENCH_BIN"); bin != "" {
		return bin
	}
	return testenv.Build(tb, "github.com/twingraph/twingraph/cmd/twingraph")
}

// runBinary runs one short subcommand (migrate) and fails on a non-zero exit.
func runBinary(tb testing.TB, bin string, args ...string) {
	tb.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("twingraph %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// devProcess is a running `twingraph dev`, stopped with SIGTERM at cleanup.
type devProcess struct {
	cmd       *exec.Cmd
	http      string // host:port of the gateway
	kafka     string // host:port of the embedded broker
	stderrBuf *lockedbuf.Buffer
}

// startDev starts `twingraph dev` with args and waits for its ready line.
func startDev(tb testing.TB, bin string, args ...string) *devProcess {
	tb.Helper()
	args = append([]string{"dev", "--http", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0", "--log-level", "warn"}, args...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	d := &devProcess{cmd: cmd, stderrBuf: &lockedbuf.Buffer{}}
	cmd.Stderr = d.stderrBuf
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			tb.Errorf("twingraph dev did not stop on SIGTERM")
		}
	})
	addrs, err := testenv.ReadyLine(stdout, "http", "kafka")
	if err != nil {
		tb.Fatalf("twingraph dev: %v; stderr: %s", err, d.stderrBuf)
	}
	d.http, d.kafka = addrs[0], addrs[1]
	return d
}

// rssMB is the process's resident set size now and at its peak, in MiB.
func (d *devProcess) rssMB() (now, peak float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb float64
		if n, _ := fmt.Sscanf(line, "VmRSS: %f kB", &kb); n == 1 {
			now = kb / 1024
		}
		if n, _ := fmt.Sscanf(line, "VmHWM: %f kB", &kb); n == 1 {
			peak = kb / 1024
		}
	}
	return now, peak
}

// goMemory is the process's Go heap and goroutine stacks in use, in bytes,
// from its /metrics.
func (d *devProcess) goMemory(tb testing.TB) float64 {
	tb.Helper()
	resp, err := http.Get("http://" + d.http + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		for _, name := range []string{"go_memstats_heap_inuse_bytes ", "go_memstats_stack_inuse_bytes "} {
			if v, ok := strings.CutPrefix(sc.Text(), name); ok {
				f, _ := strconv.ParseFloat(v, 64)
				total += f
			}
		}
	}
	return total
}

// message is one telemetry record: its key and JSON value.
type message struct{ key, value []byte }

// produceAll sends n messages from gen with the production client as fast as
// the client allows and waits for every delivery; it returns the time taken.
func produceAll(tb testing.TB, brokers string, n int, gen func(i int) message) time.Duration {
	tb.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers": brokers, "enable.metrics.push": false,
		"linger.ms": 5, "batch.num.messages": 10000, "queue.buffering.max.messages": 500000,
		"compression.type": "none", "acks": "all",
	})
	if err != nil {
		tb.Fatal(err)
	}
	defer p.Close()
	topic := "telemetry"
	failed := make(chan error, 1)
	delivered := make(chan struct{})
	go func() {
		count := 0
		for ev := range p.Events() {
			if m, ok := ev.(*kafka.Message); ok {
				if m.TopicPartition.Error != nil {
					select {
					case failed <- m.TopicPartition.Error:
					default:
					}
				}
				if count++; count == n {
					close(delivered)
					return
				}
			}
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		m := gen(i)
		for {
			err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
				Key: m.key, Value: m.value}, nil)
			if err == nil {
				break
			}
			if err.(kafka.Error).Code() != kafka.ErrQueueFull {
				tb.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	select {
	case <-delivered:
	case err := <-failed:
		tb.Fatalf("delivery: %v", err)
	case <-time.After(5 * time.Minute):
		tb.Fatal("deliveries timed out")
	}
	return time.Since(start)
}

// rawConsume reads n records of the telemetry topic from the start with a
// fresh consumer group and the worker's client settings, doing nothing with
// them: the baseline an ingest rate is compared with.
func rawConsume(tb testing.TB, brokers string, n int) time.Duration {
	tb.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": brokers, "enable.metrics.push": false,
		"group.id": fmt.Sprintf("raw-%d", time.Now().UnixNano()), "auto.offset.reset": "earliest",
		"enable.auto.commit": false, "fetch.max.bytes": 52428800, "max.partition.fetch.bytes": 10485760,
	})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe("telemetry", nil); err != nil {
		tb.Fatal(err)
	}
	var start time.Time
	deadline := time.Now().Add(3 * time.Minute)
	for got := 0; got < n; {
		if time.Now().After(deadline) {
			tb.Fatalf("raw consume: %d of %d records in 3 min", got, n)
		}
		ev := c.Poll(100)
		if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error == nil {
			if got == 0 {
				start = time.Now()
			}
			got++
		}
	}
	return time.Since(start)
}

// latencies summarises one fixed-rate run.
type latencies struct {
	name           string
	rate           float64 // offered, per second
	sent, errors   int
	p50, p99, pmax time.Duration
	firstErr       string
}

func (l latencies) String() string {
	s := fmt.Sprintf("%-44s %6.0f/s  n=%-6d p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  errors %d",
		l.name, l.rate, l.sent, ms(l.p50), ms(l.p99), ms(l.pmax), l.errors)
	if l.firstErr != "" {
		s += " (first: " + truncate(l.firstErr, 200) + ")"
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// pace calls f at a fixed rate for d, open loop: each call starts at its
// scheduled time whatever the earlier calls are doing, and its latency counts
// from that schedule, so a stall shows in the figures instead of slowing the
// load (no coordinated omission). Requests still running when d ends are
// waited for. Both sides of every comparison use it, so they are measured
// the same way.
func pace(name string, rate float64, d time.Duration, f func(context.Context) error) latencies {
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	start := time.Now()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(ctx)
			lat[i] = time.Since(at)
		}()
	}
	wg.Wait()
	time.Sleep(time.Second) // let the servers settle (GC, queues) before the next run
	res := latencies{name: name, rate: rate, sent: n}
	for _, err := range errs {
		if err != nil {
			if res.errors++; res.firstErr == "" {
				res.firstErr = err.Error()
			}
		}
	}
	slices.Sort(lat)
	res.p50, res.p99, res.pmax = lat[n/2], lat[n*99/100], lat[n-1]
	return res
}

// graphQLClient posts queries to a gateway over keep-alive connections.
type graphQLClient struct {
	url    string
	client *http.Client
}

func newGraphQLClient(addr string) *graphQLClient {
	return &graphQLClient{
		url: "http://" + addr + "/graphql",
		client: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{MaxIdleConns: 2000, MaxIdleConnsPerHost: 2000, IdleConnTimeout: time.Minute},
		},
	}
}

// post sends query and returns the response body; a non-200 answer or one
// carrying GraphQL errors is an error.
func (c *graphQLClient) post(ctx context.Context, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(data, []byte(`"errors"`)) {
		return data, fmt.Errorf("status %d: %s", resp.StatusCode, truncate(string(data), 300))
	}
	return data, nil
}

// queryBody is the JSON body of a GraphQL request.
func queryBody(query string) []byte {
	b, _ := json.Marshal(map[string]string{"query": query})
	return b
}

// httpBaseline is the HTTP baseline (internal/httpbaseline) in its own
// process: a server that answers every query with the bytes it was given.
type httpBaseline struct {
	*graphQLClient
	addr string
	pid  int
}

func startHTTPBaseline(tb testing.TB) httpBaseline {
	cmd := exec.Command(testenv.Build(tb, "github.com/twingraph/twingraph/loadtest/internal/httpbaseline"))
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
	return httpBaseline{graphQLClient: newGraphQLClient(addrs[0]), addr: addrs[0], pid: cmd.Process.Pid}
}

// answer makes the baseline answer every query with body from now on.
func (h httpBaseline) answer(tb testing.TB, body []byte) {
	resp, err := http.Post("http://"+h.addr+"/answer", "application/json", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
}
