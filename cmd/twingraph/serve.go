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
	maxPageSize := fs.Int("max-page-size", 100, "largest page (first) a query may ask for, GraphQL and REST")
	var common commonFlags
	var authf authFlags
	authf.register(fs)
	common.register(fs, "Redis URL (state and live events)", "PostgreSQL URL (history and events)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *maxPageSize < 1 {
		return fmt.Errorf("--max-page-size must be at least 1")
	}
	verifier, err := authf.verifier()
	if err != nil {
		return err
	}
	m, err := common.open(ctx, stderr, false)
	defer m.Close()
	if err != nil {
		return err
	}
	m.MaxPageSize = *maxPageSize
	m.Auth = verifier
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
