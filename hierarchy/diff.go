package hierarchy

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	twin "github.com/twingraph/twingraph"
)

// The kinds of Change.
const (
	AssetAdded     = "asset_added"
	AssetRemoved   = "asset_removed"
	AssetRenamed   = "asset_renamed"
	AssetRetired   = "asset_retired"
	AssetUnretired = "asset_unretired"
	AssetChanged   = "asset_changed"
	TypeAdded      = "type_added"
	TypeRemoved    = "type_removed"
	TypeChanged    = "type_changed"
	SignalAdded    = "signal_added"
	SignalRemoved  = "signal_removed"
	SignalRenamed  = "signal_renamed"
	SignalChanged  = "signal_changed"
	RulesChanged   = "mode_rules_changed"
	MappingAdded   = "mapping_added"
	MappingRemoved = "mapping_removed"
	MappingChanged = "mapping_changed"
)

// Change is one difference between two models that users of the API or
// the telemetry pipeline notice.
type Change struct {
	// Kind is one of the constants above (asset_added, signal_renamed ...).
	Kind string `json:"kind"`
	// Asset is the asset's id in the new model (the old id when removed).
	Asset string `json:"asset,omitempty"`
	// Type is the asset type the change is about (signals, rules, types).
	Type string `json:"type,omitempty"`
	// Signal is the signal's name in the new model (the old name when removed).
	Signal string `json:"signal,omitempty"`
	// Device and Tag name a signal map entry.
	Device string `json:"device,omitempty"`
	Tag    string `json:"tag,omitempty"`
	// From and To are the old and new id or name of a rename.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Details list what changed, one "field: old -> new" each.
	Details []string `json:"details,omitempty"`
}

// String is the change in one human-readable line: + added, - removed, ~ changed.
func (c Change) String() string {
	detail := ""
	if len(c.Details) > 0 {
		detail = ": " + strings.Join(c.Details, "; ")
	}
	switch c.Kind {
	case AssetAdded:
		return "+ asset " + c.Asset + detail
	case AssetRemoved:
		return "- asset " + c.Asset
	case AssetRenamed:
		return "~ asset " + c.From + " renamed to " + c.To
	case AssetRetired:
		return "~ asset " + c.Asset + " retired" + detail
	case AssetUnretired:
		return "~ asset " + c.Asset + " back in service"
	case AssetChanged:
		return "~ asset " + c.Asset + detail
	case TypeAdded:
		return "+ type " + c.Type
	case TypeRemoved:
		return "- type " + c.Type
	case TypeChanged:
		return "~ type " + c.Type + detail
	case SignalAdded:
		return "+ signal " + c.Type + "." + c.Signal + detail
	case SignalRemoved:
		return "- signal " + c.Type + "." + c.Signal
	case SignalRenamed:
		return "~ signal " + c.Type + "." + c.From + " renamed to " + c.To
	case SignalChanged:
		return "~ signal " + c.Type + "." + c.Signal + detail
	case RulesChanged:
		return "~ mode rules of type " + c.Type + detail
	case MappingAdded:
		return "+ signal map " + c.Device + " " + c.Tag + detail
	case MappingRemoved:
		return "- signal map " + c.Device + " " + c.Tag
	case MappingChanged:
		return "~ signal map " + c.Device + " " + c.Tag + detail
	}
	return c.Kind
}

// Diff lists what changes for users from model old to model cur: assets
// added, removed, renamed (cur lists the old id as an alias), retired or
// changed; types added, removed or changed; signals added, removed,
// renamed (an alias) or changed (unit, kind, limits); mode rules changed;
// signal map entries added, removed or changed. Types come first, then
// assets, then the signal map, each in model-file order. Equal models give
// an empty list.
func Diff(old, cur *Model) []Change {
	var out []Change
	out = append(out, diffTypes(old, cur)...)
	out = append(out, diffAssets(old, cur)...)
	out = append(out, diffMappings(old, cur)...)
	return out
}

