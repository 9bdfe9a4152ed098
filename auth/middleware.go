package auth

import (
	"net/http"
	"strings"
)

// Middleware authenticates HTTP requests with a Verifier.
type Middleware struct {
	// Verifier checks the tokens; required.
	Verifier *Verifier
	// Deny answers a request without a valid token; err is a FORBIDDEN
	// *twin.Error saying why. The response is expected to be a 401.
	Deny func(w http.ResponseWriter, r *http.Request, err error)
	// DeferWebSocket lets a WebSocket upgrade without an Authorization header
	// through with no Principal, because browsers cannot set headers on one:
	// the handler must then authenticate the connection itself (GraphQL
	// reads the token from connection_init) and refuse it otherwise.
	DeferWebSocket bool
}

// Wrap returns next behind the token check: a request whose Authorization
// header holds a valid bearer token (or, with API keys configured, whose
// X-API-Key header holds a valid key and which sends no Authorization)
// reaches next with its Principal in the context (FromContext); any other
// is answered by Deny. OPTIONS requests
// (CORS preflights, which never carry credentials and read nothing) pass
// without a Principal. Tokens are read from the header only, never from the
// URL, where they would leak into logs.
func (m Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if k := r.Header.Get("X-API-Key"); h == "" && k != "" {
			// Only ever an API key: a JWT belongs in Authorization.
			if !IsAPIKey(k) {
				k = APIKeyPrefix
			}
			h = "Bearer " + k
		}
		if h == "" && (r.Method == http.MethodOptions || (m.DeferWebSocket && isWebSocket(r))) {
			next.ServeHTTP(w, r)
			return
		}
		p, err := m.Verifier.AuthenticateContext(r.Context(), h)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="twingraph"`)
			m.Deny(w, r, err)
			return
		}
		// A stream (SSE, a WebSocket authenticated by this header) ends when
		// the token expires or the API key is revoked.
		ctx, cancel := Hold(NewContext(r.Context(), p), p)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
