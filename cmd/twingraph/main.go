// Command twingraph runs the digital-twin gateway: the embedded all-in-one dev
// mode, the production gateway and sync worker, migrations, rebuilds, the
// simulator and model tools. Subcommands only wire packages together; no
// business logic lives here.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `twingraph — a digital twin of your plant, queryable over GraphQL.

Usage: twingraph <command> [flags]

Commands:
  dev                  everything in one process: broker, sync worker, stores, simulator, gateway
  serve                the gateway (GraphQL, REST, GraphiQL)
  sync                 the sync worker (Kafka → state, history, events)
  migrate              apply the PostgreSQL/TimescaleDB migrations
  rebuild              replay the telemetry log into fresh state (--verify compares)
  simulate             produce realistic telemetry for the model's assets
  model check FILE     validate a model file (prints its version and content hash)
  model diff OLD NEW   what changes for users between two model files (exit 1 when they differ)
  model import-dtdl F  convert a DTDL document to a model file
  apikey create|list|revoke  API keys for machine clients (kept hashed in PostgreSQL)
  version              print the version, VCS revision and Go version (also --version)

Every flag has an environment twin: --kafka-listen is TWIN_KAFKA_LISTEN.
Run 'twingraph <command> -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "dev":
		err = runDev(ctx, rest, stdout, stderr)
	case "serve":
		err = runServe(ctx, rest, stdout, stderr)
	case "sync":
		err = runSync(ctx, rest, stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, rest, stdout, stderr)
	case "rebuild":
		err = runRebuild(ctx, rest, stdout, stderr)
	case "simulate":
		err = runSimulate(ctx, rest, stdout, stderr)
	case "model":
		err = runModel(ctx, rest, stdout, stderr)
	case "apikey":
		err = runAPIKey(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		printVersion(stdout)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "twingraph: unknown command %q; see 'twingraph --help'\n", cmd)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		if ue := (usageError{}); errors.As(err, &ue) {
			fmt.Fprintf(stderr, "twingraph %s: %v; see 'twingraph %s --help'\n", args[0], err, args[0])
		} else {
			fmt.Fprintf(stderr, "twingraph %s: %v\n", args[0], err)
		}
		var ec exitCoder
		if errors.As(err, &ec) {
			return ec.ExitCode()
		}
		return 1
	}
}

// hangups delivers one value per SIGHUP until ctx ends: reload the model.
func hangups(ctx context.Context) <-chan struct{} {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP)
	out := make(chan struct{}, 1)
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
				select {
				case out <- struct{}{}:
				default: // a reload is already due
				}
			}
		}
	}()
	return out
}

// errUsage marks a usage error already explained on stderr.
var errUsage = errors.New("usage")

// exitCoder lets an error choose the exit code (rebuild --verify uses 3 for "differences found").
type exitCoder interface{ ExitCode() int }
