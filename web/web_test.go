package web_test

import (
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/twingraph/twingraph/web"
)

// loadContexts match an absolute http(s) URL where a browser would fetch it
// on its own: HTML src/href/srcset attributes and meta refreshes, CSS url()
// and @import, and JS module imports, workers, importScripts, fetch and
// element src properties. Plain links a user may click (<a href> in the
// bundled UI, URLs inside messages) are not loads and are checked apart.
var loadContexts = map[string][]*regexp.Regexp{
	".html": {
		regexp.MustCompile(`(?i)\b(?:src|href|srcset|data|poster|action|content)\s*=\s*["']?\s*(?:https?:)?//`),
		regexp.MustCompile(`(?i)url\(\s*["']?\s*(?:https?:)?//`),
		regexp.MustCompile(`(?i)@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//`),
	},
	".css": {
		regexp.MustCompile(`(?i)url\(\s*["']?\s*(?:https?:)?//`),
		regexp.MustCompile(`(?i)@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//`),
	},
	".js": {
		regexp.MustCompile(`\bimport\s*\(\s*["'\x60]https?://`),
		regexp.MustCompile(`\b(?:import|from)\s*["'\x60]https?://`),
		regexp.MustCompile(`\bimportScripts\s*\(\s*["'\x60]https?://`),
		regexp.MustCompile(`\bfetch\s*\(\s*["'\x60]https?://`),
		regexp.MustCompile(`\bnew\s+(?:Shared)?Worker\s*\(\s*["'\x60]https?://`),
		regexp.MustCompile(`\bnew\s+(?:WebSocket|EventSource)\s*\(\s*["'\x60](?:https?|wss?)://`),
		regexp.MustCompile(`\b(?:src|srcset)\s*[:=]\s*["'\x60]https?://`),
		regexp.MustCompile(`(?i)url\(\s*["']?\s*https?://`),
		regexp.MustCompile(`(?i)@import\s+(?:url\()?\s*["']?\s*https?://`),
		regexp.MustCompile(`\brel\s*[:=]\s*["'\x60](?:stylesheet|preload|modulepreload|prefetch|icon)["'\x60][^>]{0,200}href\s*[:=]\s*["'\x60]https?://`),
	},
}

// jsHref finds href properties in the bundle; each must sit on an anchor
// element (a link the user follows), never on a <link> or script.
var jsHref = regexp.MustCompile(`\bhref\s*[:=]\s*["'\x60]https?://`)

func TestDist_NoExternalHost(t *testing.T) {
	files := 0
	err := fs.WalkDir(web.Dist(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		res, ok := loadContexts[path.Ext(name)]
		if !ok {
			return nil
		}
		files++
		b, err := fs.ReadFile(web.Dist(), name)
		if err != nil {
			return err
		}
		text := string(b)
		for _, re := range res {
			for _, loc := range re.FindAllStringIndex(text, -1) {
				t.Errorf("%s: loads from another host: %q", name, excerpt(text, loc[0]))
			}
		}
		if path.Ext(name) == ".js" {
			for _, loc := range jsHref.FindAllStringIndex(text, -1) {
				before := text[max(0, loc[0]-120):loc[0]]
				if !strings.Contains(before, `("a",{`) {
					t.Errorf("%s: href to another host outside an anchor: %q", name, excerpt(text, loc[0]))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 {
		t.Fatalf("scanned %d html/css/js files; is dist built?", files)
	}
}

func excerpt(s string, i int) string {
	return s[max(0, i-60):min(len(s), i+100)]
}

// assetRefs finds the page's own script and stylesheet references.
var assetRefs = regexp.MustCompile(`(?:src|href)="(assets/[^"]+)"`)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	t.Cleanup(srv.Close)

	get := func(t *testing.T, p string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		// A bare transport, so gzip handling is the test's, not the client's.
		res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var r io.Reader = res.Body
		if res.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(b)
	}

	res, page := get(t, "/")
	t.Run("index", func(t *testing.T) {
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET / = %d", res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type %q", ct)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("Cache-Control %q, want no-cache", cc)
		}
		if !strings.Contains(page, `id="graphiql"`) {
			t.Errorf("page has no GraphiQL root:\n%s", page)
		}
	})

	refs := assetRefs.FindAllStringSubmatch(page, -1)
	t.Run("assets", func(t *testing.T) {
		if len(refs) < 2 {
			t.Fatalf("page refers to %d assets, want a script and a stylesheet:\n%s", len(refs), page)
		}
		for _, m := range refs {
			res, body := get(t, "/"+m[1], "Accept-Encoding", "gzip")
			if res.StatusCode != http.StatusOK || len(body) == 0 {
				t.Fatalf("GET /%s = %d, %d bytes", m[1], res.StatusCode, len(body))
			}
			if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
				t.Errorf("%s: Cache-Control %q", m[1], cc)
			}
			if res.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("%s: not gzipped for a gzip client", m[1])
			}
			// The example queries are bundled into the page script.
			if strings.HasSuffix(m[1], ".js") && !strings.Contains(body, "plant/jkt1/packaging/line3") {
				t.Errorf("%s: no default line3 query", m[1])
			}
		}
	})

	t.Run("revalidate", func(t *testing.T) {
		res, _ := get(t, "/", "If-None-Match", res.Header.Get("ETag"))
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("conditional GET / = %d, want 304", res.StatusCode)
		}
	})

	t.Run("unknown", func(t *testing.T) {
		res, _ := get(t, "/assets/nope.js")
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET unknown asset = %d", res.StatusCode)
		}
	})

	t.Run("method", func(t *testing.T) {
		res, err := http.Post(srv.URL+"/", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST / = %d", res.StatusCode)
		}
	})
}

// The handover and overview pages are served at their routes, each with its
// own script and stylesheet, and the GraphQL documents they send are in the
// bundle (they use the public API only).
func TestHandler_Pages(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	t.Cleanup(srv.Close)
	get := func(t *testing.T, p string) string {
		t.Helper()
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", p, res.StatusCode)
		}
		return string(b)
	}
	for page, wants := range map[string][]string{
		"/handover": {"shiftReport(", "twinEvents(", "shift(under:"},
		"/overview": {"modeChanged(", "history(metric:", "assetState("},
	} {
		t.Run(page, func(t *testing.T) {
			html := get(t, page+"?under=plant/jkt1")
			if !strings.Contains(html, `id="root"`) {
				t.Fatalf("%s has no root element:\n%s", page, html)
			}
			refs := assetRefs.FindAllStringSubmatch(html, -1)
			if len(refs) != 2 {
				t.Fatalf("%s refers to %d assets, want a script and a stylesheet:\n%s", page, len(refs), html)
			}
			var js string
			for _, m := range refs {
				body := get(t, "/"+m[1])
				if strings.HasSuffix(m[1], ".js") {
					js = body
					// Shared chunks (React, the GraphQL client) are imported relatively.
					for _, c := range regexp.MustCompile(`from"\./(chunk-[A-Z0-9]+\.js)"`).FindAllStringSubmatch(body, -1) {
						js += get(t, "/assets/"+c[1])
					}
				}
			}
			for _, w := range wants {
				if !strings.Contains(js, w) {
					t.Errorf("%s script lacks %q", page, w)
				}
			}
		})
	}
}
