package main

import (
	"context"
	"fmt"
	"io"
)

// runServe runs the stateless gateway against Redis and PostgreSQL.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	httpAddr := fs.String("http", "127.0.0.1:8080", "listen address")
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
	errc := make(chan error, 1)
	addr, err := m.Listen(ctx, *httpAddr, errc)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ready http=%s\n", addr)
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}
