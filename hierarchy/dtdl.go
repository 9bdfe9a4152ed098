package hierarchy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// ImportDTDL converts a DTDL v2 or v3 document into model YAML that Load accepts.
//
// The document is a JSON array of Interfaces (a single Interface object is also
// accepted). Each Interface becomes a type named after the last segment of its
// @id, in snake case ("dtmi:com:example:PackagingLine;1" → packaging_line);
// Telemetry and Property contents become signals, named in snake case, with the
// kind from the schema (numeric schemas → number, boolean → bool, string, date,
// time, duration and string enums → string, integer enums → number, arrays of
// strings → list), the unit from the DTDL unit name (degreeCelsius → °C) and
// the description from description or displayName. extends is flattened: a
// type gets its bases' signals first. Relationships, Components, Commands and
// contents with complex schemas (Object, Map, other arrays) have no signal
// form; they are listed in a comment on the type.
//
// DTDL Interfaces describe kinds of things, not the things themselves, so from
// an array of Interfaces the output has types only and an empty assets section
// to fill in by hand. Assets come along when the document is an Azure Digital
// Twins Explorer export, an object with digitalTwinsModels (the Interfaces)
// and digitalTwinsGraph {digitalTwins, relationships}: each twin becomes an
// asset with id $dtId and the type of $metadata.$model; its name, displayName
// and timezone properties fill the asset's fields, other non-$ properties become
// attributes. Containment relationships give parents: contains, hasPart,
// hasChild, includes and isParentOf point from parent to child; isPartOf,
// isContainedIn, isChildOf, childOf and locatedIn from child to parent. Other
// relationships are listed in a comment on their source asset.
//
// DTDL has no mode rules, valid ranges or raw tags; add them after importing.
func ImportDTDL(filename string, data []byte) ([]byte, error) {
	out, err := importDTDL(filename, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filename, err)
	}
	return out, nil
}

func importDTDL(filename string, data []byte) ([]byte, error) {
	ifaces, graph, err := parseDTDL(data)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*dtdlInterface, len(ifaces))
	for _, in := range ifaces {
		if in.ID == "" {
			return nil, fmt.Errorf("interface without @id")
		}
		if _, dup := byID[in.ID]; dup {
			return nil, fmt.Errorf("duplicate interface %s", in.ID)
		}
		byID[in.ID] = in
	}

	types := &yaml.Node{Kind: yaml.MappingNode}
	typeOf := map[string]string{}
	for _, in := range ifaces {
		name := typeName(in.ID)
		if prev, dup := typeOf[name]; dup {
			return nil, fmt.Errorf("interfaces %s and %s both become type %q", prev, in.ID, name)
		}
		typeOf[name] = in.ID
		contents, err := flatten(in, byID, map[string]bool{})
		if err != nil {
			return nil, err
		}
		typ, skipped, err := dtdlType(contents)
		if err != nil {
			return nil, fmt.Errorf("interface %s: %w", in.ID, err)
		}
		key := str(name)
		key.HeadComment = headComment(in)
		if len(skipped) > 0 {
			key.HeadComment += "\nnot imported: " + strings.Join(skipped, ", ")
		}
		types.Content = append(types.Content, key, typ)
	}

	what, todo := "Asset types", "assets, mode rules"
	assets := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	if graph != nil {
		what, todo = "Assets and asset types", "mode rules"
		if assets, err = dtdlAssets(graph, byID); err != nil {
			return nil, err
		}
	}
	root := &yaml.Node{Kind: yaml.MappingNode, HeadComment: fmt.Sprintf(
		"%s imported from DTDL (%s).\nAdd %s, valid ranges and a signal map; see the hierarchy package documentation.", what, filename, todo)}
	root.Content = append(root.Content, str("types"), types, str("assets"), assets)

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return buf.Bytes(), nil
}

// dtdlExport is the file Azure Digital Twins Explorer exports.
type dtdlExport struct {
	Models []json.RawMessage `json:"digitalTwinsModels"`
	Graph  *dtdlGraph        `json:"digitalTwinsGraph"`
}

type dtdlGraph struct {
	Twins         []map[string]json.RawMessage `json:"digitalTwins"`
	Relationships []dtdlRelationship           `json:"relationships"`
}

