package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/twingraph/twingraph/gateway"
)

// mustOpenAPIValidator fetches /openapi.json from the gateway, checks the
// document against the OpenAPI 3.1 specification and returns a validator
// for requests and responses.
func mustOpenAPIValidator(t *testing.T, f *fixture) validator.Validator {
	t.Helper()
	res, err := http.Get(f.srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" || !bytes.Equal(b, gateway.OpenAPI) {
		t.Fatalf("GET /openapi.json = %d %q, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(b))
	}
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Errorf("OpenAPI version %q, want 3.1.0", v)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("build validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("document: %s: %s", e.Message, e.Reason)
		}
		t.FailNow()
	}
	return v
}

func TestGateway_OpenAPI(t *testing.T) {
	f := newFixture(t)
	v := mustOpenAPIValidator(t, f)
	after := "/twin/plant%2Fjkt1%2Fpackaging%2Fline3/events?first=2"
	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"twin", "/twin/plant%2Fjkt1%2Fpackaging%2Fline3", http.StatusOK},
		{"twin without state", "/twin/plant%2Fjkt1", http.StatusOK},
		{"unknown twin", "/twin/no%2Fsuch", http.StatusNotFound},
		{"history", "/twin/plant%2Fjkt1%2Fpackaging%2Fline3/history?metric=press1_bar&from=2026-11-24T05:00:00Z&to=2026-11-24T06:00:00Z&interval=10m&agg=max", http.StatusOK},
		{"history defaults", "/twin/plant%2Fjkt1%2Fpackaging%2Fline3/history?metric=press1_bar", http.StatusOK},
		{"history gaps", "/twin/plant%2Fjkt1%2Fpackaging%2Fline3/history?metric=press1_bar&from=1795485600000&to=1795500000000&interval=30m&fill=null", http.StatusOK},
		{"history bad metric", "/twin/plant%2Fjkt1%2Fpackaging%2Fline3/history?metric=nope", http.StatusBadRequest},
		{"events", after, http.StatusOK},
		{"events of kinds", "/twin/plant%2Fjkt1%2Fpackaging%2Fline3/events?kinds=MODE_CHANGED,FAULT_RAISED", http.StatusOK},
		{"events empty", "/twin/plant%2Fjkt1%2Fpackaging%2Fline1%2Ffiller/events", http.StatusOK},
		{"events bad cursor", "/twin/plant%2Fjkt1%2Fpackaging%2Fline3/events?after=nope", http.StatusBadRequest},
		{"healthz", "/healthz", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+tc.path, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			res.Body = io.NopCloser(bytes.NewReader(body))
			if ok, errs := v.ValidateHttpRequestResponse(req, res); !ok {
				for _, e := range errs {
					t.Errorf("%s: %s (%v)", e.Message, e.Reason, e.SchemaValidationErrors)
				}
				t.Logf("body: %.300s", body)
			}
		})
	}
}
