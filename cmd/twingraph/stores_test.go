package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/store/redis"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

// runCmd runs one subcommand to completion and returns its exit code and output.
func runCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	code := run(ctx, args, &out, &out)
	return code, out.String()
}

// migratedPostgres returns a fresh PostgreSQL database that `migrate` has
// given twingraph's schema.
func migratedPostgres(t *testing.T) string {
	t.Helper()
	pg := testenv.Postgres(t)
	if code, out := runCmd(t, "migrate", "--postgres", pg); code != 0 {
		t.Fatalf("migrate exited %d: %s", code, out)
	}
	return pg
}

// getJSON fetches a REST path and returns the raw body.
func getJSON(t *testing.T, addr, path string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

type series struct {
	Points []struct {
		TS    string
		Value *float64
	}
}

// TestDev_RealStores runs dev on private Redis and PostgreSQL servers: exact
// downsampled history, rebuild --verify, a rebuild after the state is wiped,
// and a restart that serves state from Redis at once and applies telemetry
// from the fresh embedded log.
func TestDev_RealStores(t *testing.T) {
	pg := testenv.Postgres(t)
	rd := testenv.Redis(t)
	ns := testenv.RedisNamespace(t)

	for i := 0; i < 2; i++ {
		if code, out := runCmd(t, "migrate", "--postgres", pg); code != 0 {
			t.Fatalf("migrate #%d exited %d: %s", i+1, code, out)
		}
	}
	stores := []string{"--no-sim", "--redis", rd, "--postgres", pg, "--namespace", ns}
	httpAddr, kafkaAddr, stop := startDevStoppable(t, stores...)
	defer stop()

	// 60 samples in 06:00 and 30 in 06:01: unequal counts per bucket.
	var msgs []string
	var sum1, sum2, max1, max2 float64
	for i := 0; i < 60; i++ {
		v := 1 + float64(i)*0.05
		sum1, max1 = sum1+v, math.Max(max1, v)
		msgs = append(msgs, fmt.Sprintf(`{"asset":"plant/jkt1/packaging/line3","signal":"press1_bar","value":%g,"ts":"2026-11-24T06:00:%02dZ"}`, v, i))
	}
	for i := 0; i < 30; i++ {
		v := 5 + float64(i)*0.1
		sum2, max2 = sum2+v, math.Max(max2, v)
		msgs = append(msgs, fmt.Sprintf(`{"asset":"plant/jkt1/packaging/line3","signal":"press1_bar","value":%g,"ts":"2026-11-24T06:01:%02dZ"}`, v, 2*i))
	}
	produce(t, kafkaAddr, msgs...)

	const q = `{ asset(id: "plant/jkt1/packaging/line3") {
	  avg: history(metric: "press1_bar", from: "2026-11-24T06:00:00Z", to: "2026-11-24T06:02:00Z", interval: "1m") { points { ts value } }
	  max: history(metric: "press1_bar", from: "2026-11-24T06:00:00Z", to: "2026-11-24T06:02:00Z", interval: "1m", agg: MAX) { points { ts value } }
	  count: history(metric: "press1_bar", from: "2026-11-24T06:00:00Z", to: "2026-11-24T06:02:00Z", interval: "1m", agg: COUNT) { points { ts value } }
	  avg2: history(metric: "press1_bar", from: "2026-11-24T06:00:00Z", to: "2026-11-24T06:02:00Z", interval: "2m") { points { ts value } } } }`
	var got struct {
		Asset struct{ Avg, Max, Count, Avg2 series }
	}
	is := func(got *float64, want float64) bool { return got != nil && math.Abs(*got-want) <= 1e-9 }
	// The four series are read by separate statements, so one answer can
	// straddle the samples' commit: wait until every series holds them all.
	if !eventually(t, 20*time.Second, func() bool {
		graphql(t, httpAddr, q, &got)
		c := got.Asset.Count.Points
		return len(c) == 2 && *c[0].Value == 60 && *c[1].Value == 30 &&
			len(got.Asset.Avg.Points) == 2 && len(got.Asset.Max.Points) == 2 && len(got.Asset.Avg2.Points) == 1 &&
			is(got.Asset.Avg2.Points[0].Value, (sum1+sum2)/90) &&
			is(got.Asset.Avg.Points[0].Value, sum1/60) && is(got.Asset.Avg.Points[1].Value, sum2/30) &&
			is(got.Asset.Max.Points[0].Value, max1) && is(got.Asset.Max.Points[1].Value, max2)
	}) {
		t.Fatalf("history never reached 60+30 samples in every series: %+v", got.Asset)
	}
	near := func(name string, got *float64, want float64) {
		if got == nil || math.Abs(*got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("1m avg 06:00", got.Asset.Avg.Points[0].Value, sum1/60)
	near("1m avg 06:01", got.Asset.Avg.Points[1].Value, sum2/30)
	near("1m max 06:00", got.Asset.Max.Points[0].Value, max1)
	near("1m max 06:01", got.Asset.Max.Points[1].Value, max2)
	if len(got.Asset.Avg2.Points) != 1 {
		t.Fatalf("2m points = %+v", got.Asset.Avg2.Points)
	}
	near("2m avg (weighted by count)", got.Asset.Avg2.Points[0].Value, (sum1+sum2)/90)

	var rest series
	json.Unmarshal(getJSON(t, httpAddr, "/twin/plant%2Fjkt1%2Fpackaging%2Fline3/history?metric=press1_bar&from=2026-11-24T06:00:00Z&to=2026-11-24T06:02:00Z&interval=2m"), &rest)
	if len(rest.Points) != 1 {
		t.Fatalf("REST 2m points = %+v", rest.Points)
	}
	near("REST 2m avg", rest.Points[0].Value, (sum1+sum2)/90)

	// The log is the source of truth: a replay gives the live state exactly.
	rebuild := []string{"rebuild", "--model", "../../examples/plant.yaml", "--kafka", kafkaAddr, "--redis", rd, "--namespace", ns}
	if code, out := runCmd(t, append(rebuild, "--verify")...); code != 0 || !strings.Contains(out, "no differences") {
		t.Fatalf("rebuild --verify exited %d: %s", code, out)
	}
	before := getJSON(t, httpAddr, "/twin/plant/jkt1/packaging/line3")

	rs, err := redis.Open(context.Background(), rd, redis.Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if err := rs.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := rs.GetStates(context.Background(), []string{"plant/jkt1/packaging/line3"}); st[0] != nil {
		t.Fatal("state survived the wipe")
	}
	if code, out := runCmd(t, rebuild...); code != 0 {
		t.Fatalf("rebuild exited %d: %s", code, out)
	}
	if after := getJSON(t, httpAddr, "/twin/plant/jkt1/packaging/line3"); !bytes.Equal(before, after) {
		t.Errorf("rebuilt state differs:\nbefore %s\nafter  %s", before, after)
	}

	// Restart on the same stores: state at once, history intact, and the fresh
	// embedded log (offsets start over) is applied, not mistaken for a replay.
	stop()
	httpAddr, kafkaAddr, stop2 := startDevStoppable(t, stores...)
	defer stop2()
	if again := getJSON(t, httpAddr, "/twin/plant/jkt1/packaging/line3"); !bytes.Equal(before, again) {
		t.Errorf("state after restart differs:\nbefore %s\nafter  %s", before, again)
	}
	graphql(t, httpAddr, q, &got)
	if c := got.Asset.Count.Points; len(c) != 2 || *c[0].Value != 60 {
		t.Errorf("history after restart: %+v", got.Asset.Count)
	}
	produce(t, kafkaAddr, `{"asset":"plant/jkt1/packaging/line3","signal":"press1_bar","value":4.2,"ts":"2026-11-24T06:05:00Z"}`)
	var st line3State
	if !eventually(t, 20*time.Second, func() bool {
		graphql(t, httpAddr, line3Query, &st)
		return st.Asset.State != nil && st.Asset.State.Press != nil && st.Asset.State.Press.Value == 4.2
	}) {
		t.Errorf("telemetry on the fresh log was not applied: %+v", st.Asset.State)
	}
}
