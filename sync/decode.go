package sync

import (
	twin "github.com/twingraph/twingraph"
)

// Reject says why one element of a telemetry message was refused.
type Reject struct {
	// Index is the element's position in the message (0 for a single object).
	Index int
	// Reason is "<code>: human text"; the codes are bad_json, missing_field,
	// bad_ts, unknown_asset, unknown_signal, unknown_tag, wrong_type, non_finite.
	Reason string
}

// Decode turns one telemetry message (one JSON object or an array of them)
// into curated samples. Good elements decode even if others are rejected.
func Decode(m twin.Model, value []byte) ([]twin.Sample, []Reject) {
	return nil, nil
}