type dtdlRelationship struct {
	Source string `json:"$sourceId"`
	Name   string `json:"$relationshipName"`
	Target string `json:"$targetId"`
}

// Containment relationship names, by direction.
var (
	parentToChild = map[string]bool{"contains": true, "hasPart": true, "hasChild": true, "includes": true, "isParentOf": true}
	childToParent = map[string]bool{"isPartOf": true, "isContainedIn": true, "isChildOf": true, "childOf": true, "locatedIn": true}
)

func dtdlAssets(g *dtdlGraph, byID map[string]*dtdlInterface) (*yaml.Node, error) {
	type twinAsset struct {
		id, name, typ, tz string
		attrs             *yaml.Node
		parents           []string
		other             []string
	}
	var order []string
	twins := map[string]*twinAsset{}
	for i, tw := range g.Twins {
		var id string
		if json.Unmarshal(tw["$dtId"], &id) != nil || id == "" {
			return nil, fmt.Errorf("twin %d: missing $dtId", i)
		}
		if msg := badID(id); msg != "" {
			return nil, fmt.Errorf("twin %q: bad asset id: %s", id, msg)
		}
		if _, dup := twins[id]; dup {
			return nil, fmt.Errorf("duplicate twin %q", id)
		}
		var meta struct {
			Model string `json:"$model"`
		}
		_ = json.Unmarshal(tw["$metadata"], &meta)
		if byID[meta.Model] == nil {
			return nil, fmt.Errorf("twin %q: model %q is not in digitalTwinsModels", id, meta.Model)
		}
		ta := &twinAsset{id: id, typ: typeName(meta.Model)}
		attrs := map[string]any{}
		var name, tz string
		keys := make([]string, 0, len(tw))
		for k := range tw {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.HasPrefix(k, "$") {
				continue
			}
			var v any
			if err := json.Unmarshal(tw[k], &v); err != nil {
				return nil, fmt.Errorf("twin %q property %s: %w", id, k, err)
			}
			sv, isStr := v.(string)
			switch {
			case k == "timezone" && isStr:
				tz = sv
			case (k == "name" || (k == "displayName" && name == "")) && isStr:
				name = sv
			default:
				attrs[k] = v
			}
		}
		ta.name, ta.tz = name, tz
		if len(attrs) > 0 {
			ta.attrs = &yaml.Node{}
			if err := ta.attrs.Encode(attrs); err != nil {
				return nil, fmt.Errorf("twin %q attributes: %w", id, err)
			}
			ta.attrs.Style = yaml.FlowStyle
		}
		twins[id] = ta
		order = append(order, id)
	}
	for _, r := range g.Relationships {
		src, tgt := twins[r.Source], twins[r.Target]
		if src == nil || tgt == nil {
			return nil, fmt.Errorf("relationship %s from %q to %q names an unknown twin", r.Name, r.Source, r.Target)
		}
		switch {
		case parentToChild[r.Name]:
			tgt.parents = appendNew(tgt.parents, r.Source)
		case childToParent[r.Name]:
			src.parents = appendNew(src.parents, r.Target)
		default:
			src.other = append(src.other, r.Name+" "+r.Target)
		}
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	for _, id := range order {
		ta := twins[id]
		n := &yaml.Node{Kind: yaml.MappingNode}
		n.Content = append(n.Content, str("id"), str(ta.id))
		if ta.name != "" {
			n.Content = append(n.Content, str("name"), str(ta.name))
		}
		n.Content = append(n.Content, str("type"), str(ta.typ))
		if len(ta.parents) > 0 {
			ps := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, p := range ta.parents {
				ps.Content = append(ps.Content, str(p))
			}
			n.Content = append(n.Content, str("parents"), ps)
		}
		if ta.tz != "" {
			n.Content = append(n.Content, str("timezone"), str(ta.tz))
		}
		if ta.attrs != nil {
			n.Content = append(n.Content, str("attributes"), ta.attrs)
		}
		if len(ta.other) > 0 {
			n.HeadComment = "relationships not imported: " + strings.Join(ta.other, ", ")
		}
		seq.Content = append(seq.Content, n)
	}
	return seq, nil
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

type dtdlInterface struct {
	ID          string            `json:"@id"`
	Type        json.RawMessage   `json:"@type"`
	DisplayName json.RawMessage   `json:"displayName"`
	Description json.RawMessage   `json:"description"`
	Extends     json.RawMessage   `json:"extends"`
	Contents    []json.RawMessage `json:"contents"`
}

type dtdlContent struct {
	Type        json.RawMessage `json:"@type"`
	Name        string          `json:"name"`
	Schema      json.RawMessage `json:"schema"`
	Unit        string          `json:"unit"`
	DisplayName json.RawMessage `json:"displayName"`
	Description json.RawMessage `json:"description"`
}

// parseDTDL reads Interfaces, and the twin graph when the document is an export.
func parseDTDL(data []byte) ([]*dtdlInterface, *dtdlGraph, error) {
	data = bytes.TrimSpace(data)
	var raws []json.RawMessage
	var graph *dtdlGraph
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return nil, nil, fmt.Errorf("not a DTDL document: %w", err)
		}
	case len(data) > 0 && data[0] == '{':
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(data, &probe); err != nil {
			return nil, nil, fmt.Errorf("not a DTDL document: %w", err)
		}
		if _, ok := probe["digitalTwinsModels"]; !ok {
			raws = []json.RawMessage{data}
			break
		}
		var exp dtdlExport
		if err := json.Unmarshal(data, &exp); err != nil {
			return nil, nil, fmt.Errorf("not a Digital Twins export: %w", err)
		}
		raws, graph = exp.Models, exp.Graph
		if graph == nil {
			graph = &dtdlGraph{}
		}
	default:
		return nil, nil, fmt.Errorf("not a DTDL document: want a JSON array of Interfaces")
	}
	var out []*dtdlInterface
	for i, raw := range raws {
		var in dtdlInterface
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, nil, fmt.Errorf("element %d: %w", i, err)
		}
		if !hasType(in.Type, "Interface") {
			return nil, nil, fmt.Errorf("element %d (%s): @type is not Interface", i, in.ID)
		}
		out = append(out, &in)
	}
	return out, graph, nil
}

