package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/internal/testmodel"
	"github.com/twingraph/twingraph/resolvers"
	"github.com/twingraph/twingraph/store/memory"
)

// gqlResponse is a response's errors, and whether it carried data.
type gqlResponse struct {
	Status int
	Data   json.RawMessage
	Errors []gqlError
}

// do posts a request body to the handler and decodes the answer.
func (e *env) do(tb testing.TB, body map[string]any) gqlResponse {
	tb.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	resp := gqlResponse{Status: rec.Code}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		tb.Fatalf("decode %.300s: %v", rec.Body, err)
	}
	return resp
}

// limitOf returns the extensions.limit of a LIMIT error, failing otherwise.
func limitOf(tb testing.TB, r gqlResponse) string {
	tb.Helper()
	if len(r.Errors) == 0 || codeOf(r.Errors) != twin.ELIMIT {
		tb.Fatalf("got %d %+v, want a LIMIT error", r.Status, r.Errors)
	}
	l, _ := r.Errors[0].Extensions["limit"].(string)
	return l
}

// fragmentChain is n fragments, each spreading the next twice: 2^n fields
// once expanded, in under 40 bytes a level.
func fragmentChain(n int) string {
	var b strings.Builder
	b.WriteString(`{ asset(id: "plant/jkt1/packaging/line3") { ...f0 } }`)
	for i := range n {
		fmt.Fprintf(&b, "\nfragment f%d on Asset { ...f%d ...f%d }", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "\nfragment f%d on Asset { id }", n)
	return b.String()
}

func TestHandler_DocumentLimits(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t))
	aliases := make([]string, 201)
	for i := range aliases {
		aliases[i] = fmt.Sprintf("a%d: id", i)
	}
	deep := `{ asset(id: "plant/jkt1") {` + strings.Repeat(" parents {", 40) + " id" + strings.Repeat(" }", 40) + " } }"
	spreads := `{ asset(id: "plant/jkt1") { ` + strings.Repeat("...f ", 501) + "} } fragment f on Asset { id }"
	for _, tc := range []struct {
		name, query, limit string
	}{
		{"fragment doubling", fragmentChain(40), "fields"},
		{"duplicate fields", `{ asset(id: "plant/jkt1") {` + strings.Repeat(" id", 20_000) + " } }", "tokens"},
		{"duplicate fields under the token limit", `{ asset(id: "plant/jkt1") {` + strings.Repeat(" id", 2_500) + " } }", "fields"},
		{"depth", deep, "depth"},
		{"aliases", `{ asset(id: "plant/jkt1") { ` + strings.Join(aliases, " ") + " } }", "aliases"},
		{"fragment spreads", spreads, "fragmentSpreads"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, map[string]any{"query": tc.query})
			if got := limitOf(t, r); got != tc.limit {
				t.Errorf("limit = %q, want %q (%s)", got, tc.limit, r.Errors[0].Message)
			}
			if r.Status >= 500 {
				t.Errorf("status %d", r.Status)
			}
		})
	}
	t.Run("fragment cycle", func(t *testing.T) {
		r := e.do(t, map[string]any{"query": `{ asset(id: "plant/jkt1") { ...a } } fragment a on Asset { ...b } fragment b on Asset { ...a }`})
		if len(r.Errors) == 0 || codeOf(r.Errors) != twin.EBADINPUT {
			t.Errorf("got %+v, want BAD_INPUT", r.Errors)
		}
	})
	t.Run("within the limits", func(t *testing.T) {
		r := e.do(t, map[string]any{"query": fragmentChain(8)})
		if len(r.Errors) != 0 {
			t.Errorf("256 fields through fragments: %+v", r.Errors)
		}
	})
	t.Run("variables", func(t *testing.T) {
		kinds := make([]string, 20_000)
		for i := range kinds {
			kinds[i] = "MODE_CHANGED"
		}
		r := e.do(t, map[string]any{
			"query":     `query($k: [EventKind!]) { asset(id: "plant/jkt1") { events(kinds: $k, first: 1) { edges { cursor } } } }`,
			"variables": map[string]any{"k": kinds},
		})
		if got := limitOf(t, r); got != "variableValues" {
			t.Errorf("limit = %q, want variableValues", got)
		}
	})
}

