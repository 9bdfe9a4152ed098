package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/twingraph/twingraph/hierarchy"
)

// runModel runs `model check FILE` and `model import-dtdl FILE [-o OUT]`.
func runModel(_ context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "Usage: twingraph model check FILE | twingraph model import-dtdl FILE [-o OUT]\n" +
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
		fmt.Fprintf(stdout, "%s: ok (%d assets, %d roots)\n", files[0], len(m.Assets()), len(m.Roots()))
		return nil
	case "import-dtdl":
		fs := newFlagSet("model import-dtdl", stderr)
		out := fs.String("o", "", "write the model here instead of stdout")
		files, err := parseArgs(fs, args[1:])
		if err != nil {
			return err
		}
		if len(files) != 1 {
			return usagef("want one DTDL FILE, got %d arguments", len(files))
		}
		data, err := os.ReadFile(files[0])
		if err != nil {
			return err
		}
		yml, err := hierarchy.ImportDTDL(files[0], data)
		if err != nil {
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
