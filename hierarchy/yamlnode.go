package hierarchy

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// reporter collects problems so that one load reports all of them.
type reporter struct {
	file     string
	problems []Problem
}

func (r *reporter) errf(line int, format string, args ...any) {
	r.problems = append(r.problems, Problem{File: r.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows aliases so that anchors (&x / *x) work anywhere.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// field is one key of a mapping with its value node.
type field struct {
	key *yaml.Node
	val *yaml.Node
}

// fields reads a mapping, reporting keys not in allowed (strictness catches
// typos such as "parnet" that would otherwise silently drop data) and duplicate
// keys (yaml.v3 keeps both when decoding into a Node). Merge keys (<<) are
// honoured; explicit keys win over merged ones. A null node is an empty mapping.
// It returns nil when n is not a mapping.
func (r *reporter) fields(n *yaml.Node, what string, allowed ...string) map[string]field {
	n = resolve(n)
	if isNull(n) {
		return map[string]field{}
	}
	if n.Kind != yaml.MappingNode {
		r.errf(n.Line, "%s must be a mapping", what)
		return nil
	}
	out := map[string]field{}
	r.collect(n, what, allowed, out, false, 0)
	return out
}

func (r *reporter) collect(n *yaml.Node, what string, allowed []string, out map[string]field, merged bool, depth int) {
	if depth > 16 {
		r.errf(n.Line, "%s: merge keys nested too deeply", what)
		return
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			r.errf(k.Line, "%s: keys must be plain strings", what)
			continue
		}
		if k.Value == "<<" && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if !contains(allowed, k.Value) {
			r.errf(k.Line, "%s: unknown key %q (allowed: %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		if prev, dup := out[k.Value]; dup {
			if merged {
				continue
			}
			r.errf(k.Line, "%s: duplicate key %q (first at line %d)", what, k.Value, prev.key.Line)
			continue
		}
		out[k.Value] = field{key: k, val: v}
	}
	for _, m := range merges {
		m = resolve(m)
		switch m.Kind {
		case yaml.MappingNode:
			r.collect(m, what, allowed, out, true, depth+1)
		case yaml.SequenceNode:
			for _, e := range m.Content {
				if e = resolve(e); e.Kind == yaml.MappingNode {
					r.collect(e, what, allowed, out, true, depth+1)
				}
			}
		default:
			r.errf(m.Line, "%s: merge key needs a mapping", what)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str reads a scalar as a string. Any scalar is accepted so that `tag: 1024`
// and `tag: "1024"` mean the same. A null reads as "".
func (r *reporter) str(f field, what string) (string, bool) {
	n := resolve(f.val)
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		r.errf(n.Line, "%s must be a string", what)
		return "", false
	}
	return n.Value, true
}

// number reads a finite number.
func (r *reporter) number(f field, what string) (float64, bool) {
	n := resolve(f.val)
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		r.errf(n.Line, "%s must be a number, got %q", what, n.Value)
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	if err != nil {
		var iv any
		if derr := n.Decode(&iv); derr == nil {
			switch x := iv.(type) {
			case int:
				v, err = float64(x), nil
			case float64:
				v, err = x, nil
			}
		}
	}
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		r.errf(n.Line, "%s must be a finite number, got %q", what, n.Value)
		return 0, false
	}
	return v, true
}

// strList reads a sequence of strings, or a single string as a one-element list.
func (r *reporter) strList(f field, what string) ([]string, []int) {
	n := resolve(f.val)
	if isNull(n) {
		return nil, nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}, []int{n.Line}
	}
	if n.Kind != yaml.SequenceNode {
		r.errf(n.Line, "%s must be a list of strings", what)
		return nil, nil
	}
	var vals []string
	var lines []int
	for _, e := range n.Content {
		e = resolve(e)
		if e.Kind != yaml.ScalarNode || isNull(e) {
			r.errf(e.Line, "%s must be a list of strings", what)
			continue
		}
		vals = append(vals, e.Value)
		lines = append(lines, e.Line)
	}
	return vals, lines
}

// seq returns the elements of a sequence (nil for null).
func (r *reporter) seq(n *yaml.Node, what string) []*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.errf(n.Line, "%s must be a list", what)
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, e := range n.Content {
		out[i] = resolve(e)
	}
	return out
}

// plain converts an attribute value to plain Go values. Numbers become float64
// so that consumers see the same shapes as from JSON.
func plain(n *yaml.Node) (any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	return normalize(v), nil
}

func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	return v
}

var syntaxLine = regexp.MustCompile(`line (\d+): `)

// syntaxProblems turns a yaml.v3 parse error into located problems.
func (r *reporter) syntax(err error) {
	msgs := []string{err.Error()}
	if te, ok := err.(*yaml.TypeError); ok {
		msgs = te.Errors
	}
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		line := 0
		if loc := syntaxLine.FindStringSubmatchIndex(m); loc != nil {
			line, _ = strconv.Atoi(m[loc[2]:loc[3]])
			m = m[:loc[0]] + m[loc[1]:]
		}
		r.errf(line, "%s", m)
	}
}
