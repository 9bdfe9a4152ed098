package loadtest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/rueidis"

	"github.com/twingraph/twingraph/internal/testenv"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/store/postgres"
)

// The bench plant: one site, 20 lines of 50 machines, each machine with nine
// numeric signals fed by the ingest and one (temp_c) holding a day of history.
const (
	benchLines    = 20
	benchPerLine  = 50
	benchMachines = benchLines * benchPerLine
	benchNS       = "bench"
)

var ingestSignals = []string{"speed_units_per_min", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"}

func writeBenchModel(tb testing.TB) string {
	p := testmodel.Plant{
		Site: "site", Lines: benchLines, Machines: benchPerLine, PowerOn: true, Probe: true,
		Speed:   testmodel.Signal{Name: "speed_units_per_min", Unit: "units/min", Max: 1000},
		Signals: []testmodel.Signal{{Name: "temp_c", Unit: "°C", Min: -50, Max: 500}},
	}
	for _, s := range ingestSignals[1:] {
		p.Signals = append(p.Signals, testmodel.Signal{Name: s, Min: -1000000, Max: 1000000})
	}
	return p.Write(tb)
}

func machineID(i int) string {
	return fmt.Sprintf("site/l%d/m%d", i/benchPerLine, i%benchPerLine)
}

// ingestMessage is record i of the ingest: machines round-robin, then signals,
// then one second of sample time per round, so every (asset, signal, ts) is
// distinct and every machine's speed drops to 0 each tenth second (a mode
// change, so events are written too).
func ingestMessage(base time.Time, i int) message {
	m := i % benchMachines
	sig := (i / benchMachines) % len(ingestSignals)
	step := i / ingestRound
	v := float64(step%97) + float64(m)/1000
	if sig == 0 {
		v = 200 + float64(step%50)
		if step%10 == 0 {
			v = 0
		}
	}
	id := machineID(m)
	ts := base.Add(time.Duration(step) * time.Second).UnixMilli()
	return message{
		key:   []byte(id),
		value: fmt.Appendf(nil, `{"asset":%q,"signal":%q,"value":%g,"ts":%d}`, id, ingestSignals[sig], v, ts),
	}
}

// ingestRound is the records of one second of sample time: every signal of every machine.
var ingestRound = benchMachines * len(ingestSignals)

// lastIngestTS is the newest sample time of an ingest of n records (whole rounds).
func lastIngestTS(base time.Time, n int) time.Time {
	return base.Add(time.Duration(n/ingestRound-1) * time.Second)
}

// BenchmarkProductionPath measures the four production-path figures in one
// run of one `twingraph dev` process over real Redis and PostgreSQL:
// ingest of TWIN_BENCH_EVENTS records (default 1,000,000) beside a raw
// consume of the same topic; asset{state} at 5k req/s beside Redis GET; a
// 24 h @ 1 min series at 200 req/s beside the same rollup read as direct SQL;
// a 1,000-machine subtree with state at 100 req/s beside one 1,000-key MGET.
// The three queries are also measured against a bare HTTP server (its own
// process) sending the gateway's answer at the same rate: the floor this
// machine and load generator put under any HTTP server. Also: produce → visible on a modeChanged subscription (SSE) under a 20k
// records/s load, and one mode change fanned out to TWIN_BENCH_SUBSCRIBERS
// (default 10,000) graphql-transport-ws subscribers with the memory each costs.
// Each fixed-rate run lasts TWIN_BENCH_SECONDS (default 10); TWIN_BENCH_PPROF=ADDR
// serves the process's profiles there meanwhile.
func BenchmarkProductionPath(b *testing.B) {
	n := envInt(b, "TWIN_BENCH_EVENTS", 1_000_000)
	n = (n + ingestRound - 1) / ingestRound * ingestRound // whole rounds: every signal ends on the same second
	secs := time.Duration(envInt(b, "TWIN_BENCH_SECONDS", 10)) * time.Second
	redisURL, pgURL := testenv.Redis(b), testenv.Postgres(b)
	bin := twingraphBinary(b)
	runBinary(b, bin, "migrate", "--postgres", pgURL)
	subscribers := envInt(b, "TWIN_BENCH_SUBSCRIBERS", 10_000)
	modelPath := writeBenchModel(b)
	args := []string{"--no-sim", "--model", modelPath, "--redis", redisURL, "--postgres", pgURL, "--namespace", benchNS,
		"--max-streams", strconv.Itoa(subscribers + 100)}
	if addr := os.Getenv("TWIN_BENCH_PPROF"); addr != "" {
		args = append(args, "--pprof", addr) // to profile the process while it runs
	}
	dev := startDev(b, bin, args...)
	gql := newGraphQLClient(dev.http)
	ctx := context.Background()

	rdb, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{strings.TrimPrefix(redisURL, "redis://")}, DisableCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer rdb.Close()
	pool, err := pgxpool.New(ctx, pgURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()

	// A day and an hour of temp_c for one machine, one sample a minute.
	now := time.Now().UTC().Truncate(time.Minute)
	const historyPoints = 25 * 60
	produceAll(b, dev.kafka, historyPoints, func(i int) message {
		ts := now.Add(-time.Duration(historyPoints-i) * time.Minute)
		return message{key: []byte(machineID(0)),
			value: fmt.Appendf(nil, `{"asset":%q,"signal":"temp_c","value":%d,"ts":%d}`, machineID(0), 20+i%60, ts.UnixMilli())}
	})

	// Ingest.
	base := time.Now().UTC().Add(-time.Duration(n/ingestRound+60) * time.Second).Truncate(time.Second)
	b.ResetTimer()
	start := time.Now()
	cpuBefore := sampleCPU(dev.cmd.Process.Pid)
	produceTime := produceAll(b, dev.kafka, n, func(i int) message { return ingestMessage(base, i) })
	waitMessages(b, dev.http, n+historyPoints, 5*time.Minute)
	waitAllUpdated(b, gql, lastIngestTS(base, n), time.Minute)
	ingestTime := time.Since(start)
	ingestCPU := cpuUse(cpuBefore, sampleCPU(dev.cmd.Process.Pid), ingestTime, n)
	b.StopTimer()
	var stored int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM samples WHERE signal <> 'temp_c'`).Scan(&stored); err != nil {
		b.Fatal(err)
	}
	if stored != int64(n) {
		b.Errorf("samples in history = %d, want %d", stored, n)
	}
	rawTime := rawConsume(b, dev.kafka, n+historyPoints)
	ceiling := insertCeiling(b, pool, n)
	_, peakIngest := dev.rssMB()

	// Freshness: produce → visible on a modeChanged subscription, under load.
	freshFirst, freshRun, produced, freshStages := freshness(b, dev, 20_000, freshWarmup, secs, lastIngestTS(base, n).Add(time.Second))
	waitMessages(b, dev.http, n+historyPoints+produced, 5*time.Minute) // no backlog left for the runs below

	// Each query's answer, served by a bare HTTP server (its own process) at
	// the same rate: the floor this machine and load generator set for any
	// HTTP server sending those bytes.
	bare := startHTTPBaseline(b)
	bareRun := func(name string, rate float64, query []byte) latencies {
		body, err := gql.post(ctx, query)
		if err != nil {
			b.Fatal(err)
		}
		bare.answer(b, body)
		return perRequest(bare.pid, func() latencies {
			return pace("baseline: "+name+" from a bare HTTP server", rate, secs, func(ctx context.Context) error {
				_, err := bare.post(ctx, query)
				return err
			})
		})
	}

	// asset { state } beside Redis GET.
	one := machineID(137)
	stateQuery := queryBody(fmt.Sprintf(`{ asset(id: %q) { state { mode updatedAt metric(name: "speed_units_per_min") { value } } } }`, one))
	stateKey := "{" + benchNS + "}:state:" + one
	devPID := dev.cmd.Process.Pid
	stateRun := perRequest(devPID, func() latencies {
		return pace("asset{state} over HTTP", 5000, secs, func(ctx context.Context) error {
			_, err := gql.post(ctx, stateQuery)
			return err
		})
	})
	getRun := pace("baseline: Redis GET of the state key", 5000, secs, func(ctx context.Context) error {
		return rdb.Do(ctx, rdb.B().Get().Key(stateKey).Build()).Error()
	})
	stateBare := bareRun("the same answer", 5000, stateQuery)

	// 24 h @ 1 min beside direct SQL on the rollup.
	from, to := now.Add(-24*time.Hour), now
	historyQuery := queryBody(fmt.Sprintf(`{ asset(id: %q) { history(metric: "temp_c", from: %q, to: %q, interval: "1m") { points { ts value } } } }`,
		machineID(0), from.Format(time.RFC3339), to.Format(time.RFC3339)))
	if body, err := gql.post(ctx, historyQuery); err != nil {
		b.Fatal(err)
	} else if got := strings.Count(string(body), `"ts"`); got != 24*60 {
		b.Errorf("24 h @ 1 min answered %d points, want %d", got, 24*60)
	}
	columnsQuery := []byte(strings.Replace(string(historyQuery), "points { ts value }", "timestamps values", 1))
	columnsRun := pace("24 h @ 1 min series as timestamps + values", 200, secs, func(ctx context.Context) error {
		_, err := gql.post(ctx, columnsQuery)
		return err
	})
	// The rollup is materialised up to its watermark; past it, hand-written
	// SQL would aggregate the raw samples, as the store does.
	sqlRun := pace("baseline: the rollup as direct SQL", 200, secs, func(ctx context.Context) error {
		rows, err := pool.Query(ctx, `WITH wm AS (SELECT upto FROM rollup_watermarks WHERE tier = 'samples_1m')
			SELECT bucket, sum / count FROM samples_1m
			WHERE asset = $1 AND signal = 'temp_c' AND bucket >= $2 AND bucket < least($3, (SELECT upto FROM wm))
			UNION ALL
			SELECT date_bin('1 minute', ts, TIMESTAMPTZ '1970-01-01 00:00:00+00'), avg(num) FROM samples
			WHERE asset = $1 AND signal = 'temp_c' AND ts >= greatest($2, (SELECT upto FROM wm)) AND ts < $3 AND good
			GROUP BY 1 ORDER BY 1`, machineID(0), from, to)
		if err != nil {
			return err
		}
		var points int
		for rows.Next() {
			points++
		}
		rows.Close()
		if points != 24*60 {
			return fmt.Errorf("direct SQL: %d points", points)
		}
		return rows.Err()
	})

	// 1,000-machine subtree beside one 1,000-key MGET.
	subtreeQuery := queryBody(`{ asset(id: "site") { descendants(type: "machine") { id state { mode } } } }`)
	subtreeRun := perRequest(devPID, func() latencies {
		return pace("1,000-machine subtree with state over HTTP", 100, secs, func(ctx context.Context) error {
			_, err := gql.post(ctx, subtreeQuery)
			return err
		})
	})
	keys := make([]string, benchMachines)
	for i := range keys {
		keys[i] = "{" + benchNS + "}:state:" + machineID(i)
	}
	mgetRun := pace("baseline: Redis MGET of the 1,000 state keys", 100, secs, func(ctx context.Context) error {
		return rdb.Do(ctx, rdb.B().Mget().Key(keys...).Build()).Error()
	})
	subtreeBare := bareRun("the same answer", 100, subtreeQuery)
	// Last: one object per point costs the most, and a run that saturates
	// the gateway would leave a backlog behind for the runs after it.
	historyRun := pace("24 h @ 1 min series as points over HTTP", 200, secs, func(ctx context.Context) error {
		_, err := gql.post(ctx, historyQuery)
		return err
	})
	historyBare := bareRun("the same answer", 200, historyQuery)
	_, peak := dev.rssMB()

	// Fan-out, last of the gateway runs: tearing 10,000 sockets down would
	// weigh on whatever ran next.
	fan := fanOut(b, "modeChanged fan-out", devFanOut(b, dev), subscribers, 20)
	// Its baseline: the same sockets, served by a server with nothing behind it.
	bareFan := fanOut(b, "baseline: a bare WebSocket broadcast", broadcastFanOut(b), subscribers, 20)

	// Rebuild: replay the whole topic into a fresh state and compare it
	// with the live one (state only: history re-append is PostgreSQL's
	// insert rate again, measured by the ingest).
	time.Sleep(2 * time.Second) // the last probe flips flushed
	rebuildStart := time.Now()
	out, rebuildErr := exec.Command(bin, "rebuild", "--verify", "--kafka", dev.kafka, "--redis", redisURL,
		"--namespace", benchNS, "--model", modelPath).CombinedOutput()
	rebuildTime := time.Since(rebuildStart)
	var replayed int
	fmt.Sscanf(string(out), "replayed %d messages", &replayed)
	verdict := "the rebuilt state equals the live one"
	if rebuildErr != nil {
		verdict = fmt.Sprintf("exit %v: %s", rebuildErr, truncate(string(out), 300))
	}
	// Its baseline: the same records consumed with the same client, nothing else done.
	rawReplay := rawConsume(b, dev.kafka, max(replayed, 1))

	ingestRate := float64(n) / ingestTime.Seconds()
	b.ReportMetric(ingestRate, "ingest-events/s")
	b.ReportMetric(ceiling, "pg-insert-ceiling-rows/s")
	b.ReportMetric(ms(stateRun.p99), "state-p99-ms")
	b.ReportMetric(ms(historyRun.p99), "history-p99-ms")
	b.ReportMetric(ms(subtreeRun.p99), "subtree-p99-ms")
	b.ReportMetric(ms(stateBare.p99), "bare-http-state-p99-ms")
	b.ReportMetric(ms(subtreeBare.p99), "bare-http-subtree-p99-ms")
	b.ReportMetric(ms(freshRun.p99), "fresh-p99-ms")
	b.ReportMetric(ms(freshFirst.p99), "fresh-first-p99-ms")
	b.ReportMetric(ms(fan.p99), "fanout-p99-ms")
	b.ReportMetric(ms(bareFan.p99), "bare-fanout-p99-ms")
	b.ReportMetric(float64(replayed)/rebuildTime.Seconds(), "rebuild-records/s")
	b.Logf("\n"+
		"ingest of %d records, Kafka → Redis state + PostgreSQL history/rollups/events: %.0f events/s (%.2f s; producing took %.2f s)\n"+
		"  CPU meanwhile: %s\n"+
		"baseline: raw consume of the same topic: %.0f records/s\n"+
		"baseline: PostgreSQL alone inserting %d rows of the same shape into an empty samples table, %d connections: %.0f rows/s\n"+
		"gateway RSS peak after ingest %.0f MiB, after the query runs %.0f MiB\n%s\n%s\n  flush meanwhile: %s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s (%.1f KiB of gateway heap and stack per subscriber)\n%s\n"+
		"rebuild --verify of %d records: %.0f records/s (%.2f s, the whole process from start); %s\n"+
		"baseline: raw consume of the same records: %.0f records/s",
		n, ingestRate, ingestTime.Seconds(), produceTime.Seconds(), ingestCPU,
		float64(n+historyPoints)/rawTime.Seconds(), n, postgres.DefaultWriters, ceiling, peakIngest, peak,
		freshFirst, freshRun, freshStages, stateRun, getRun, stateBare, columnsRun, sqlRun, subtreeRun, mgetRun, subtreeBare, historyRun, historyBare,
		fan.latencies, fan.perSubKiB, bareFan.latencies,
		replayed, float64(replayed)/rebuildTime.Seconds(), rebuildTime.Seconds(), verdict, float64(replayed)/rawReplay.Seconds())
	for _, r := range []latencies{freshFirst, freshRun, stateRun, historyRun, columnsRun, subtreeRun, fan.latencies} {
		if r.errors > 0 {
			b.Errorf("%s: %d errors", r.name, r.errors)
		}
	}
}

// freshWarmup is how long the freshness load runs before the sustained
// part is measured: right after the 1M-record ingest the worker and
// PostgreSQL are still settling (reported on its own line).
const freshWarmup = 5 * time.Second

// waitMessages polls the worker's flushed-messages counter on /metrics (cheap:
// polling GraphQL for 1,000 states would take CPU from the ingest it times)
// until it reaches want.
func waitMessages(tb testing.TB, httpAddr string, want int, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	got := 0.0
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + httpAddr + "/metrics")
		if err == nil {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "twingraph_sync_messages_total "); ok {
					got, _ = strconv.ParseFloat(v, 64)
				}
			}
			resp.Body.Close()
			if got >= float64(want) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("after %s the worker has flushed %.0f of %d messages", within, got, want)
}

// waitAllUpdated polls the whole subtree until every machine's last ingested
// signal (s8, the last of each round) is dated want: the moment the whole
// ingest is visible.
func waitAllUpdated(tb testing.TB, gql *graphQLClient, want time.Time, within time.Duration) {
	tb.Helper()
	q := queryBody(`{ asset(id: "site") { descendants(type: "machine") { id state { metric(name: "s8") { ts } } } } }`)
	deadline := time.Now().Add(within)
	behind := 0
	for time.Now().Before(deadline) {
		body, err := gql.post(context.Background(), q)
		if err == nil {
			var resp struct {
				Data struct {
					Asset struct {
						Descendants []struct {
							ID    string
							State *struct{ Metric *struct{ TS time.Time } }
						}
					}
				}
			}
			if err := json.Unmarshal(body, &resp); err != nil {
				tb.Fatal(err)
			}
			behind = 0
			for _, d := range resp.Data.Asset.Descendants {
				if d.State == nil || d.State.Metric == nil || !d.State.Metric.TS.Equal(want) {
					behind++
				}
			}
			if behind == 0 && len(resp.Data.Asset.Descendants) == benchMachines {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("after %s, %d machines are not yet at %s", within, behind, want)
}

func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
