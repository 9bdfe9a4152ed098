package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth"
	"github.com/twingraph/twingraph/hierarchy"
	"github.com/twingraph/twingraph/resolvers"
	"github.com/twingraph/twingraph/store/postgres"
)

// accessFlags are the gateway flags of persisted queries and API keys.
type accessFlags struct {
	persisted     string
	onlyPersisted bool
	apiKeys       bool
	apiKeyTTL     time.Duration
}

// register adds --persisted-queries, --only-persisted, --auth-api-keys and
// --auth-api-key-ttl to fs.
func (f *accessFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.persisted, "persisted-queries", "", "persisted query manifest (Apollo's persisted-query-manifest JSON, or Relay's {\"id\": \"document\"}): clients may send a document's id instead of its text")
	fs.BoolVar(&f.onlyPersisted, "only-persisted", false, "with --persisted-queries, refuse every document not in the manifest (introspection included): PERSISTED_QUERY_NOT_FOUND")
	fs.BoolVar(&f.apiKeys, "auth-api-keys", false, "also accept API keys made by 'twingraph apikey create' (Authorization: Bearer twk_... or X-API-Key), checked against --postgres; turns authorization on")
	fs.DurationVar(&f.apiKeyTTL, "auth-api-key-ttl", auth.DefaultAPIKeyTTL, "with --auth-api-keys, how long a gateway trusts what it read about a key: a revocation takes effect within it")
}

// applyAPIKeys sets cfg.APIKeys when --auth-api-keys asks for them.
func (f *accessFlags) applyAPIKeys(m *Main, cfg *auth.Config) error {
	if !f.apiKeys {
		return nil
	}
	if m.postgres == nil {
		return usagef("--auth-api-keys needs --postgres (or set %s): keys are kept there", envName("postgres"))
	}
	if f.apiKeyTTL <= 0 {
		return usagef("--auth-api-key-ttl must be positive")
	}
	cfg.APIKeys = auth.NewAPIKeys(m.postgres, f.apiKeyTTL, nil)
	return nil
}

// applyPersisted loads the manifest into m.
func (f *accessFlags) applyPersisted(m *Main) error {
	if f.persisted == "" {
		if f.onlyPersisted {
			return usagef("--only-persisted needs --persisted-queries FILE")
		}
		return nil
	}
	docs, err := resolvers.LoadManifest(f.persisted)
	if err != nil {
		return fmt.Errorf("persisted queries: %w", err)
	}
	m.PersistedQueries, m.OnlyPersisted = docs, f.onlyPersisted
	return nil
}

const apikeyUsage = `Usage: twingraph apikey create --postgres URL --scope ID[,ID] --name NAME
       twingraph apikey list --postgres URL
       twingraph apikey revoke --postgres URL ID
Run 'twingraph apikey create -h' (or list, revoke) for their flags.
`

// runAPIKey runs `apikey create|list|revoke`: API keys for machine clients,
// kept (hashed) in PostgreSQL.
func runAPIKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, apikeyUsage)
		return errUsage
	}
	sub := args[0]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, apikeyUsage)
		return nil
	case "create", "list", "revoke":
	default:
		return usagef("unknown apikey command %q: want create, list or revoke", sub)
	}
	fs := newFlagSet("apikey "+sub, stderr)
	postgresURL := fs.String("postgres", "", "PostgreSQL URL (migrated: run 'twingraph migrate' first)")
	var scope listFlag
	var name, model *string
	if sub == "create" {
		fs.Var(&scope, "scope", "asset ids whose subtrees the key may read, comma-separated or repeated; * for everything")
		name = fs.String("name", "", "who or what holds the key, e.g. handover-screen")
		model = fs.String("model", "", "model file: when given, every --scope id must be one of its assets")
	}
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if sub == "revoke" && len(pos) != 1 {
		return usagef("want one key ID, got %d arguments", len(pos))
	}
	if sub != "revoke" && len(pos) > 0 {
		return usagef("unexpected argument %q (flags start with -)", pos[0])
	}
	if *postgresURL == "" {
		return usagef("--postgres required (or set %s)", envName("postgres"))
	}
	if sub == "create" {
		if *name == "" {
			return usagef("--name required")
		}
		if len(scope) == 0 {
			return usagef("--scope required (asset ids, or * for everything)")
		}
		if *model != "" {
			if err := checkScope(*model, scope); err != nil {
				return err
			}
		}
	}
	s, err := postgres.Open(ctx, *postgresURL, postgres.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.CheckSchema(ctx); err != nil {
		var te *twin.Error
		if errors.As(err, &te) {
			return errors.New(te.Message)
		}
		return err
	}
	switch sub {
	case "create":
		key, rec, err := auth.NewAPIKey(*name, scope)
		if err != nil {
			return err
		}
		if err := s.CreateAPIKey(ctx, rec); err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
		fmt.Fprintf(stderr, "created API key %s (%s, scope %s); the key above is shown only now: store it\n", rec.ID, rec.Name, strings.Join(rec.Scope, ","))
		return nil
	case "list":
		keys, err := s.ListAPIKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tCREATED\tLAST USED\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(k.Scope, ","),
				stamp(k.Created), stamp(k.LastUsed), stamp(k.Revoked))
		}
		return tw.Flush()
	default: // revoke
		if err := s.RevokeAPIKey(ctx, pos[0]); err != nil {
			if twin.ErrorCode(err) == twin.ENOTFOUND {
				return errors.New(twin.ErrorMessage(err))
			}
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", pos[0])
		return nil
	}
}

// checkScope fails unless every id of scope (but *) is an asset of the model file.
func checkScope(path string, scope []string) error {
	m, err := hierarchy.LoadFile(path)
	if err != nil {
		return fmt.Errorf("load model:\n%w", err)
	}
	for _, id := range scope {
		if id != "*" && m.Asset(id) == nil {
			return usagef("--scope %q is not an asset of %s", id, path)
		}
	}
	return nil
}

// stamp formats t for `apikey list`: RFC 3339 in UTC, "-" when zero.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
