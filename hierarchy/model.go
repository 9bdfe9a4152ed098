package hierarchy

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"

	twin "github.com/twingraph/twingraph"
)

// Model is a loaded, validated asset model. Every traversal is precomputed at
// load time, so lookups cost O(1) or O(result) and the returned slices are
// shared: callers must not modify them. A Model is immutable and safe for
// concurrent use.
type Model struct {
	assets []*twin.Asset // listed: retired assets left out
	all    []*twin.Asset // every asset, retired ones too
	roots  []*twin.Asset
	// nodes holds every asset under its id and each of its aliases.
	nodes    map[string]*node
	types    map[string]*twin.AssetType
	typeList []*twin.AssetType
	mappings []twin.TagMapping
	byTag    map[tagKey]twin.TagMapping
	version  string
	hash     string
	aliased  bool
}

// contentHash is the short hex SHA-256 of a model file's bytes: what tells
// two versions of a file apart when the file does not say (version:).
func contentHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}

// Version returns the model file's version: key, or "" when it has none.
func (m *Model) Version() string { return m.version }

// Hash returns the short hex SHA-256 of the model file's bytes.
func (m *Model) Hash() string { return m.hash }

// Stamp names the model in one token: "VERSION@HASH", or "HASH" when the
// file has no version. States, logs and /readyz carry it.
func (m *Model) Stamp() string {
	if m.version == "" {
		return m.hash
	}
	return m.version + "@" + m.hash
}

// Aliased reports whether any asset has an earlier id or any signal an
// earlier name: readers of the stores then look under those too.
func (m *Model) Aliased() bool { return m.aliased }

// All returns every asset in model-file order, retired ones included.
func (m *Model) All() []*twin.Asset { return m.all }

var _ twin.Model = (*Model)(nil)

type tagKey struct{ device, tag string }

// node holds the precomputed neighbourhood of one asset.
type node struct {
	asset          *twin.Asset
	typ            *twin.AssetType
	parents        []*twin.Asset
	children       []*twin.Asset
	childrenByType map[string][]*twin.Asset
	ancestors      []*twin.Asset
	// ancestorSet is built only for deep assets; short ancestor lists are scanned.
	ancestorSet map[string]struct{}
	desc        leveled
	descByType  map[string]leveled
}

// leveled is a breadth-first list of descendants with each one's depth (the
// shortest path down), non-decreasing, so a depth limit is a prefix.
type leveled struct {
	assets []*twin.Asset
	depth  []int32
}

func (lv leveled) upTo(maxDepth int) []*twin.Asset {
	if maxDepth <= 0 || len(lv.depth) == 0 || int(lv.depth[len(lv.depth)-1]) <= maxDepth {
		return lv.assets
	}
	n := sort.Search(len(lv.depth), func(i int) bool { return int(lv.depth[i]) > maxDepth })
	return lv.assets[:n]
}

const ancestorSetMin = 8

func (l *loader) build() *Model {
	m := &Model{
		nodes: make(map[string]*node, len(l.order)),
		types: make(map[string]*twin.AssetType, len(l.typeOrder)),
		byTag: make(map[tagKey]twin.TagMapping, len(l.mappings)),
	}
	for _, td := range l.typeOrder {
		m.types[td.t.Name] = td.t
		m.typeList = append(m.typeList, td.t)
		for _, sd := range td.t.Signals {
			if len(sd.Aliases) > 0 {
				m.aliased = true
			}
		}
	}
	for _, ad := range l.order {
		a := ad.a
		m.all = append(m.all, a)
		n := &node{asset: a, typ: m.types[a.Type]}
		m.nodes[a.ID] = n
		if !a.Retired {
			m.assets = append(m.assets, a)
			if len(a.Parents) == 0 {
				m.roots = append(m.roots, a)
			}
		}
	}
	// Aliases share their asset's node, after every current id is in, so
	// a lookup by an earlier id answers the renamed asset.
	for _, a := range m.all {
		for _, old := range a.Aliases {
			m.nodes[old] = m.nodes[a.ID]
			m.aliased = true
		}
	}
	// A retired asset keeps its parents (ancestors, IsUnder) but is no
	// parent's child: it leaves children, descendants and rollups.
	for _, a := range m.all {
		n := m.nodes[a.ID]
		for _, p := range a.Parents {
			pn := m.nodes[p]
			n.parents = append(n.parents, pn.asset)
			if !a.Retired {
				pn.children = append(pn.children, a)
			}
		}
	}
	for _, a := range m.all {
		n := m.nodes[a.ID]
		if len(n.children) > 0 {
			n.childrenByType = groupByType(n.children)
		}
		n.ancestors = m.walkUp(n)
		if len(n.ancestors) >= ancestorSetMin {
			n.ancestorSet = make(map[string]struct{}, len(n.ancestors))
			for _, a := range n.ancestors {
				n.ancestorSet[a.ID] = struct{}{}
			}
		}
		n.desc = m.walkDown(n)
		if len(n.desc.assets) > 0 {
			n.descByType = map[string]leveled{}
			for i, a := range n.desc.assets {
				lv := n.descByType[a.Type]
				lv.assets = append(lv.assets, a)
				lv.depth = append(lv.depth, n.desc.depth[i])
				n.descByType[a.Type] = lv
			}
		}
	}
	m.mappings = l.mappings
	for _, tm := range l.mappings {
		m.byTag[tagKey{tm.Device, tm.Tag}] = tm
	}
	return m
}