func TestHandler_DocumentLimitsConfigurable(t *testing.T) {
	e := newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) {
		c.MaxFields = 3
		c.MaxDepth = -1
	})
	r := e.do(t, map[string]any{"query": `{ asset(id: "plant/jkt1") { id name type } }`})
	if got := limitOf(t, r); got != "fields" || r.Errors[0].Extensions["max"] != float64(3) {
		t.Errorf("got %q %v, want the fields limit of 3", got, r.Errors[0].Extensions)
	}
	deep := `{ asset(id: "plant/jkt1") {` + strings.Repeat(" parents {", 40) + " id" + strings.Repeat(" }", 40) + " } }"
	e = newEnv(t, testmodel.Demo(t), func(c *resolvers.Config) {
		c.MaxDepth = -1
		c.ComplexityLimit = -1 // 2^40 parents of parents, all empty
	})
	if r := e.do(t, map[string]any{"query": deep}); len(r.Errors) != 0 {
		t.Errorf("depth limit off: %+v", r.Errors)
	}
}

// pricing is the handler's price list for the demo model, recomputed in
// arbitrary precision: what a query really costs.
type pricing struct {
	children, parents, ancestors, all int64
}

func pricesOf(m twin.Model) pricing {
	p := pricing{children: 1, parents: 1, ancestors: 1, all: int64(len(m.Assets()))}
	for _, a := range m.Assets() {
		p.children = max(p.children, int64(len(m.Children(a.ID, ""))))
		p.parents = max(p.parents, int64(len(a.Parents)))
		p.ancestors = max(p.ancestors, int64(len(m.Ancestors(a.ID))))
	}
	return p
}

// list is the cost of a list field of at most n items costing child each.
func list(child *big.Int, n int64) *big.Int {
	c := new(big.Int).Mul(child, big.NewInt(n))
	return c.Add(c, big.NewInt(1))
}

// exactly returns Asset fields costing exactly cost (>= 1): ids, and
// descendants lists nested as deep as the base-`all` digits of cost need.
func (p pricing) exactly(cost *big.Int) string {
	if cost.Cmp(big.NewInt(p.all+1)) < 0 {
		return strings.Repeat(" id", int(cost.Int64()))
	}
	// cost = r + (1 + all*inner), with r < all ids beside the list.
	inner, r := new(big.Int).QuoRem(new(big.Int).Sub(cost, big.NewInt(1)), big.NewInt(p.all), new(big.Int))
	return strings.Repeat(" id", int(r.Int64())) + " descendants {" + p.exactly(inner) + " }"
}

func TestHandler_ComplexityCannotWrapAround(t *testing.T) {
	m := testmodel.Demo(t)
	e := newEnv(t, m)
	p := pricesOf(m)
	// events(first: 64) costs 1 + 64*(3 + X): with X = 2^58 - 3 that is
	// 2^64 + 1, which plain int arithmetic wraps to 1.
	x := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 58), big.NewInt(3))
	q := `{ asset(id: "plant/jkt1/packaging/line3") { events(first: 64) { edges { node { assetNode {` +
		p.exactly(x) + ` } } } } } }`
	r := e.do(t, map[string]any{"query": q})
	if got := limitOf(t, r); got != "" || !strings.Contains(r.Errors[0].Message, "complexity") {
		t.Errorf("got %+v, want the complexity limit", r.Errors)
	}
}

// randomSelection returns a random selection of Asset fields, nested at
// most depth lists deep, with at most about *budget lists, and its true cost.
func (p pricing) randomSelection(rng *rand.Rand, depth int, budget *int) (string, *big.Int) {
	var b strings.Builder
	cost := new(big.Int)
	for range 1 + rng.IntN(3) {
		if *budget--; depth == 0 || *budget <= 0 || rng.IntN(4) == 0 {
			b.WriteString(" id")
			cost.Add(cost, big.NewInt(1))
			continue
		}
		sel, child := p.randomSelection(rng, depth-1, budget)
		// A unique alias: events with different arguments must not merge.
		fmt.Fprintf(&b, " l%d:", rng.Uint32())
		switch rng.IntN(6) {
		case 0:
			fmt.Fprintf(&b, " descendants {%s }", sel)
			cost.Add(cost, list(child, p.all))
		case 1:
			fmt.Fprintf(&b, " ancestors {%s }", sel)
			cost.Add(cost, list(child, p.ancestors))
		case 2:
			fmt.Fprintf(&b, " children {%s }", sel)
			cost.Add(cost, list(child, p.children))
		case 3:
			fmt.Fprintf(&b, " parents {%s }", sel)
			cost.Add(cost, list(child, p.parents))
		case 4:
			first := 1 + rng.Int64N(100)
			fmt.Fprintf(&b, " events(first: %d) { edges { node { assetNode {%s } } } }", first, sel)
			cost.Add(cost, list(new(big.Int).Add(child, big.NewInt(3)), first))
		case 5:
			last := 1 + rng.Int64N(100)
			fmt.Fprintf(&b, " events(last: %d, includeDescendants: true) { edges { node { assetNode {%s } } } }", last, sel)
			cost.Add(cost, list(new(big.Int).Add(child, big.NewInt(3)), last))
		}
	}
	return b.String(), cost
}

