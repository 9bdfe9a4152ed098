package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/twingraph/twingraph/telemetry"
)

// newFlagSet returns a flag set for a subcommand whose errors go to stderr.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("twingraph "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// envName is a flag's environment twin: --kafka-listen → TWIN_KAFKA_LISTEN.
func envName(flagName string) string {
	return "TWIN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args, then fills every flag not given on the command line
// from its TWIN_<FLAG> environment variable. The command line wins over the
// environment, which wins over the default.
func parseFlags(fs *flag.FlagSet, args []string) error {
	extra, err := parseArgs(fs, args)
	if err == nil && len(extra) > 0 {
		err = fmt.Errorf("unexpected argument %q (flags start with -)", extra[0])
	}
	return err
}

// parseArgs is parseFlags for commands with positional arguments: flags may
// come before or after them (`model import-dtdl FILE -o OUT`). It returns the
// positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return positional, applyEnv(fs)
}

// applyEnv fills every flag not given on the command line from its environment twin.
func applyEnv(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %v", envName(f.Name), v, e)
			}
		}
	})
	return err
}

// commonFlags are the flags every long-running command shares: where the model
// and the stores are, how much to log and where traces go.
type commonFlags struct {
	model, redis, postgres, namespace, logLevel string
	otlpEndpoint                                string
	traceSampleRatio                            float64
	pprof                                       string
}

// register adds the common flags to fs; redisHelp and postgresHelp say what
// the command uses each store for.
func (c *commonFlags) register(fs *flag.FlagSet, redisHelp, postgresHelp string) {
	fs.StringVar(&c.model, "model", "", "model file (default: the embedded demo plant)")
	fs.StringVar(&c.redis, "redis", "", redisHelp)
	fs.StringVar(&c.postgres, "postgres", "", postgresHelp)
	fs.StringVar(&c.namespace, "namespace", "twin", "Redis key namespace")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.otlpEndpoint, "otlp-endpoint", "", "send OpenTelemetry traces to this OTLP/HTTP collector (http://127.0.0.1:4318); empty: tracing off")
	fs.Float64Var(&c.traceSampleRatio, "trace-sample-ratio", 1, "share of new traces recorded, above 0 and at most 1 (with --otlp-endpoint)")
	fs.StringVar(&c.pprof, "pprof", "", "serve Go profiles (/debug/pprof/) on this separate address, e.g. 127.0.0.1:6060; empty: off")
}

// open builds a Main with the model loaded and the stores open; allowMemory
// lets a missing store URL fall back to memory (dev) instead of an error.
func (c *commonFlags) open(ctx context.Context, stderr io.Writer, allowMemory bool) (*Main, error) {
	m := NewMain(stderr, c.logLevel)
	if c.traceSampleRatio <= 0 || c.traceSampleRatio > 1 {
		return m, fmt.Errorf("--trace-sample-ratio must be above 0 and at most 1")
	}
	if err := m.SetupTracing(ctx, telemetry.Config{
		Endpoint: c.otlpEndpoint, ServiceName: "twingraph", SampleRatio: c.traceSampleRatio,
	}); err != nil {
		return m, err
	}
	if c.pprof != "" {
		if _, err := m.ServePprof(c.pprof); err != nil {
			return m, err
		}
	}
	if err := m.LoadModel(c.model); err != nil {
		return m, err
	}
	return m, m.OpenStores(ctx, c.redis, c.postgres, c.namespace, allowMemory)
}
