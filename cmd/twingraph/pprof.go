package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// ServePprof serves Go's profiling endpoints (/debug/pprof/...) on their own
// listener at addr, never on the public gateway: profiles reveal internals
// and a CPU profile costs a core for its duration. Close stops it. It returns
// the address it listens on.
func (m *Main) ServePprof(addr string) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("--pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Warn("pprof listener stopped", "err", err)
		}
	}()
	m.closers = append(m.closers, func() { srv.Close() })
	m.Logger.Info("profiling endpoints", "addr", "http://"+l.Addr().String()+"/debug/pprof/")
	return l.Addr().String(), nil
}
