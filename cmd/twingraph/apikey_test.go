package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runOut runs one subcommand to completion and returns its exit code,
// stdout and stderr apart.
func runOut(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// keyGet fetches path with the API key in the X-API-Key header.
func keyGet(t *testing.T, addr, key, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	req.Header.Set("X-API-Key", key)
	return doJSON(t, req)
}

// TestAPIKey_TwoGateways: a key made by `apikey create` is accepted, with
// its scope, by two gateways sharing one PostgreSQL, on GraphQL (Bearer)
// and REST (X-API-Key); `apikey list` shows it; after `apikey revoke` both
// gateways refuse it within 5 s.
func TestAPIKey_TwoGateways(t *testing.T) {
	pg := migratedPostgres(t)
	code, out, errOut := runOut(t, "apikey", "create", "--postgres", pg, "--scope", "plant/jkt1/packaging", "--name", "handover-screen")
	if code != 0 {
		t.Fatalf("apikey create exited %d: %s", code, errOut)
	}
	key := strings.TrimSpace(out)
	m := regexp.MustCompile(`^twk_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$`).FindStringSubmatch(key)
	if m == nil {
		t.Fatalf("apikey create printed %q, want one twk_<id>_<secret> line", out)
	}
	id := m[1]

	// --auth-api-keys through its environment twin.
	t.Setenv("TWIN_AUTH_API_KEYS", "true")
	gateways := []string{}
	for range 2 {
		addr, _ := startDev(t, "--no-sim", "--postgres", pg, "--auth-api-key-ttl", "1s")
		gateways = append(gateways, addr)
	}

	for i, addr := range gateways {
		t.Run("Accepted"+string(rune('A'+i)), func(t *testing.T) {
			status, body := authPost(t, addr, key, `{ roots { id } asset(id: "plant/jkt1/processing") { id } }`)
			if s := mustJSON(body); status != http.StatusOK || !strings.Contains(s, `"roots":[{"id":"plant/jkt1/packaging"}]`) || !strings.Contains(s, `"asset":null`) {
				t.Fatalf("GraphQL with the key: %d %s; want the scope's root only", status, s)
			}
			if status, _ := keyGet(t, addr, key, "/twin/plant/jkt1/packaging/line3"); status != http.StatusOK {
				t.Fatalf("REST inside the scope: %d, want 200", status)
			}
			if status, _ := keyGet(t, addr, key, "/twin/plant/jkt1/processing"); status != http.StatusNotFound {
				t.Fatalf("REST outside the scope: %d, want 404 (hidden)", status)
			}
			if status, _ := authPost(t, addr, key[:len(key)-1]+"x", `{ roots { id } }`); status != http.StatusUnauthorized {
				t.Fatalf("a wrong secret: %d, want 401", status)
			}
		})
	}

	t.Run("List", func(t *testing.T) {
		code, out, errOut := runOut(t, "apikey", "list", "--postgres", pg)
		if code != 0 {
			t.Fatalf("apikey list exited %d: %s", code, errOut)
		}
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, id) {
				line = l
			}
		}
		f := strings.Fields(line)
		// ID NAME SCOPE CREATED LAST-USED REVOKED
		if len(f) != 6 || f[1] != "handover-screen" || f[2] != "plant/jkt1/packaging" || f[4] == "-" || f[5] != "-" {
			t.Fatalf("apikey list:\n%s\nwant %s used and not revoked", out, id)
		}
		if strings.Contains(out, key[len("twk_")+17:]) {
			t.Fatal("apikey list shows the secret")
		}
	})

	t.Run("RevokedOnEveryGateway", func(t *testing.T) {
		if code, out, errOut := runOut(t, "apikey", "revoke", "--postgres", pg, id); code != 0 || !strings.Contains(out, "revoked "+id) {
			t.Fatalf("apikey revoke exited %d: %s %s", code, out, errOut)
		}
		for i, addr := range gateways {
			refused := eventually(t, 5*time.Second, func() bool {
				status, _ := authPost(t, addr, key, `{ roots { id } }`)
				return status == http.StatusUnauthorized
			})
			if !refused {
				t.Fatalf("gateway %d still accepts the revoked key 5 s later", i)
			}
			if status, _ := keyGet(t, addr, key, "/twin/plant/jkt1/packaging/line3"); status != http.StatusUnauthorized {
				t.Fatalf("gateway %d REST with the revoked key: %d, want 401", i, status)
			}
		}
	})

	t.Run("RevokeUnknown", func(t *testing.T) {
		if code, _, errOut := runOut(t, "apikey", "revoke", "--postgres", pg, "0000000000000000"); code != 1 || !strings.Contains(errOut, "no API key") {
			t.Fatalf("revoke of an unknown id exited %d: %s", code, errOut)
		}
	})
}

