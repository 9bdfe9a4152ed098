package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// slowGraphQL answers every request with its body after release is closed,
// counting its executions.
type slowGraphQL struct {
	calls   atomic.Int32
	release chan struct{}
}

func (s *slowGraphQL) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	<-s.release
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	w.Write([]byte(`{"n":` + string(rune('0'+n)) + `,"echo":` + string(body) + `}`))
}

// fire sends the requests made by reqs at once through h once all of them
// have arrived, and returns the responses' status and body.
func fire(t *testing.T, h http.Handler, g *slowGraphQL, reqs []func() *http.Request) []string {
	t.Helper()
	var arrived atomic.Int32
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		h.ServeHTTP(w, r)
	})
	out := make([]string, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			counted.ServeHTTP(rec, req())
			out[i] = rec.Result().Status + " " + rec.Body.String()
		})
	}
	for arrived.Load() < int32(len(reqs)) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // every request reaches the flight before it ends
	close(g.release)
	wg.Wait()
	return out
}

func query(body, authz, accept string) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		return r
	}
}

func TestShareQueries_IdenticalQueriesShareOneExecution(t *testing.T) {
	g := &slowGraphQL{release: make(chan struct{})}
	shared := prometheus.NewCounter(prometheus.CounterOpts{Name: "shared"})
	q := query(`{"query":"{ assets { id } }"}`, "Bearer a", "")
	got := fire(t, shareQueries(g, shared), g, []func() *http.Request{q, q, q, q, q})
	if n := g.calls.Load(); n != 1 {
		t.Fatalf("5 identical queries in flight executed %d times, want 1", n)
	}
	want := `202 Accepted {"n":1,"echo":{"query":"{ assets { id } }"}}`
	for i, s := range got {
		if s != want {
			t.Errorf("response %d = %s, want %s", i, s, want)
		}
	}
	var m dto.Metric
	if err := shared.Write(&m); err != nil {
		t.Fatal(err)
	}
	if v := m.GetCounter().GetValue(); v != 4 {
		t.Errorf("shared responses counted %v, want 4", v)
	}
}

func TestShareQueries_OnlyWhatIsTheSame(t *testing.T) {
	for _, c := range []struct {
		name string
		reqs []func() *http.Request
	}{
		{"other credentials", []func() *http.Request{query(`{"query":"{ a }"}`, "Bearer a", ""), query(`{"query":"{ a }"}`, "Bearer b", "")}},
		{"other body", []func() *http.Request{query(`{"query":"{ a }"}`, "", ""), query(`{"query":"{ b }"}`, "", "")}},
		{"other Accept", []func() *http.Request{query(`{"query":"{ a }"}`, "", "application/json"), query(`{"query":"{ a }"}`, "", "application/graphql-response+json")}},
		{"streams", []func() *http.Request{query(`{"query":"subscription { a }"}`, "", "text/event-stream"), query(`{"query":"subscription { a }"}`, "", "text/event-stream")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &slowGraphQL{release: make(chan struct{})}
			fire(t, shareQueries(g, nil), g, c.reqs)
			if n := g.calls.Load(); n != 2 {
				t.Errorf("executed %d times, want 2 (nothing shared)", n)
			}
		})
	}
}
