package gqlmodel

import (
	"time"

	twin "github.com/twingraph/twingraph"
)

// Maintenance is an asset's maintenance feed as the schema shows it: the
// figures of twin.MaintenanceAt at the time of the read, with what the
// cycles and vibration field resolvers need.
type Maintenance struct {
	// M is the figures.
	M twin.Maintenance
	// Asset, Type and State are the asset, its type and its state (nil without data).
	Asset *twin.Asset
	Type  *twin.AssetType
	State *twin.State
	// At is the time of the read.
	At time.Time
}

// RunHours is the run time since the first sample, in hours.
func (m *Maintenance) RunHours() float64 { return m.M.RunSeconds / 3600 }

// RunHoursSinceService is the run time since the last service, in hours.
func (m *Maintenance) RunHoursSinceService() float64 { return m.M.RunSecondsSinceService / 3600 }

// ServiceIntervalHours is the run hours allowed between services, or nil.
func (m *Maintenance) ServiceIntervalHours() *float64 {
	if m.M.Plan.IntervalSeconds <= 0 {
		return nil
	}
	h := m.M.Plan.IntervalSeconds / 3600
	return &h
}

// LastService is local midnight of the last service date, or nil.
func (m *Maintenance) LastService() *time.Time { return nonZeroTime(m.M.Plan.LastService) }

// NextServiceDue is when the next service is due, or nil.
func (m *Maintenance) NextServiceDue() *time.Time { return nonZeroTime(m.M.NextServiceDue) }

// Due reports whether the service is due at the time of the read.
func (m *Maintenance) Due() bool { return m.M.Due }

// Vibration is the vibration part of a maintenance feed.
type Vibration struct {
	// Signal is the vibration signal.
	Def *twin.SignalDef
	// Maintenance is the feed it belongs to.
	Maintenance *Maintenance
}

// Signal is the vibration signal's name.
func (v *Vibration) Signal() string { return v.Def.Name }

// Unit is the signal's unit, or nil.
func (v *Vibration) Unit() *string { return nonEmpty(v.Def.Unit) }

// Current is the current level (rounded like the signal's values), or nil.
func (v *Vibration) Current() *float64 {
	st := v.Maintenance.State
	if st == nil {
		return nil
	}
	m, ok := st.Metrics[v.Def.Name]
	if !ok || m.Value.Kind != twin.KindNumber {
		return nil
	}
	c := v.Def.Round(m.Value.Num)
	return &c
}

// AlarmLevel is the alarm threshold, or nil.
func (v *Vibration) AlarmLevel() *float64 { return v.Maintenance.Type.Maintenance.VibrationAlarm }

// Alarm reports whether the current level is at or above the alarm level.
func (v *Vibration) Alarm() bool {
	c, lvl := v.Current(), v.AlarmLevel()
	return c != nil && lvl != nil && *c >= *lvl
}

// Trend is a linear trend of a signal over a window.
type Trend struct {
	// Slope is the change per hour, or nil.
	Slope *float64
	// Unit is the slope's unit.
	Unit string
	// Window is the window fitted over.
	Window time.Duration
	// Points is the buckets with data used.
	Points int
}