// Property: however lists nest, a query whose true cost is over the limit
// is refused, and one within it runs.
func TestHandler_ComplexityRandomNesting(t *testing.T) {
	const limit = 2_000
	m := testmodel.Demo(t)
	e := newEnv(t, m, func(c *resolvers.Config) {
		c.ComplexityLimit = limit
		c.MaxDepth = 200
		c.MaxAliases = -1
	})
	p := pricesOf(m)
	rng := rand.New(rand.NewPCG(8, 4))
	over := 0
	for i := range 300 {
		budget := 40
		sel, child := p.randomSelection(rng, 2+rng.IntN(24), &budget)
		cost := new(big.Int).Add(child, big.NewInt(1)) // asset(id) { ... }
		q := `{ asset(id: "plant/jkt1/packaging/line3") {` + sel + ` } }`
		r := e.do(t, map[string]any{"query": q})
		if cost.Cmp(big.NewInt(limit)) > 0 {
			over++
			if len(r.Errors) == 0 || codeOf(r.Errors) != twin.ELIMIT {
				t.Fatalf("case %d: cost %s over the limit ran: %+v\n%s", i, cost, r.Errors, q)
			}
			continue
		}
		if len(r.Errors) != 0 {
			t.Fatalf("case %d: cost %s within the limit refused: %+v\n%s", i, cost, r.Errors, q)
		}
	}
	if over == 0 || over == 300 {
		t.Errorf("%d of 300 cases over the limit: the generator misses a side", over)
	}
}

// blockingStates is a state store whose reads wait for their context to
// end: a store that hangs.
type blockingStates struct {
	twin.StateStore
	started chan struct{}
	ended   chan error
}

func (s *blockingStates) GetStates(ctx context.Context, ids []string) ([]*twin.State, error) {
	select { // the first call is the one the test follows
	case s.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	select {
	case s.ended <- context.Cause(ctx):
	default:
	}
	return nil, ctx.Err()
}

func newBlockingHandler(t *testing.T, timeout time.Duration) (*resolvers.Handler, *blockingStates) {
	t.Helper()
	states := &blockingStates{StateStore: memory.NewStateStore(), started: make(chan struct{}, 1), ended: make(chan error, 1)}
	h, err := resolvers.New(resolvers.Config{Model: testmodel.Demo(t), States: states, QueryTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h, states
}

const stateQuery = `{"query":"{ asset(id: \"plant/jkt1/packaging/line3\") { state { mode } } }"}`

func TestHandler_QueryTimeout(t *testing.T) {
	h, states := newBlockingHandler(t, 50*time.Millisecond)
	// The outer bound only keeps a broken handler from hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/graphql", strings.NewReader(stateQuery))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var resp gqlResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	if len(resp.Errors) == 0 || codeOf(resp.Errors) != twin.ELIMIT || !strings.Contains(resp.Errors[0].Message, "50ms") {
		t.Errorf("got %+v, want LIMIT naming the 50ms limit", resp.Errors)
	}
	<-states.started
	if err := <-states.ended; ctx.Err() != nil {
		t.Errorf("the store call ended by the test's bound (%v), not the query's", err)
	}
}

func TestHandler_DisconnectCancelsWork(t *testing.T) {
	h, states := newBlockingHandler(t, -1) // no deadline: only the client's going ends it
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(stateQuery))
	req.Header.Set("Content-Type", "application/json")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := srv.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-states.started
	cancel() // the client hangs up
	select {
	case <-states.ended:
	case <-time.After(20 * time.Second):
		t.Fatal("the store call still runs after the client left")
	}
	<-done
}

// The hostile documents of the issue, refused through the real handler:
// go test ./resolvers -run '^$' -bench HostileDocuments -benchtime 20x
func BenchmarkHandler_HostileDocuments(b *testing.B) {
	e := newEnv(b, testmodel.Demo(b))
	for _, tc := range []struct{ name, query string }{
		{"fragment chain 40", fragmentChain(40)},
		{"duplicate fields 20k", `{ asset(id: "plant/jkt1") {` + strings.Repeat(" id", 20_000) + " } }"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if r := e.do(b, map[string]any{"query": tc.query}); len(r.Errors) == 0 {
					b.Fatal("accepted")
				}
			}
		})
	}
}
