package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/twingraph/twingraph/gateway"
	"github.com/twingraph/twingraph/twinsync"
)

// runSync runs one sync worker of the consumer group; start several to scale out.
func runSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sync", stderr)
	kafka := fs.String("kafka", defaultKafka, "Kafka bootstrap servers")
	group := fs.String("group", twinsync.DefaultGroup, "consumer group")
	topic := fs.String("topic", twinsync.DefaultTopic, "telemetry topic")
	instanceID := fs.String("instance-id", "", "static group membership id: a restarted worker takes its partitions back at once (unique per worker)")
	metricsAddr := fs.String("metrics", "", "serve /metrics, /healthz and /readyz on this address (off when empty)")
	var common commonFlags
	common.register(fs, "Redis URL (state and live events)", "PostgreSQL URL (history and events)")
	var limits limitFlags
	limits.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	m, err := common.open(ctx, stderr, false)
	defer m.Close()
	if err != nil {
		return err
	}
	cfg := twinsync.Config{
		Brokers: *kafka, Group: *group, Topic: *topic, InstanceID: *instanceID, Model: m.Model,
		States: m.States, History: m.History, Events: m.Events, Bus: m.Bus,
		Logger: m.Logger, Registerer: m.Registry, ShutdownTimeout: m.ShutdownTimeout,
	}
	if err := limits.apply(&cfg); err != nil {
		return err
	}
	w, err := twinsync.NewWorker(cfg)
	if err != nil {
		return err
	}
	m.SyncReady = w.Ready
	common.watchModel(ctx, m)
	// On SIGTERM /readyz answers 503 while the worker flushes and commits.
	context.AfterFunc(ctx, m.Drain)
	if *metricsAddr != "" {
		ln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("listen metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
			if err := m.Ready(r.Context()); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintf(w, "ready model=%s\n", m.Model.Stamp())
		})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: gateway.DefaultReadHeaderTimeout}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.Logger.Error("metrics server", "err", err)
			}
		}()
		defer srv.Close()
	}
	fmt.Fprintf(stdout, "ready kafka=%s group=%s\n", *kafka, *group)
	m.logStarted("sync starting", "kafka", *kafka, "group", *group, "topic", *topic, "namespace", common.namespace, "tracing", m.Tracing)
	return w.Run(ctx)
}