// hasType reports whether a DTDL @type (a string or an array of strings) includes want.
func hasType(raw json.RawMessage, want string) bool {
	for _, t := range stringOrList(raw) {
		if t == want {
			return true
		}
	}
	return false
}

func stringOrList(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var l []string
	_ = json.Unmarshal(raw, &l)
	return l
}

// text reads a DTDL string that may be localized ({"en": "..."}), preferring English.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return ""
	}
	for _, k := range []string{"en", "en-US", "en-GB"} {
		if v, ok := m[k]; ok {
			return v
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return m[keys[0]]
}

// flatten returns an interface's contents after those of its bases.
func flatten(in *dtdlInterface, byID map[string]*dtdlInterface, visiting map[string]bool) ([]json.RawMessage, error) {
	if visiting[in.ID] {
		return nil, fmt.Errorf("interface %s extends itself", in.ID)
	}
	visiting[in.ID] = true
	defer delete(visiting, in.ID)
	var out []json.RawMessage
	for _, base := range stringOrList(in.Extends) {
		b, ok := byID[base]
		if !ok {
			return nil, fmt.Errorf("interface %s extends %s, which is not in the document", in.ID, base)
		}
		bc, err := flatten(b, byID, visiting)
		if err != nil {
			return nil, err
		}
		out = append(out, bc...)
	}
	return append(out, in.Contents...), nil
}

// dtdlType builds a type from flattened contents; it also returns the contents
// it could not express as signals.
func dtdlType(contents []json.RawMessage) (*yaml.Node, []string, error) {
	signals := &yaml.Node{Kind: yaml.SequenceNode}
	var skipped []string
	seen := map[string]string{}
	for _, raw := range contents {
		var c dtdlContent
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, nil, fmt.Errorf("content: %w", err)
		}
		if !hasType(c.Type, "Telemetry") && !hasType(c.Type, "Property") {
			skipped = append(skipped, fmt.Sprintf("%s %s", strings.Join(stringOrList(c.Type), "/"), c.Name))
			continue
		}
		kind, ok := schemaKind(c.Schema)
		if !ok {
			skipped = append(skipped, fmt.Sprintf("%s %s (schema has no signal form)", strings.Join(stringOrList(c.Type), "/"), c.Name))
			continue
		}
		name := snake(c.Name)
		if !identRe.MatchString(name) {
			return nil, nil, fmt.Errorf("content name %q is not a valid signal name", c.Name)
		}
		if prev, dup := seen[name]; dup {
			return nil, nil, fmt.Errorf("contents %q and %q both become signal %q", prev, c.Name, name)
		}
		seen[name] = c.Name
		sig := &yaml.Node{Kind: yaml.MappingNode}
		sig.Content = append(sig.Content, str("name"), str(name))
		if kind != "number" {
			sig.Content = append(sig.Content, str("kind"), str(kind))
		}
		if c.Unit != "" {
			sig.Content = append(sig.Content, str("unit"), str(unitSymbol(c.Unit)))
		}
		desc := text(c.Description)
		if desc == "" {
			desc = text(c.DisplayName)
		}
		if desc != "" {
			sig.Content = append(sig.Content, str("description"), str(desc))
		}
		signals.Content = append(signals.Content, sig)
	}
	typ := &yaml.Node{Kind: yaml.MappingNode}
	if len(signals.Content) > 0 {
		typ.Content = append(typ.Content, str("signals"), signals)
	}
	return typ, skipped, nil
}

