package hierarchy

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	_ "time/tzdata"
	"unicode/utf8" // timezones validate and resolve on hosts without /usr/share/zoneinfo

	"gopkg.in/yaml.v3"

	twin "github.com/twingraph/twingraph"
)

// LoadFile reads and loads a model file; problems are reported with the path as given.
func LoadFile(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	return Load(path, data)
}

// Load parses and validates a model. filename is used only in problem messages.
// A model that is not valid returns a *LoadError listing every problem found.
// The model's Hash is taken over data exactly as given.
func Load(filename string, data []byte) (*Model, error) {
	l := &loader{reporter: reporter{file: filename}}
	m := l.load(data)
	if len(l.problems) > 0 {
		sort.SliceStable(l.problems, func(i, j int) bool { return l.problems[i].Line < l.problems[j].Line })
		return nil, &LoadError{Problems: l.problems}
	}
	m.version, m.hash = l.version, contentHash(data)
	return m, nil
}

// Lines of declarations kept beside the domain values for later cross-checks.
type typeDecl struct {
	t        *twin.AssetType
	line     int
	sigLines map[string]int
	refs     []signalRef
	rollups  []rollupDecl
}

// signalRef is a type field naming one of the type's signals (faultSignal, oee.goodSignal, ...).
type signalRef struct {
	what string
	name string
	line int
	kind twin.ValueKind
}

type assetDecl struct {
	a           *twin.Asset
	line        int
	typeLine    int
	parentLines []int
	aliasLines  []int
	tzLine      int
	shiftsLine  int
}

type loader struct {
	reporter
	types     map[string]*typeDecl
	typeOrder []*typeDecl
	assets    map[string]*assetDecl
	order     []*assetDecl
	mappings  []twin.TagMapping
	version   string
	// aliases maps an asset's earlier id to its declaration.
	aliases map[string]*assetDecl
}

