//go:build tools

// Package twin's tools file pins the code generators the build runs, so
// `go run` uses the version in go.mod.
package twin

import (
	_ "github.com/99designs/gqlgen"
)
