package postgres

import (
	"context"
	"time"
)

// MaterializeWhile runs one materialisation up to target that calls during
// once it has planned and let writers go; an error from during ends the run
// there, as if its process had died.
func MaterializeWhile(ctx context.Context, s *Store, target time.Time, during func() error) error {
	return s.materializeTo(ctx, target, during)
}
