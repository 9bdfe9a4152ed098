package twinsync

import (
	"testing"
	"time"
)

// TestConsumerConfig_rebalanceTimeout: the group coordinator waits up to
// max.poll.interval.ms for members to rejoin a rebalance, and on the
// embedded broker a worker killed mid-join is only dropped when that wait
// runs out; librdkafka's 5 min default wedged the group for many minutes.
// The interval must stay short, yet well above the longest gap between the
// worker's polls (a revocation's bounded flush).
func TestConsumerConfig_rebalanceTimeout(t *testing.T) {
	cfg := consumerConfig("localhost:9092")
	v, ok := cfg["max.poll.interval.ms"].(int)
	if !ok {
		t.Fatal("max.poll.interval.ms is not set: librdkafka's default makes rebalances wait 5 min for dead members")
	}
	d := time.Duration(v) * time.Millisecond
	if d > time.Minute {
		t.Fatalf("max.poll.interval.ms = %v, want at most 1 min", d)
	}
	if st, _ := cfg["session.timeout.ms"].(int); st == 0 || st > v {
		t.Fatalf("session.timeout.ms = %d: librdkafka wants it set at most max.poll.interval.ms (%d)", st, v)
	}
	if d < 2*revokeFlushTimeout {
		t.Fatalf("max.poll.interval.ms = %v leaves no margin over a revocation's flush (%v)", d, revokeFlushTimeout)
	}
}
