package resolvers_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
)

const listedDoc = `query Line($id: ID!) { asset(id: $id) { id name } }`

func sha(doc string) string {
	h := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(h[:])
}

// response is a decoded GraphQL response.
type response struct {
	Data   map[string]any `json:"data"`
	Errors []gqlError     `json:"errors"`
}

// send sends a raw request to e's handler and decodes the answer.
func (e *env) send(t *testing.T, method, target string, body any) response {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	var req *http.Request
	if rd != nil {
		req = httptest.NewRequest(method, target, rd)
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	var resp response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("decode %q: %v", rec.Body, err)
	}
	return resp
}

// servedLine3 fails t unless resp answered line3's asset.
func servedLine3(t *testing.T, resp response) {
	t.Helper()
	a, _ := resp.Data["asset"].(map[string]any)
	if len(resp.Errors) > 0 || a["id"] != line3 {
		t.Fatalf("response %+v, want line3's asset", resp)
	}
}

// refusedNotPersisted fails t unless resp is the safelist's refusal.
func refusedNotPersisted(t *testing.T, resp response) {
	t.Helper()
	if len(resp.Errors) != 1 || codeOf(resp.Errors) != "BAD_INPUT" || resp.Errors[0].Extensions["reason"] != "PERSISTED_QUERY_NOT_FOUND" || resp.Data != nil {
		t.Fatalf("response %+v, want one BAD_INPUT error with reason PERSISTED_QUERY_NOT_FOUND and no data", resp)
	}
}

func TestHandler_OnlyPersisted(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) {
		c.PersistedQueries = map[string]string{"line-v1": listedDoc}
		c.OnlyPersisted = true
	})
	vars := map[string]any{"id": line3}
	apq := func(hash string) map[string]any {
		return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
	}

	t.Run("RefusesAdHocQuery", func(t *testing.T) {
		refusedNotPersisted(t, e.send(t, http.MethodPost, "/graphql", map[string]any{"query": `{ asset(id: "plant/jkt1") { id } }`}))
	})
	t.Run("RefusesIntrospection", func(t *testing.T) {
		refusedNotPersisted(t, e.send(t, http.MethodPost, "/graphql", map[string]any{"query": `{ __schema { types { name } } }`}))
	})
	t.Run("RefusesUnknownID", func(t *testing.T) {
		refusedNotPersisted(t, e.send(t, http.MethodPost, "/graphql", map[string]any{"extensions": apq(sha("{ roots { id } }")), "variables": vars}))
	})
	t.Run("RefusesAPQRegistration", func(t *testing.T) {
		// The APQ protocol's second step (hash and text) must not sneak a
		// document in: it is refused, and so is the hash afterwards.
		doc := `{ roots { id } }`
		refusedNotPersisted(t, e.send(t, http.MethodPost, "/graphql", map[string]any{"query": doc, "extensions": apq(sha(doc))}))
		refusedNotPersisted(t, e.send(t, http.MethodPost, "/graphql", map[string]any{"extensions": apq(sha(doc))}))
	})
	t.Run("ServesApolloID", func(t *testing.T) {
		servedLine3(t, e.send(t, http.MethodPost, "/graphql", map[string]any{"extensions": apq("line-v1"), "variables": vars}))
	})
	t.Run("ServesDocumentHash", func(t *testing.T) {
		// Apollo's persisted query link sends the SHA-256 of the text
		// whatever the manifest's ids are.
		servedLine3(t, e.send(t, http.MethodPost, "/graphql", map[string]any{"extensions": apq(sha(listedDoc)), "variables": vars}))
	})
	t.Run("ServesRelayDocumentID", func(t *testing.T) {
		servedLine3(t, e.send(t, http.MethodPost, "/graphql", map[string]any{"documentId": "line-v1", "variables": vars}))
		servedLine3(t, e.send(t, http.MethodPost, "/graphql", map[string]any{"doc_id": "line-v1", "variables": vars}))
	})
	t.Run("ServesGET", func(t *testing.T) {
		v, _ := json.Marshal(vars)
		servedLine3(t, e.send(t, http.MethodGet, "/graphql?documentId=line-v1&variables="+url.QueryEscape(string(v)), nil))
	})
	t.Run("ServesListedText", func(t *testing.T) {
		servedLine3(t, e.send(t, http.MethodPost, "/graphql", map[string]any{"query": listedDoc, "variables": vars}))
	})
}

func TestHandler_PersistedQueries(t *testing.T) {
	// A manifest without --only-persisted: ids are served, and so is
	// everything else.
	e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) {
		c.PersistedQueries = map[string]string{"line-v1": listedDoc}
	})
	vars := map[string]any{"id": line3}
	t.Run("ServesID", func(t *testing.T) {
		servedLine3(t, e.send(t, http.MethodPost, "/graphql", map[string]any{"documentId": "line-v1", "variables": vars}))
	})
	t.Run("ServesAdHoc", func(t *testing.T) {
		servedLine3(t, e.send(t, http.MethodPost, "/graphql", map[string]any{"query": `query($id: ID!) { asset(id: $id) { id } }`, "variables": vars}))
	})
	t.Run("UnknownIDAsksForTheDocument", func(t *testing.T) {
		resp := e.send(t, http.MethodPost, "/graphql", map[string]any{"documentId": "nope"})
		if len(resp.Errors) != 1 || resp.Errors[0].Extensions["reason"] != "PERSISTED_QUERY_NOT_FOUND" {
			t.Fatalf("response %+v, want PERSISTED_QUERY_NOT_FOUND (the APQ protocol's cue)", resp)
		}
	})
}

func TestParseManifest(t *testing.T) {
	ok := []struct{ name, data string }{
		{"Apollo", `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"abc","name":"Line","type":"query","body":"query Line { roots { id } }"}]}`},
		{"Relay", `{"abc":"query Line { roots { id } }"}`},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			docs, err := resolvers.ParseManifest([]byte(c.data))
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 1 || docs["abc"] != "query Line { roots { id } }" {
				t.Fatalf("docs = %v", docs)
			}
			if err := resolvers.CheckManifest(docs); err != nil {
				t.Fatalf("CheckManifest: %v", err)
			}
		})
	}
	bad := []struct{ name, data, want string }{
		{"OtherFormat", `{"format":"something-else","version":1,"operations":[]}`, "format"},
		{"NoBody", `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"a"}]}`, "body required"},
		{"NotJSON", `[1,2]`, "not a persisted query manifest"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if _, err := resolvers.ParseManifest([]byte(c.data)); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ParseManifest = %v, want an error containing %q", err, c.want)
			}
		})
	}
	t.Run("StaleDocument", func(t *testing.T) {
		if err := resolvers.CheckManifest(map[string]string{"x": "{ nosuchfield }"}); err == nil || !strings.Contains(err.Error(), "document x") {
			t.Fatalf("CheckManifest = %v, want an error naming document x", err)
		}
	})
}
