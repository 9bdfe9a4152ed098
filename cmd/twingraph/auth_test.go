package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twingraph/twingraph/auth/authtest"
)

// authPost posts a GraphQL query with the token (none when "") and returns
// the status and the decoded body.
func authPost(t *testing.T, addr, token, query string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", authtest.Bearer(token))
	}
	return doJSON(t, req)
}

func authGet(t *testing.T, addr, token, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if token != "" {
		req.Header.Set("Authorization", authtest.Bearer(token))
	}
	return doJSON(t, req)
}

func doJSON(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

func TestDev_Auth(t *testing.T) {
	is := authtest.New(t)
	// The issuer check comes from the env twin of --auth-issuer.
	t.Setenv("TWIN_AUTH_ISSUER", authtest.IssuerName)
	httpAddr, _ := startDev(t, "--no-sim", "--auth-hs256-secret-file", is.SecretFile)

	status, body := authPost(t, httpAddr, "", `{ roots { id } }`)
	if status != http.StatusUnauthorized || !strings.Contains(mustJSON(body), `"code":"FORBIDDEN"`) {
		t.Errorf("no token: %d %v", status, body)
	}
	if status, _ := authPost(t, httpAddr, is.HS256(authtest.Claims{Issuer: "https://other.test"}), `{ roots { id } }`); status != http.StatusUnauthorized {
		t.Errorf("wrong issuer: %d, want 401", status)
	}
	// RS256 tokens need --auth-jwks, which dev was not given.
	if status, _ := authPost(t, httpAddr, is.RS256(authtest.Claims{}), `{ roots { id } }`); status != http.StatusUnauthorized {
		t.Errorf("RS256 token without a JWKS: %d, want 401", status)
	}

	all := is.HS256(authtest.Claims{})
	status, body = authPost(t, httpAddr, all, `{ roots { id } }`)
	if status != http.StatusOK || !strings.Contains(mustJSON(body), `"plant/jkt1"`) {
		t.Errorf("valid token: %d %v", status, body)
	}

	scoped := is.HS256(authtest.Claims{Scope: []string{"plant/jkt1/processing"}})
	status, body = authPost(t, httpAddr, scoped, `{ roots { id } asset(id: "plant/jkt1/packaging/line3") { id } }`)
	// --auth-hide-existence is on by default: outside the scope reads as unknown.
	if s := mustJSON(body); status != http.StatusOK || !strings.Contains(s, `"plant/jkt1/processing"`) || !strings.Contains(s, `"asset":null`) || strings.Contains(s, `"errors"`) {
		t.Errorf("scoped token: %d %s", status, s)
	}
	if status, _ := authGet(t, httpAddr, scoped, "/twin/plant/jkt1/packaging/line3"); status != http.StatusNotFound {
		t.Errorf("REST outside the scope: %d, want 404", status)
	}
	if status, _ := authGet(t, httpAddr, scoped, "/twin/plant/jkt1/processing/cooking"); status != http.StatusOK {
		t.Errorf("REST inside the scope: %d, want 200", status)
	}
	resp, err := http.Get("http://" + httpAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz without a token: %d", resp.StatusCode)
	}
}

func TestDev_AuthFlagErrors(t *testing.T) {
	short := filepath.Join(t.TempDir(), "short")
	os.WriteFile(short, []byte("short\n"), 0o600)
	for name, args := range map[string][]string{
		"short secret":       {"--auth-hs256-secret-file", short},
		"missing jwks":       {"--auth-jwks", filepath.Join(t.TempDir(), "none.json")},
		"issuer without key": {"--auth-issuer", "https://issuer.test"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"dev", "--no-sim", "--http", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0"}, args...)
			if code := run(context.Background(), args, &stdout, &stderr); code == 0 {
				t.Fatalf("dev %v exited 0", args)
			}
			if stderr.Len() == 0 || strings.Contains(stdout.String(), "ready") {
				t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestGatewayFlags_Apply(t *testing.T) {
	is := authtest.New(t)
	for _, c := range []struct {
		name         string
		args, env    []string
		reveal       bool
		storeTimeout string
	}{
		{"defaults", []string{"--auth-hs256-secret-file", is.SecretFile}, nil, false, "2s"},
		{"flags", []string{"--auth-hs256-secret-file", is.SecretFile, "--auth-hide-existence=false", "--store-timeout", "500ms"}, nil, true, "500ms"},
		{"env twins", []string{"--auth-hs256-secret-file", is.SecretFile}, []string{"TWIN_AUTH_HIDE_EXISTENCE=false", "TWIN_STORE_TIMEOUT=3s"}, true, "3s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, kv := range c.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			fs := newFlagSet("serve", &bytes.Buffer{})
			var gw gatewayFlags
			gw.register(fs)
			if err := parseFlags(fs, c.args); err != nil {
				t.Fatal(err)
			}
			m := &Main{}
			if err := gw.apply(m); err != nil {
				t.Fatal(err)
			}
			if m.RevealOutOfScope != c.reveal || m.StoreTimeout.String() != c.storeTimeout {
				t.Errorf("RevealOutOfScope %v, StoreTimeout %v; want %v, %s", m.RevealOutOfScope, m.StoreTimeout, c.reveal, c.storeTimeout)
			}
		})
	}
	t.Run("zero store timeout", func(t *testing.T) {
		fs := newFlagSet("serve", &bytes.Buffer{})
		var gw gatewayFlags
		gw.register(fs)
		if err := parseFlags(fs, []string{"--store-timeout", "0s"}); err != nil {
			t.Fatal(err)
		}
		if err := gw.apply(&Main{}); err == nil || !strings.Contains(err.Error(), "--store-timeout") {
			t.Errorf("apply = %v, want an error naming --store-timeout", err)
		}
	})
}
