package hierarchy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// importer holds a DTDL set while it is read, checked against the language
// rules and flattened. Every problem is collected, not just the first.
type importer struct {
	opts    DTDLOptions
	probs   []Problem
	ifaces  map[string]*dIface
	order   []*dIface
	schemas map[string]*dSchema // Interface `schemas`, by @id
	twins   []*dTwin
	twinIDs map[string]*dTwin
	rels    []*dRel
	refs    []schemaRef
	// quiet importers only compute shapes; their problems are dropped.
	quiet bool
}

// schemaRef is a use of a reusable schema by its DTMI.
type schemaRef struct {
	file      string
	line      int
	where, id string
}

func newImporter(opts DTDLOptions) *importer {
	return &importer{opts: opts, ifaces: map[string]*dIface{}, schemas: map[string]*dSchema{}, twinIDs: map[string]*dTwin{}}
}

// errf records a problem; id (a DTMI or twin id) leads the message when set.
func (im *importer) errf(file string, line int, id, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if id != "" {
		msg = id + ": " + msg
	}
	im.probs = append(im.probs, Problem{File: file, Line: line, Msg: msg})
}

// dctx is what an @context says: the DTDL version and the extensions in use.
type dctx struct {
	version int
	qt      bool // semantic types and units are usable
	histo   bool // Historized is usable
	lenient bool // an extension whose vocabulary is not checked here is in use
}

type dIface struct {
	id, file string
	line     int
	node     *jnode
	ctx      *dctx
	extends  []string
	extLines []int
	contents []*dContent

	// flattening state
	flat       []*dContent
	depth      int
	done, busy bool
}

type dContent struct {
	owner    *dIface
	line     int
	kind     string // Telemetry, Property, Command, Relationship or Component
	name     string
	cotypes  []string
	node     *jnode
	schema   *jnode
	unit     string
	writable bool
	// compIface is a Component's schema Interface, set by resolve.
	compIface *dIface
}

type dSchema struct {
	file  string
	node  *jnode
	ctx   *dctx
	owner string
}

// Limits that differ between DTDL versions.
func maxNameLen(v int) int {
	if v == 2 {
		return 64
	}
	return 512
}

func maxDisplayName(v int) int {
	if v == 4 {
		return 512
	}
	return 64
}

func maxExtendsDepth(v int) int {
	if v == 4 {
		return 12
	}
	return 10
}

func maxSchemaDepth(v int) int {
	if v == 4 {
		return 8
	}
	return 5
}

var (
	dtmiRe     = regexp.MustCompile(`^dtmi:[A-Za-z_](?:[A-Za-z0-9_]*[A-Za-z0-9])?(?::[A-Za-z_](?:[A-Za-z0-9_]*[A-Za-z0-9])?)*(?:;([1-9][0-9]{0,8})(\.[1-9][0-9]{0,5})?)?$`)
	dtdlNameRe = regexp.MustCompile(`^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$`)
)

// badDTMI says what is wrong with a user DTMI in a model of DTDL version v, or "".
func badDTMI(id string, v, maxLen int) string {
	m := dtmiRe.FindStringSubmatch(id)
	switch {
	case m == nil:
		return "is not a valid DTMI (dtmi:segment:segment;version; segments of letters, digits and _, starting with a letter, not ending with _)"
	case len(id) > maxLen:
		return fmt.Sprintf("is longer than %d characters", maxLen)
	case strings.Contains(id, ":_"):
		return "is a system DTMI (a segment starts with _); models may use user DTMIs only"
	case strings.HasPrefix(id, "dtmi:dtdl:") || strings.HasPrefix(id, "dtmi:standard:"):
		return "uses a prefix reserved by DTDL (dtmi:dtdl:, dtmi:standard:)"
	case v == 2 && m[1] == "":
		return "has no version; DTDL v2 requires one (;1)"
	case v == 2 && m[2] != "":
		return "has a two-part version; DTDL v2 allows whole numbers only"
	}
	return ""
}

// Extension contexts, by DTDL version; quantitativeTypes comes apart because
// it decides whether semantic types exist.
var dtdlExtensions = map[int][]string{
	3: {"annotation;1", "historization;1", "mqtt;1", "mqtt;2", "overriding;1", "streaming;1"},
	4: {"annotation;2", "historization;2", "mqtt;2", "mqtt;3", "mqtt;4", "overriding;2", "requirement;1"},
}

