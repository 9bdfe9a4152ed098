package gateway_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// pageAsset finds a page's own script and stylesheet references.
var pageAsset = regexp.MustCompile(`(?:src|href)="(assets/[^"]+)"`)

// The handover and overview pages are routes of the gateway, like GraphiQL
// (the same handler serves dev and serve), and refer to their bundles at the
// root so that a query string (?under=, ?asset=) does not change where they
// load from.
func TestGateway_Pages(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/handover", "/handover?under=plant/jkt1&shift=previous", "/overview", "/overview?asset=plant%2Fjkt1%2Fpackaging%2Fline3"} {
		t.Run(p, func(t *testing.T) {
			res, err := http.Get(f.srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s = %d %s", p, res.StatusCode, res.Header.Get("Content-Type"))
			}
			page := string(body)
			if !strings.Contains(page, `id="root"`) || !strings.Contains(page, `src="assets/`) {
				t.Fatalf("GET %s is not a page of the gateway:\n%s", p, page)
			}
			for _, m := range pageAsset.FindAllStringSubmatch(page, -1) {
				res, err := http.Get(f.srv.URL + "/" + m[1])
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("GET /%s = %d", m[1], res.StatusCode)
				}
			}
		})
	}
}
