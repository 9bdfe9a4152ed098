package hierarchy

import (
	"regexp"
	"slices"
	"strconv"

	twin "github.com/twingraph/twingraph"
)

// shiftStartRe is a 24-hour wall-clock time: 06:00, 22:30.
var shiftStartRe = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)

// loadShifts reads an asset's shift calendar: a non-empty list of
// {name, start} with distinct names and distinct starts.
func (l *loader) loadShifts(ad *assetDecl, what string, f field) {
	ad.shiftsLine = f.key.Line
	nodes := l.seq(f.val, what+" shifts")
	if len(nodes) == 0 {
		l.errf(f.key.Line, "%s: shifts must list at least one shift", what)
		return
	}
	names := map[string]int{}
	starts := map[int]int{}
	var cal []twin.Shift
	for _, n := range nodes {
		fs := l.fields(n, what+" shift", "name", "start")
		if fs == nil {
			continue
		}
		var s twin.Shift
		nf, okN := fs["name"]
		sf, okS := fs["start"]
		if okN {
			s.Name, _ = l.str(nf, what+" shift name")
		}
		if s.Name == "" {
			l.errf(n.Line, "%s: shift: missing required field name", what)
			continue
		}
		if prev, dup := names[s.Name]; dup {
			l.errf(nf.val.Line, "%s: duplicate shift %q (first at line %d)", what, s.Name, prev)
			continue
		}
		names[s.Name] = nf.val.Line
		if !okS {
			l.errf(n.Line, "%s: shift %q: missing required field start", what, s.Name)
			continue
		}
		v, _ := l.str(sf, what+" shift start")
		m := shiftStartRe.FindStringSubmatch(v)
		if m == nil {
			l.errf(sf.val.Line, "%s: shift %q: bad start %q: want a 24-hour local time HH:MM such as 06:00 or 22:30", what, s.Name, v)
			continue
		}
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		s.Start = h*60 + mi
		if prev, dup := starts[s.Start]; dup {
			l.errf(sf.val.Line, "%s: shift %q starts at %s like the shift at line %d", what, s.Name, v, prev)
			continue
		}
		starts[s.Start] = sf.val.Line
		cal = append(cal, s)
	}
	slices.SortFunc(cal, func(a, b twin.Shift) int { return a.Start - b.Start })
	ad.a.Shifts = cal
}

// inheritShifts gives each asset the shift calendar of its nearest ancestor
// that declares one. Two parents leading to different calendars is an error,
// as for timezones: the asset's "current shift" would be ambiguous.
func (l *loader) inheritShifts() {
	own := func(ad *assetDecl) ([]twin.Shift, bool) { return ad.a.Shifts, ad.shiftsLine > 0 }
	cals := inherit(l, own, slices.Equal, func(ad *assetDecl, first, other inherited[[]twin.Shift]) {
		l.errf(ad.line, "asset %q: inherits the shifts of %q and different shifts of %q; declare shifts on it explicitly",
			ad.a.ID, first.from, other.from)
	})
	for _, ad := range l.order {
		ad.a.Shifts = cals[ad.a.ID]
	}
}
