package testenv

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twingraph/twingraph/internal/lockedbuf"
)

// Missing skips the test for a tool or server that is not installed, or
// fails it under CI=true, where every one must be.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf(format, args...)
	}
	tb.Skipf(format+" (set CI=true to fail instead)", args...)
}

// Tool returns the path of the command name; without it the test is skipped,
// or fails under CI=true, naming install, how to get it.
func Tool(tb testing.TB, name, install string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(tb, "%s is not installed (%s)", name, install)
	}
	return path
}

// Node returns the node binary for a script of the npm project in dir, once
// module is in its node_modules (`make npm-deps`, or `npm ci` in dir).
func Node(tb testing.TB, dir, module string) string {
	tb.Helper()
	node := Tool(tb, "node", "apt-get install nodejs npm")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", module)); err != nil {
		Missing(tb, "%s is missing: run `npm ci` in %s", module, dir)
	}
	return node
}

// Build builds the command pkg (a package path, as go build takes it) into
// a temporary directory of tb and returns the binary's path. The build cache
// makes every build after the first cheap.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), path.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// ReadyLine waits up to a minute for the first line of out: the line a
// twingraph command prints once it serves, such as "ready http=<addr>
// kafka=<addr>". It returns the addresses of names, in order, and an error
// when the line names others, when out ends first (the command exited) or
// when the minute passes. The rest of out is read and dropped, so the
// command never blocks on it.
func ReadyLine(out io.Reader, names ...string) ([]string, error) {
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			first <- sc.Text()
		}
		close(first)
		for sc.Scan() {
		}
	}()
	var line string
	select {
	case l, ok := <-first:
		if !ok {
			return nil, fmt.Errorf("output ended before a ready line")
		}
		line = l
	case <-time.After(time.Minute):
		return nil, fmt.Errorf("no ready line in a minute")
	}
	fields := strings.Fields(line)
	if len(fields) != 1+len(names) || fields[0] != "ready" {
		return nil, fmt.Errorf("ready line = %q", line)
	}
	addrs := make([]string, len(names))
	for i, name := range names {
		addr, ok := strings.CutPrefix(fields[1+i], name+"=")
		if !ok || addr == "" {
			return nil, fmt.Errorf("ready line = %q, want %s=<addr> in place %d", line, name, i+1)
		}
		addrs[i] = addr
	}
	return addrs, nil
}

// NodeScript is a node process running a test's driver script, which ends
// when its standard input closes.
type NodeScript struct {
	Stdin  io.WriteCloser // what the script reads
	Lines  <-chan Line    // what it prints, a line at a time; closed when it exits
	Stderr *lockedbuf.Buffer
	cmd    *exec.Cmd
	ended  chan struct{} // closed when the test ends
	exited chan struct{}
	err    error
}

// Line is one line a NodeScript printed and when it was read.
type Line struct {
	At   time.Time
	Text string
}

// StartNode runs node with args (a script and its arguments) in dir. When
// the test ends the script's input is closed and it has 20 s to exit before
// it is killed; lines it prints once the test has ended may be dropped.
func StartNode(tb testing.TB, node, dir string, args ...string) *NodeScript {
	tb.Helper()
	cmd := exec.Command(node, args...)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	lines := make(chan Line, 100)
	s := &NodeScript{Stdin: stdin, Lines: lines, Stderr: &lockedbuf.Buffer{}, cmd: cmd,
		ended: make(chan struct{}), exited: make(chan struct{})}
	cmd.Stderr = s.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			select {
			case lines <- Line{At: time.Now(), Text: sc.Text()}:
			case <-s.ended: // the test may read no more: the line is dropped
			}
		}
		close(lines)
		s.err = cmd.Wait()
		close(s.exited)
	}()
	tb.Cleanup(func() {
		close(s.ended)
		stdin.Close()
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
		}
	})
	return s
}

// Wait waits for the script to exit, once its output is read, and returns
// how it exited.
func (s *NodeScript) Wait() error {
	<-s.exited
	return s.err
}