func TestAPIKey_UsageErrors(t *testing.T) {
	t.Setenv("TWIN_POSTGRES", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"create without scope", []string{"apikey", "create", "--postgres", "postgres://x", "--name", "n"}, "--scope required"},
		{"create without name", []string{"apikey", "create", "--postgres", "postgres://x", "--scope", "*"}, "--name required"},
		{"create without postgres", []string{"apikey", "create", "--scope", "*", "--name", "n"}, "--postgres required"},
		{"scope not in model", []string{"apikey", "create", "--postgres", "postgres://x", "--scope", "plant/nowhere", "--name", "n", "--model", "../../examples/plant.yaml"}, `--scope "plant/nowhere" is not an asset`},
		{"revoke arity", []string{"apikey", "revoke", "--postgres", "postgres://x"}, "want one key ID"},
		{"unknown subcommand", []string{"apikey", "rotate"}, `unknown apikey command "rotate"`},
		{"api keys without postgres", []string{"dev", "--auth-api-keys"}, "--auth-api-keys needs --postgres"},
		{"only persisted without manifest", []string{"dev", "--only-persisted"}, "--only-persisted needs --persisted-queries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runOut(t, tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.want)
			}
		})
	}
}

// TestDev_OnlyPersisted: with a manifest and --only-persisted, the gateway
// refuses an ad-hoc query and serves a listed one by its id.
func TestDev_OnlyPersisted(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "manifest.json")
	body := `{"format":"apollo-persisted-query-manifest","version":1,"operations":[` +
		`{"id":"roots-v1","name":"Roots","type":"query","body":"query Roots { roots { id } }"}]}`
	if err := os.WriteFile(manifest, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _ := startDev(t, "--no-sim", "--persisted-queries", manifest, "--only-persisted")
	post := func(req map[string]any) (int, string) {
		b, _ := json.Marshal(req)
		r, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/graphql", bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
		status, v := doJSON(t, r)
		return status, mustJSON(v)
	}
	t.Run("RefusesAdHoc", func(t *testing.T) {
		if _, s := post(map[string]any{"query": "{ roots { id } }"}); !strings.Contains(s, `"reason":"PERSISTED_QUERY_NOT_FOUND"`) || strings.Contains(s, `"roots"`) {
			t.Fatalf("ad-hoc query: %s", s)
		}
	})
	t.Run("ServesListed", func(t *testing.T) {
		status, s := post(map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": "roots-v1"}}})
		if status != http.StatusOK || !strings.Contains(s, `"plant/jkt1"`) || strings.Contains(s, `"errors"`) {
			t.Fatalf("listed query: %d %s", status, s)
		}
	})
	t.Run("BadManifestRefusedAtStart", func(t *testing.T) {
		stale := filepath.Join(dir, "stale.json")
		os.WriteFile(stale, []byte(`{"x":"{ nosuchfield }"}`), 0o600)
		code, _, errOut := runOut(t, "dev", "--no-sim", "--http", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0", "--persisted-queries", stale)
		if code != 1 || !strings.Contains(errOut, "document x") {
			t.Fatalf("stale manifest: exit %d, %s", code, errOut)
		}
	})
}