var (
	identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// signalNameRe also admits component signals: thermostat1.temperature.
	signalNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
	// typeNameRe admits the names DTDL-derived and hand-written models use.
	typeNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]*$`)
)

func (l *loader) load(data []byte) *Model {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.syntax(err)
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 || len(doc.Content) == 0 {
		l.errf(1, "model is empty: want types:, assets: and signalMap:")
		return nil
	}
	top := l.fields(doc.Content[0], "model", "version", "types", "assets", "signalMap")
	if top == nil {
		return nil
	}
	if f, ok := top["version"]; ok {
		if v, ok := l.str(f, "version"); ok {
			if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) || utf8.RuneCountInString(v) > 64 {
				l.errf(f.val.Line, "bad version %q: want at most 64 characters without spaces, such as 2026-12.1", v)
			} else {
				l.version = v
			}
		}
	}
	l.types = map[string]*typeDecl{}
	l.assets = map[string]*assetDecl{}
	l.aliases = map[string]*assetDecl{}
	if f, ok := top["types"]; ok {
		l.loadTypes(f.val)
	}
	if f, ok := top["assets"]; ok {
		for _, n := range l.seq(f.val, "assets") {
			l.loadAsset(n)
		}
	}
	l.checkAliases()
	l.checkOEE()
	l.checkMaintenance()
	l.checkRollups()
	l.checkParents()
	acyclic := l.checkCycles()
	if acyclic {
		l.inheritTimezones()
		l.inheritShifts()
	}
	if f, ok := top["signalMap"]; ok {
		l.loadSignalMap(f.val)
	}
	if len(l.problems) > 0 {
		return nil
	}
	return l.build()
}

func (l *loader) loadTypes(n *yaml.Node) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.errf(n.Line, "types must be a mapping of type name to type")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		if !typeNameRe.MatchString(name) {
			l.errf(k.Line, "bad type name %q: want letters, digits and _ . : -", name)
			continue
		}
		if prev, dup := l.types[name]; dup {
			l.errf(k.Line, "duplicate type %q (first at line %d)", name, prev.line)
			continue
		}
		td := l.loadType(name, k.Line, v)
		l.types[name] = td
		l.typeOrder = append(l.typeOrder, td)
	}
}

func (l *loader) loadType(name string, line int, n *yaml.Node) *typeDecl {
	td := &typeDecl{t: &twin.AssetType{Name: name}, line: line, sigLines: map[string]int{}}
	what := fmt.Sprintf("type %q", name)
	fs := l.fields(n, what, "signals", "modeRules", "modeRulesFrom", "earlierModeRules", "debounce", "faultSignal", "productSignal", "batchSignal", "oee",
		"maintenance", "rollups")
	if fs == nil {
		return td
	}
	if f, ok := fs["signals"]; ok {
		for _, sn := range l.seq(f.val, what+" signals") {
			l.loadSignal(td, sn)
		}
	}
	if f, ok := fs["debounce"]; ok {
		if s, ok := l.str(f, what+" debounce"); ok {
			d, err := time.ParseDuration(s)
			switch {
			case err != nil:
				l.errf(f.val.Line, "%s: bad debounce %q: want a duration such as 0s, 500ms or 5s", what, s)
			case d < 0:
				l.errf(f.val.Line, "%s: debounce %q must not be negative", what, s)
			default:
				td.t.Debounce = d
			}
		}
	}
	ref := func(key string, kind twin.ValueKind, dst *string) {
		f, ok := fs[key]
		if !ok {
			return
		}
		if s, ok := l.str(f, what+" "+key); ok && s != "" {
			*dst = s
			td.refs = append(td.refs, signalRef{what: key, name: s, line: f.val.Line, kind: kind})
		}
	}
	ref("faultSignal", twin.KindList, &td.t.FaultSignal)
	ref("productSignal", twin.KindString, &td.t.ProductSignal)
	ref("batchSignal", twin.KindString, &td.t.BatchSignal)
	if f, ok := fs["oee"]; ok {
		ofs := l.fields(f.val, what+" oee", "ratedSpeedAttribute", "speedSignal", "goodSignal", "totalSignal")
		if ofs != nil {
			o := &twin.OEEConfig{}
			if af, ok := ofs["ratedSpeedAttribute"]; ok {
				o.RatedSpeedAttribute, _ = l.str(af, what+" oee.ratedSpeedAttribute")
			}
			oref := func(key string, dst *string) {
				f, ok := ofs[key]
				if !ok {
					return
				}
				if s, ok := l.str(f, what+" oee."+key); ok && s != "" {
					*dst = s
					td.refs = append(td.refs, signalRef{what: "oee." + key, name: s, line: f.val.Line, kind: twin.KindNumber})
				}
			}
			oref("speedSignal", &o.SpeedSignal)
			oref("goodSignal", &o.GoodSignal)
			oref("totalSignal", &o.TotalSignal)
			td.t.OEE = o
		}
	}
	if f, ok := fs["maintenance"]; ok {
		l.loadMaintenance(td, f)
	}
	if f, ok := fs["rollups"]; ok {
		l.loadRollups(td, f)
	}
	for _, r := range td.refs {
		s := td.t.Signal(r.name)
		switch {
		case s == nil:
			l.errf(r.line, "%s: %s names unknown signal %q", what, r.what, r.name)
		case s.Kind != r.kind:
			l.errf(r.line, "%s: %s %q must be a %s signal, not %s", what, r.what, r.name, r.kind, s.Kind)
		}
	}
	if f, ok := fs["modeRules"]; ok {
		for _, rn := range l.seq(f.val, what+" modeRules") {
			if r, ok := l.loadRule(td, rn); ok {
				td.t.ModeRules = append(td.t.ModeRules, r)
			}
		}
	}
	l.loadRuleTimes(td, fs, what)
	return td
}

// loadRuleTimes reads modeRulesFrom and earlierModeRules: the rule sets in
// force before the current rules, oldest first, each from a sample time on.
func (l *loader) loadRuleTimes(td *typeDecl, fs map[string]field, what string) {
	var fromLine int
	if f, ok := fs["modeRulesFrom"]; ok {
		td.t.ModeRulesFrom, _ = l.time(f, what+" modeRulesFrom")
		fromLine = f.val.Line
	}
	f, ok := fs["earlierModeRules"]
	if !ok {
		return
	}
	if td.t.ModeRulesFrom.IsZero() {
		l.errf(f.key.Line, "%s: earlierModeRules needs modeRulesFrom: the time the current modeRules took effect", what)
		return
	}
	prev, prevLine := time.Time{}, 0
	sets := l.seq(f.val, what+" earlierModeRules")
	for i, sn := range sets {
		sw := fmt.Sprintf("%s earlierModeRules[%d]", what, i)
		sfs := l.fields(sn, sw, "from", "rules")
		if sfs == nil {
			continue
		}
		var rs twin.ModeRuleSet
		if ff, ok := sfs["from"]; ok {
			rs.From, _ = l.time(ff, sw+" from")
			switch {
			case rs.From.IsZero():
			case !rs.From.Before(td.t.ModeRulesFrom):
				l.errf(ff.val.Line, "%s: from %s must be before modeRulesFrom %s (line %d)", sw, rs.From.Format(time.RFC3339), td.t.ModeRulesFrom.Format(time.RFC3339), fromLine)
			case i > 0 && !rs.From.After(prev):
				l.errf(ff.val.Line, "%s: from %s must be after the previous set's from (line %d): list sets oldest first", sw, rs.From.Format(time.RFC3339), prevLine)
			}
			prev, prevLine = rs.From, ff.val.Line
		} else if i > 0 {
			l.errf(sn.Line, "%s: missing required field from (only the oldest set may leave it out)", sw)
		}
		if rf, ok := sfs["rules"]; ok {
			for _, rn := range l.seq(rf.val, sw+" rules") {
				if r, ok := l.loadRule(td, rn); ok {
					rs.Rules = append(rs.Rules, r)
				}
			}
		}
		td.t.EarlierModeRules = append(td.t.EarlierModeRules, rs)
	}
}

// time reads an RFC 3339 time (quoted or not).
func (l *loader) time(f field, what string) (time.Time, bool) {
	s, ok := l.str(f, what)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		l.errf(f.val.Line, "%s: bad time %q: want RFC 3339 such as 2026-12-01T06:00:00Z", what, s)
		return time.Time{}, false
	}
	return t.UTC(), true
}

func (l *loader) loadSignal(td *typeDecl, n *yaml.Node) {
	what := fmt.Sprintf("type %q signal", td.t.Name)
	fs := l.fields(n, what, "name", "aliases", "kind", "unit", "min", "max", "description", "maxLength", "maxItems", "decimals", "allowed")
	if fs == nil {
		return
	}
	var s twin.SignalDef
	f, ok := fs["name"]
	if !ok {
		l.errf(n.Line, "%s: missing required field name", what)
		return
	}
	s.Name, _ = l.str(f, what+" name")
	what = fmt.Sprintf("type %q signal %q", td.t.Name, s.Name)
	if !signalNameRe.MatchString(s.Name) {
		l.errf(f.val.Line, "bad signal name %q in type %q: want an identifier (letters, digits, _) usable in mode rules, or component.identifier", s.Name, td.t.Name)
		return
	}
	for _, seg := range strings.Split(s.Name, ".") {
		if reservedInRules(seg) {
			l.errf(f.val.Line, "signal name %q in type %q is a reserved word of mode rule expressions", seg, td.t.Name)
			return
		}
	}
	// A rule reads thermostat1.temperature as a member of thermostat1, so
	// thermostat1 cannot be a signal of its own as well.
	for other, line := range td.sigLines {
		if strings.HasPrefix(s.Name, other+".") || strings.HasPrefix(other, s.Name+".") {
			l.errf(f.val.Line, "signal %q in type %q clashes with signal %q (line %d): one cannot be a component of the other", s.Name, td.t.Name, other, line)
			return
		}
	}
	if prev, dup := td.sigLines[s.Name]; dup {
		l.errf(f.val.Line, "duplicate signal %q in type %q (first at line %d)", s.Name, td.t.Name, prev)
		return
	}
	s.Kind = twin.KindNumber
	if f, ok := fs["kind"]; ok {
		k, _ := l.str(f, what+" kind")
		switch twin.ValueKind(k) {
		case twin.KindNumber, twin.KindBool, twin.KindString, twin.KindList:
			s.Kind = twin.ValueKind(k)
		default:
			l.errf(f.val.Line, "%s: bad kind %q: want number, bool, string or list", what, k)
		}
	}
	if f, ok := fs["unit"]; ok {
		s.Unit, _ = l.str(f, what+" unit")
	}
	if f, ok := fs["description"]; ok {
		s.Description, _ = l.str(f, what+" description")
	}
	for _, key := range []string{"min", "max"} {
		f, ok := fs[key]
		if !ok {
			continue
		}
		if s.Kind != twin.KindNumber {
			l.errf(f.key.Line, "%s: %s applies to number signals only, not %s", what, key, s.Kind)
			continue
		}
		if v, ok := l.number(f, what+" "+key); ok {
			if key == "min" {
				s.Min = &v
			} else {
				s.Max = &v
			}
		}
	}
	if s.Min != nil && s.Max != nil && *s.Min > *s.Max {
		l.errf(fs["max"].val.Line, "%s: min %g is greater than max %g", what, *s.Min, *s.Max)
	}
	for _, c := range []struct {
		key   string
		kinds []twin.ValueKind
		dst   *int
	}{
		{"maxLength", []twin.ValueKind{twin.KindString, twin.KindList}, &s.MaxLength},
		{"maxItems", []twin.ValueKind{twin.KindList}, &s.MaxItems},
	} {
		f, ok := fs[c.key]
		if !ok {
			continue
		}
		if !slices.Contains(c.kinds, s.Kind) {
			l.errf(f.key.Line, "%s: %s applies to %s signals only, not %s", what, c.key, kindList(c.kinds), s.Kind)
			continue
		}
		v, ok := l.number(f, what+" "+c.key)
		if !ok {
			continue
		}
		if v < 1 || v > maxValueBound || v != math.Trunc(v) {
			l.errf(f.val.Line, "%s: %s must be a whole number from 1 to %d, got %g", what, c.key, maxValueBound, v)
			continue
		}
		*c.dst = int(v)
	}
	if f, ok := fs["decimals"]; ok {
		v, ok := l.number(f, what+" decimals")
		switch {
		case !ok:
		case s.Kind != twin.KindNumber:
			l.errf(f.key.Line, "%s: decimals applies to number signals only, not %s", what, s.Kind)
		case v < 0 || v > maxDecimals || v != math.Trunc(v):
			l.errf(f.val.Line, "%s: decimals must be a whole number from 0 to %d, got %g", what, maxDecimals, v)
		default:
			d := int(v)
			s.Decimals = &d
		}
	}
	if f, ok := fs["allowed"]; ok {
		l.loadAllowed(&s, what, f)
	}
	if af, ok := fs["aliases"]; ok {
		names, lines := l.strList(af, what+" aliases")
		for i, a := range names {
			switch {
			case !signalNameRe.MatchString(a):
				l.errf(lines[i], "%s: bad alias %q: want a signal name", what, a)
			case a == s.Name:
				l.errf(lines[i], "%s: alias %q is the signal's own name", what, a)
			case td.t.Lookup(a) != nil || slices.Contains(s.Aliases, a):
				l.errf(lines[i], "%s: alias %q is already a name or alias of a signal of type %q", what, a, td.t.Name)
			default:
				s.Aliases = append(s.Aliases, a)
			}
		}
	}
	if other := td.t.Lookup(s.Name); other != nil {
		l.errf(f.val.Line, "signal %q in type %q is an alias of signal %q", s.Name, td.t.Name, other.Name)
		return
	}
	td.sigLines[s.Name] = f.val.Line
	td.t.Signals = append(td.t.Signals, s)
}

// maxDecimals caps a signal's decimals: a float64 holds no more.
const maxDecimals = 15

// loadAllowed reads a string signal's allowed values: a non-empty list of
// distinct strings, each within the signal's length limit.
func (l *loader) loadAllowed(s *twin.SignalDef, what string, f field) {
	if s.Kind != twin.KindString {
		l.errf(f.key.Line, "%s: allowed applies to string signals only, not %s", what, s.Kind)
		return
	}
	vals, lines := l.strList(f, what+" allowed")
	if len(vals) == 0 {
		l.errf(f.key.Line, "%s: allowed must list at least one value", what)
		return
	}
	seen := map[string]bool{}
	for i, v := range vals {
		switch {
		case seen[v]:
			l.errf(lines[i], "%s: allowed value %q listed twice", what, v)
		case utf8.RuneCountInString(v) > s.LengthLimit():
			l.errf(lines[i], "%s: allowed value %q is longer than maxLength %d", what, v, s.LengthLimit())
		}
		seen[v] = true
	}
	s.Allowed = vals
}

// maxValueBound caps maxLength and maxItems: a model cannot lift the bounds
// so far that one message could flood state and events again.
const maxValueBound = 65536

// kindList names value kinds for an error: "string or list".
func kindList(ks []twin.ValueKind) string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = string(k)
	}
	return strings.Join(names, " or ")
}

func (l *loader) loadRule(td *typeDecl, n *yaml.Node) (twin.ModeRule, bool) {
	what := fmt.Sprintf("type %q mode rule", td.t.Name)
	fs := l.fields(n, what, "when", "mode")
	if fs == nil {
		return twin.ModeRule{}, false
	}
	wf, okW := fs["when"]
	mf, okM := fs["mode"]
	if !okW {
		l.errf(n.Line, "%s: missing required field when", what)
	}
	if !okM {
		l.errf(n.Line, "%s: missing required field mode", what)
	}
	if !okW || !okM {
		return twin.ModeRule{}, false
	}
	when, ok1 := l.str(wf, what+" when")
	mode, ok2 := l.str(mf, what+" mode")
	if !ok1 || !ok2 {
		return twin.ModeRule{}, false
	}
	if !twin.Mode(mode).Valid() {
		l.errf(mf.val.Line, "%s: bad mode %q: want RUNNING, IDLE, FAULT, STOP or UNKNOWN", what, mode)
		return twin.ModeRule{}, false
	}
	if strings.TrimSpace(when) == "" {
		l.errf(wf.val.Line, "%s: when must not be empty (use \"true\" for a default)", what)
		return twin.ModeRule{}, false
	}
	match, err := compileRule(td.t, when)
	if err != nil {
		l.errf(wf.val.Line, "%s %q: %v", what, when, err)
		return twin.ModeRule{}, false
	}
	return twin.ModeRule{When: when, Mode: twin.Mode(mode), Match: match}, true
}

func (l *loader) loadAsset(n *yaml.Node) {
	fs := l.fields(n, "asset", "id", "aliases", "name", "type", "parent", "parents", "attributes", "timezone", "shifts", "retired", "retiredAt")
	if fs == nil {
		return
	}
	idf, ok := fs["id"]
	if !ok {
		l.errf(n.Line, "asset: missing required field id")
		return
	}
	id, _ := l.str(idf, "asset id")
	if msg := badID(id); msg != "" {
		l.errf(idf.val.Line, "bad asset id %q: %s", id, msg)
		return
	}
	if prev, dup := l.assets[id]; dup {
		l.errf(idf.val.Line, "duplicate asset id %q (first at line %d)", id, prev.line)
		return
	}
	what := fmt.Sprintf("asset %q", id)
	ad := &assetDecl{a: &twin.Asset{ID: id, Line: n.Line}, line: n.Line}
	l.assets[id] = ad
	l.order = append(l.order, ad)

	if f, ok := fs["name"]; ok {
		ad.a.Name, _ = l.str(f, what+" name")
	}
	if ad.a.Name == "" {
		ad.a.Name = id[strings.LastIndexByte(id, '/')+1:]
	}
	if f, ok := fs["type"]; ok {
		ad.a.Type, _ = l.str(f, what+" type")
		ad.typeLine = f.val.Line
	}
	if ad.a.Type == "" {
		l.errf(n.Line, "%s: missing required field type", what)
	} else if _, ok := l.types[ad.a.Type]; !ok {
		l.errf(ad.typeLine, "%s: unknown type %q", what, ad.a.Type)
	}
	pf, hasP := fs["parent"]
	psf, hasPs := fs["parents"]
	switch {
	case hasP && hasPs:
		l.errf(psf.key.Line, "%s: give parent or parents, not both", what)
	case hasP:
		ad.a.Parents, ad.parentLines = l.strList(pf, what+" parent")
	case hasPs:
		ad.a.Parents, ad.parentLines = l.strList(psf, what+" parents")
	}
	seen := map[string]bool{}
	for i, p := range ad.a.Parents {
		if seen[p] {
			l.errf(ad.parentLines[i], "%s: parent %q listed twice", what, p)
		}
		seen[p] = true
	}
	if f, ok := fs["attributes"]; ok {
		an := resolve(f.val)
		if !isNull(an) {
			if an.Kind != yaml.MappingNode {
				l.errf(an.Line, "%s: attributes must be a mapping", what)
			} else if v, err := plain(an); err != nil {
				l.errf(an.Line, "%s: attributes: %v", what, err)
			} else if m, ok := v.(map[string]any); ok {
				ad.a.Attributes = m
			}
		}
	}
	if f, ok := fs["aliases"]; ok {
		var lines []int
		ad.a.Aliases, lines = l.strList(f, what+" aliases")
		ad.aliasLines = lines
	}
	if f, ok := fs["retired"]; ok {
		switch v := resolve(f.val); {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!bool":
			ad.a.Retired = v.Value == "true" || v.Value == "True" || v.Value == "TRUE"
		default:
			l.errf(v.Line, "%s: retired must be true or false, got %q", what, v.Value)
		}
	}
	if f, ok := fs["retiredAt"]; ok {
		if t, ok := l.time(f, what+" retiredAt"); ok {
			if rf, has := fs["retired"]; has && !ad.a.Retired {
				l.errf(rf.val.Line, "%s: retired: false contradicts retiredAt", what)
			}
			ad.a.Retired, ad.a.RetiredAt = true, t
		}
	}
	if f, ok := fs["timezone"]; ok {
		tz, _ := l.str(f, what+" timezone")
		ad.tzLine = f.val.Line
		if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
			l.errf(f.val.Line, "%s: bad timezone %q: want an IANA name such as Asia/Jakarta or UTC", what, tz)
		} else {
			ad.a.Timezone = tz
		}
	}
	if f, ok := fs["shifts"]; ok {
		l.loadShifts(ad, what, f)
	}
}

// badID says what is wrong with an asset id, or "".
func badID(id string) string {
	switch {
	case id == "":
		return "must not be empty"
	case strings.HasPrefix(id, "/") || strings.HasSuffix(id, "/"):
		return "must not start or end with /"
	case strings.Contains(id, "//"):
		return "must not contain an empty path segment"
	case strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return "must not contain spaces or control characters"
	}
	return ""
}

// checkAliases checks every asset's earlier ids: valid, and naming no other
// asset (current or earlier), so an id always means one asset.
func (l *loader) checkAliases() {
	for _, ad := range l.order {
		kept := ad.a.Aliases[:0]
		for i, old := range ad.a.Aliases {
			line := ad.aliasLines[i]
			if msg := badID(old); msg != "" {
				l.errf(line, "asset %q: bad alias %q: %s", ad.a.ID, old, msg)
				continue
			}
			if old == ad.a.ID {
				l.errf(line, "asset %q: alias %q is the asset's own id", ad.a.ID, old)
				continue
			}
			if other, ok := l.assets[old]; ok {
				l.errf(line, "asset %q: alias %q is the id of another asset (line %d)", ad.a.ID, old, other.line)
				continue
			}
			if other, ok := l.aliases[old]; ok {
				l.errf(line, "asset %q: alias %q is already an alias of asset %q (line %d)", ad.a.ID, old, other.a.ID, other.line)
				continue
			}
			l.aliases[old] = ad
			kept = append(kept, old)
		}
		ad.a.Aliases = kept
		if len(kept) == 0 {
			ad.a.Aliases = nil
		}
	}
}

// lookup returns the declaration of the asset with the id or an earlier id.
func (l *loader) lookup(id string) (*assetDecl, bool) {
	if ad, ok := l.assets[id]; ok {
		return ad, true
	}
	ad, ok := l.aliases[id]
	return ad, ok
}

// checkParents checks that every parent exists; a parent named by an earlier
// id (an alias) is replaced by its current id.
func (l *loader) checkParents() {
	for _, ad := range l.order {
		seen := map[string]string{}
		for i, p := range ad.a.Parents {
			pd, ok := l.lookup(p)
			if !ok {
				l.errf(ad.parentLines[i], "asset %q: unknown parent %q", ad.a.ID, p)
				continue
			}
			if prev, dup := seen[pd.a.ID]; dup && prev != p {
				l.errf(ad.parentLines[i], "asset %q: parents %q and %q are one asset (%q)", ad.a.ID, prev, p, pd.a.ID)
			}
			seen[pd.a.ID] = p
			ad.a.Parents[i] = pd.a.ID
		}
	}
}

// checkCycles reports each parent cycle once, naming its ids in order, and
// reports whether the known parent edges form a DAG.
func (l *loader) checkCycles() bool {
	const (
		white = iota
		grey
		black
	)
	color := make(map[string]int, len(l.order))
	ok := true
	var stack []string
	var visit func(id string)
	visit = func(id string) {
		color[id] = grey
		stack = append(stack, id)
		ad := l.assets[id]
		for i, p := range ad.a.Parents {
			if _, known := l.assets[p]; !known {
				continue
			}
			switch color[p] {
			case white:
				visit(p)
			case grey:
				ok = false
				start := len(stack) - 1
				for stack[start] != p {
					start--
				}
				cyc := append(append([]string(nil), stack[start:]...), p)
				l.errf(ad.parentLines[i], "parent cycle: %s (each asset lists the next as a parent)", strings.Join(cyc, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
	}
	for _, ad := range l.order {
		if color[ad.a.ID] == white {
			visit(ad.a.ID)
		}
	}
	return ok
}

// inheritTimezones gives each asset the timezone of its nearest ancestor that
// sets one. In a DAG two parents may lead to different zones; that has no
// sensible answer (whose midnight starts "today"?), so it is an error.
func (l *loader) inheritTimezones() {
	own := func(ad *assetDecl) (string, bool) { return ad.a.Timezone, ad.a.Timezone != "" || ad.tzLine > 0 }
	equal := func(a, b string) bool { return a == b }
	zones := inherit(l, own, equal, func(ad *assetDecl, first, other inherited[string]) {
		l.errf(ad.line, "asset %q: inherits timezone %q from %q and %q from %q; set timezone on it explicitly",
			ad.a.ID, first.v, first.from, other.v, other.from)
	})
	for _, ad := range l.order {
		ad.a.Timezone = cmp.Or(zones[ad.a.ID], "UTC")
	}
}

func (l *loader) loadSignalMap(n *yaml.Node) {
	seen := map[string]int{}
	for _, en := range l.seq(n, "signalMap") {
		fs := l.fields(en, "signalMap entry", "device", "tag", "asset", "signal", "scale", "offset")
		if fs == nil {
			continue
		}
		var m twin.TagMapping
		complete := true
		for _, k := range []struct {
			key string
			dst *string
		}{{"device", &m.Device}, {"tag", &m.Tag}, {"asset", &m.Asset}, {"signal", &m.Signal}} {
			f, ok := fs[k.key]
			if ok {
				*k.dst, _ = l.str(f, "signalMap "+k.key)
			}
			if *k.dst == "" {
				l.errf(en.Line, "signalMap entry: missing required field %s", k.key)
				complete = false
			}
		}
		m.Scale = 1
		if f, ok := fs["scale"]; ok {
			if v, ok := l.number(f, "signalMap scale"); ok {
				if v == 0 {
					l.errf(f.val.Line, "signalMap scale must not be 0")
				}
				m.Scale = v
			}
		}
		if f, ok := fs["offset"]; ok {
			m.Offset, _ = l.number(f, "signalMap offset")
		}
		if !complete {
			continue
		}
		key := m.Device + "\x00" + m.Tag
		if prev, dup := seen[key]; dup {
			l.errf(fs["tag"].val.Line, "signalMap: duplicate device %q tag %q (first at line %d)", m.Device, m.Tag, prev)
			continue
		}
		seen[key] = en.Line
		ad, ok := l.lookup(m.Asset)
		if !ok {
			l.errf(fs["asset"].val.Line, "signalMap: unknown asset %q", m.Asset)
			continue
		}
		m.Asset = ad.a.ID
		td := l.types[ad.a.Type]
		if td == nil {
			continue // unknown type already reported
		}
		sig := td.t.Lookup(m.Signal)
		if sig == nil {
			l.errf(fs["signal"].val.Line, "signalMap: unknown signal %q for asset %q of type %q", m.Signal, m.Asset, td.t.Name)
			continue
		}
		m.Signal = sig.Name
		if sig.Kind != twin.KindNumber {
			for _, k := range []string{"scale", "offset"} {
				if f, ok := fs[k]; ok {
					l.errf(f.key.Line, "signalMap: %s applies to number signals only; %q is %s", k, m.Signal, sig.Kind)
				}
			}
		}
		l.mappings = append(l.mappings, m)
	}
}

// checkOEE reports nameplate attributes that OEE cannot use; missing ones are
// allowed (the estimate is then absent), wrong-typed ones are mistakes.
func (l *loader) checkOEE() {
	for _, ad := range l.order {
		td := l.types[ad.a.Type]
		if td == nil || td.t.OEE == nil || td.t.OEE.RatedSpeedAttribute == "" {
			continue
		}
		v, ok := ad.a.Attributes[td.t.OEE.RatedSpeedAttribute]
		if !ok {
			continue
		}
		if f, isNum := v.(float64); !isNum || f <= 0 {
			l.errf(ad.line, "asset %q: attribute %s (rated speed for OEE) must be a positive number, got %v",
				ad.a.ID, td.t.OEE.RatedSpeedAttribute, v)
		}
	}
}
