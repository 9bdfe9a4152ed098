package resolvers

import (
	"context"
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

// rollup aggregates over the distinct descendants of a (the model's
// Descendants never repeats an asset, so a machine under two lines counts once):
//   - running/idle/fault/stopped/unknown count the descendants whose type has
//     mode rules, by current mode (no state yet is UNKNOWN);
//   - oee is the mean OEE of the lowest descendants that have an estimate (no
//     descendant of theirs has one): a line's from its machines;
//   - unitsToday sums today's unit counter of the highest descendants that
//     count units (no ancestor of theirs inside the subtree counts them): a
//     plant's from its lines, so machine counts already in a line's are not
//     added again. A counter last updated before local midnight counts 0.
func (r *Resolver) rollup(ctx context.Context, a *twin.Asset) (*model.Rollup, error) {
	m := r.cfg.Model
	desc := m.Descendants(a.ID, "", 0)
	out := &model.Rollup{}
	if len(desc) == 0 {
		return out, nil
	}
	ids := make([]string, len(desc))
	for i, d := range desc {
		ids[i] = d.ID
	}
	states, err := r.loaders(ctx).State.LoadAll(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*twin.State, len(desc))
	inSub := make(map[string]bool, len(desc))
	for i, d := range desc {
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
	var oeeSum float64
	var oeeN int
	var units float64
	var unitsN int
	for _, d := range desc {
		t := m.Type(d.Type)
		st := byID[d.ID]
		if t != nil && len(t.ModeRules) > 0 {
			mode := twin.ModeUnknown
			if st != nil {
				mode = st.Mode
			}
			switch mode {
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
		if counts(d) && !anyAboveWithin(m, d.ID, inSub, counts) {
			unitsN++
			if st != nil {
				if c, ok := st.Metrics[t.OEE.TotalSignal]; ok && c.Value.Kind == twin.KindNumber && !c.TS.Before(localMidnight(now, d.Location())) {
					units += c.Value.Num
				}
			}
		}
	}
	if oeeN > 0 {
		out.Oee = ptr(oeeSum / float64(oeeN))
	}
	if unitsN > 0 {
		out.UnitsToday = &units
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

func anyAboveWithin(m twin.Model, id string, within map[string]bool, pred func(*twin.Asset) bool) bool {
	for _, a := range m.Ancestors(id) {
		if within[a.ID] && pred(a) {
			return true
		}
	}
	return false
}

func localMidnight(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
}