// readContext checks an @context: the DTDL context first, then known extensions.
func (im *importer) readContext(file, id string, n *jnode) *dctx {
	if n.kind != jString && n.kind != jArray {
		im.errf(file, n.line, id, "@context must be a string or an array of strings")
		return nil
	}
	if n.kind == jArray {
		for _, it := range n.items {
			if it.kind != jString {
				im.errf(file, it.line, id, "@context: local JSON-LD contexts are not DTDL; want context DTMIs only")
				return nil
			}
		}
	}
	all := n.strs()
	if len(all) == 0 {
		im.errf(file, n.line, id, "@context is empty")
		return nil
	}
	c := &dctx{}
	switch all[0] {
	case "dtmi:dtdl:context;2":
		c.version, c.qt = 2, true // v2 has semantic types built in
	case "dtmi:dtdl:context;3":
		c.version = 3
	case "dtmi:dtdl:context;4", "dtmi:dtdl:context;4#limitless":
		c.version = 4
	default:
		im.errf(file, n.line, id, "@context %q: the first context must be dtmi:dtdl:context;2, ;3 or ;4", all[0])
		return nil
	}
	for _, e := range all[1:] {
		ext, isExt := strings.CutPrefix(e, "dtmi:dtdl:extension:")
		switch {
		case c.version == 3 && ext == "quantitativeTypes;1", c.version == 4 && ext == "quantitativeTypes;2":
			c.qt = true
		case isExt && slices.Contains(dtdlExtensions[c.version], ext):
			c.histo = c.histo || strings.HasPrefix(ext, "historization;")
			c.lenient = true
		case c.version == 2 && e == "dtmi:iotcentral:context;2", c.version == 4 && strings.HasPrefix(e, "dtmi:dtdl:limits:"):
			c.lenient = true
		default:
			im.errf(file, n.line, id, "@context %q is not a DTDL v%d extension this importer knows", e, c.version)
		}
	}
	return c
}

// keys reports members of n that the element kind does not have; extensions
// add their own, so their presence relaxes the check.
func (im *importer) keys(file, id string, c *dctx, n *jnode, what string, allowed ...string) {
	if c.lenient {
		return
	}
	for _, k := range n.keys {
		if !slices.Contains(allowed, k) {
			im.errf(file, n.vals[k].line, id, "%s: unknown property %q (allowed: %s)", what, k, strings.Join(allowed, ", "))
		}
	}
}

var commonKeys = []string{"@type", "@id", "comment", "description", "displayName"}

// texts checks the limits of comment, description and displayName.
func (im *importer) texts(file, id string, c *dctx, n *jnode) {
	for _, t := range []struct {
		key string
		max int
	}{{"comment", 512}, {"description", 512}, {"displayName", maxDisplayName(c.version)}} {
		v := n.get(t.key)
		if v == nil {
			continue
		}
		var vals []string
		switch {
		case v.kind == jString:
			vals = []string{v.str}
		case v.kind == jObject && t.key != "comment":
			for _, k := range v.keys {
				if v.vals[k].kind != jString {
					im.errf(file, v.vals[k].line, id, "%s[%s] must be a string", t.key, k)
				}
				vals = append(vals, v.vals[k].str)
			}
		default:
			im.errf(file, v.line, id, "%s must be a string%s", t.key, map[bool]string{true: "", false: " or a language map"}[t.key == "comment"])
		}
		for _, s := range vals {
			if utf8.RuneCountInString(s) > t.max {
				im.errf(file, v.line, id, "%s is longer than %d characters", t.key, t.max)
			}
		}
	}
}

