package hierarchy

import "strings"

// UnitUse is a DTDL unit with a semantic type it serves.
type UnitUse struct{ Semantic, Unit string }

// DTDLUnitNames lists every unit of the DTDL vocabulary once, for tests.
func DTDLUnitNames() []UnitUse {
	var out []UnitUse
	seen := map[string]bool{}
	for _, sem := range sortedKeys(semanticUnitType) {
		for _, u := range strings.Fields(unitTypeUnits[semanticUnitType[sem]]) {
			if !seen[u] {
				seen[u] = true
				out = append(out, UnitUse{sem, u})
			}
		}
	}
	return out
}
