package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// runServe runs the stateless gateway against Redis and PostgreSQL.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	httpAddr := fs.String("http", defaultHTTP, "listen address")
	drainDelay := fs.Duration("drain-delay", 5*time.Second, "on SIGTERM, how long /readyz answers 503 before the listener closes (let load balancers notice), within --shutdown-timeout")
	var common commonFlags
	var gw gatewayFlags
	gw.register(fs)
	gw.registerCORS(fs, nil)
	common.register(fs, "Redis URL (state and live events)", "PostgreSQL URL (history and events)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	m, err := common.open(ctx, stderr, false)
	defer m.Close()
	if err != nil {
		return err
	}
	if err := gw.apply(m); err != nil {
		return err
	}
	m.DrainDelay = *drainDelay
	// Returning on a serving error stops the gateway too (m.Close waits for it).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	common.watchModel(ctx, m)
	errc := make(chan error, 1)
	addr, err := m.Listen(ctx, *httpAddr, errc)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ready http=%s\n", addr)
	m.logStarted("gateway serving", "http", addr, "namespace", common.namespace, "auth", m.Auth != nil, "tracing", m.Tracing)
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}
