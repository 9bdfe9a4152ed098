package main

import (
	"context"
	"fmt"
	"io"

	"github.com/twingraph/twingraph/broker"
	"github.com/twingraph/twingraph/gateway"
	"github.com/twingraph/twingraph/simulate"
	"github.com/twingraph/twingraph/twinsync"
)

// runDev runs the whole twin in one process on the embedded default: broker,
// sync worker, stores, simulator and gateway.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dev", stderr)
	httpAddr := fs.String("http", defaultHTTP, "gateway listen address")
	kafkaListen := fs.String("kafka-listen", defaultKafka, "embedded Kafka-protocol broker listen address")
	noSim := fs.Bool("no-sim", false, "do not run the simulator")
	drainDelay := fs.Duration("drain-delay", 0, "on SIGTERM, how long /readyz answers 503 before the listener closes, within --shutdown-timeout")
	simRate := fs.Float64("sim-rate", 0, "simulator messages per second (0: the simulator's default)")
	maxSamples := fs.Int("memory-history-samples", 50000, "with in-memory history, keep about this many newest samples per series (bounds a long-running dev process)")
	var common commonFlags
	var gw gatewayFlags
	var limits limitFlags
	gw.register(fs)
	gw.registerCORS(fs, gateway.DevCORSOrigins)
	limits.register(fs)
	common.register(fs, "Redis URL for state and live events (default: in memory)",
		"PostgreSQL URL for history and events (default: in memory)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	m, err := common.open(ctx, stderr, true)
	defer m.Close()
	if err != nil {
		return err
	}
	if err := gw.apply(m); err != nil {
		return err
	}
	m.DrainDelay = *drainDelay
	if m.memHistory != nil {
		m.memHistory.MaxSamples = *maxSamples
	}

	// The broker outlives the worker and the simulator: they leave the group
	// and flush against it on the way out, then it stops.
	b, err := broker.Start(context.WithoutCancel(ctx), *kafkaListen, m.Logger)
	if err != nil {
		return err
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	common.watchModel(ctx, m)

	errc := make(chan error, 4)
	cfg := twinsync.Config{
		Brokers: b.Addr(), Model: m.Model,
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
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			errc <- fmt.Errorf("sync worker: %w", err)
		}
	}()
	simDone := make(chan struct{})
	if *noSim {
		close(simDone)
	} else {
		go func() {
			defer close(simDone)
			err := simulate.Run(ctx, simulate.Config{Brokers: b.Addr(), Model: m.Model, Rate: *simRate, Logger: m.Logger})
			if err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("simulator: %w", err)
			}
		}()
	}

	addr, err := m.Listen(ctx, *httpAddr, errc)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ready http=%s kafka=%s\n", addr, b.Addr())
	m.logStarted("dev serving", "http", addr, "kafka", b.Addr(), "simulator", !*noSim)

	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	<-done
	<-simDone
	return err
}
