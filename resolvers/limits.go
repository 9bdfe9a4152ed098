package resolvers

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"

	twin "github.com/twingraph/twingraph"
)

// documentLimits is the gqlgen extension that refuses oversized documents
// and variables before gqlgen parses, validates or prices them: validation
// (overlapping fields) is quadratic in the fields of a selection and the
// complexity walk expands every fragment spread, so a 1.6 KB document of
// doubling fragments or 60 KB of repeated fields would hold a core for
// minutes before any resolver ran. Every count here is linear in the
// document: fragments are measured once and memoized.
//
// A limit <= 0 is off.
type documentLimits struct {
	maxTokens, maxDepth, maxFields, maxAliases, maxSpreads, maxVariableValues int
	// cache holds documents that already passed (the executor's query
	// cache): they are not measured again.
	cache graphql.Cache[*ast.QueryDocument]
}

var (
	_ graphql.HandlerExtension          = documentLimits{}
	_ graphql.OperationParameterMutator = documentLimits{}
)

// ExtensionName names the extension in gqlgen's listings.
func (documentLimits) ExtensionName() string { return "DocumentLimits" }

// Validate accepts every schema.
func (documentLimits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters refuses the request, with a LIMIT error naming
// the limit, when its variables or document exceed one.
func (l documentLimits) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if l.maxVariableValues > 0 {
		if n := countValues(p.Variables, l.maxVariableValues); n > l.maxVariableValues {
			return limitError("variableValues", l.maxVariableValues, "the variables hold more than %d values", l.maxVariableValues)
		}
	}
	if l.cache != nil {
		if _, ok := l.cache.Get(ctx, p.Query); ok {
			return nil
		}
	}
	if l.maxTokens > 0 && tooManyTokens(p.Query, l.maxTokens) {
		return limitError("tokens", l.maxTokens, "the document has more than %d tokens", l.maxTokens)
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: p.Query})
	if err != nil {
		return nil // the executor reports syntax errors the usual way
	}
	return l.check(doc)
}

// tooManyTokens reports whether src has more than limit tokens. Lexical
// errors are left to the parser.
func tooManyTokens(src string, limit int) bool {
	lx := lexer.New(&ast.Source{Input: src})
	for n := 0; ; n++ {
		tok, err := lx.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			return false
		}
		if n >= limit {
			return true
		}
	}
}

// measure is what a selection set adds up to with its fragments expanded.
type measure struct {
	fields, aliases, depth int
}

// check measures every operation of doc against the limits.
func (l documentLimits) check(doc *ast.QueryDocument) *gqlerror.Error {
	spreads := 0
	for _, op := range doc.Operations {
		spreads += countSpreads(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		spreads += countSpreads(f.SelectionSet)
	}
	if l.maxSpreads > 0 && spreads > l.maxSpreads {
		return limitError("fragmentSpreads", l.maxSpreads, "the document has %d fragment spreads, more than %d", spreads, l.maxSpreads)
	}
	w := walker{frags: map[string]*ast.FragmentDefinition{}, memo: map[string]measure{}, open: map[string]bool{}}
	for _, f := range doc.Fragments {
		w.frags[f.Name] = f
	}
	for _, op := range doc.Operations {
		m, err := w.selectionSet(op.SelectionSet)
		if err != nil {
			return err
		}
		switch {
		case l.maxDepth > 0 && m.depth > l.maxDepth:
			return limitError("depth", l.maxDepth, "the operation nests %d fields deep, more than %d", m.depth, l.maxDepth)
		case l.maxFields > 0 && m.fields > l.maxFields:
			return limitError("fields", l.maxFields, "the operation has %s fields with its fragments expanded, more than %d", count(m.fields), l.maxFields)
		case l.maxAliases > 0 && m.aliases > l.maxAliases:
			return limitError("aliases", l.maxAliases, "the operation has %s aliased fields with its fragments expanded, more than %d", count(m.aliases), l.maxAliases)
		}
	}
	return nil
}

// count formats a saturated count.
func count(n int) string {
	if n == math.MaxInt {
		return "too many"
	}
	return fmt.Sprint(n)
}

// walker measures selection sets, each fragment once.
type walker struct {
	frags map[string]*ast.FragmentDefinition
	memo  map[string]measure
	open  map[string]bool // fragments being measured: a spread of one is a cycle
}

func (w *walker) selectionSet(set ast.SelectionSet) (measure, *gqlerror.Error) {
	var m measure
	for _, sel := range set {
		var sub measure
		var err *gqlerror.Error
		switch s := sel.(type) {
		case *ast.Field:
			sub, err = w.selectionSet(s.SelectionSet)
			sub.fields = satAdd(sub.fields, 1)
			sub.depth++
			if s.Alias != "" && s.Alias != s.Name {
				sub.aliases = satAdd(sub.aliases, 1)
			}
		case *ast.InlineFragment:
			sub, err = w.selectionSet(s.SelectionSet)
		case *ast.FragmentSpread:
			sub, err = w.fragment(s.Name)
		}
		if err != nil {
			return m, err
		}
		m.fields = satAdd(m.fields, sub.fields)
		m.aliases = satAdd(m.aliases, sub.aliases)
		m.depth = max(m.depth, sub.depth)
	}
	return m, nil
}

func (w *walker) fragment(name string) (measure, *gqlerror.Error) {
	if m, ok := w.memo[name]; ok {
		return m, nil
	}
	f, ok := w.frags[name]
	if !ok {
		return measure{}, nil // unknown: validation refuses it
	}
	if w.open[name] {
		err := gqlerror.Errorf("fragment %s spreads itself", name)
		err.Extensions = map[string]any{"code": twin.EBADINPUT}
		return measure{}, err
	}
	w.open[name] = true
	m, err := w.selectionSet(f.SelectionSet)
	delete(w.open, name)
	if err == nil {
		w.memo[name] = m
	}
	return m, err
}

// countSpreads counts the fragment spreads written in set.
func countSpreads(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			n += countSpreads(s.SelectionSet)
		case *ast.InlineFragment:
			n += countSpreads(s.SelectionSet)
		case *ast.FragmentSpread:
			n++
		}
	}
	return n
}

// countValues counts the JSON values in v (v itself excluded), stopping
// once the count passes limit.
func countValues(v any, limit int) int {
	n := 0
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				if n++; n > limit {
					return
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				if n++; n > limit {
					return
				}
				walk(e)
			}
		}
	}
	walk(v)
	return n
}

// satAdd is a + b for non-negative counts, saturating at math.MaxInt.
func satAdd(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

// limitError is a LIMIT error naming the limit and its value in extensions.
func limitError(limit string, value int, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	err.Extensions = map[string]any{"code": twin.ELIMIT, "limit": limit, "max": value}
	return err
}

// queryDeadline bounds one query or mutation to timeout: its resolvers
// and store calls see the deadline (and the client's disconnect, which
// cancels the request context) and stop. Subscriptions are left alone:
// they live as long as their client wants.
func queryDeadline(timeout time.Duration) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		if !graphql.HasOperationContext(ctx) {
			return next(ctx)
		}
		if op := graphql.GetOperationContext(ctx).Operation; op == nil || op.Operation == ast.Subscription {
			return next(ctx)
		}
		ctx, cancel := context.WithTimeoutCause(ctx, timeout,
			twin.Errorf(twin.ELIMIT, "the query ran longer than its limit of %s", timeout))
		defer cancel()
		return next(ctx)
	}
}
