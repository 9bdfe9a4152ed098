package testenv

import (
	"context"
	"testing"

	"github.com/twingraph/twingraph/broker"
)

// Kafka starts a private embedded Kafka-protocol broker on a free loopback port,
// with the telemetry topics created, and returns its bootstrap address. The
// broker is closed when the test ends.
func Kafka(tb testing.TB) string {
	tb.Helper()
	b, err := broker.Start(context.Background(), "127.0.0.1:0", nil)
	if err != nil {
		tb.Fatalf("start kafka broker: %v", err)
	}
	tb.Cleanup(b.Close)
	return b.Addr()
}
