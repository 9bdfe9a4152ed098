package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/twingraph/twingraph/internal/testenv"
)

// scrape fetches /metrics and returns its text and its families.
func scrape(t *testing.T, addr string) ([]byte, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return body, fams
}

// sample returns the value of the series of family name whose labels include
// want (a counter, a gauge, or a histogram's count); -1 when absent. Several
// matching series are summed.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
	sum, found := 0.0, false
metrics:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue metrics
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	if !found {
		return -1
	}
	return sum
}

// TestDev_Metrics scrapes a real /metrics after queries, a bad query, an
// SSE subscription and a dead letter: every series an operator alerts on is
// there with the right count, streams stay out of the request latencies,
// and `promtool check metrics` accepts the exposition.
func TestDev_Metrics(t *testing.T) {
	addr, kafkaAddr := startDev(t, "--no-sim")
	post := func(q string) {
		body, _ := json.Marshal(map[string]string{"query": q})
		resp, err := http.Post("http://"+addr+"/graphql", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for range 3 {
		post(`{ roots { id } }`)
	}
	post(`{ roots { id `) // BAD_INPUT

	// An SSE subscription held open a moment, then closed by the client.
	ctx, cancel := context.WithCancel(context.Background())
	body, _ := json.Marshal(map[string]string{"query": `subscription { twinEvents { id } }`})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	// The stream's headers may arrive before its subscription starts.
	var subs, streams float64
	var fams map[string]*dto.MetricFamily
	eventually(t, 10*time.Second, func() bool {
		_, fams = scrape(t, addr)
		subs = sample(fams, "twingraph_subscriptions_active", map[string]string{"protocol": "sse"})
		streams = sample(fams, "twingraph_streams_open", map[string]string{"protocol": "sse"})
		return subs == 1 && streams == 1
	})
	if subs != 1 || streams != 1 {
		t.Errorf("active SSE subscriptions = %v, open SSE streams = %v; want 1 each", subs, streams)
	}
	// A sample that changes line3's mode: the stream sends its event.
	produce(t, kafkaAddr, `{"asset":"plant/jkt1/packaging/line3","signal":"speed_units_per_min","value":1,"ts":"`+time.Now().UTC().Format(time.RFC3339)+`"}`, `not json`)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != "event: next" {
	}
	cancel()
	resp.Body.Close()

	var text []byte
	eventually(t, 20*time.Second, func() bool {
		text, fams = scrape(t, addr)
		// The stream's end is counted as its handler unwinds: the duration
		// and the active subscriptions are two steps of it.
		return sample(fams, "twingraph_sync_dlq_total", map[string]string{"reason": "bad_json"}) == 1 &&
			sample(fams, "twingraph_stream_duration_seconds", map[string]string{"protocol": "sse"}) == 1 &&
			sample(fams, "twingraph_subscriptions_active", map[string]string{"protocol": "sse"}) == 0
	})
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64 // -2: present with any value
	}{
		{"twingraph_build_info", map[string]string{"goversion": strings.Fields(readBuildInfo().GoVersion)[0]}, 1},
		{"twingraph_graphql_operations_total", map[string]string{"type": "query"}, 3},
		{"twingraph_graphql_operations_total", map[string]string{"type": "subscription"}, 1},
		{"twingraph_graphql_errors_total", map[string]string{"code": "BAD_INPUT"}, 1},
		// The four POSTs; the SSE stream is not a request latency.
		{"twingraph_http_request_duration_seconds", map[string]string{"route": "/graphql"}, 4},
		{"twingraph_stream_duration_seconds", map[string]string{"protocol": "sse"}, 1},
		{"twingraph_subscriptions_active", map[string]string{"protocol": "sse"}, 0},
		{"twingraph_subscription_messages_total", map[string]string{"protocol": "sse"}, -2},
		{"twingraph_sync_dlq_total", map[string]string{"reason": "bad_json"}, 1},
		{"twingraph_sync_lag_messages", nil, -2},
		{"twingraph_sync_lag_seconds", nil, -2},
		{"twingraph_sync_flush_stage_seconds", map[string]string{"stage": "put_states"}, -2},
		{"twingraph_sync_flush_stage_seconds", map[string]string{"stage": "apply"}, -2},
	} {
		got := sample(fams, c.name, c.labels)
		if got == -1 || (c.want != -2 && got != c.want) {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// The dashboard and the alert rules name only series that exist.
	for _, f := range opsFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range regexp.MustCompile(`twingraph_[a-z_]+`).FindAllString(string(data), -1) {
			base := regexp.MustCompile(`_(bucket|count|sum)$`).ReplaceAllString(name, "")
			if _, ok := fams[base]; !ok {
				t.Errorf("%s names %s, which /metrics does not have", f, name)
			}
		}
	}

	cmd := exec.Command(mustPromtool(t), "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// opsFiles are the dashboard and alert rules operators import.
var opsFiles = []string{"../../ops/grafana/twingraph.json", "../../ops/prometheus/alerts.yml"}

func mustPromtool(t *testing.T) string {
	t.Helper()
	return testenv.Tool(t, "promtool", "apt-get install prometheus")
}

// TestOps_AlertRules: the alert rules load in Prometheus.
func TestOps_AlertRules(t *testing.T) {
	if out, err := exec.Command(mustPromtool(t), "check", "rules", opsFiles[1]).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}
