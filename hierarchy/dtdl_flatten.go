package hierarchy

import (
	"strings"
)

// resolve checks what needs the whole set (reusable schemas, extends,
// components, twins' models) and flattens every Interface's inheritance.
func (im *importer) resolve() {
	for _, id := range sortedKeys(im.schemas) {
		def := im.schemas[id]
		im.checkSchema(def.file, def.owner, def.ctx, def.node, 0)
	}
	for _, r := range im.refs {
		if im.schemas[r.id] == nil {
			im.errf(r.file, r.line, r.where, "schema %s is not defined in the set (an Interface's schemas)", r.id)
		}
	}
	for _, in := range im.order {
		im.flatten(in)
	}
	for _, in := range im.order {
		for _, ct := range in.contents {
			if ct.kind != "Component" || ct.schema == nil {
				continue
			}
			where := in.id + "#" + ct.name
			ci := im.ifaces[ct.schema.str]
			if ci == nil {
				im.errf(in.file, ct.schema.line, where, "Component schema %s is not in the set", ct.schema.str)
				continue
			}
			ct.compIface = ci
			for _, sub := range ci.flat {
				if sub.kind == "Component" {
					im.errf(in.file, ct.schema.line, where, "Component schema %s has Component %s; DTDL allows no nested Components", ci.id, sub.name)
					ct.compIface = nil
					break
				}
			}
		}
	}
	im.resolveTwins()
}

// flatten lists an Interface's contents after those of its bases. A base
// reached along two paths (a diamond) contributes once; two different
// contents with one name are an error, two identical ones are one.
func (im *importer) flatten(in *dIface) {
	if in.done || in.busy {
		return
	}
	in.busy = true
	byName := map[string]*dContent{}
	add := func(ct *dContent) {
		prev := byName[ct.name]
		switch {
		case prev == nil:
			byName[ct.name] = ct
			in.flat = append(in.flat, ct)
		case prev == ct, prev.node.canon() == ct.node.canon():
		default:
			im.errf(in.file, in.line, in.id, "two different contents named %q: %s %s (%s:%d) and %s %s (%s:%d)",
				ct.name, prev.owner.id, prev.kind, prev.owner.file, prev.line, ct.owner.id, ct.kind, ct.owner.file, ct.line)
		}
	}
	for i, b := range in.extends {
		base := im.ifaces[b]
		switch {
		case base == nil:
			im.errf(in.file, in.extLines[i], in.id, "extends %s, which is not in the set", b)
			continue
		case base.busy:
			im.errf(in.file, in.extLines[i], in.id, "extends cycle: %s extends %s, which extends it back", in.id, b)
			continue
		}
		im.flatten(base)
		if base.depth+1 > in.depth {
			in.depth = base.depth + 1
		}
		for _, ct := range base.flat {
			add(ct)
		}
	}
	for _, ct := range in.contents {
		add(ct)
	}
	if max := maxExtendsDepth(in.ctx.version); in.depth == max+1 {
		im.errf(in.file, in.line, in.id, "extends chain is %d levels deep; DTDL v%d allows at most %d", in.depth, in.ctx.version, max)
	}
	in.busy, in.done = false, true
}

// member is a flattened content as an asset type sees it: a Component's
// contents appear as component.name.
type member struct {
	path string // DTDL names joined with "."
	c    *dContent
}

// members lists an Interface's flattened contents with Components expanded.
func (in *dIface) members() []member {
	var out []member
	for _, ct := range in.flat {
		if ct.kind == "Component" && ct.compIface != nil {
			for _, sub := range ct.compIface.flat {
				out = append(out, member{ct.name + "." + sub.name, sub})
			}
			continue
		}
		out = append(out, member{ct.name, ct})
	}
	return out
}

// live reports whether a Property is state (a signal) rather than nameplate data.
func (im *importer) live(m member) bool {
	if m.c.kind == "Telemetry" {
		return true
	}
	for _, t := range m.c.cotypes {
		if t == "Historized" {
			return true
		}
	}
	for _, l := range im.opts.Live {
		if l == m.path || l == m.c.name {
			return true
		}
	}
	return false
}

// shapeOf is a content's shape with reusable schemas followed.
func (im *importer) shapeOf(ct *dContent) shape {
	q := &importer{schemas: im.schemas, quiet: true}
	return q.checkSchema(ct.owner.file, "", ct.owner.ctx, ct.schema, 0)
}

// snakePath snake-cases each segment of a dotted path.
func snakePath(p string) string {
	parts := strings.Split(p, ".")
	for i, s := range parts {
		parts[i] = snake(s)
	}
	return strings.Join(parts, ".")
}
