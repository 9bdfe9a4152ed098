package postgres

import (
	"fmt"
	"testing"
	"time"
)

func TestSplitByAsset(t *testing.T) {
	rowsOf := func(perAsset ...int) []row {
		var rows []row
		for a, n := range perAsset {
			for range n {
				rows = append(rows, row{asset: fmt.Sprintf("a%02d", a)})
			}
		}
		return rows
	}
	for _, c := range []struct {
		name     string
		perAsset []int
		n        int
		parts    int
	}{
		{"small stays whole", []int{100, 100}, 4, 1},
		{"one writer", []int{1000, 1000, 1000}, 1, 1},
		{"even assets", []int{500, 500, 500, 500}, 4, 4},
		{"one big asset is never split", []int{5000}, 4, 1},
		{"uneven", []int{1500, 10, 10, 10, 900}, 4, 2},
		{"many small assets", []int{300, 300, 300, 300, 300, 300, 300, 300}, 4, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows := rowsOf(c.perAsset...)
			parts := splitByAsset(rows, c.n)
			if len(parts) != c.parts {
				t.Errorf("%d parts, want %d", len(parts), c.parts)
			}
			total, owner := 0, map[string]int{}
			for i, p := range parts {
				total += len(p)
				for _, r := range p {
					if o, ok := owner[r.asset]; ok && o != i {
						t.Fatalf("asset %s in parts %d and %d", r.asset, o, i)
					}
					owner[r.asset] = i
				}
			}
			if total != len(rows) {
				t.Errorf("parts hold %d rows, want %d", total, len(rows))
			}
		})
	}
}

// TestNoteWritten_TargetFollowsTheBulk: the materialiser's target is the
// newest sample less the lateness, but never past the bulk of what arrives:
// a few samples at the wall clock among many lagging ones do not make the
// lagging ones late.
func TestNoteWritten_TargetFollowsTheBulk(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	s := &Store{opt: Options{RollupLateness: time.Minute}}
	rows := make([]row, 2000)
	for i := range rows {
		rows[i].ts = now.Add(-10*time.Minute + time.Duration(i)*time.Millisecond) // lagging devices
		if i%50 == 0 {
			rows[i].ts = now // a few on time
		}
	}
	s.noteWritten(rows)
	if got := time.Unix(0, s.newest.Load()); !got.Equal(now) {
		t.Errorf("newest = %v, want %v", got, now)
	}
	low := time.Unix(0, s.low.Load())
	if low.After(now.Add(-9*time.Minute)) || low.Before(now.Add(-10*time.Minute)) {
		t.Errorf("low mark = %v, want within the lagging bulk (%v … %v)", low, now.Add(-10*time.Minute), now.Add(-9*time.Minute))
	}
	// Alone, on-time writes leave the target at newest less the lateness.
	s = &Store{opt: Options{RollupLateness: time.Minute}}
	s.noteWritten([]row{{ts: now}})
	if got := time.Unix(0, s.low.Load()); !got.Equal(now) {
		t.Errorf("low mark of one on-time row = %v, want %v", got, now)
	}
	// A sample dated in the future counts as now.
	s.noteWritten([]row{{ts: now.Add(time.Hour)}})
	if got := time.Unix(0, s.newest.Load()); got.After(time.Now()) {
		t.Errorf("newest = %v, after the wall clock", got)
	}
}