func diffTypes(old, cur *Model) []Change {
	var out []Change
	for _, t := range cur.typeList {
		ot := old.types[t.Name]
		if ot == nil {
			out = append(out, Change{Kind: TypeAdded, Type: t.Name})
			continue
		}
		out = append(out, diffSignals(ot, t)...)
		var d details
		d.str("debounce", ot.Debounce.String(), t.Debounce.String())
		d.str("faultSignal", ot.FaultSignal, t.FaultSignal)
		d.str("productSignal", ot.ProductSignal, t.ProductSignal)
		d.str("batchSignal", ot.BatchSignal, t.BatchSignal)
		if !reflect.DeepEqual(ot.OEE, t.OEE) {
			d = append(d, "oee changed")
		}
		if len(d) > 0 {
			out = append(out, Change{Kind: TypeChanged, Type: t.Name, Details: d})
		}
		if rd := diffRules(ot, t); len(rd) > 0 {
			out = append(out, Change{Kind: RulesChanged, Type: t.Name, Details: rd})
		}
	}
	for _, ot := range old.typeList {
		if cur.types[ot.Name] == nil {
			out = append(out, Change{Kind: TypeRemoved, Type: ot.Name})
		}
	}
	return out
}

func diffSignals(ot, t *twin.AssetType) []Change {
	var out []Change
	matched := map[string]bool{}
	for i := range t.Signals {
		s := &t.Signals[i]
		os := ot.Signal(s.Name)
		if os == nil {
			for _, a := range s.Aliases {
				if os = ot.Signal(a); os != nil {
					out = append(out, Change{Kind: SignalRenamed, Type: t.Name, Signal: s.Name, From: a, To: s.Name})
					break
				}
			}
		}
		if os == nil {
			out = append(out, Change{Kind: SignalAdded, Type: t.Name, Signal: s.Name, Details: []string{"kind " + string(kindOf(s))}})
			continue
		}
		matched[os.Name] = true
		var d details
		d.str("kind", string(kindOf(os)), string(kindOf(s)))
		d.str("unit", os.Unit, s.Unit)
		d.str("min", fmtBound(os.Min), fmtBound(s.Min))
		d.str("max", fmtBound(os.Max), fmtBound(s.Max))
		d.str("decimals", fmtInt(os.Decimals), fmtInt(s.Decimals))
		d.str("maxLength", strconv.Itoa(os.LengthLimit()), strconv.Itoa(s.LengthLimit()))
		d.str("maxItems", strconv.Itoa(os.ItemsLimit()), strconv.Itoa(s.ItemsLimit()))
		d.str("allowed", strings.Join(os.Allowed, ","), strings.Join(s.Allowed, ","))
		if len(d) > 0 {
			out = append(out, Change{Kind: SignalChanged, Type: t.Name, Signal: s.Name, Details: d})
		}
	}
	for _, os := range ot.Signals {
		if !matched[os.Name] {
			out = append(out, Change{Kind: SignalRemoved, Type: t.Name, Signal: os.Name})
		}
	}
	return out
}

func kindOf(s *twin.SignalDef) twin.ValueKind {
	if s.Kind == "" {
		return twin.KindNumber
	}
	return s.Kind
}

func diffRules(ot, t *twin.AssetType) details {
	var d details
	d.str("modeRulesFrom", fmtTime(ot.ModeRulesFrom), fmtTime(t.ModeRulesFrom))
	if !sameRules(ot.ModeRules, t.ModeRules) {
		d = append(d, fmt.Sprintf("modeRules: %s -> %s", fmtRules(ot.ModeRules), fmtRules(t.ModeRules)))
	}
	if len(ot.EarlierModeRules) != len(t.EarlierModeRules) {
		d = append(d, fmt.Sprintf("earlierModeRules: %d sets -> %d sets", len(ot.EarlierModeRules), len(t.EarlierModeRules)))
	} else {
		for i := range t.EarlierModeRules {
			a, b := ot.EarlierModeRules[i], t.EarlierModeRules[i]
			if !a.From.Equal(b.From) || !sameRules(a.Rules, b.Rules) {
				d = append(d, fmt.Sprintf("earlierModeRules[%d] changed", i))
			}
		}
	}
	return d
}

func sameRules(a, b []twin.ModeRule) bool {
	return slices.EqualFunc(a, b, func(x, y twin.ModeRule) bool { return x.When == y.When && x.Mode == y.Mode })
}

