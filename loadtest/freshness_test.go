package loadtest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// freshness measures produce → visible: for warmup+d, a background load of
// rate records/s shaped like the ingest (sample times from base on), and
// every 50 ms a probe record flipping site/probe between RUNNING and IDLE,
// dated the instant it is produced. A modeChanged subscription over SSE
// receives each flip; its latency is the arrival time minus the sample time.
// It returns the figures of the probes sent in the first warmup (the worker
// and PostgreSQL still settling after whatever ran before) and of those sent
// in the d after it (the sustained load), how many records it produced, and
// the mean time of each flush stage during the sustained part (where the
// latency goes).
func freshness(tb testing.TB, dev *devProcess, rate int, warmup, d time.Duration, base time.Time) (first, sustained latencies, produced int, stages string) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	arrivals, resumed := subscribeModeChanges(tb, ctx, dev.http, "site/probe")

	load, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": dev.kafka, "enable.metrics.push": false,
		"linger.ms": 5, "queue.buffering.max.messages": 500000})
	if err != nil {
		tb.Fatal(err)
	}
	defer load.Close()
	probe, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": dev.kafka, "enable.metrics.push": false, "linger.ms": 0})
	if err != nil {
		tb.Fatal(err)
	}
	defer probe.Close()
	go drain(load.Events())
	go drain(probe.Events())
	topic := "telemetry"
	send := func(p *kafka.Producer, m message) {
		if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key: m.key, Value: m.value}, nil); err != nil {
			tb.Errorf("produce: %v", err)
		}
	}

	// Background load in 10 ms ticks; a probe every fifth tick.
	const tick = 10 * time.Millisecond
	perTick := rate / int(time.Second/tick)
	start := time.Now()
	steadyFrom := start.Add(warmup)
	var stagesBefore stageTotals
	sent, probes, warmProbes := 0, 0, 0
	var steadyMS int64 // sample time of the first sustained probe: probes are told apart by it
	for at := start; time.Since(start) < warmup+d; at = at.Add(tick) {
		time.Sleep(time.Until(at))
		if stagesBefore == nil && !time.Now().Before(steadyFrom) {
			stagesBefore, warmProbes = flushStages(tb, dev.http), probes
		}
		for range perTick {
			send(load, ingestMessage(base, sent))
			sent++
		}
		if probes*5 <= int(time.Since(start)/tick) {
			speed := 0
			if probes%2 == 0 {
				speed = 100
			}
			ts := time.Now().UnixMilli()
			if stagesBefore != nil && steadyMS == 0 {
				steadyMS = ts // the first probe of the sustained part
			}
			send(probe, message{key: []byte("site/probe"), value: fmt.Appendf(nil,
				`{"asset":"site/probe","signal":"speed_units_per_min","value":%d,"ts":%d}`, speed, ts)})
			probes++
		}
	}
	stages = stagesSince(stagesBefore, flushStages(tb, dev.http))

	// Collect the flips; a missing one counts as an error of its part.
	var warm, steady []time.Duration
	deadline := time.After(10 * time.Second)
collect:
	for len(warm)+len(steady) < probes {
		select {
		case a := <-arrivals:
			if steadyMS == 0 || a.sent.UnixMilli() < steadyMS {
				warm = append(warm, a.latency)
			} else {
				steady = append(steady, a.latency)
			}
		case <-deadline:
			break collect
		}
	}
	name := fmt.Sprintf("produce → modeChanged (SSE), %dk records/s load", rate/1000)
	first = probeFigures(fmt.Sprintf("%s, its first %s", name, warmup), warm, warmProbes, warmup)
	sustained = probeFigures(fmt.Sprintf("%s, sustained (after those %s)", name, warmup), steady, probes-warmProbes, d)
	if n := resumed.Load(); n > 0 {
		stages += fmt.Sprintf("; the subscription was ended by the gateway and resumed %d times", n)
	}
	return first, sustained, sent + probes, stages
}

