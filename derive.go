package twin

import "time"

// UptimeAt returns seconds in RUNNING since local midnight of now (in loc),
// counting the current RUNNING stretch up to now.
func (s *State) UptimeAt(now time.Time, loc *time.Location) float64 {
	return 0
}

// OEEAt returns the OEE estimate of an asset at now; ok is false when inputs are missing.
func OEEAt(a *Asset, t *AssetType, s *State, now time.Time) (oee float64, ok bool) {
	return 0, false
}

// Throughput returns the asset's current speed in units/min from the type's speed signal.
func Throughput(t *AssetType, s *State) (unitsPerMin float64, ok bool) {
	return 0, false
}
