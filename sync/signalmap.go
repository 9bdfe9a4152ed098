package sync

import (
	twin "github.com/twingraph/twingraph"
)

// MapValue applies a tag mapping's linear transform to a raw value:
// curated = raw × Scale + Offset (Scale 0 means 1). Non-numeric values pass unchanged.
func MapValue(mp twin.TagMapping, raw twin.Value) twin.Value {
	if raw.Kind != twin.KindNumber {
		return raw
	}
	scale := mp.Scale
	if scale == 0 {
		scale = 1
	}
	return twin.Number(raw.Num*scale + mp.Offset)
}
