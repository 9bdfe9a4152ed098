package hierarchy

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a model file, located by file and line.
type Problem struct {
	// File is the model file's name as given to Load.
	File string
	// Line is the 1-based line of the offending node; 0 when unknown.
	Line int
	// Msg says what is wrong.
	Msg string
}

// String formats the problem as FILE:LINE: msg, the form editors and CI logs link.
func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
}

// LoadError is returned by Load when a model file is not valid. It carries every
// problem found, not just the first, so one edit-check round fixes them all.
type LoadError struct {
	// Problems are sorted by line.
	Problems []Problem
}

// Error prints one FILE:LINE: msg per problem, newline separated.
func (e *LoadError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}
