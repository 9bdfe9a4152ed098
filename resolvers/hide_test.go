package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth"
	"github.com/twingraph/twingraph/auth/authtest"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
)

// scopedRequest runs one GraphQL operation as a caller scoped to line3 (over
// SSE for subscriptions) and returns the raw response body.
func scopedRequest(t *testing.T, h http.Handler, q string, subscription bool) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q})
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if subscription {
		req.Header.Set("Accept", "text/event-stream")
	}
	p := &auth.Principal{Subject: "tester", Scope: []string{line3}}
	// Cancelled at the end, as a finished HTTP request is: SSE's keepalive stops with it.
	ctx, cancel := context.WithCancel(auth.NewContext(context.Background(), p))
	defer cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req.WithContext(ctx))
	return rec.Body.String()
}

// TestAuth_HideExistence: with existence hidden (the default) every surface
// answers an asset outside the caller's scope exactly as it answers an
// unknown id; with RevealOutOfScope it answers FORBIDDEN.
func TestAuth_HideExistence(t *testing.T) {
	const (
		outside = "plant/jkt1/packaging/line1"
		unknown = "plant/jkt1/packaging/nope"
	)
	surfaces := []struct {
		name, query  string
		subscription bool
	}{
		{"asset", `{ asset(id: "ID") { id } }`, false},
		{"node", `{ node(id: "ID") { id } }`, false},
		{"_entities", `{ _entities(representations: [{__typename: "Asset", id: "ID"}]) { ... on Asset { id } } }`, false},
		{"assets under", `{ assets(under: "ID", first: 10) { edges { node { id } } } }`, false},
		{"shiftReport", `{ shiftReport(under: "ID", from: "2026-11-24T00:00:00Z", to: "2026-11-24T08:00:00Z") { from } }`, false},
		{"modeChanged under", `subscription { modeChanged(under: "ID") { asset } }`, true},
		{"twinEvents under", `subscription { twinEvents(under: "ID") { asset } }`, true},
		{"assetState", `subscription { assetState(id: "ID") { mode } }`, true},
	}
	verifier := authtest.New(t).Verifier()

	t.Run("hidden", func(t *testing.T) {
		e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.Auth = verifier })
		for _, s := range surfaces {
			t.Run(s.name, func(t *testing.T) {
				got := scopedRequest(t, e.h, strings.ReplaceAll(s.query, "ID", outside), s.subscription)
				want := scopedRequest(t, e.h, strings.ReplaceAll(s.query, "ID", unknown), s.subscription)
				if strings.ReplaceAll(got, outside, "ID") != strings.ReplaceAll(want, unknown, "ID") {
					t.Errorf("outside the scope:\n%s\nunknown:\n%s", got, want)
				}
				if strings.Contains(got, twin.EFORBIDDEN) || strings.Contains(got, "scope") {
					t.Errorf("answer mentions the scope: %s", got)
				}
			})
		}
	})

	t.Run("revealed", func(t *testing.T) {
		e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) { c.Auth = verifier; c.RevealOutOfScope = true })
		for _, s := range surfaces {
			if s.name == "_entities" {
				continue // federation answers null for entities it does not show, either way
			}
			t.Run(s.name, func(t *testing.T) {
				got := scopedRequest(t, e.h, strings.ReplaceAll(s.query, "ID", outside), s.subscription)
				if !strings.Contains(got, `"code":"FORBIDDEN"`) {
					t.Errorf("got %s, want a FORBIDDEN error", got)
				}
			})
		}
	})
}
