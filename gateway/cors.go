package gateway

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"

	twin "github.com/twingraph/twingraph"
)

// DevCORSOrigins is what `twingraph dev` allows by default: a frontend's dev
// server on any port of this machine.
var DevCORSOrigins = []string{
	"http://localhost", "http://localhost:*", "https://localhost", "https://localhost:*",
	"http://127.0.0.1", "http://127.0.0.1:*", "https://127.0.0.1", "https://127.0.0.1:*",
}

// corsHeaders are the request headers browsers on allowed origins may send:
// a bearer token, JSON bodies, SSE's resume header and trace context.
var corsHeaders = []string{"Authorization", "Content-Type", "Accept", "Last-Event-ID", "Traceparent", "Tracestate", "X-Requested-With"}

// withOrigins applies the allow-list of origins to next: CORS headers (and
// preflight answers) for the allowed ones, and a 403 to a WebSocket upgrade
// from any other origin. A browser's WebSocket is not bound by CORS, so
// without the check any page a user opens could subscribe with their token.
// Same-origin requests (GraphiQL served by the gateway itself) always pass.
// An empty list allows no other origin.
func withOrigins(origins []string, next http.Handler) http.Handler {
	var c *cors.Cors
	if len(origins) > 0 { // cors treats an empty list as "every origin"
		c = cors.New(cors.Options{
			AllowedOrigins: origins,
			AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost},
			AllowedHeaders: corsHeaders,
			// Tokens travel in the Authorization header, never in cookies.
			AllowCredentials: false,
			MaxAge:           600,
		})
		next = c.Handler(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") && !sameOrigin(r) && (c == nil || !c.OriginAllowed(r)) {
			bodyError(w, http.StatusForbidden, twin.Errorf(twin.EFORBIDDEN,
				"origin %q may not open a WebSocket here (allowed by --cors-origins)", r.Header.Get("Origin")))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin reports whether r carries no Origin (not a browser) or one
// whose host is the request's own.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// ParseOrigins splits a comma list of origins (--cors-origins), dropping
// blanks. Each is "*" (any origin) or scheme://host[:port], where one "*"
// may stand for any characters (http://localhost:*).
func ParseOrigins(list string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(list, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		scheme, host, ok := strings.Cut(o, "://")
		if o != "*" && (!ok || scheme == "" || host == "" || strings.Contains(host, "/") || strings.Count(o, "*") > 1) {
			return nil, fmt.Errorf("origin %q: want * or scheme://host[:port] with at most one *", o)
		}
		out = append(out, o)
	}
	return out, nil
}
