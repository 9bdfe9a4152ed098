package hierarchy

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// dTwin is a digital twin: an asset to be.
type dTwin struct {
	id, model, file string
	line            int
	node            *jnode
	iface           *dIface
	parents, other  []string
}

// dRel is a relationship between two twins.
type dRel struct {
	src, name, tgt, file string
	line                 int
}

func (im *importer) addTwin(file string, n *jnode) {
	idn := n.get("$dtId")
	if idn == nil || idn.kind != jString || idn.str == "" {
		im.errf(file, n.line, "", "twin without $dtId")
		return
	}
	id := idn.str
	if msg := badID(id); msg != "" {
		im.errf(file, idn.line, "twin "+id, "not usable as an asset id: %s", msg)
		return
	}
	if prev := im.twinIDs[id]; prev != nil {
		im.errf(file, idn.line, "twin "+id, "defined twice (first at %s:%d)", prev.file, prev.line)
		return
	}
	t := &dTwin{id: id, file: file, line: n.line, node: n}
	if m := n.get("$metadata").get("$model"); m != nil && m.kind == jString {
		t.model = m.str
	} else {
		im.errf(file, n.line, "twin "+id, "no $metadata.$model")
	}
	im.twinIDs[id] = t
	im.twins = append(im.twins, t)
}

func (im *importer) addRelationship(file string, n *jnode) {
	r := &dRel{file: file, line: n.line}
	for _, f := range []struct {
		dst  *string
		keys []string
	}{{&r.src, []string{"$sourceId", "$dtId"}}, {&r.name, []string{"$relationshipName"}}, {&r.tgt, []string{"$targetId"}}} {
		for _, k := range f.keys {
			if v := n.get(k); v != nil && v.kind == jString {
				*f.dst = v.str
			}
		}
		if *f.dst == "" {
			im.errf(file, n.line, "", "relationship without %s", strings.Join(f.keys, " or "))
			return
		}
	}
	im.rels = append(im.rels, r)
}

// Containment relationship names, by direction.
var (
	parentToChild = []string{"contains", "hasPart", "hasChild", "includes", "isParentOf"}
	childToParent = []string{"isPartOf", "isContainedIn", "isChildOf", "childOf", "locatedIn"}
)

func (im *importer) resolveTwins() {
	for _, t := range im.twins {
		if t.model == "" {
			continue
		}
		if t.iface = im.ifaces[t.model]; t.iface == nil {
			im.errf(t.file, t.line, "twin "+t.id, "model %s is not in the set", t.model)
		}
	}
	for _, r := range im.rels {
		src, tgt := im.twinIDs[r.src], im.twinIDs[r.tgt]
		if src == nil || tgt == nil {
			im.errf(r.file, r.line, "relationship "+r.name, "from %q to %q names an unknown twin", r.src, r.tgt)
			continue
		}
		switch {
		case slices.Contains(parentToChild, r.name), slices.Contains(im.opts.Contains, r.name):
			tgt.parents = appendNew(tgt.parents, r.src)
		case slices.Contains(childToParent, r.name):
			src.parents = appendNew(src.parents, r.tgt)
		default:
			src.other = append(src.other, r.name+" "+r.tgt)
		}
	}
}

// twinAttributes turns a twin's properties into asset attributes: nameplate
// properties (components' as component.name) and undeclared ones; live
// values are state, not master data.
func (im *importer) twinAttributes(t *dTwin) (name, tz string, attrs map[string]any) {
	attrs = map[string]any{}
	byPath := map[string]member{}
	comps := map[string]bool{}
	if t.iface != nil {
		for _, m := range t.iface.members() {
			byPath[m.path] = m
		}
		for _, ct := range t.iface.flat {
			comps[ct.name] = ct.kind == "Component"
		}
	}
	put := func(path string, v *jnode) {
		if m, ok := byPath[path]; ok && im.live(m) {
			return
		}
		attrs[path] = v.plain()
	}
	for _, k := range t.node.keys {
		v := t.node.vals[k]
		switch {
		case strings.HasPrefix(k, "$"):
		case k == "timezone" && v.kind == jString:
			tz = v.str
		case (k == "name" || (k == "displayName" && name == "")) && v.kind == jString:
			name = v.str
		case comps[k] && v.kind == jObject:
			for _, ck := range v.keys {
				if !strings.HasPrefix(ck, "$") {
					put(k+"."+ck, v.vals[ck])
				}
			}
		default:
			put(k, v)
		}
	}
	return name, tz, attrs
}

func (im *importer) dtdlAssets(names map[string]string) *yaml.Node {
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	for _, t := range im.twins {
		name, tz, attrs := im.twinAttributes(t)
		n := &yaml.Node{Kind: yaml.MappingNode}
		n.Content = append(n.Content, str("id"), str(t.id))
		if name != "" {
			n.Content = append(n.Content, str("name"), str(name))
		}
		n.Content = append(n.Content, str("type"), str(names[t.model]))
		if len(t.parents) > 0 {
			ps := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, p := range t.parents {
				ps.Content = append(ps.Content, str(p))
			}
			n.Content = append(n.Content, str("parents"), ps)
		}
		if tz != "" {
			n.Content = append(n.Content, str("timezone"), str(tz))
		}
		if len(attrs) > 0 {
			an := &yaml.Node{}
			if err := an.Encode(attrs); err != nil {
				im.errf(t.file, t.line, "twin "+t.id, "attributes: %v", err)
			}
			an.Style = yaml.FlowStyle
			n.Content = append(n.Content, str("attributes"), an)
		}
		if len(t.other) > 0 {
			n.HeadComment = "relationships not imported: " + strings.Join(t.other, ", ")
		}
		seq.Content = append(seq.Content, n)
	}
	return seq
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
