package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/store/redis"
	"github.com/twingraph/twingraph/telemetry"
)

// synopsis is what follows the flags in a command's usage line, for the
// commands with positional arguments.
var synopsis = map[string]string{
	"model check":       "FILE",
	"model diff":        "OLD NEW",
	"model import-dtdl": "FILE [-o OUT]",
	"apikey revoke":     "ID",
}

// newFlagSet returns a flag set for a subcommand whose -h prints its flags
// to stderr. Other parse errors are returned, not printed: run reports
// them in one line naming the bad flag and --help.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("twingraph "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: twingraph %s [flags] %s\n", name, synopsis[name])
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			fmt.Fprintln(stderr, "\nNo flags.")
			return
		}
		fmt.Fprintln(stderr, "\nFlags (each has an environment twin: --log-level is TWIN_LOG_LEVEL):")
		fs.PrintDefaults()
	}
	return fs
}

// usageError is a mistake in how a command was called: run prints it in
// one line pointing at --help and exits 2, the convention for usage errors.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
func (e usageError) ExitCode() int { return 2 }

// usagef returns a usageError.
func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
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
		err = usagef("unexpected argument %q (flags start with -)", extra[0])
	}
	return err
}

// parseArgs is parseFlags for commands with positional arguments: flags may
// come before or after them (`model import-dtdl FILE -o OUT`). It returns the
// positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	// Only -h prints the usage; any other parse error is one line (run).
	usage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = usage }()
	out := fs.Output()
	fs.SetOutput(io.Discard)
	defer fs.SetOutput(out)
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(out)
				usage()
				return nil, err
			}
			return nil, usageError{err.Error()}
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
				err = usagef("%s=%q: %v", envName(f.Name), v, e)
			}
		}
	})
	return err
}

// The listen and connect addresses of a local setup, the commands' defaults:
// the sync worker, simulator and rebuild look for Kafka where dev's embedded
// broker listens.
const (
	defaultHTTP  = "127.0.0.1:8080"
	defaultKafka = "127.0.0.1:9092"
)

// commonFlags are the flags every long-running command shares: where the model
// and the stores are, how much to log and where traces go.
type commonFlags struct {
	model, redis, postgres, namespace string
	log                               logFlags
	otlpEndpoint                      string
	traceSampleRatio                  float64
	pprof                             string
	shutdownTimeout                   time.Duration
	modelWatch                        time.Duration
}

// register adds the common flags to fs; redisHelp and postgresHelp say what
// the command uses each store for.
func (c *commonFlags) register(fs *flag.FlagSet, redisHelp, postgresHelp string) {
	fs.StringVar(&c.model, "model", "", "model file (required, except for dev: the embedded demo plant)")
	fs.StringVar(&c.redis, "redis", "", redisHelp)
	fs.StringVar(&c.postgres, "postgres", "", postgresHelp)
	fs.StringVar(&c.namespace, "namespace", redis.DefaultNamespace, "Redis key namespace")
	c.log.register(fs, "info")
	fs.StringVar(&c.otlpEndpoint, "otlp-endpoint", "", "send OpenTelemetry traces to this OTLP/HTTP collector (http://127.0.0.1:4318); empty: the standard OTEL_EXPORTER_OTLP_ENDPOINT, else tracing off")
	fs.Float64Var(&c.traceSampleRatio, "trace-sample-ratio", 1, "share of new traces recorded, above 0 and at most 1 (with --otlp-endpoint)")
	fs.StringVar(&c.pprof, "pprof", "", "serve Go profiles (/debug/pprof/) on this separate address, e.g. 127.0.0.1:6060; empty: off")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout, "on SIGTERM, the longest a graceful stop may take: drain, finish requests, end subscriptions, flush and commit")
	fs.DurationVar(&c.modelWatch, "model-watch", hierarchy.DefaultWatchInterval, "how often to look at the model file for changes and reload it (SIGHUP reloads at once); 0: only on SIGHUP")
}

// watchModel reloads the model file on SIGHUP and, unless --model-watch is
// 0, when it changes, until ctx ends.
func (c *commonFlags) watchModel(ctx context.Context, m *Main) {
	every := c.modelWatch
	if every <= 0 {
		every = -1 // SIGHUP only
	}
	m.WatchModel(ctx, every, hangups(ctx))
}

// open builds a Main with the model loaded and the stores open; dev lets
// a missing store URL fall back to memory and a missing model to the demo
// plant, where every other command refuses to start: an operator who forgot
// --model must not serve a demo plant as if it were theirs.
func (c *commonFlags) open(ctx context.Context, stderr io.Writer, dev bool) (*Main, error) {
	m := NewMain(stderr, "info")
	logger, err := c.log.logger(stderr)
	if err != nil {
		return m, err
	}
	m.Logger = logger
	if c.model == "" && !dev {
		return m, usagef("--model FILE required (or set %s); only dev falls back to the demo plant", envName("model"))
	}
	if c.traceSampleRatio <= 0 || c.traceSampleRatio > 1 {
		return m, usagef("--trace-sample-ratio must be above 0 and at most 1")
	}
	if c.shutdownTimeout <= 0 {
		return m, usagef("--shutdown-timeout must be above 0")
	}
	m.ShutdownTimeout = c.shutdownTimeout
	if err := m.SetupTracing(ctx, telemetry.Config{
		Endpoint: c.otlpEndpoint, ServiceName: telemetry.DefaultServiceName, SampleRatio: c.traceSampleRatio,
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
	return m, m.OpenStores(ctx, c.redis, c.postgres, c.namespace, dev)
}

// logFlags choose the process's log level and format.
type logFlags struct{ level, format string }

// register adds --log-level (defaulting to level) and --log-format to fs.
func (l *logFlags) register(fs *flag.FlagSet, level string) {
	fs.StringVar(&l.level, "log-level", level, "debug, info, warn or error")
	fs.StringVar(&l.format, "log-format", "text", "text (logfmt) or json, one object a line")
}

// logger returns the logger the flags ask for, writing to w.
func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", l.level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", l.format)
}