// probeFigures summarises the latencies of the probes received out of sent
// over d.
func probeFigures(name string, lat []time.Duration, sent int, d time.Duration) latencies {
	res := latencies{name: name, rate: float64(sent) / d.Seconds(), sent: sent, errors: max(0, sent-len(lat))}
	if res.errors > 0 {
		res.firstErr = fmt.Sprintf("%d of %d mode changes not received within 10 s", res.errors, sent)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		res.p50, res.p99, res.pmax = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	return res
}

// stageTotals is, per flush stage, the seconds spent, the attempts made
// and how many of them took at most slowStage.
type stageTotals map[string][3]float64

// slowStage is a histogram bound of the flush stages: the attempts past it
// are the ones reported as slow.
const slowStage = "0.1024"

// flushStages reads the worker's flush stage histograms' sums and counts
// from /metrics.
func flushStages(tb testing.TB, httpAddr string) stageTotals {
	tb.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out := stageTotals{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "twingraph_sync_flush_stage_seconds_")
		if !ok {
			continue
		}
		// sum{stage="x"} v, count{stage="x"} v or bucket{stage="x",le="b"} v
		kind, rest, ok := strings.Cut(line, `{stage="`)
		if !ok {
			continue
		}
		stage, rest, _ := strings.Cut(rest, `"`)
		labels, value, _ := strings.Cut(rest, "} ")
		var v float64
		if _, err := fmt.Sscan(value, &v); err != nil {
			continue
		}
		t := out[stage]
		switch {
		case kind == "sum":
			t[0] = v
		case kind == "count":
			t[1] = v
		case kind == "bucket" && labels == `,le="`+slowStage+`"`:
			t[2] = v
		default:
			continue
		}
		out[stage] = t
	}
	return out
}

// stagesSince describes the flush stages between two readings: the mean
// time of each, in flush order.
func stagesSince(before, after stageTotals) string {
	var parts []string
	for _, st := range []string{"apply", "append_events", "publish_events", "put_states", "publish_states", "append_history", "dead_letter"} {
		n := after[st][1] - before[st][1]
		if n <= 0 {
			continue
		}
		part := fmt.Sprintf("%s %.1f ms", st, 1000*(after[st][0]-before[st][0])/n)
		if slow := n - (after[st][2] - before[st][2]); slow > 0 {
			part += fmt.Sprintf(" (%.0f over %s s)", slow, slowStage)
		}
		parts = append(parts, part)
	}
	n := after["apply"][1] - before["apply"][1]
	return fmt.Sprintf("%.0f flushes; mean per stage: %s", n, strings.Join(parts, ", "))
}

func drain(events chan kafka.Event) {
	for range events {
	}
}

// arrival is a mode change received: its sample time, and how long after it it came.
type arrival struct {
	sent    time.Time
	latency time.Duration
}

// subscribeModeChanges subscribes to modeChanged under asset over SSE and
// sends an arrival for every change received. Like a real client it
// resumes from the last cursor when the gateway ends the stream (it ends
// subscriptions that fell behind, so that they resume); resumed counts that.
func subscribeModeChanges(tb testing.TB, ctx context.Context, httpAddr, asset string) (arrivals <-chan arrival, resumed *atomic.Int64) {
	tb.Helper()
	query := fmt.Sprintf(`subscription($after: String) { modeChanged(under: %q, after: $after) { cursor toMode ts } }`, asset)
	open := func(after string) (*http.Response, error) {
		vars := map[string]any{}
		if after != "" {
			vars["after"] = after
		}
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+httpAddr+"/graphql", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err == nil && resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			err = fmt.Errorf("subscribe: status %d", resp.StatusCode)
		}
		return resp, err
	}
	resp, err := open("")
	if err != nil {
		tb.Fatal(err)
	}
	out := make(chan arrival, 1024)
	resumed = new(atomic.Int64)
	go func() {
		cursor := ""
		for {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				data, ok := strings.CutPrefix(sc.Text(), "data: ")
				if !ok {
					continue
				}
				now := time.Now()
				var msg struct {
					Data struct {
						ModeChanged struct {
							Cursor string
							TS     time.Time
						}
					}
				}
				if json.Unmarshal([]byte(data), &msg) != nil || msg.Data.ModeChanged.TS.IsZero() {
					continue
				}
				cursor = msg.Data.ModeChanged.Cursor
				select {
				case out <- arrival{sent: msg.Data.ModeChanged.TS, latency: now.Sub(msg.Data.ModeChanged.TS)}:
				default:
				}
			}
			resp.Body.Close()
			if ctx.Err() != nil {
				return
			}
			if resp, err = open(cursor); err != nil {
				return // the figures count what is missing
			}
			resumed.Add(1)
		}
	}()
	return out, resumed
}
