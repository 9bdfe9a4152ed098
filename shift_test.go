package twin_test

import (
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
)

func TestShiftAt(t *testing.T) {
	abc := []twin.Shift{{Name: "B", Start: 14 * 60}, {Name: "A", Start: 6 * 60}, {Name: "C", Start: 22 * 60}}
	cases := []struct {
		name     string
		shifts   []twin.Shift
		at       time.Time
		want     string
		from, to time.Time
	}{
		{"morning", abc, jkt(0, 7, 0), "A", jkt(0, 6, 0), jkt(0, 14, 0)},
		{"at a start", abc, jkt(0, 14, 0), "B", jkt(0, 14, 0), jkt(0, 22, 0)},
		{"just before a start", abc, jkt(0, 13, 59).Add(59 * time.Second), "A", jkt(0, 6, 0), jkt(0, 14, 0)},
		{"night before midnight", abc, jkt(0, 23, 0), "C", jkt(0, 22, 0), jkt(1, 6, 0)},
		{"night after midnight", abc, jkt(0, 3, 0), "C", jkt(-1, 22, 0), jkt(0, 6, 0)},
		{"given in UTC", abc, jkt(0, 3, 0).UTC(), "C", jkt(-1, 22, 0), jkt(0, 6, 0)},
		{"one shift a day", []twin.Shift{{Name: "day", Start: 6*60 + 30}}, jkt(0, 5, 0), "day", jkt(-1, 6, 30), jkt(0, 6, 30)},
		{"midnight start", []twin.Shift{{Name: "X", Start: 0}, {Name: "Y", Start: 12 * 60}}, jkt(0, 0, 0), "X", jkt(0, 0, 0), jkt(0, 12, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, ok := twin.ShiftAt(c.shifts, jakarta, c.at)
			if !ok || w.Name != c.want || !w.From.Equal(c.from) || !w.To.Equal(c.to) {
				t.Errorf("ShiftAt(%s) = %+v, %v; want %s [%s, %s)", c.at, w, ok, c.want, c.from, c.to)
			}
		})
	}
	t.Run("no calendar", func(t *testing.T) {
		if w, ok := twin.ShiftAt(nil, jakarta, jkt(0, 7, 0)); ok {
			t.Errorf("ShiftAt without shifts = %+v, true", w)
		}
	})
}

func TestShiftAt_PreviousAndNext(t *testing.T) {
	abc := []twin.Shift{{Name: "A", Start: 6 * 60}, {Name: "B", Start: 14 * 60}, {Name: "C", Start: 22 * 60}}
	w, _ := twin.ShiftAt(abc, jakarta, jkt(0, 7, 0))
	prev, ok := twin.PreviousShift(abc, jakarta, w)
	if !ok || prev.Name != "C" || !prev.From.Equal(jkt(-1, 22, 0)) || !prev.To.Equal(w.From) {
		t.Errorf("previous of %+v = %+v", w, prev)
	}
	next, ok := twin.NextShift(abc, jakarta, w)
	if !ok || next.Name != "B" || !next.From.Equal(w.To) || !next.To.Equal(jkt(0, 22, 0)) {
		t.Errorf("next of %+v = %+v", w, next)
	}
}

// Across daylight-saving changes the windows still tile time: each contains
// its instant, and the next one starts where it ends. A start inside the
// spring-forward gap (02:30 in Berlin on 29 March 2026) moves past it.
func TestShiftAt_DaylightSaving(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	calendars := map[string][]twin.Shift{
		"three":                {{Name: "A", Start: 6 * 60}, {Name: "B", Start: 14 * 60}, {Name: "C", Start: 22 * 60}},
		"in the gap":           {{Name: "N", Start: 2*60 + 30}, {Name: "D", Start: 14 * 60}},
		"both ends of the gap": {{Name: "P", Start: 2 * 60}, {Name: "Q", Start: 2*60 + 30}, {Name: "R", Start: 3 * 60}, {Name: "S", Start: 15 * 60}},
	}
	for name, shifts := range calendars {
		t.Run(name, func(t *testing.T) {
			for _, start := range []time.Time{
				time.Date(2026, 3, 27, 0, 0, 0, 0, berlin),
				time.Date(2026, 10, 23, 0, 0, 0, 0, berlin),
			} {
				for at := start; at.Before(start.AddDate(0, 0, 4)); at = at.Add(7 * time.Minute) {
					w, ok := twin.ShiftAt(shifts, berlin, at)
					if !ok || at.Before(w.From) || !at.Before(w.To) {
						t.Fatalf("ShiftAt(%s) = %+v, %v: does not contain it", at, w, ok)
					}
					next, _ := twin.NextShift(shifts, berlin, w)
					if !next.From.Equal(w.To) || !next.To.After(next.From) {
						t.Fatalf("after %+v comes %+v", w, next)
					}
				}
			}
		})
	}
	t.Run("short night", func(t *testing.T) {
		shifts := calendars["three"]
		w, _ := twin.ShiftAt(shifts, berlin, time.Date(2026, 3, 29, 1, 0, 0, 0, berlin))
		if w.Name != "C" || w.To.Sub(w.From) != 7*time.Hour {
			t.Errorf("night into summer time = %+v (%s), want C lasting 7h", w, w.To.Sub(w.From))
		}
	})
}
