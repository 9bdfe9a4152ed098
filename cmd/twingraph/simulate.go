package main

import (
	"context"
	"fmt"
	"io"

	"github.com/twingraph/twingraph/simulate"
	"github.com/twingraph/twingraph/twinsync"
)

// runSimulate produces realistic telemetry for every asset of the model until stopped.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("simulate", stderr)
	kafka := fs.String("kafka", defaultKafka, "Kafka bootstrap servers")
	topic := fs.String("topic", twinsync.DefaultTopic, "telemetry topic")
	modelPath := fs.String("model", "", "model file (default: the embedded demo plant)")
	rate := fs.Float64("rate", 0, "messages per second (0: the simulator's default)")
	seed := fs.Int64("seed", 1, "random seed (same seed, same telemetry shape)")
	var logs logFlags
	logs.register(fs, "info")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	m := NewMain(stderr, "info")
	var err error
	if m.Logger, err = logs.logger(stderr); err != nil {
		return err
	}
	if err := m.LoadModel(*modelPath); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "simulating the model's assets to %s/%s\n", *kafka, *topic)
	err = simulate.Run(ctx, simulate.Config{Brokers: *kafka, Topic: *topic, Model: m.Model, Rate: *rate, Seed: *seed, Logger: m.Logger})
	if ctx.Err() != nil {
		return nil
	}
	return err
}
