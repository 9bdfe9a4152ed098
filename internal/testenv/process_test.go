package testenv_test

import (
	"io"
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
