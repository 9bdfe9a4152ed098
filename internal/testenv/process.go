package testenv

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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
