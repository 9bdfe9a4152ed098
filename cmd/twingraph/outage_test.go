package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/rueidis"

	"github.com/twingraph/twingraph/internal/testenv"
)

// TestDev_StoreOutages pauses Redis, then refuses PostgreSQL connections,
// each for a few seconds while telemetry streams in: /readyz says which
// store is down while it lasts, and once both are back every sample is in
// history and the state is the last one sent.
func TestDev_StoreOutages(t *testing.T) {
	pg := migratedPostgres(t)
	rd := testenv.Redis(t)
	ns := testenv.RedisNamespace(t)
	httpAddr, kafkaAddr := startDev(t, "--no-sim", "--redis", rd, "--postgres", pg, "--namespace", ns, "--stall-after", "1s")

	sent := 0
	phase := func(n int) {
		var msgs []string
		for range n {
			msgs = append(msgs, fmt.Sprintf(`{"asset":"plant/jkt1/packaging/line3","signal":"temp1_c","value":%d,"ts":"2026-11-24T07:00:%02dZ"}`, sent, sent))
			sent++
		}
		produce(t, kafkaAddr, msgs...)
	}
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	caughtUp := func(within time.Duration) bool {
		return eventually(t, within, func() bool {
			var got struct {
				Asset struct {
					History struct{ Points []struct{ Value *float64 } }
					State   struct{ Press *struct{ Value float64 } }
				}
			}
			graphql(t, httpAddr, `{ asset(id: "plant/jkt1/packaging/line3") {
			  history(metric: "temp1_c", from: "2026-11-24T07:00:00Z", to: "2026-11-24T07:01:00Z", interval: "1m", agg: COUNT) { points { value } }
			  state { press: metric(name: "temp1_c") { value } } } }`, &got)
			p, st := got.Asset.History.Points, got.Asset.State.Press
			return len(p) == 1 && p[0].Value != nil && int(*p[0].Value) == sent && st != nil && int(st.Value) == sent-1
		})
	}
	phase(20)
	if !caughtUp(30 * time.Second) {
		t.Fatal("first samples never applied")
	}
	if code, body := readyz(); code != 200 {
		t.Fatalf("readyz before the outages: %d %s", code, body)
	}

	outage := func(name, want string, begin, end func()) {
		t.Run(name, func(t *testing.T) {
			begin()
			phase(20)
			var code int
			var body string
			if !eventually(t, 10*time.Second, func() bool { code, body = readyz(); return code == 503 }) {
				t.Errorf("readyz stayed %d during the outage: %s", code, body)
			} else if !strings.Contains(body, want) {
				t.Errorf("readyz 503 %q, want it to name %q", body, want)
			} else {
				t.Logf("readyz during the outage: 503 %s", strings.TrimSpace(body))
			}
			end()
			if !caughtUp(60 * time.Second) {
				t.Fatalf("samples sent during the outage never applied (want %d)", sent)
			}
			if !eventually(t, 10*time.Second, func() bool { code, body = readyz(); return code == 200 }) {
				t.Errorf("readyz after the outage: %d %s", code, body)
			}
		})
	}

	ropt, err := rueidis.ParseURL(rd)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rueidis.NewClient(ropt)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ctx := context.Background()
	// CLIENT PAUSE holds every client's commands, like a stopped server
	// whose connections stay open.
	outage("redis paused", "state store", func() {
		if err := rc.Do(ctx, rc.B().Arbitrary("CLIENT", "PAUSE").Args("4000", "ALL").Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}, func() {
		time.Sleep(4 * time.Second) // until the pause ends by itself
	})

	pcfg, err := pgx.ParseConfig(pg)
	if err != nil {
		t.Fatal(err)
	}
	db := pcfg.Database
	pcfg.Database = "postgres"
	admin, err := pgx.ConnectConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	exec := func(sql string, args ...any) {
		if _, err := admin.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// The database refuses connections and loses the ones it had: to the
	// store, PostgreSQL is down.
	outage("postgres down", "event store", func() {
		exec(fmt.Sprintf(`ALTER DATABASE %s ALLOW_CONNECTIONS false`, pgx.Identifier{db}.Sanitize()))
		exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, db)
	}, func() {
		time.Sleep(3 * time.Second)
		exec(fmt.Sprintf(`ALTER DATABASE %s ALLOW_CONNECTIONS true`, pgx.Identifier{db}.Sanitize()))
	})
}

// TestLimitFlags_Errors: a limit that would switch a protection off is
// refused at start, given as a flag or as its environment twin.
func TestLimitFlags_Errors(t *testing.T) {
	for _, tt := range []struct {
		name      string
		args, env []string // env: NAME=value pairs
		want      string
	}{
		{"dev message size", []string{"dev", "--max-message-bytes", "0"}, nil, "--max-message-bytes must be at least 1"},
		{"dev clock skew from the environment", []string{"dev"}, []string{"TWIN_MAX_CLOCK_SKEW=0s"}, "--max-clock-skew must be above 0"},
		{"dev dead-letter payload", []string{"dev", "--dlq-max-payload", "2000000"}, nil, "--dlq-max-payload must be from 1 to"},
		{"dev stall", []string{"dev", "--stall-after", "-1s"}, nil, "--stall-after must be above 0"},
		{"rebuild clock skew", []string{"rebuild", "--max-clock-skew", "-5m"}, nil, "--max-clock-skew must be above 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, kv := range tt.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			args := tt.args
			if args[0] == "dev" {
				args = append(args, "--no-sim", "--http", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0")
			}
			code, out := runCmd(t, args...)
			if code == 0 || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, output %q; want an error with %q", code, out, tt.want)
			}
		})
	}
}
