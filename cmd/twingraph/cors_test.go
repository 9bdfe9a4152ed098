package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/twingraph/twingraph/gateway"
)

// preflightOrigin sends a CORS preflight from origin and returns the
// Access-Control-Allow-Origin the gateway answered.
func preflightOrigin(t *testing.T, httpAddr, origin string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, "http://"+httpAddr+"/graphql", nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.Header.Get("Access-Control-Allow-Origin")
}

func TestDev_CORSOrigins(t *testing.T) {
	t.Run("default allows localhost", func(t *testing.T) {
		addr, _ := startDev(t, "--no-sim")
		if got := preflightOrigin(t, addr, "http://localhost:3000"); got != "http://localhost:3000" {
			t.Errorf("Allow-Origin %q for a localhost dev server", got)
		}
		if got := preflightOrigin(t, addr, "https://evil.example"); got != "" {
			t.Errorf("Allow-Origin %q for another site", got)
		}
	})
	t.Run("env twin replaces the default", func(t *testing.T) {
		t.Setenv("TWIN_CORS_ORIGINS", "https://app.example")
		addr, _ := startDev(t, "--no-sim")
		if got := preflightOrigin(t, addr, "https://app.example"); got != "https://app.example" {
			t.Errorf("Allow-Origin %q for the listed origin", got)
		}
		if got := preflightOrigin(t, addr, "http://localhost:3000"); got != "" {
			t.Errorf("Allow-Origin %q for localhost, which the list leaves out", got)
		}
	})
}

func TestGatewayFlags_CORSOrigins(t *testing.T) {
	for _, tc := range []struct {
		name    string
		def     []string
		args    []string
		want    []string
		wantErr string
	}{
		{"serve default: none", nil, nil, nil, ""},
		{"dev default", gateway.DevCORSOrigins, nil, gateway.DevCORSOrigins, ""},
		{"a list", nil, []string{"--cors-origins", "https://a.example, https://*.b.example"}, []string{"https://a.example", "https://*.b.example"}, ""},
		{"empty turns dev's default off", gateway.DevCORSOrigins, []string{"--cors-origins", ""}, nil, ""},
		{"no scheme", nil, []string{"--cors-origins", "localhost:3000"}, nil, "--cors-origins"},
		{"a path", nil, []string{"--cors-origins", "https://a.example/app"}, nil, "--cors-origins"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFlagSet("serve", &bytes.Buffer{})
			var gw gatewayFlags
			gw.register(fs)
			gw.registerCORS(fs, tc.def)
			if err := parseFlags(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			m := &Main{}
			err := gw.apply(m)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("apply = %v, want an error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(m.CORSOrigins, ",") != strings.Join(tc.want, ",") {
				t.Errorf("CORSOrigins %q, want %q", m.CORSOrigins, tc.want)
			}
		})
	}
}
