package resolvers

import (
	"cmp"
	"context"
	"slices"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/resolvers/gqlmodel"
)

// The maintenance feed. The figures are twin.MaintenanceAt's; this file only
// reads states and history for them.

// maintenance returns the feed of an asset whose type has one, else nil.
func (r *Resolver) maintenance(ctx context.Context, a *gqlmodel.Asset) (*gqlmodel.Maintenance, error) {
	t := r.cfg.Model.Type(a.Type)
	if t == nil || t.Maintenance == nil {
		return nil, nil
	}
	st, err := r.loaders(ctx).State.Load(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	now := r.now()
	m, _ := twin.MaintenanceAt(a.Asset, t, st, now)
	return &gqlmodel.Maintenance{M: m, Asset: a.Asset, Type: t, State: st, At: now}, nil
}

// maintenanceDue lists the visible assets under `under` (all when nil) with a
// maintenance feed whose next service is due within `within` of now.
// Errors: NOT_FOUND (unknown under), FORBIDDEN, BAD_INPUT (negative within).
func (r *Resolver) maintenanceDue(ctx context.Context, under *string, within *time.Duration) ([]*gqlmodel.Asset, error) {
	var w time.Duration
	if within != nil {
		w = *within
		if w < 0 {
			return nil, twin.Errorf(twin.EBADINPUT, "maintenanceDue: within must not be negative, got %s", twin.FormatDuration(w))
		}
	}
	all, err := r.assetsUnder(ctx, under, "")
	if err != nil {
		return nil, err
	}
	var cands []*twin.Asset
	for _, a := range all {
		if t := r.cfg.Model.Type(a.Type); t != nil && t.Maintenance != nil {
			cands = append(cands, a)
		}
	}
	cands, err = r.visible(ctx, cands)
	if err != nil {
		return nil, err
	}
	ids := assetIDs(cands)
	states, err := r.cfg.States.GetStates(ctx, ids)
	if err != nil {
		return nil, err
	}
	now := r.now()
	type due struct {
		a  *twin.Asset
		at time.Time
	}
	var out []due
	for i, a := range cands {
		m, _ := twin.MaintenanceAt(a, r.cfg.Model.Type(a.Type), states[i], now)
		if m.Due || (!m.NextServiceDue.IsZero() && !m.NextServiceDue.After(now.Add(w))) {
			out = append(out, due{a, m.NextServiceDue})
		}
	}
	slices.SortStableFunc(out, func(x, y due) int { return x.at.Compare(y.at) })
	as := make([]*twin.Asset, len(out))
	for i, d := range out {
		as[i] = d.a
	}
	r.prefetch(ctx, as)
	return r.wrapAll(ctx, as), nil
}

// vibration returns the vibration part of a feed, nil when the type names no signal.
func (r *Resolver) vibration(m *gqlmodel.Maintenance) *gqlmodel.Vibration {
	def := m.Type.Signal(m.Type.Maintenance.VibrationSignal)
	if def == nil {
		return nil
	}
	return &gqlmodel.Vibration{Def: def, Maintenance: m}
}

// trend fits the vibration's trend over the window up to the read's time
// (twin.TrendOf). Errors: BAD_INPUT (a bad window), INTERNAL.
func (r *Resolver) trend(ctx context.Context, v *gqlmodel.Vibration, window *time.Duration) (*gqlmodel.Trend, error) {
	w := 24 * time.Hour
	if window != nil {
		w = *window
	}
	out := &gqlmodel.Trend{Unit: cmp.Or(v.Def.Unit, "1") + "/h", Window: w}
	if r.cfg.History == nil {
		return out, nil
	}
	m := v.Maintenance
	t, err := twin.TrendOf(ctx, r.cfg.History, m.Asset, v.Def.Name, m.At, w)
	if err != nil {
		return nil, err
	}
	out.Points = t.Points
	if t.OK {
		out.Slope = &t.Slope
	}
	return out, nil
}

// cycles returns the cycle counter's value, or its increase since `since`
// (twin.CounterIncrease). Errors: BAD_INPUT (a bad since), INTERNAL.
func (r *Resolver) cycles(ctx context.Context, m *gqlmodel.Maintenance, since *time.Time) (*float64, error) {
	sig := m.Type.Maintenance.CyclesSignal
	if sig == "" || m.State == nil {
		return nil, nil
	}
	cur, ok := m.State.Metrics[sig]
	if !ok || cur.Value.Kind != twin.KindNumber {
		return nil, nil
	}
	v := cur.Value.Num
	if since == nil {
		return &v, nil
	}
	if r.cfg.History == nil {
		return nil, nil
	}
	d, err := twin.CounterIncrease(ctx, r.cfg.History, m.Asset, sig, cur, *since)
	if err != nil {
		return nil, err
	}
	return &d, nil
}
