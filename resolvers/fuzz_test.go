package resolvers_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
)

// FuzzHandler_Document sends arbitrary documents and variables through the
// real handler, with its default limits, over the demo model: it must never
// panic or answer 5xx, and every error must carry one of the stable codes.
func FuzzHandler_Document(f *testing.F) {
	for _, seed := range []struct{ query, vars string }{
		{`{ asset(id: "plant/jkt1/packaging/line3") { id state { mode } } }`, `{}`},
		{`{ roots { id descendants { id type parents { id } } } }`, `null`},
		{`query($k: [EventKind!]) { asset(id: "plant/jkt1") { events(kinds: $k, first: 3) { edges { cursor node { kind } } } } }`, `{"k":["MODE_CHANGED"]}`},
		{`{ assets(first: 100) { edges { node { ancestors { descendants { id } } } } } }`, `{}`},
		{`{ asset(id: "x") { ...a } } fragment a on Asset { ...b ...b } fragment b on Asset { id }`, `{}`},
		{`{ asset(id: "x") { ...a } } fragment a on Asset { ...a }`, `{}`},
		{`{ asset(id: "plant/jkt1") { history(metric: "oee", from: "2026-11-24T00:00:00Z", to: "2026-11-25T00:00:00Z", interval: "1m") { points { ts value } } } }`, `{}`},
		{`{ node(id: "plant/jkt1") { id ... on Asset { rollup { oee running } } } }`, `{}`},
		{`subscription { modeChanged { asset } }`, `{}`},
		{`{ __schema { types { name fields { name } } } }`, `{}`},
		{`{ a: asset(id: "x") { id } a: asset(id: "y") { id } }`, `{"x":[[[[1]]]]}`},
	} {
		f.Add(seed.query, seed.vars)
	}
	m := testmodel.Demo(f)
	e := newEnv(f, m, func(c *resolvers.Config) {})
	codes := []string{twin.ENOTFOUND, twin.EBADINPUT, twin.EFORBIDDEN, twin.ELIMIT, twin.EUNAVAILABLE}
	f.Fuzz(func(t *testing.T, query, vars string) {
		body := map[string]any{"query": query}
		var v any
		if json.Unmarshal([]byte(vars), &v) == nil {
			body["variables"] = v
		}
		b, err := json.Marshal(body)
		if err != nil {
			return
		}
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var resp struct{ Errors []gqlError }
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("undecodable answer %q: %v", rec.Body, err)
		}
		for _, ge := range resp.Errors {
			// INTERNAL would mean a bug (or a store failure, which memory stores do not have).
			if c, _ := ge.Extensions["code"].(string); !slices.Contains(codes, c) {
				t.Fatalf("error %q has code %q", ge.Message, c)
			}
		}
	})
}
