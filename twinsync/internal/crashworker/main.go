// Command crashworker runs one sync worker of the demo plant over file-backed
// stores, for the crash test that SIGKILLs worker processes. It exits 0 on
// SIGTERM or SIGINT.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/twingraph/twingraph/examples"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/twinsync"
	"github.com/twingraph/twingraph/twinsync/internal/filestore"
)

func main() {
	brokers := flag.String("brokers", "", "Kafka bootstrap servers")
	dir := flag.String("dir", "", "store directory shared by the workers")
	id := flag.String("id", "w", "this process's name in the store")
	group := flag.String("group", "crash", "consumer group")
	instance := flag.String("instance", "", "static group member id (group.instance.id)")
	flag.Parse()
	if err := run(*brokers, *dir, *id, *group, *instance); err != nil {
		fmt.Fprintln(os.Stderr, "crashworker:", err)
		os.Exit(1)
	}
}

func run(brokers, dir, id, group, instance string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	m, err := hierarchy.Load(examples.PlantFile, examples.PlantYAML)
	if err != nil {
		return err
	}
	s, err := filestore.Open(dir, id)
	if err != nil {
		return err
	}
	w, err := twinsync.NewWorker(twinsync.Config{Brokers: brokers, Group: group, InstanceID: instance, Model: m,
		States: s, History: s, Events: s, BatchSize: 50,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	return w.Run(ctx)
}