func headComment(in *dtdlInterface) string {
	c := in.ID
	if d := text(in.DisplayName); d != "" {
		c = d + " (" + in.ID + ")"
	}
	if d := text(in.Description); d != "" {
		c += ": " + d
	}
	return c
}

// schemaKind maps a DTDL schema onto a signal kind.
func schemaKind(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "double", "float", "integer", "long", "byte", "short", "decimal",
			"unsignedByte", "unsignedShort", "unsignedInteger", "unsignedLong":
			return "number", true
		case "boolean":
			return "bool", true
		case "string", "date", "dateTime", "time", "duration", "uuid", "scaledDecimal":
			return "string", true
		}
		return "", false
	}
	var complex struct {
		Type          string          `json:"@type"`
		ElementSchema json.RawMessage `json:"elementSchema"`
		ValueSchema   string          `json:"valueSchema"`
	}
	if json.Unmarshal(raw, &complex) != nil {
		return "", false
	}
	switch complex.Type {
	case "Enum":
		if complex.ValueSchema == "integer" {
			return "number", true
		}
		return "string", true
	case "Array":
		if k, ok := schemaKind(complex.ElementSchema); ok && k == "string" {
			return "list", true
		}
	}
	return "", false
}

// dtdlUnits maps DTDL unit names onto the symbols model files use.
var dtdlUnits = map[string]string{
	"degreeCelsius": "°C", "degreeFahrenheit": "°F", "kelvin": "K",
	"bar": "bar", "pascal": "Pa", "kilopascal": "kPa", "poundPerSquareInch": "psi", "millibar": "mbar",
	"metrePerSecond": "m/s", "millimetrePerSecond": "mm/s", "kilometrePerHour": "km/h",
	"metrePerSecondSquared": "m/s²", "gForce": "g",
	"revolutionPerMinute": "rpm", "revolutionPerSecond": "rev/s", "hertz": "Hz", "kilohertz": "kHz",
	"percent": "%", "ampere": "A", "milliampere": "mA", "volt": "V", "millivolt": "mV",
	"watt": "W", "kilowatt": "kW", "megawatt": "MW", "kilowattHour": "kWh", "joule": "J",
	"litre": "l", "millilitre": "ml", "cubicMetre": "m³", "litrePerSecond": "l/s", "litrePerHour": "l/h",
	"cubicMetrePerSecond": "m³/s", "kilogram": "kg", "gram": "g", "tonne": "t", "kilogramPerHour": "kg/h",
	"metre": "m", "centimetre": "cm", "millimetre": "mm", "micrometre": "µm",
	"second": "s", "millisecond": "ms", "minute": "min", "hour": "h", "day": "d",
	"newton": "N", "newtonMetre": "N·m", "radian": "rad", "degreeOfArc": "°",
	"decibel": "dB", "lux": "lx", "unity": "",
}

func unitSymbol(u string) string {
	if s, ok := dtdlUnits[u]; ok {
		return s
	}
	return u
}

// typeName turns a DTMI into a type name: its last path segment in snake case.
func typeName(dtmi string) string {
	s := dtmi
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
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
