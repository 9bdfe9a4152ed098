package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/twingraph/twingraph/hierarchy"
)

// listFlag is a repeatable flag; its environment twin takes a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

const importUsage = "twingraph model import-dtdl PATH... [-o OUT] [--contains REL]... [--live PROPERTY]..."

// runModel runs `model check FILE` and `model import-dtdl PATH... [-o OUT]`.
func runModel(_ context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "Usage: twingraph model check FILE | " + importUsage + "\n" +
		"Run 'twingraph model check -h' or 'twingraph model import-dtdl -h' for their flags.\n"
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "check":
		fs := newFlagSet("model check", stderr)
		files, err := parseArgs(fs, args[1:])
		if err != nil {
			return err
		}
		if len(files) != 1 {
			return usagef("want one model FILE, got %d arguments", len(files))
		}
		m, err := hierarchy.LoadFile(files[0])
		if err != nil {
			// The load error lists every problem as FILE:LINE: reason, one per line.
			return fmt.Errorf("invalid model:\n%w", err)
		}
		fmt.Fprintf(stdout, "%s: ok (%d assets, %d roots) model=%s\n", files[0], len(m.Assets()), len(m.Roots()), m.Stamp())
		return nil
	case "import-dtdl":
		fs := newFlagSet("model import-dtdl", stderr)
		out := fs.String("o", "", "write the model here instead of stdout")
		var opts hierarchy.DTDLOptions
		fs.Var((*listFlag)(&opts.Contains), "contains", "a relationship that means containment, source being the parent (repeatable; beside contains, hasPart, isPartOf ...)")
		fs.Var((*listFlag)(&opts.Live), "live", "a Property imported as a signal rather than a nameplate attribute (repeatable; DTDL name or component.name)")
		paths, err := parseArgs(fs, args[1:])
		if err != nil {
			return err
		}
		if len(paths) == 0 {
			return usagef("want at least one DTDL file or directory")
		}
		yml, err := hierarchy.ImportDTDLFiles(paths, opts)
		if err != nil {
			var le *hierarchy.LoadError
			if errors.As(err, &le) {
				return fmt.Errorf("invalid DTDL (%d problems):\n%w", len(le.Problems), err)
			}
			return err
		}
		if *out == "" {
			_, err = stdout.Write(yml)
			return err
		}
		return os.WriteFile(*out, yml, 0o644)
	default:
		return usagef("unknown subcommand %q (check, import-dtdl)", args[0])
	}
}
