package hierarchy

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// ImportDTDL converts one DTDL file into model YAML that Load accepts; it is
// ImportDTDLSet of that file alone.
//
// A set is any mix of files holding a JSON array of Interfaces, one
// Interface, an Azure Digital Twins Explorer export (digitalTwinsModels plus
// digitalTwinsGraph) or an import-job NDJSON file (Header, Models, Twins and
// Relationships sections). A UTF-8 byte-order mark is ignored. extends and
// Component schemas resolve across the whole set.
//
// The set is checked as DTDL v2, v3 or v4 (per Interface, from @context):
// context and extensions, DTMI syntax, @type and co-types, names, schemas,
// units against semantic types, extends (unknown bases, cycles, depth),
// nested Components and contents that differ under one name after
// flattening. Every problem is reported, as FILE:LINE: dtmi…: what is wrong.
//
// Each Interface becomes a type named after the last segment of its @id in
// snake case ("dtmi:com:example:PackagingLine;1" → packaging_line; when two
// paths end alike, more segments are kept: "rec.sensor"). Its contents are
// flattened: bases first (a base reached twice counts once), then its own;
// a Component's contents appear as component.name ("thermostat1.temperature").
// Telemetry becomes a signal, named in snake case, with the kind from the
// schema (numeric → number, boolean → bool, string and time schemas →
// string, a string Enum → string with its values as `allowed`, an integer
// Enum → number with the values' range, an array of strings → list) and the
// unit symbol from the DTDL unit (every unit of the DTDL vocabulary maps, to
// distinct symbols). A Property is nameplate data: it is listed on the type
// and its twin values become asset attributes, unless it is live (co-typed
// Historized, or named in DTDLOptions.Live), when it becomes a signal too.
// Relationships, Commands and schemas without a signal form (Object, Map,
// other arrays, geospatial) are listed in a comment on the type.
//
// Twins become assets with id $dtId and the type of $metadata.$model; their
// name, displayName and timezone properties fill the asset's fields, other
// properties (and those of components, as component.name) become
// attributes, except live ones. Containment relationships give parents:
// contains, hasPart, hasChild, includes, isParentOf and DTDLOptions.Contains
// point from parent to child; isPartOf, isContainedIn, isChildOf, childOf and
// locatedIn from child to parent. Other relationships are listed in a
// comment on their source asset. Without twins, the assets section is empty.
//
// DTDL has no mode rules, valid ranges or raw tags; add them after importing.
func ImportDTDL(filename string, data []byte) ([]byte, error) {
	return ImportDTDLSet([]DTDLSource{{Name: filename, Data: data}}, DTDLOptions{})
}

// emit writes the model YAML of a checked set.
func (im *importer) emit(what string) []byte {
	names := im.typeNames()
	types := &yaml.Node{Kind: yaml.MappingNode}
	for _, in := range im.order {
		typ, comment := im.dtdlType(in)
		key := str(names[in.id])
		key.HeadComment = comment
		types.Content = append(types.Content, key, typ)
	}
	head, todo := "Asset types", "assets, mode rules"
	assets := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	if len(im.twins) > 0 {
		head, todo = "Assets and asset types", "mode rules"
		assets = im.dtdlAssets(names)
	}
	root := &yaml.Node{Kind: yaml.MappingNode, HeadComment: fmt.Sprintf(
		"%s imported from DTDL (%s).\nAdd %s, valid ranges and a signal map; see the hierarchy package documentation.", head, what, todo)}
	root.Content = append(root.Content, str("types"), types, str("assets"), assets)

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		im.errf("", 0, "", "encode: %v", err)
	}
	if err := enc.Close(); err != nil {
		im.errf("", 0, "", "encode: %v", err)
	}
	return buf.Bytes()
}

// typeNames names each Interface's type, keeping more DTMI segments where
// the last ones collide; two versions of one path are an error (one model
// holds one version of a type).
func (im *importer) typeNames() map[string]string {
	path := func(id string) []string {
		p, _, _ := strings.Cut(strings.TrimPrefix(id, "dtmi:"), ";")
		return strings.Split(p, ":")
	}
	names := map[string]string{}
	for keep := 1; ; keep++ {
		byName := map[string][]*dIface{}
		for _, in := range im.order {
			if names[in.id] != "" {
				continue
			}
			segs := path(in.id)
			n := make([]string, 0, keep)
			for _, s := range segs[max(0, len(segs)-keep):] {
				n = append(n, snake(s))
			}
			name := strings.Join(n, ".")
			byName[name] = append(byName[name], in)
		}
		if len(byName) == 0 {
			return names
		}
		for name, ins := range byName {
			if len(ins) == 1 {
				names[ins[0].id] = name
				continue
			}
			a, b := ins[0], ins[1]
			if slices.Equal(path(a.id), path(b.id)) || keep >= len(path(a.id)) {
				im.errf(b.file, b.line, b.id, "%s and %s both become type %q; import one version of an Interface", a.id, b.id, name)
				for _, in := range ins {
					names[in.id] = name
				}
			}
		}
	}
}

