package main

import (
	"context"
	"encoding/json"
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

const diffUsage = "twingraph model diff OLD NEW [--format text|json]"

// modelsDiffer is model diff's error when the models differ: exit code 1, like diff(1).
type modelsDiffer int

func (d modelsDiffer) Error() string {
	if d == 1 {
		return "models differ: 1 change"
	}
	return fmt.Sprintf("models differ: %d changes", int(d))
}
func (d modelsDiffer) ExitCode() int { return 1 }

// badModel is model diff's error for a model file that does not load:
// exit code 2, like diff(1) for trouble.
type badModel struct{ error }

func (b badModel) Unwrap() error { return b.error }
func (b badModel) ExitCode() int { return 2 }

// runModelDiff prints what changes for users from model OLD to model NEW.
func runModelDiff(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("model diff", stderr)
	format := fs.String("format", "text", "text (one change a line: + added, - removed, ~ changed) or json")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 2 {
		return usagef("want OLD and NEW model files, got %d arguments", len(files))
	}
	if *format != "text" && *format != "json" {
		return usagef("--format %q: want text or json", *format)
	}
	var ms [2]*hierarchy.Model
	for i, f := range files {
		if ms[i], err = hierarchy.LoadFile(f); err != nil {
			return badModel{fmt.Errorf("invalid model %s:\n%w", f, err)}
		}
	}
	changes := hierarchy.Diff(ms[0], ms[1])
	if *format == "json" {
		out := struct {
			Old     string             `json:"old"`
			New     string             `json:"new"`
			Equal   bool               `json:"equal"`
			Changes []hierarchy.Change `json:"changes"`
		}{ms[0].Stamp(), ms[1].Stamp(), len(changes) == 0, changes}
		if out.Changes == nil {
			out.Changes = []hierarchy.Change{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "--- %s model=%s\n+++ %s model=%s\n", files[0], ms[0].Stamp(), files[1], ms[1].Stamp())
		for _, c := range changes {
			fmt.Fprintln(stdout, c.String())
		}
	}
	if len(changes) > 0 {
		return modelsDiffer(len(changes))
	}
	return nil
}

// runModel runs `model check FILE` and `model import-dtdl PATH... [-o OUT]`.
func runModel(_ context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "Usage: twingraph model check FILE | " + diffUsage + " | " + importUsage + "\n" +
		"Run 'twingraph model check -h', 'twingraph model diff -h' or 'twingraph model import-dtdl -h' for their flags.\n"
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
	case "diff":
		return runModelDiff(args[1:], stdout, stderr)
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
		return usagef("unknown subcommand %q (check, diff, import-dtdl)", args[0])
	}
}
