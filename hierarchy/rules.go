package hierarchy

import (
	"fmt"
	"regexp"
	"strings"
	gosync "sync"

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
	for _, s := range t.Signals {
		env[s.Name] = zero(s.Kind)
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
	needs := namedSignals(prog.Node(), env)
	pool := &gosync.Pool{New: func() any { return new(vm.VM) }}
	return func(vals map[string]any) (bool, error) {
		for _, name := range needs {
			if vals[name] == nil {
				return false, nil
			}
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

type identCollector struct {
	env   map[string]any
	seen  map[string]bool
	names []string
}

func (c *identCollector) Visit(n *ast.Node) {
	id, ok := (*n).(*ast.IdentifierNode)
	if !ok {
		return
	}
	if _, isSignal := c.env[id.Value]; isSignal && !c.seen[id.Value] {
		c.seen[id.Value] = true
		c.names = append(c.names, id.Value)
	}
}

// namedSignals lists the signals an expression reads.
func namedSignals(root ast.Node, env map[string]any) []string {
	c := &identCollector{env: env, seen: map[string]bool{}}
	ast.Walk(&root, c)
	return c.names
}
