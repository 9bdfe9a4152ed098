package resolvers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/twingraph/twingraph/graph"
)

// ApolloManifestFormat is the format field of an Apollo persisted query manifest.
const ApolloManifestFormat = "apollo-persisted-query-manifest"

// persistedQueryNotFound is the code (and message) Apollo clients know: the
// error presenter keeps it in extensions.reason under code BAD_INPUT.
const persistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"

// ParseManifest reads a persisted query manifest: Apollo's
// {"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id","name","type","body"}]}
// or the Relay/generic {"<id>":"<document>"}. It returns id → document.
func ParseManifest(data []byte) (map[string]string, error) {
	var apollo struct {
		Format     string `json:"format"`
		Version    int    `json:"version"`
		Operations []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			Body string `json:"body"`
		} `json:"operations"`
	}
	if err := json.Unmarshal(data, &apollo); err == nil && apollo.Format != "" {
		if apollo.Format != ApolloManifestFormat || apollo.Version != 1 {
			return nil, fmt.Errorf("manifest format %q version %d: want %q version 1 or an object of id → document", apollo.Format, apollo.Version, ApolloManifestFormat)
		}
		docs := make(map[string]string, len(apollo.Operations))
		for i, op := range apollo.Operations {
			if op.ID == "" || op.Body == "" {
				return nil, fmt.Errorf("operation %d (%s): id and body required", i, op.Name)
			}
			if prev, ok := docs[op.ID]; ok && prev != op.Body {
				return nil, fmt.Errorf("operation %d (%s): id %s names two documents", i, op.Name, op.ID)
			}
			docs[op.ID] = op.Body
		}
		return docs, nil
	}
	var docs map[string]string
	if err := json.Unmarshal(data, &docs); err != nil {
		return nil, errors.New("not a persisted query manifest: want Apollo's manifest or an object of id → document")
	}
	for id, doc := range docs {
		if id == "" || doc == "" {
			return nil, fmt.Errorf("id %q: id and document required", id)
		}
	}
	return docs, nil
}

// LoadManifest reads and parses the manifest file at path, and checks
// every document against the schema, so a stale manifest fails at startup
// rather than on its first request.
func LoadManifest(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	docs, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := CheckManifest(docs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return docs, nil
}

// CheckManifest parses and validates every document against the schema.
func CheckManifest(docs map[string]string) error {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	ids := make([]string, 0, len(docs))
	for id := range docs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, errs := gqlparser.LoadQuery(schema, docs[id]); len(errs) > 0 {
			return fmt.Errorf("document %s: %v", id, errs[0].Message)
		}
	}
	return nil
}

// safelist is the gqlgen extension serving persisted documents: an id sent
// as Apollo's persistedQuery extension (sha256Hash) or by Relay's
// documentId (see persistedIDs) is replaced by its document. With only set,
// it is also the safelist: a document not in the manifest is refused with
// PERSISTED_QUERY_NOT_FOUND, whether sent by id or as text, and the
// automatic persisted query cache learns nothing. It runs before gqlgen's
// APQ extension, which still serves ids it does not know when only is false.
type safelist struct {
	byID   map[string]string   // manifest id, and sha256 of each document → document
	listed map[string]struct{} // every document, as text
	only   bool
}

var (
	_ graphql.HandlerExtension          = safelist{}
	_ graphql.OperationParameterMutator = safelist{}
)

// newSafelist indexes docs by their ids and by the SHA-256 of their text,
// which is what Apollo's persisted query link sends whatever the manifest ids.
func newSafelist(docs map[string]string, only bool) safelist {
	s := safelist{byID: map[string]string{}, listed: map[string]struct{}{}, only: only}
	for _, doc := range docs {
		h := sha256.Sum256([]byte(doc))
		s.byID[hex.EncodeToString(h[:])] = doc
		s.listed[doc] = struct{}{}
	}
	for id, doc := range docs { // manifest ids win over hashes
		s.byID[id] = doc
	}
	return s
}

// ExtensionName names the extension in gqlgen's listings.
func (safelist) ExtensionName() string { return "PersistedQuerySafelist" }

// Validate accepts every schema.
func (safelist) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters resolves a persisted id and enforces the safelist.
func (s safelist) MutateOperationParameters(_ context.Context, p *graphql.RawParams) *gqlerror.Error {
	id := persistedID(p.Extensions)
	if p.Query == "" && id != "" {
		doc, ok := s.byID[id]
		if !ok {
			if !s.only {
				return nil // perhaps one the APQ cache knows
			}
			return notPersisted()
		}
		p.Query = doc
		delete(p.Extensions, "persistedQuery")
		return nil
	}
	if !s.only {
		return nil
	}
	if _, ok := s.listed[p.Query]; !ok {
		return notPersisted()
	}
	delete(p.Extensions, "persistedQuery")
	return nil
}

// persistedID is the sha256Hash of Apollo's persistedQuery extension, "" when absent.
func persistedID(ext map[string]any) string {
	pq, _ := ext["persistedQuery"].(map[string]any)
	id, _ := pq["sha256Hash"].(string)
	return id
}

func notPersisted() *gqlerror.Error {
	err := gqlerror.Errorf("PersistedQueryNotFound: this gateway only runs the documents of its persisted query manifest; send a listed document's id")
	errcode.Set(err, persistedQueryNotFound)
	return err
}

// relayIDFields are where Relay-style clients put a persisted document's id
// (documentId is the GraphQL-over-HTTP draft's name).
var relayIDFields = []string{"documentId", "doc_id", "id"}

// persistedIDs rewrites a Relay-style request carrying a document id and no
// query (POST JSON {"documentId": ...}, or GET ?documentId=) into Apollo's
// persistedQuery extension, which gqlgen's transports understand, so one
// code path (safelist) resolves both. Other requests pass untouched.
func persistedIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			q := r.URL.Query()
			if q.Get("query") != "" || q.Get("extensions") != "" {
				break
			}
			for _, f := range relayIDFields {
				if id := q.Get(f); id != "" {
					ext, _ := json.Marshal(apqExtension(id))
					q.Set("extensions", string(ext))
					q.Del(f)
					r.URL.RawQuery = q.Encode()
					break
				}
			}
		case http.MethodPost:
			if r.Body == nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				break
			}
			// The gateway has already bounded the body (limitBody); gqlgen
			// reads it whole too.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "read the request body", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(rewriteRelayBody(body)))
		}
		next.ServeHTTP(w, r)
	})
}

// rewriteRelayBody returns body with a Relay document id moved into
// extensions.persistedQuery, or body itself when there is none to move.
func rewriteRelayBody(body []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	var query string
	if json.Unmarshal(m["query"], &query); query != "" {
		return body
	}
	for _, f := range relayIDFields {
		var id string
		if json.Unmarshal(m[f], &id); id == "" {
			continue
		}
		ext := map[string]any{}
		if raw, ok := m["extensions"]; ok && json.Unmarshal(raw, &ext) != nil {
			return body
		}
		for k, v := range apqExtension(id) {
			ext[k] = v
		}
		m["extensions"], _ = json.Marshal(ext)
		delete(m, f)
		out, err := json.Marshal(m)
		if err != nil {
			return body
		}
		return out
	}
	return body
}

func apqExtension(id string) map[string]any {
	return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": id}}
}
