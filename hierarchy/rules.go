package hierarchy

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	twin "github.com/twingraph/twingraph"
)

// compileRule compiles a mode rule once, against an environment typed from the
// type's signals, so that unknown names and type errors surface at load time
// with the rule's line rather than at the first sample.
//
// Absent signals: the returned Match does not run the program when any signal
// the rule names is missing from env (or nil); the rule simply does not match.
// Filling zero values instead would make `power_on == false` hold before power_on
// was ever reported, sending every new asset to STOP; letting the missing key
// evaluate as nil would make `power_on != true` hold. A rule that names no
// signal (`true`) always runs.
func compileRule(t *twin.AssetType, when string) (func(map[string]any) (bool, error), error) {
	env := make(map[string]any, len(t.Signals))
	dotted := false
	for _, s := range t.Signals {
		dotted = setPath(env, s.Name, zero(s.Kind)) || dotted
	}
	prog, err := expr.Compile(when, expr.Env(env), expr.AsBool())
	if err != nil {
		// The engine's message spans lines (source and caret); keep the first.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		if m := unknownName.FindStringSubmatch(msg); m != nil {
			names := make([]string, len(t.Signals))
			for i, s := range t.Signals {
				names[i] = s.Name
			}
			msg = fmt.Sprintf("unknown signal %q%s; type %q has: %s", m[1], m[2], t.Name, strings.Join(names, ", "))
		}
		return nil, fmt.Errorf("%s", msg)
	}
	needs := namedSignals(prog.Node(), t)
	pool := &sync.Pool{New: func() any { return new(vm.VM) }}
	return func(vals map[string]any) (bool, error) {
		for _, name := range needs {
			if vals[name] == nil {
				return false, nil
			}
		}
		if dotted {
			vals = nest(vals)
		}
		machine := pool.Get().(*vm.VM)
		out, err := machine.Run(prog, vals)
		pool.Put(machine)
		if err != nil {
			return false, fmt.Errorf("mode rule %q: %w", when, err)
		}
		b, ok := out.(bool)
		if !ok {
			return false, fmt.Errorf("mode rule %q: result %T is not a bool", when, out)
		}
		return b, nil
	}, nil
}

var unknownName = regexp.MustCompile(`^unknown name (\w+)( \(\d+:\d+\))?`)

// reservedInRules reports whether a signal name cannot be read by rule
// expressions because the language claims it (in, not, matches, let, nil ...).
// Builtin function names are fine: the environment shadows them.
func reservedInRules(name string) bool {
	prog, err := expr.Compile(name, expr.Env(map[string]any{name: true}), expr.AsBool())
	if err != nil {
		return true
	}
	id, ok := prog.Node().(*ast.IdentifierNode)
	return !ok || id.Value != name
}

// zero is a value of the Go type a signal of the kind has in rule environments.
func zero(k twin.ValueKind) any {
	switch k {
	case twin.KindBool:
		return false
	case twin.KindString:
		return ""
	case twin.KindList:
		return []string{}
	}
	return float64(0)
}

// setPath puts a signal's zero value into a rule environment. A component
// signal ("thermostat1.temperature") goes into a nested map, so rules read it
// as thermostat1.temperature; it reports whether the name was dotted.
func setPath(env map[string]any, name string, v any) bool {
	head, rest, dotted := strings.Cut(name, ".")
	if !dotted {
		env[name] = v
		return false
	}
	sub, _ := env[head].(map[string]any)
	if sub == nil {
		sub = map[string]any{}
		env[head] = sub
	}
	setPath(sub, rest, v)
	return true
}

// nest turns flat current values into the nested form of the environment.
func nest(vals map[string]any) map[string]any {
	out := make(map[string]any, len(vals))
	for k, v := range vals {
		setPath(out, k, v)
	}
	return out
}

type identCollector struct {
	t     *twin.AssetType
	seen  map[string]bool
	names []string
}

func (c *identCollector) Visit(n *ast.Node) {
	var name string
	switch nd := (*n).(type) {
	case *ast.IdentifierNode:
		name = nd.Value
	case *ast.MemberNode:
		name = memberPath(nd)
	}
	if name != "" && c.t.Signal(name) != nil && !c.seen[name] {
		c.seen[name] = true
		c.names = append(c.names, name)
	}
}

// memberPath spells a.b.c for a chain of member accesses on an identifier.
func memberPath(m *ast.MemberNode) string {
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return ""
	}
	switch base := m.Node.(type) {
	case *ast.IdentifierNode:
		return base.Value + "." + prop.Value
	case *ast.MemberNode:
		if p := memberPath(base); p != "" {
			return p + "." + prop.Value
		}
	}
	return ""
}

// namedSignals lists the signals an expression reads.
func namedSignals(root ast.Node, t *twin.AssetType) []string {
	c := &identCollector{t: t, seen: map[string]bool{}}
	ast.Walk(&root, c)
	return c.names
}
