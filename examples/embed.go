// Package examples holds the demo plant model, embedded so that `twingraph dev`
// runs without any file on disk.
package examples

import _ "embed"

// PlantYAML is the demo plant model (see plant.yaml).
//
//go:embed plant.yaml
var PlantYAML []byte

// PlantFile is the name problems in PlantYAML are reported under.
const PlantFile = "plant.yaml"