func fmtRules(rs []twin.ModeRule) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r.Mode) + " if " + r.When
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func diffAssets(old, cur *Model) []Change {
	var out []Change
	matched := map[string]bool{}
	for _, a := range cur.all {
		oa := old.nodeAsset(a.ID)
		if oa == nil {
			for _, alias := range a.Aliases {
				if oa = old.nodeAsset(alias); oa != nil {
					break
				}
			}
		}
		if oa == nil {
			out = append(out, Change{Kind: AssetAdded, Asset: a.ID, Details: []string{"type " + a.Type}})
			continue
		}
		matched[oa.ID] = true
		if oa.ID != a.ID {
			out = append(out, Change{Kind: AssetRenamed, Asset: a.ID, From: oa.ID, To: a.ID})
		}
		switch {
		case a.Retired && !oa.Retired:
			c := Change{Kind: AssetRetired, Asset: a.ID}
			if !a.RetiredAt.IsZero() {
				c.Details = []string{"at " + fmtTime(a.RetiredAt)}
			}
			out = append(out, c)
		case !a.Retired && oa.Retired:
			out = append(out, Change{Kind: AssetUnretired, Asset: a.ID})
		}
		var d details
		d.str("name", oa.Name, a.Name)
		d.str("type", oa.Type, a.Type)
		// Parents compared by their current ids: a renamed parent is no change here.
		op := make([]string, len(oa.Parents))
		for i, p := range oa.Parents {
			op[i], _ = cur.Canonical(p)
		}
		d.str("parents", strings.Join(op, ","), strings.Join(a.Parents, ","))
		d.str("timezone", oa.Timezone, a.Timezone)
		if a.Retired && oa.Retired {
			d.str("retiredAt", fmtTime(oa.RetiredAt), fmtTime(a.RetiredAt))
		}
		if !reflect.DeepEqual(oa.Attributes, a.Attributes) {
			d = append(d, "attributes changed")
		}
		if len(d) > 0 {
			out = append(out, Change{Kind: AssetChanged, Asset: a.ID, Details: d})
		}
	}
	for _, oa := range old.all {
		if !matched[oa.ID] {
			out = append(out, Change{Kind: AssetRemoved, Asset: oa.ID})
		}
	}
	return out
}

// nodeAsset returns the asset the id (current or earlier) names, or nil.
func (m *Model) nodeAsset(id string) *twin.Asset {
	if n := m.nodes[id]; n != nil {
		return n.asset
	}
	return nil
}

func diffMappings(old, cur *Model) []Change {
	var out []Change
	for _, tm := range cur.mappings {
		om, ok := old.byTag[tagKey{tm.Device, tm.Tag}]
		if !ok {
			out = append(out, Change{Kind: MappingAdded, Device: tm.Device, Tag: tm.Tag, Asset: tm.Asset, Signal: tm.Signal,
				Details: []string{"to " + tm.Asset + " " + tm.Signal}})
			continue
		}
		var d details
		oasset, _ := cur.Canonical(om.Asset)
		d.str("asset", oasset, tm.Asset)
		osig := om.Signal
		if a := cur.Asset(tm.Asset); a != nil {
			if s := cur.Type(a.Type).Lookup(om.Signal); s != nil {
				osig = s.Name
			}
		}
		d.str("signal", osig, tm.Signal)
		d.str("scale", fmtFloat(om.Scale), fmtFloat(tm.Scale))
		d.str("offset", fmtFloat(om.Offset), fmtFloat(tm.Offset))
		if len(d) > 0 {
			out = append(out, Change{Kind: MappingChanged, Device: tm.Device, Tag: tm.Tag, Asset: tm.Asset, Signal: tm.Signal, Details: d})
		}
	}
	for _, om := range old.mappings {
		if _, ok := cur.byTag[tagKey{om.Device, om.Tag}]; !ok {
			out = append(out, Change{Kind: MappingRemoved, Device: om.Device, Tag: om.Tag, Asset: om.Asset, Signal: om.Signal})
		}
	}
	return out
}

// details collects "field: old -> new" lines.
type details []string

func (d *details) str(field, a, b string) {
	if a != b {
		*d = append(*d, fmt.Sprintf("%s: %s -> %s", field, orNone(a), orNone(b)))
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func fmtBound(p *float64) string {
	if p == nil {
		return ""
	}
	return fmtFloat(*p)
}

func fmtInt(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
