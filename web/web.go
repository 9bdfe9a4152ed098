// Package web serves the gateway's pages from files embedded in the binary:
// GraphiQL at "/", the shift handover at "/handover" and the plant overview
// (with its asset pages, "/overview?asset=ID") at "/overview".
//
// The pages are built from npm packages (graphiql, react, graphql-ws, uplot) into dist/
// by `npm ci && npm run build` in this folder; dist/ is committed so that
// `go build` works on a fresh clone without Node. Nothing on the page comes
// from another host: plants often run without internet access, and a CDN
// would also be a supply-chain hole in an operations tool.
package web

import (
	"bytes"
	"compress/gzip"
	"embed"
	"hash/fnv"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed dist
var dist embed.FS

// Dist returns the built pages: index.html, handover.html, overview.html and
// assets/ (content-hashed names).
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder exists
	}
	return sub
}

// contentTypes fixes the types of the files the build emits; the system mime
// table differs between machines (some lack .ttf).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".ttf":  "font/ttf",
	".woff": "font/woff",
	".txt":  "text/plain; charset=utf-8",
	".map":  "application/json",
	".svg":  "image/svg+xml",
}

// file is one embedded file with its validators and a lazily built gzip copy.
type file struct {
	body        []byte
	contentType string
	etag        string
	immutable   bool

	gzOnce sync.Once
	gz     []byte
}

func (f *file) gzipped() []byte {
	f.gzOnce.Do(func() {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		w.Write(f.body)
		w.Close()
		if b.Len() < len(f.body) {
			f.gz = b.Bytes()
		}
	})
	return f.gz
}

// pages maps the pages' routes to their files. The routes have no
// trailing slash so that the pages' relative links ("assets/...",
// "graphql", "overview?asset=...") resolve at the root like GraphiQL's.
var pages = map[string]string{
	"/":         "/index.html",
	"/handover": "/handover.html",
	"/overview": "/overview.html",
}

// Handler serves index.html at "/" (and "/index.html"), the handover and
// overview pages at "/handover" and "/overview", and the bundles under
// "/assets/". Assets have content-hashed names and are cached for a year;
// the page itself is revalidated on every load (ETag) so a new binary's page
// is picked up at once. Bodies are gzipped (once, lazily) for clients that
// accept it: the editor bundle is several megabytes. Mount it at "/" or
// strip a prefix first; the page refers to its assets and to "graphql"
// relative to its own URL.
func Handler() http.Handler {
	files := map[string]*file{}
	root := Dist()
	// The embedded tree is fixed at build time, so walking it cannot fail.
	_ = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		ct := contentTypes[path.Ext(name)]
		if ct == "" {
			ct = http.DetectContentType(body)
		}
		files["/"+name] = &file{
			body:        body,
			contentType: ct,
			etag:        strconv.Quote(strconv.FormatUint(fnv64(body), 36)),
			immutable:   strings.HasPrefix(name, "assets/"),
		}
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := r.URL.Path
		if f, ok := pages[p]; ok {
			p = f
		}
		f, ok := files[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("ETag", f.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Add("Vary", "Accept-Encoding")
		if f.immutable {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		body := f.body
		if acceptsGzip(r) {
			if gz := f.gzipped(); gz != nil {
				body = gz
				h.Set("Content-Encoding", "gzip")
			}
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		// http.ServeContent is not used: its Range support would have to
		// know about the gzip variant, and nothing here needs ranges.
		if r.Method == http.MethodHead {
			return
		}
		w.Write(body)
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			q = strings.ReplaceAll(q, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// fnv64 is a cheap, stable content hash for ETags.
func fnv64(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}