// addInterface reads one Interface (top level, inline in extends, or a
// Component's inline schema) and returns its @id.
func (im *importer) addInterface(file string, n *jnode, outer *dctx) string {
	if n.kind != jObject {
		im.errf(file, n.line, "", "want an Interface object, got %s", n.kind)
		return ""
	}
	id := ""
	idn := n.get("@id")
	if idn != nil && idn.kind == jString {
		id = idn.str
	}
	c := outer
	if cn := n.get("@context"); cn != nil {
		c = im.readContext(file, id, cn)
		if c == nil {
			return id
		}
	}
	if c == nil {
		im.errf(file, n.line, id, "no @context: want \"dtmi:dtdl:context;3\" (or ;2, ;4)")
		return id
	}
	types := n.get("@type").strs()
	if !slices.Contains(types, "Interface") {
		im.errf(file, n.line, id, "@type must be Interface, got %q", strings.Join(types, ", "))
		return id
	}
	im.cotypes(file, id, c, n.get("@type"), "Interface")
	switch {
	case idn == nil:
		im.errf(file, n.line, "", "Interface without @id")
		return ""
	case idn.kind != jString:
		im.errf(file, idn.line, "", "Interface @id must be a string")
		return ""
	}
	if msg := badDTMI(id, c.version, 128); msg != "" {
		im.errf(file, idn.line, id, "@id %s", msg)
		return id
	}
	if prev := im.ifaces[id]; prev != nil {
		im.errf(file, idn.line, id, "defined twice (first at %s:%d)", prev.file, prev.line)
		return id
	}
	in := &dIface{id: id, file: file, line: n.line, node: n, ctx: c}
	im.ifaces[id] = in
	im.order = append(im.order, in)
	im.keys(file, id, c, n, "Interface", "@context", "@type", "@id", "comment", "contents", "description", "displayName", "extends", "schemas")
	im.texts(file, id, c, n)

	if ext := n.get("extends"); ext != nil {
		items := []*jnode{ext}
		if ext.kind == jArray {
			items = ext.items
		}
		if c.version == 2 && len(items) > 2 {
			im.errf(file, ext.line, id, "extends %d Interfaces; DTDL v2 allows at most 2", len(items))
		}
		for _, it := range items {
			switch it.kind {
			case jString:
				if msg := badDTMI(it.str, c.version, 128); msg != "" {
					im.errf(file, it.line, id, "extends %q, which %s", it.str, msg)
					continue
				}
				in.extends = append(in.extends, it.str)
				in.extLines = append(in.extLines, it.line)
			case jObject:
				if bid := im.addInterface(file, it, c); bid != "" {
					in.extends = append(in.extends, bid)
					in.extLines = append(in.extLines, it.line)
				}
			default:
				im.errf(file, it.line, id, "extends must name Interfaces (DTMIs or inline Interfaces)")
			}
		}
	}
	if ss := n.get("schemas"); ss != nil {
		if ss.kind != jArray {
			im.errf(file, ss.line, id, "schemas must be an array")
		}
		for _, s := range ss.items {
			sid := s.get("@id")
			switch {
			case s.kind != jObject:
				im.errf(file, s.line, id, "schemas: want Array, Enum, Map or Object definitions")
			case sid == nil || sid.kind != jString:
				im.errf(file, s.line, id, "schemas: a reusable schema needs an @id")
			case badDTMI(sid.str, c.version, 2048) != "":
				im.errf(file, sid.line, id, "schema @id %q %s", sid.str, badDTMI(sid.str, c.version, 2048))
			case im.schemas[sid.str] != nil:
				prev := im.schemas[sid.str]
				im.errf(file, sid.line, id, "schema %s defined twice (first at %s:%d)", sid.str, prev.file, prev.node.line)
			default:
				im.schemas[sid.str] = &dSchema{file: file, node: s, ctx: c, owner: id}
			}
		}
	}
	if cs := n.get("contents"); cs != nil {
		if cs.kind != jArray {
			im.errf(file, cs.line, id, "contents must be an array")
		}
		if c.version == 2 && len(cs.items) > 300 {
			im.errf(file, cs.line, id, "%d contents; DTDL v2 allows at most 300", len(cs.items))
		}
		for _, cn := range cs.items {
			if ct := im.addContent(in, cn); ct != nil {
				in.contents = append(in.contents, ct)
			}
		}
	}
	return id
}

var contentKinds = []string{"Telemetry", "Property", "Command", "Relationship", "Component"}

// cotypes checks the @type values beside the element's class: semantic types
// where the context has them, extension types where an extension is in use.
func (im *importer) cotypes(file, id string, c *dctx, n *jnode, class string) (semantic string) {
	for _, t := range n.strs() {
		switch {
		case t == class:
		case semanticUnitType[t] != "" && class != "Interface":
			if !c.qt {
				im.errf(file, n.line, id, "@type %q is a semantic type; DTDL v%d needs the dtmi:dtdl:extension:quantitativeTypes;%d context for it", t, c.version, c.version-2)
			}
			if semantic != "" {
				im.errf(file, n.line, id, "@type has two semantic types, %s and %s", semantic, t)
			}
			semantic = t
		case t == "Historized" && c.histo:
		case c.lenient:
		default:
			im.errf(file, n.line, id, "unknown @type %q", t)
		}
	}
	return semantic
}

