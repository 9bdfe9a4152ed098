package resolvers_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Subscriptions start goroutines (hub fan-out, per-subscriber streams): none
// may outlive the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
