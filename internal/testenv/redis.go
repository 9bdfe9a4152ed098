package testenv

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twingraph/twingraph/internal/lockedbuf"
)

// Redis returns a redis:// URL for the test: TWIN_TEST_REDIS_URL when set
// (shared: give every test its own namespace, see RedisNamespace), otherwise a
// private redis-server started for this call on a free 127.0.0.1 port with
// persistence off in a temporary directory, stopped when the test ends (and
// killed with the test binary should it die first).
//
// When redis-server is missing the test is skipped, or fails under CI=true
// (apt-get install redis-server).
func Redis(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv("TWIN_TEST_REDIS_URL"); u != "" {
		return u
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Missing(tb, "redis-server not found (apt-get install redis-server): %v", err)
	}
	u, _ := startPrivateRedis(tb, bin)
	return u
}

// RedisProcess starts a private redis-server for the test, whatever
// TWIN_TEST_REDIS_URL says, and returns its URL and process, for tests that
// freeze (SIGSTOP) or kill it. The server is killed when the test ends; a
// test that stops it must SIGCONT it in its own cleanup, registered after
// this call so it runs first.
func RedisProcess(tb testing.TB) (string, *os.Process) {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Missing(tb, "redis-server not found (apt-get install redis-server): %v", err)
	}
	return startPrivateRedis(tb, bin)
}

func startPrivateRedis(tb testing.TB, bin string) (string, *os.Process) {
	tb.Helper()
	var lastErr error
	for range 3 { // the free port may be taken between probing and binding
		addr, proc, err := startRedis(tb, bin)
		if err == nil {
			return "redis://" + addr, proc
		}
		lastErr = err
	}
	tb.Fatalf("start redis-server: %v", lastErr)
	return "", nil
}

func startRedis(tb testing.TB, bin string, extra ...string) (string, *os.Process, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := tb.TempDir()
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no", "--logfile", ""}, extra...)
	cmd := exec.Command(bin, args...)
	// Dies with the test binary, however it exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out := &lockedbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		if pingRedis(addr) == nil {
			break
		}
		select {
		case <-exited:
			return "", nil, fmt.Errorf("redis-server exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("redis-server on %s did not answer: %s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Cleanup(stop)
	return addr, cmd.Process, nil
}

// pingRedis sends PING in the inline protocol and expects +PONG.
func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// RedisNamespace returns a key namespace no other test uses, so tests can
// share one server (TWIN_TEST_REDIS_URL) without seeing each other's keys.
func RedisNamespace(tb testing.TB) string {
	b := make([]byte, 6)
	rand.Read(b)
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, tb.Name())
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return "test-" + name + "-" + hex.EncodeToString(b)
}