// addContent checks one element of an Interface's contents.
func (im *importer) addContent(in *dIface, n *jnode) *dContent {
	file, c := in.file, in.ctx
	if n.kind != jObject {
		im.errf(file, n.line, in.id, "contents: want an object, got %s", n.kind)
		return nil
	}
	ct := &dContent{owner: in, line: n.line, node: n}
	ct.cotypes = n.get("@type").strs()
	for _, t := range ct.cotypes {
		if slices.Contains(contentKinds, t) {
			if ct.kind != "" {
				im.errf(file, n.line, in.id, "contents element is both %s and %s", ct.kind, t)
			}
			ct.kind = t
		}
	}
	if nm := n.get("name"); nm != nil && nm.kind == jString {
		ct.name = nm.str
	}
	where := in.id
	if ct.name != "" {
		where += "#" + ct.name
	}
	if ct.kind == "" {
		im.errf(file, n.line, where, "unknown @type %q: want Telemetry, Property, Command, Relationship or Component", strings.Join(ct.cotypes, ", "))
		return nil
	}
	semantic := im.cotypes(file, where, c, n.get("@type"), ct.kind)
	switch {
	case n.get("name") == nil:
		im.errf(file, n.line, in.id, "%s without a name", ct.kind)
		return nil
	case !dtdlNameRe.MatchString(ct.name):
		im.errf(file, n.get("name").line, in.id, "%s name %q: want letters, digits and _, starting with a letter and ending with a letter or digit", ct.kind, ct.name)
		return nil
	case len(ct.name) > maxNameLen(c.version):
		im.errf(file, n.get("name").line, in.id, "%s name %q is longer than %d characters", ct.kind, ct.name, maxNameLen(c.version))
		return nil
	}
	if idn := n.get("@id"); idn != nil {
		if idn.kind != jString || badDTMI(idn.str, c.version, 2048) != "" {
			im.errf(file, idn.line, where, "@id %s", badDTMI(idn.str, c.version, 2048))
		}
	}
	im.texts(file, where, c, n)
	keys := append([]string{"name"}, commonKeys...)
	switch ct.kind {
	case "Telemetry", "Property":
		keys = append(keys, "schema")
		if ct.kind == "Property" {
			keys = append(keys, "writable")
			if w := n.get("writable"); w != nil {
				if w.kind != jBool {
					im.errf(file, w.line, where, "writable must be true or false")
				}
				ct.writable = w.b
			}
		}
		keys = append(keys, "unit") // a unit without a semantic type has its own message
		ct.schema = n.get("schema")
		if ct.schema == nil {
			im.errf(file, n.line, where, "%s without a schema", ct.kind)
		}
		if u := n.get("unit"); u != nil {
			switch {
			case semantic == "":
				im.errf(file, u.line, where, "unit %q without a semantic type: add one to @type, such as [\"%s\", \"Temperature\"]", u.str, ct.kind)
			case u.kind != jString:
				im.errf(file, u.line, where, "unit must be a string")
			case !unitFits(semantic, u.str):
				im.errf(file, u.line, where, "unit %q is not a %s unit (%s)", u.str, semantic, strings.ReplaceAll(unitTypeUnits[semanticUnitType[semantic]], " ", ", "))
			default:
				ct.unit = u.str
			}
		}
	case "Command":
		keys = append(keys, "request", "response", "commandType")
		for _, k := range []string{"request", "response"} {
			if p := n.get(k); p != nil {
				if p.kind != jObject || p.get("name") == nil || p.get("schema") == nil {
					im.errf(file, p.line, where, "%s needs a name and a schema", k)
				} else {
					im.checkSchema(file, where, c, p.get("schema"), 0)
				}
			}
		}
	case "Relationship":
		keys = append(keys, "target", "properties", "minMultiplicity", "maxMultiplicity", "writable")
		if t := n.get("target"); t != nil {
			if t.kind != jString || badDTMI(t.str, c.version, 2048) != "" {
				im.errf(file, t.line, where, "target %s", badDTMI(t.str, c.version, 2048))
			}
		}
		if m := n.get("minMultiplicity"); m != nil && (m.kind != jNumber || m.num.String() != "0") {
			im.errf(file, m.line, where, "minMultiplicity must be 0")
		}
		if m := n.get("maxMultiplicity"); m != nil {
			if f, err := m.num.Int64(); m.kind != jNumber || err != nil || f < 1 {
				im.errf(file, m.line, where, "maxMultiplicity must be a whole number of at least 1")
			}
		}
	case "Component":
		keys = append(keys, "schema")
		ct.schema = n.get("schema")
		switch {
		case ct.schema == nil:
			im.errf(file, n.line, where, "Component without a schema")
		case ct.schema.kind == jObject:
			if cid := im.addInterface(file, ct.schema, c); cid != "" {
				ct.schema = &jnode{kind: jString, str: cid, line: ct.schema.line}
			}
		case ct.schema.kind != jString:
			im.errf(file, ct.schema.line, where, "Component schema must be an Interface (a DTMI or an inline Interface)")
			ct.schema = nil
		}
	}
	im.keys(file, where, c, n, ct.kind, keys...)
	if ct.schema != nil && (ct.kind == "Telemetry" || ct.kind == "Property") {
		sh := im.checkSchema(file, where, c, ct.schema, 0)
		if semantic != "" && sh.kind != "number" && sh.kind != "?" && sh.ok {
			im.errf(file, ct.schema.line, where, "semantic type %s needs a numeric schema", semantic)
		}
	}
	return ct
}

