package resolvers

import (
	"context"
	"slices"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/graph/model"
)

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// rollup aggregates over the subtree of a, each asset once (the model's
// Descendants never repeats one, so a machine under two lines counts once):
//   - running/idle/fault/stopped/unknown count the descendants whose type has
//     mode rules, by current mode (no state yet is UNKNOWN);
//   - oee is the mean OEE of the lowest assets of the subtree (a included) that
//     have an estimate, i.e. none below them has one: a line's from its
//     machines when they have estimates, else the line's own;
//   - unitsToday sums today's unit counter of the highest assets of the
//     subtree (a included) that count units, i.e. none above them inside the
//     subtree does: a plant's from its lines, a line's its own, so machine
//     counts already in a line's are not added again. A counter last updated
//     before the site's local midnight counts 0.
func (r *Resolver) rollup(ctx context.Context, a *twin.Asset) (*model.Rollup, error) {
	m := r.cfg.Model
	desc := m.Descendants(a.ID, "", 0)
	sub := append([]*twin.Asset{a}, desc...)
	ids := assetIDs(sub)
	states, err := r.loaders(ctx).State.LoadAll(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*twin.State, len(sub))
	inSub := make(map[string]bool, len(sub))
	for i, d := range sub {
		byID[d.ID] = states[i]
		inSub[d.ID] = true
	}
	now := r.now()
	hasOEE := func(d *twin.Asset) bool {
		t := m.Type(d.Type)
		return t != nil && t.OEE != nil
	}
	counts := func(d *twin.Asset) bool {
		t := m.Type(d.Type)
		return t != nil && t.OEE != nil && t.OEE.TotalSignal != ""
	}
	out := &model.Rollup{}
	var oeeSum float64
	var oeeN int
	var units float64
	var unitsN int
	for i, d := range sub {
		t := m.Type(d.Type)
		st := byID[d.ID]
		if i > 0 && t != nil && len(t.ModeRules) > 0 {
			switch currentMode(st, t, now) {
			case twin.ModeRunning:
				out.Running++
			case twin.ModeIdle:
				out.Idle++
			case twin.ModeFault:
				out.Fault++
			case twin.ModeStop:
				out.Stopped++
			default:
				out.Unknown++
			}
		}
		if hasOEE(d) && st != nil && !anyBelow(m, d.ID, hasOEE) {
			if v, ok := twin.OEEAt(d, t, st, now); ok {
				oeeSum += v
				oeeN++
			}
		}
		if counts(d) && !anyAboveWithin(m, d.ID, inSub, a.ID, counts) {
			unitsN++
			if u, ok := twin.UnitsToday(d, t, st, now); ok {
				units += u
			}
		}
	}
	if oeeN > 0 {
		out.Oee = ptr(twin.Denoise(oeeSum / float64(oeeN)))
	}
	byMode := map[twin.Mode]int{twin.ModeRunning: out.Running, twin.ModeIdle: out.Idle, twin.ModeFault: out.Fault, twin.ModeStop: out.Stopped, twin.ModeUnknown: out.Unknown}
	out.ByMode = make([]*model.ModeCount, len(twin.Modes))
	for i, m := range twin.Modes {
		out.ByMode[i] = &model.ModeCount{Mode: m, Count: byMode[m]}
	}
	if unitsN > 0 {
		out.UnitsToday = &units
	}
	return out, nil
}

// currentMode is an asset's mode as a read at now sees it (a debounced
// change counts once it has held); UNKNOWN without a state.
func currentMode(st *twin.State, t *twin.AssetType, now time.Time) twin.Mode {
	if st == nil {
		return twin.ModeUnknown
	}
	var debounce time.Duration
	if t != nil {
		debounce = t.Debounce
	}
	m, _ := st.ModeAt(now, debounce)
	return m
}

// inModes returns the assets of as whose current mode is one of modes, in
// order, stopping at limit of them. States are read through the request's
// loader, so the page's state fields reuse them.
func (r *Resolver) inModes(ctx context.Context, as []*twin.Asset, modes []twin.Mode, limit int) ([]*twin.Asset, error) {
	ids := assetIDs(as)
	states, err := r.loaders(ctx).State.LoadAll(ctx, ids)
	if err != nil {
		return nil, err
	}
	now := r.now()
	var out []*twin.Asset
	for i, a := range as {
		if slices.Contains(modes, currentMode(states[i], r.cfg.Model.Type(a.Type), now)) {
			out = append(out, a)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

func anyBelow(m twin.Model, id string, pred func(*twin.Asset) bool) bool {
	for _, d := range m.Descendants(id, "", 0) {
		if pred(d) {
			return true
		}
	}
	return false
}

// anyAboveWithin reports whether an ancestor of id inside the subtree of root
// (root included) satisfies pred.
func anyAboveWithin(m twin.Model, id string, within map[string]bool, root string, pred func(*twin.Asset) bool) bool {
	if id == root {
		return false
	}
	for _, a := range m.Ancestors(id) {
		if within[a.ID] && pred(a) {
			return true
		}
	}
	return false
}