func groupByType(as []*twin.Asset) map[string][]*twin.Asset {
	out := map[string][]*twin.Asset{}
	for _, a := range as {
		out[a.Type] = append(out[a.Type], a)
	}
	return out
}

// walkUp lists distinct ancestors breadth first: nearest first.
func (m *Model) walkUp(n *node) []*twin.Asset {
	var out []*twin.Asset
	seen := map[string]bool{}
	queue := n.parents
	for len(queue) > 0 {
		var next []*twin.Asset
		for _, a := range queue {
			if seen[a.ID] {
				continue
			}
			seen[a.ID] = true
			out = append(out, a)
			next = append(next, m.nodes[a.ID].parents...)
		}
		queue = next
	}
	return out
}

// walkDown lists distinct descendants breadth first, each at its shortest depth.
func (m *Model) walkDown(n *node) leveled {
	var lv leveled
	seen := map[string]bool{}
	queue := n.children
	for depth := int32(1); len(queue) > 0; depth++ {
		var next []*twin.Asset
		for _, a := range queue {
			if seen[a.ID] {
				continue
			}
			seen[a.ID] = true
			lv.assets = append(lv.assets, a)
			lv.depth = append(lv.depth, depth)
			next = append(next, m.nodes[a.ID].children...)
		}
		queue = next
	}
	return lv
}

// Asset returns the asset with the id, or nil.
func (m *Model) Asset(id string) *twin.Asset {
	if n := m.nodes[id]; n != nil {
		return n.asset
	}
	return nil
}

// Assets returns every asset in model-file order, retired ones left out
// (All lists them too).
func (m *Model) Assets() []*twin.Asset { return m.assets }

// Canonical returns the current id of the asset with the id or an earlier
// id (alias), and whether any asset answers to it.
func (m *Model) Canonical(id string) (string, bool) {
	if n := m.nodes[id]; n != nil {
		return n.asset.ID, true
	}
	return id, false
}

// Roots returns the assets without parents, in model-file order, retired ones left out.
func (m *Model) Roots() []*twin.Asset { return m.roots }

// Parents returns the assets directly above id, in the order the asset lists them.
func (m *Model) Parents(id string) []*twin.Asset {
	if n := m.nodes[id]; n != nil {
		return n.parents
	}
	return nil
}

// Children returns the assets directly below id, only of type typ unless typ is "".
func (m *Model) Children(id, typ string) []*twin.Asset {
	n := m.nodes[id]
	if n == nil {
		return nil
	}
	if typ == "" {
		return n.children
	}
	return n.childrenByType[typ]
}

// Ancestors returns every distinct asset above id, nearest first.
func (m *Model) Ancestors(id string) []*twin.Asset {
	if n := m.nodes[id]; n != nil {
		return n.ancestors
	}
	return nil
}

// Descendants returns every distinct asset below id, breadth first, only of
// type typ unless typ is "", at most maxDepth levels down unless maxDepth <= 0.
// An asset reachable along several paths appears once, at its shortest depth.
func (m *Model) Descendants(id, typ string, maxDepth int) []*twin.Asset {
	n := m.nodes[id]
	if n == nil {
		return nil
	}
	if typ == "" {
		return n.desc.upTo(maxDepth)
	}
	return n.descByType[typ].upTo(maxDepth)
}

// IsUnder reports whether id is under (or equal to) ancestor. Unknown ids are
// under nothing; either id may be an earlier id (alias) of its asset.
func (m *Model) IsUnder(id, ancestor string) bool {
	n := m.nodes[id]
	if n == nil {
		return false
	}
	if id == ancestor {
		return true
	}
	if m.aliased {
		id = n.asset.ID
		if an := m.nodes[ancestor]; an != nil {
			ancestor = an.asset.ID
		}
		if id == ancestor {
			return true
		}
	}
	if n.ancestorSet != nil {
		_, ok := n.ancestorSet[ancestor]
		return ok
	}
	for _, a := range n.ancestors {
		if a.ID == ancestor {
			return true
		}
	}
	return false
}

// Type returns the named asset type, or nil.
func (m *Model) Type(name string) *twin.AssetType { return m.types[name] }

// TypeOf returns the type of the asset with the id, or nil when the asset is unknown.
func (m *Model) TypeOf(id string) *twin.AssetType {
	if n := m.nodes[id]; n != nil {
		return n.typ
	}
	return nil
}

// Types returns every asset type in model-file order.
func (m *Model) Types() []*twin.AssetType { return m.typeList }

// Mapping returns the signal map entry of a raw device tag.
func (m *Model) Mapping(device, tag string) (twin.TagMapping, bool) {
	tm, ok := m.byTag[tagKey{device, tag}]
	return tm, ok
}

// Mappings returns every signal map entry in model-file order (simulators use
// it to produce raw telemetry).
func (m *Model) Mappings() []twin.TagMapping { return m.mappings }
