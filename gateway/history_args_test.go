package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	twin "github.com/twingraph/twingraph"
)

// TestGateway_HistoryExtremes: spans and intervals at the edges of what a
// time.Duration or UnixNano can hold answer a 400 with a code, never a 200
// over a wrong count or a dropped connection.
func TestGateway_HistoryExtremes(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name, query string
		status      int
		code, param string
	}{
		{"292-year span at 1s", "from=1970-01-01T00:00:00Z&to=2300-01-01T00:00:00Z&interval=1s", 400, "BAD_INPUT", "to"},
		{"292-year span at 1s with fill", "from=1970-01-01T00:00:00Z&to=2300-01-01T00:00:00Z&interval=1s&fill=null", 400, "BAD_INPUT", "to"},
		{"229-year span at 1s", "from=1970-01-01T00:00:00Z&to=2199-01-01T00:00:00Z&interval=1s&fill=previous", 400, "LIMIT", "interval"},
		{"before the epoch", "from=1969-12-31T00:00:00Z&to=2026-01-01T00:00:00Z&interval=1d", 400, "BAD_INPUT", "from"},
		{"year 9999", "from=2026-01-01T00:00:00Z&to=9999-12-31T23:59:59Z&interval=1d", 400, "BAD_INPUT", "to"},
		{"most negative epoch ms", "from=-9223372036854775808&to=1795503600000&interval=1h", 400, "BAD_INPUT", "from"},
		{"largest epoch ms", "from=1795500000000&to=9223372036854775807&interval=1h", 400, "BAD_INPUT", "to"},
		{"fill without interval", "from=2026-11-24T05:00:00Z&to=2026-11-24T06:00:00Z&fill=null", 400, "BAD_INPUT", "fill"},
		{"interval of the largest day count", "from=1970-01-01T00:00:00Z&to=2199-01-01T00:00:00Z&interval=106751d&fill=null", 200, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := f.get(t, "/twin/"+line3+"/history?metric=press1_bar&"+c.query)
			if c.status == http.StatusOK {
				if status != http.StatusOK {
					t.Fatalf("status %d: %v", status, body)
				}
				return
			}
			wantError(t, status, body, c.status, c.code, c.param)
		})
	}
}

// FuzzGetHistory drives GET /twin/{id}/history over memory stores with any
// from, to, interval, agg and fill: it never panics, never answers 5xx, and
// a 200 never carries more points than the limit.
func FuzzGetHistory(f *testing.F) {
	fx := newFixture(f)
	h := newGateway(f, fx.cfg)
	for _, s := range [][5]string{
		{"2026-11-24T05:00:00Z", "2026-11-24T06:00:00Z", "1m", "avg", "null"},
		{"1970-01-01T00:00:00Z", "2300-01-01T00:00:00Z", "1s", "", "null"},
		{"-9223372036854775808", "9223372036854775807", "106751d", "max", "previous"},
		{"0", "1", "", "count", ""},
		{"2026-03-29T00:00:00+07:00", "2026-11-01T00:00:00-05:30", "7d", "last", "none"},
		{"", "", "1h30m", "first", ""},
		{"2199-12-31T00:00:00Z", "2200-01-01T00:00:00Z", "9223372036s", "sum", "null"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, from, to, interval, agg, fill string) {
		q := url.Values{"metric": {"press1_bar"}}
		for k, v := range map[string]string{"from": from, "to": to, "interval": interval, "agg": agg, "fill": fill} {
			if v != "" {
				q.Set(k, v)
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/twin/"+line3+"/history?"+q.Encode(), nil))
		if rec.Code >= 500 {
			t.Fatalf("%s: status %d: %s", q.Encode(), rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK {
			return
		}
		var body struct {
			Points []json.RawMessage `json:"points"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: body not JSON: %v", q.Encode(), err)
		}
		if len(body.Points) > twin.DefaultMaxPoints {
			t.Fatalf("%s: %d points, more than the limit %d", q.Encode(), len(body.Points), twin.DefaultMaxPoints)
		}
	})
}
