package gateway_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twingraph/twingraph/gateway"
)

// limitedServer serves the fixture's gateway (the GraphQL stub echoes
// the method) with the given limits.
func limitedServer(t *testing.T, set func(*gateway.Config)) *httptest.Server {
	t.Helper()
	f := newFixture(t)
	cfg := f.cfg
	set(&cfg)
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = newServer(t, cfg)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// newServer returns gateway.NewServer(cfg), failing the test on an error.
func newServer(t *testing.T, cfg gateway.Config) *http.Server {
	t.Helper()
	srv, err := gateway.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestGateway_BodyLimit(t *testing.T) {
	srv := limitedServer(t, func(c *gateway.Config) { c.MaxBodyBytes = 1024 })
	small := `{"query":"{__typename}"}`
	big := `{"query":"{__typename}","variables":{"pad":"` + strings.Repeat("x", 2048) + `"}}`
	for _, tc := range []struct {
		name    string
		body    string
		chunked bool
		want    int
	}{
		{"small", small, false, http.StatusOK},
		{"too large", big, false, http.StatusRequestEntityTooLarge},
		{"too large without a length", big, true, http.StatusRequestEntityTooLarge},
		{"small without a length", small, true, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", body)
			req.Header.Set("Content-Type", "application/json")
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.want {
				t.Fatalf("status %d %s, want %d", res.StatusCode, b, tc.want)
			}
			if tc.want != http.StatusOK {
				var v struct {
					Errors []struct {
						Message    string
						Extensions map[string]string
					}
				}
				if err := json.Unmarshal(b, &v); err != nil || len(v.Errors) == 0 || v.Errors[0].Extensions["code"] != "LIMIT" || !strings.Contains(v.Errors[0].Message, "1024") {
					t.Errorf("body %s, want a LIMIT error naming 1024", b)
				}
			}
		})
	}
}

// rawRequest writes head and part of a body on a fresh connection, and
// returns what the server answers (or how the read ended).
func rawRequest(t *testing.T, srv *httptest.Server, req string) (string, error) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	// The bound only keeps a server that never gives up from hanging the test.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return fmt.Sprintf("%d %s", res.StatusCode, b), nil
}

func TestGateway_SlowBody(t *testing.T) {
	srv := limitedServer(t, func(c *gateway.Config) { c.BodyReadTimeout = 100 * time.Millisecond })
	// Promises 100 bytes, sends 10 and stalls.
	got, err := rawRequest(t, srv, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\":")
	if err != nil {
		t.Fatalf("read: %v, want the server to give up on the body", err)
	}
	if !strings.HasPrefix(got, "408 ") || !strings.Contains(got, `"LIMIT"`) {
		t.Errorf("got %s, want 408 LIMIT", got)
	}
}

// TestNewServer_Timeouts: zero takes the default, a negative value is none.
func TestNewServer_Timeouts(t *testing.T) {
	cfg := newFixture(t).cfg
	srv := newServer(t, cfg)
	if srv.ReadHeaderTimeout != gateway.DefaultReadHeaderTimeout || srv.IdleTimeout != gateway.DefaultIdleTimeout {
		t.Errorf("zero: timeouts %v, %v; want the defaults", srv.ReadHeaderTimeout, srv.IdleTimeout)
	}
	cfg.ReadHeaderTimeout, cfg.IdleTimeout = -1, -1
	if srv := newServer(t, cfg); srv.ReadHeaderTimeout != 0 || srv.IdleTimeout != 0 {
		t.Errorf("negative: timeouts %v, %v; want none", srv.ReadHeaderTimeout, srv.IdleTimeout)
	}
}

func TestGateway_IdleTimeout(t *testing.T) {
	srv := limitedServer(t, func(c *gateway.Config) { c.IdleTimeout = 100 * time.Millisecond })
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	// Keep-alive, then silence: the server hangs up.
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection: %v, want the server to close it", err)
	}
}

// A stream opened by a POST (SSE) keeps its context after the body read
// deadline has passed: the deadline is lifted once the body is in.
func TestGateway_BodyDeadlineSparesStreams(t *testing.T) {
	f := newFixture(t)
	cfg := f.cfg
	cfg.BodyReadTimeout = 50 * time.Millisecond
	cfg.GraphQL = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return // cancelled: the stream died with the deadline
		case <-time.After(300 * time.Millisecond):
		}
		io.WriteString(w, "still here\n")
	})
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = newServer(t, cfg)
	srv.Start()
	defer srv.Close()
	res, err := http.Post(srv.URL+"/graphql", "application/json", bytes.NewReader([]byte(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if string(b) != "still here\n" {
		t.Errorf("stream got %q, want it to outlive the body deadline", b)
	}
}
