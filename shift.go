package twin

import (
	"slices"
	"time"
)

// Shift is one shift of a site's calendar: it begins every day at Start, in
// the site's time zone, and lasts until the next shift of the calendar begins
// (the last shift of the day runs past midnight into the first).
type Shift struct {
	// Name is the shift's name, e.g. "A" or "Night"; unique in its calendar.
	Name string `json:"name"`
	// Start is the local time of day the shift begins, in minutes after
	// midnight (0 to 1439).
	Start int `json:"start"`
}

// ShiftWindow is one occurrence of a shift: [From, To).
type ShiftWindow struct {
	// Name is the shift's name.
	Name string
	// From is when the occurrence begins (inclusive).
	From time.Time
	// To is when it ends (exclusive): the next shift's start.
	To time.Time
}

// ShiftAt returns the occurrence of the calendar's shift in force at t, with
// shift starts read as wall-clock times in loc. shifts need not be sorted;
// ok is false when there are none. On a day when a start falls into a
// daylight-saving gap it moves forward by the gap (as time.Date does), and a
// shift squeezed to nothing by the change is skipped, so consecutive windows
// always tile time without gaps or overlaps.
func ShiftAt(shifts []Shift, loc *time.Location, t time.Time) (w ShiftWindow, ok bool) {
	if len(shifts) == 0 {
		return ShiftWindow{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	sorted := slices.Clone(shifts)
	slices.SortStableFunc(sorted, func(a, b Shift) int { return a.Start - b.Start })
	type occ struct {
		name string
		at   time.Time
	}
	// The occurrence in force starts on t's local day or the day before; the
	// next one starts on t's local day or the day after.
	y, m, d := t.In(loc).Date()
	occs := make([]occ, 0, 3*len(sorted))
	for day := -1; day <= 1; day++ {
		for _, s := range sorted {
			at := time.Date(y, m, d+day, s.Start/60, s.Start%60, 0, 0, loc)
			// A start moved by a DST gap onto or past the next one leaves an
			// empty shift: the later start wins.
			for len(occs) > 0 && !occs[len(occs)-1].at.Before(at) {
				occs = occs[:len(occs)-1]
			}
			occs = append(occs, occ{s.Name, at})
		}
	}
	for i := len(occs) - 2; i >= 0; i-- {
		if !occs[i].at.After(t) {
			return ShiftWindow{Name: occs[i].name, From: occs[i].at, To: occs[i+1].at}, true
		}
	}
	// Unreachable for a calendar with a shift: the previous day's starts are
	// all before t's local midnight.
	return ShiftWindow{}, false
}

// PreviousShift returns the occurrence that ends where w begins.
func PreviousShift(shifts []Shift, loc *time.Location, w ShiftWindow) (ShiftWindow, bool) {
	return ShiftAt(shifts, loc, w.From.Add(-time.Nanosecond))
}

// NextShift returns the occurrence that begins where w ends.
func NextShift(shifts []Shift, loc *time.Location, w ShiftWindow) (ShiftWindow, bool) {
	return ShiftAt(shifts, loc, w.To)
}
