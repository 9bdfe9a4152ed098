package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// pageAsset finds a page's own script and stylesheet references.
var pageAsset = regexp.MustCompile(`(?:src|href)="(assets/[^"]+)"`)

// getPage fetches the HTML page at path of srv, and every script and
// stylesheet of its own it refers to, and returns the page.
func getPage(t *testing.T, srv *httptest.Server, path string) string {
	t.Helper()
	res, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s = %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	page := string(body)
	for _, m := range pageAsset.FindAllStringSubmatch(page, -1) {
		res, err := http.Get(srv.URL + "/" + m[1])
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET /%s = %d", m[1], res.StatusCode)
		}
	}
	return page
}

// The handover and overview pages are routes of the gateway, like GraphiQL
// (the same handler serves dev and serve), and refer to their bundles at the
// root so that a query string (?under=, ?asset=) does not change where they
// load from.
func TestGateway_Pages(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/handover", "/handover?under=plant/jkt1&shift=previous", "/overview", "/overview?asset=plant%2Fjkt1%2Fpackaging%2Fline3"} {
		t.Run(p, func(t *testing.T) {
			page := getPage(t, f.srv, p)
			if !strings.Contains(page, `id="root"`) || !strings.Contains(page, `src="assets/`) {
				t.Fatalf("GET %s is not a page of the gateway:\n%s", p, page)
			}
		})
	}
}
