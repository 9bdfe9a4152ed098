package postgres

import (
	"fmt"
	"testing"
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