// shape is what a schema becomes in a model: a signal kind, with the
// allowed values of a string Enum or the range of an integer Enum.
type shape struct {
	ok       bool // the schema is valid
	kind     string
	allowed  []string
	min, max *float64
}

var (
	numericSchemas = []string{"double", "float", "integer", "long"}
	stringSchemas  = []string{"string", "date", "dateTime", "time", "duration"}
	geoSchemas     = []string{"point", "lineString", "polygon", "multiPoint", "multiLineString", "multiPolygon"}
	// DTDL v4 primitives.
	numericSchemasV4 = []string{"byte", "short", "decimal", "unsignedByte", "unsignedShort", "unsignedInteger", "unsignedLong"}
	stringSchemasV4  = []string{"bytes", "uuid"}
)

// checkSchema checks a schema and says what signal it makes.
func (im *importer) checkSchema(file, where string, c *dctx, n *jnode, depth int) shape {
	if n.kind == jString {
		s := n.str
		switch {
		case slices.Contains(numericSchemas, s), c.version == 4 && slices.Contains(numericSchemasV4, s):
			return shape{ok: true, kind: "number"}
		case s == "boolean":
			return shape{ok: true, kind: "bool"}
		case slices.Contains(stringSchemas, s), c.version == 4 && slices.Contains(stringSchemasV4, s):
			return shape{ok: true, kind: "string"}
		case slices.Contains(geoSchemas, s), c.version == 4 && s == "scaledDecimal":
			return shape{ok: true}
		case strings.HasPrefix(s, "dtmi:"):
			// A reusable schema may be defined after its use: resolve checks
			// that it exists and checks it once; shapeOf follows it.
			def := im.schemas[s]
			if !im.quiet || def == nil {
				im.refs = append(im.refs, schemaRef{file, n.line, where, s})
				return shape{ok: true, kind: "?"}
			}
			return im.checkSchema(def.file, where, def.ctx, def.node, depth)
		}
		im.errf(file, n.line, where, "unknown schema %q", s)
		return shape{}
	}
	if n.kind != jObject {
		im.errf(file, n.line, where, "schema must be a name or an Array, Enum, Map or Object")
		return shape{}
	}
	if depth >= maxSchemaDepth(c.version) {
		im.errf(file, n.line, where, "complex schemas nested more than %d levels deep", maxSchemaDepth(c.version))
		return shape{}
	}
	types := n.get("@type").strs()
	class := ""
	for _, t := range types {
		if slices.Contains([]string{"Array", "Enum", "Map", "Object"}, t) {
			class = t
		}
	}
	im.cotypes(file, where, c, n.get("@type"), class)
	im.texts(file, where, c, n)
	switch class {
	case "Array":
		im.keys(file, where, c, n, "Array", append(commonKeys, "elementSchema")...)
		es := n.get("elementSchema")
		if es == nil {
			im.errf(file, n.line, where, "Array without elementSchema")
			return shape{}
		}
		el := im.checkSchema(file, where, c, es, depth+1)
		if el.kind == "string" && el.allowed == nil {
			return shape{ok: el.ok, kind: "list"}
		}
		return shape{ok: el.ok}
	case "Enum":
		im.keys(file, where, c, n, "Enum", append(commonKeys, "valueSchema", "enumValues")...)
		vs := n.get("valueSchema")
		if vs == nil || (vs.str != "string" && vs.str != "integer") {
			line := n.line
			if vs != nil {
				line = vs.line
			}
			im.errf(file, line, where, "Enum valueSchema must be integer or string")
			return shape{}
		}
		sh := shape{ok: true, kind: "string"}
		ev := n.get("enumValues")
		if ev == nil && c.version == 2 {
			im.errf(file, n.line, where, "Enum without enumValues")
		}
		names, vals := map[string]bool{}, map[string]bool{}
		for _, e := range ev.itemsOrNil() {
			nm, v := e.get("name"), e.get("enumValue")
			switch {
			case nm == nil || v == nil:
				im.errf(file, e.line, where, "enum value needs a name and an enumValue")
				continue
			case !dtdlNameRe.MatchString(nm.str):
				im.errf(file, nm.line, where, "enum value name %q: want letters, digits and _, starting with a letter", nm.str)
			case names[nm.str]:
				im.errf(file, nm.line, where, "enum value name %q used twice", nm.str)
			}
			names[nm.str] = true
			key := v.str
			if vs.str == "integer" {
				i, err := v.num.Int64()
				if v.kind != jNumber || err != nil {
					im.errf(file, v.line, where, "enumValue of an integer Enum must be an integer")
					continue
				}
				f := float64(i)
				if sh.min == nil || f < *sh.min {
					sh.min = &f
				}
				if sh.max == nil || f > *sh.max {
					sh.max = new(float64)
					*sh.max = f
				}
				key = v.num.String()
			} else if v.kind != jString {
				im.errf(file, v.line, where, "enumValue of a string Enum must be a string")
				continue
			} else {
				sh.allowed = append(sh.allowed, v.str)
			}
			if vals[key] {
				im.errf(file, v.line, where, "enumValue %s used twice", key)
			}
			vals[key] = true
		}
		if vs.str == "integer" {
			sh.kind = "number"
		}
		return sh
	case "Map":
		im.keys(file, where, c, n, "Map", append(commonKeys, "mapKey", "mapValue")...)
		mk, mv := n.get("mapKey"), n.get("mapValue")
		if mk == nil || mv == nil {
			im.errf(file, n.line, where, "Map needs a mapKey and a mapValue")
			return shape{}
		}
		if s := mk.get("schema"); s == nil || s.str != "string" {
			im.errf(file, mk.line, where, "mapKey schema must be string")
		}
		if s := mv.get("schema"); s == nil {
			im.errf(file, mv.line, where, "mapValue needs a schema")
		} else {
			im.checkSchema(file, where, c, s, depth+1)
		}
		return shape{ok: true}
	case "Object":
		im.keys(file, where, c, n, "Object", append(commonKeys, "fields")...)
		fields := n.get("fields")
		if fields == nil && c.version == 2 {
			im.errf(file, n.line, where, "Object without fields")
		}
		seen := map[string]bool{}
		for _, f := range fields.itemsOrNil() {
			nm, s := f.get("name"), f.get("schema")
			if nm == nil || s == nil {
				im.errf(file, f.line, where, "Object field needs a name and a schema")
				continue
			}
			if !dtdlNameRe.MatchString(nm.str) || seen[nm.str] {
				im.errf(file, nm.line, where, "Object field name %q is not a valid, unique name", nm.str)
			}
			seen[nm.str] = true
			sem := im.cotypes(file, where, c, f.get("@type"), "Field")
			if u := f.get("unit"); u != nil && (sem == "" || !unitFits(sem, u.str)) {
				im.errf(file, u.line, where, "field %s: unit %q does not fit its semantic type %q", nm.str, u.str, sem)
			}
			im.checkSchema(file, where, c, s, depth+1)
		}
		return shape{ok: true}
	}
	im.errf(file, n.line, where, "unknown schema @type %q: want Array, Enum, Map or Object", strings.Join(types, ", "))
	return shape{}
}

func (n *jnode) itemsOrNil() []*jnode {
	if n == nil || n.kind != jArray {
		return nil
	}
	return n.items
}