// dtdlType builds a type from an Interface's flattened members; the comment
// lists what has no signal form.
func (im *importer) dtdlType(in *dIface) (*yaml.Node, string) {
	signals := &yaml.Node{Kind: yaml.SequenceNode}
	var skipped, attrs []string
	seen := map[string]string{}
	for _, m := range in.members() {
		if m.c.kind != "Telemetry" && m.c.kind != "Property" {
			skipped = append(skipped, m.c.kind+" "+m.path)
			continue
		}
		sh := im.shapeOf(m.c)
		if !im.live(m) {
			attrs = append(attrs, fmt.Sprintf("%s (%s)", m.path, cmp.Or(sh.kind, "structured")))
			continue
		}
		if sh.kind == "" {
			skipped = append(skipped, fmt.Sprintf("%s %s (schema has no signal form)", m.c.kind, m.path))
			continue
		}
		name := snakePath(m.path)
		if prev, dup := seen[name]; dup {
			im.errf(in.file, m.c.line, in.id, "contents %q and %q both become signal %q", prev, m.path, name)
			continue
		}
		seen[name] = m.path
		sig := &yaml.Node{Kind: yaml.MappingNode}
		sig.Content = append(sig.Content, str("name"), str(name))
		if sh.kind != "number" {
			sig.Content = append(sig.Content, str("kind"), str(sh.kind))
		}
		if m.c.unit != "" && dtdlUnits[m.c.unit] != "" {
			sig.Content = append(sig.Content, str("unit"), str(dtdlUnits[m.c.unit]))
		}
		if sh.min != nil {
			sig.Content = append(sig.Content, str("min"), num(*sh.min), str("max"), num(*sh.max))
		}
		if len(sh.allowed) > 0 {
			al := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, v := range sh.allowed {
				al.Content = append(al.Content, str(v))
			}
			sig.Content = append(sig.Content, str("allowed"), al)
		}
		if desc := cmp.Or(text(m.c.node.get("description")), text(m.c.node.get("displayName"))); desc != "" {
			sig.Content = append(sig.Content, str("description"), str(desc))
		}
		signals.Content = append(signals.Content, sig)
	}
	typ := &yaml.Node{Kind: yaml.MappingNode}
	if len(signals.Content) > 0 {
		typ.Content = append(typ.Content, str("signals"), signals)
	}
	comment := in.id
	if d := text(in.node.get("displayName")); d != "" {
		comment = d + " (" + in.id + ")"
	}
	if d := text(in.node.get("description")); d != "" {
		comment += ": " + d
	}
	if len(attrs) > 0 {
		comment += "\nnameplate attributes: " + strings.Join(attrs, ", ")
	}
	if len(skipped) > 0 {
		comment += "\nnot imported: " + strings.Join(skipped, ", ")
	}
	return typ, comment
}

// text reads a DTDL string that may be localized ({"en": "..."}), preferring English.
func text(n *jnode) string {
	switch {
	case n == nil:
		return ""
	case n.kind == jString:
		return n.str
	case n.kind != jObject || len(n.keys) == 0:
		return ""
	}
	for _, k := range []string{"en", "en-US", "en-GB"} {
		if v := n.get(k); v != nil {
			return v.str
		}
	}
	return n.vals[slices.Min(n.keys)].str
}

// typeName turns a DTMI into a type name: its last path segment in snake case.
func typeName(dtmi string) string {
	s, _, _ := strings.Cut(dtmi, ";")
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	return snake(s)
}

// snake converts camelCase and PascalCase to snake_case ("HTTPServerTemp" →
// "http_server_temp"); existing underscores are kept.
func snake(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]))
			acronymEnd := i > 0 && unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if (prevLower || acronymEnd) && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func num(f float64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: fmt.Sprint(f)}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
