package testenv_test

import (
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twingraph/twingraph/internal/testenv"
)

func TestReadyLine(t *testing.T) {
	for _, c := range []struct {
		name, out string
		names     []string
		want      []string
		err       string
	}{
		{"dev", "ready http=127.0.0.1:1 kafka=127.0.0.1:2\nlog\n", []string{"http", "kafka"}, []string{"127.0.0.1:1", "127.0.0.1:2"}, ""},
		{"serve", "ready http=127.0.0.1:1\n", []string{"http"}, []string{"127.0.0.1:1"}, ""},
		{"serve for dev", "ready http=127.0.0.1:1\n", []string{"http", "kafka"}, nil, "ready line"},
		{"other order", "ready kafka=a http=b\n", []string{"http", "kafka"}, nil, "want http="},
		{"another line", "listening\nready http=a\n", []string{"http"}, nil, "ready line"},
		{"exited", "", []string{"http"}, nil, "ended before"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := testenv.ReadyLine(strings.NewReader(c.out), c.names...)
			if c.err == "" && (err != nil || !slices.Equal(got, c.want)) {
				t.Errorf("ReadyLine = %q, %v; want %q", got, err, c.want)
			}
			if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("ReadyLine = %q, %v; want an error with %q", got, err, c.err)
			}
		})
	}

	// What follows the ready line is read, so the writer never blocks.
	pr, pw := io.Pipe()
	written := make(chan struct{})
	go func() {
		io.WriteString(pw, "ready http=a\n")
		for range 1000 {
			io.WriteString(pw, "more output\n")
		}
		pw.Close()
		close(written)
	}()
	if _, err := testenv.ReadyLine(pr, "http"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-written:
	case <-time.After(10 * time.Second):
		t.Error("the writer blocked after the ready line")
	}
}

func TestStartNode(t *testing.T) {
	node := testenv.Tool(t, "node", "apt-get install nodejs npm")
	// Echoes its input; exits 3 once the input closes.
	s := testenv.StartNode(t, node, t.TempDir(), "-e",
		`process.stdin.on("data", d => process.stdout.write(d)); process.stdin.on("end", () => { console.error("bye"); process.exit(3) })`)
	if _, err := io.WriteString(s.Stdin, "one\ntwo\n"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"one", "two"} {
		select {
		case l := <-s.Lines:
			if l.Text != want || l.At.IsZero() {
				t.Errorf("line %+v, want %q", l, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no line %q", want)
		}
	}
	s.Stdin.Close()
	if _, open := <-s.Lines; open {
		t.Error("a line after the input closed")
	}
	var exit *exec.ExitError
	if err := s.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("Wait = %v, want exit status 3", err)
	}
	if got := s.Stderr.String(); got != "bye\n" {
		t.Errorf("stderr %q", got)
	}
}
