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
	modelPath := fs.String("model", "", "model file (default: the embedded demo plant)")
	redisURL := fs.String("redis", "", "Redis URL (state and live events)")
	postgresURL := fs.String("postgres", "", "PostgreSQL URL (history and events)")
	namespace := fs.String("namespace", "twin", "Redis key namespace")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	m := NewMain(stderr, *logLevel)
	defer m.Close()
	if err := m.LoadModel(*modelPath); err != nil {
		return err
	}
	if err := m.OpenStores(ctx, *redisURL, *postgresURL, *namespace, false); err != nil {
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
