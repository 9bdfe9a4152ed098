package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/twingraph/twingraph/store/redis"
	"github.com/twingraph/twingraph/twinsync"
)

// differencesFound is rebuild --verify's error when the live state differs.
type differencesFound int

func (d differencesFound) Error() string {
	return fmt.Sprintf("%d differences from the live state", int(d))
}
func (d differencesFound) ExitCode() int { return 3 }

// runRebuild replays the telemetry log from the earliest offset into fresh
// state; --verify reports every difference from the live state, otherwise the
// rebuilt state replaces it. Stop the sync workers first when replacing: a
// running worker's cached state would overwrite the rebuilt one on its next sample.
func runRebuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rebuild", stderr)
	kafka := fs.String("kafka", defaultKafka, "Kafka bootstrap servers")
	topic := fs.String("topic", twinsync.DefaultTopic, "telemetry topic")
	modelPath := fs.String("model", "", "model file the live workers use (required)")
	redisURL := fs.String("redis", "", "Redis URL of the live state")
	postgresURL := fs.String("postgres", "", "PostgreSQL URL: replayed history and events are re-appended (idempotent)")
	namespace := fs.String("namespace", redis.DefaultNamespace, "Redis key namespace of the live state")
	verify := fs.Bool("verify", false, "compare with the live state, at the log position it stands at (workers may keep running), instead of replacing it; exit 3 on any difference")
	var logs logFlags
	logs.register(fs, "warn")
	var limits limitFlags
	limits.registerDecode(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	lim, err := limits.limits()
	if err != nil {
		return err
	}
	m := NewMain(stderr, "info")
	if m.Logger, err = logs.logger(stderr); err != nil {
		return err
	}
	defer m.Close()
	if *modelPath == "" {
		// The demo plant would refuse every real record, and replace the live state with nothing.
		return usagef("--model FILE required (or set %s): the model the live workers use", envName("model"))
	}
	if err := m.LoadModel(*modelPath); err != nil {
		return err
	}
	if *redisURL == "" {
		return usagef("--redis required: the live state to verify or replace (or set %s)", envName("redis"))
	}
	if err := m.OpenStores(ctx, *redisURL, *postgresURL, *namespace, true); err != nil {
		return err
	}
	cfg := twinsync.RebuildConfig{Brokers: *kafka, Topic: *topic, Model: m.Model, Limits: lim, Logger: m.Logger}
	// Retired assets too: their states were built from the log like any other.
	all := m.Model.Load().All()
	ids := make([]string, 0, len(all))
	for _, a := range all {
		ids = append(ids, a.ID)
	}
	if *verify {
		// At the live state's own log position: workers may keep running.
		diffs, rebuilt, err := twinsync.VerifyLive(ctx, cfg, m.States, ids)
		if err != nil {
			return err
		}
		printReplayed(stdout, rebuilt)
		for _, d := range diffs {
			fmt.Fprintln(stdout, d.String())
		}
		if len(diffs) > 0 {
			return differencesFound(len(diffs))
		}
		fmt.Fprintln(stdout, "no differences")
		return nil
	}
	if *postgresURL != "" {
		cfg.History, cfg.Events = m.History, m.Events
	}
	rebuilt, err := twinsync.Rebuild(ctx, cfg)
	if err != nil {
		return err
	}
	printReplayed(stdout, rebuilt)
	// Fill an empty namespace, then swap it in atomically (one script; on Redis
	// Cluster one SET of the generation pointer): readers never see a
	// half-replaced state.
	scratch := fmt.Sprintf("%s-rebuild-%d", *namespace, time.Now().UnixNano())
	fresh := m.redis.WithNamespace(scratch)
	defer fresh.Clear(context.WithoutCancel(ctx))
	if err := twinsync.Replace(ctx, fresh, rebuilt, nil); err != nil {
		return err
	}
	if err := m.redis.ReplaceNamespace(ctx, scratch, *namespace); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "replaced the live state (%d assets with state) in namespace %s\n", len(rebuilt.States), *namespace)
	return nil
}

func printReplayed(w io.Writer, r *twinsync.Rebuilt) {
	fmt.Fprintf(w, "replayed %d messages (%d samples, %d events, %d rejected) into %d states\n",
		r.Messages, r.Samples, r.Events, r.Rejected, len(r.States))
}
