package main

import (
	"io"
	"net/http"
	"testing"
)

func TestMain_ServePprof(t *testing.T) {
	m := NewMain(io.Discard, "error")
	t.Cleanup(m.Close)
	addr, err := m.ServePprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Fatalf("goroutine profile: %d, %d bytes", resp.StatusCode, len(body))
	}

	t.Run("not on the gateway", func(t *testing.T) {
		httpAddr, _ := startDev(t, "--no-sim")
		resp, err := http.Get("http://" + httpAddr + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("gateway serves /debug/pprof/ (%d)", resp.StatusCode)
		}
	})
}
