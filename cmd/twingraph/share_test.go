package main

import (
	"testing"
	"time"
)

// TestDev_ShareSubscriptions: by default identical live subscriptions of
// the graphql-ws reference client share one execution per event, each
// still counted as a subscription of its own; --share-subscriptions=false
// executes each.
func TestDev_ShareSubscriptions(t *testing.T) {
	const q = `subscription { modeChanged(under: "plant/jkt1/packaging") { asset toMode } }`
	ws := map[string]string{"protocol": "websocket"}
	for _, tc := range []struct {
		name     string
		args     []string
		groups   float64
		members  float64
		perEvent float64 // executions per message sent
	}{
		{"default", nil, 1, 2, 0.5},
		{"off", []string{"--share-subscriptions=false"}, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, kafkaAddr := startDev(t, append([]string{"--no-sim"}, tc.args...)...)
			a := startWSClient(t, addr, q, nil)
			b := startWSClient(t, addr, q, nil)
			eventually(t, 10*time.Second, func() bool {
				_, fams := scrape(t, addr)
				return sample(fams, "twingraph_subscriptions_active", ws) == 2
			})
			_, fams := scrape(t, addr)
			if g, m := sample(fams, "twingraph_subscription_groups", nil), sample(fams, "twingraph_subscription_group_members", nil); g != tc.groups || m != tc.members {
				t.Errorf("%v groups of %v members, want %v of %v", g, m, tc.groups, tc.members)
			}
			produce(t, kafkaAddr, `{"asset":"plant/jkt1/packaging/line3","signal":"speed_units_per_min","value":1,"ts":"`+time.Now().UTC().Format(time.RFC3339)+`"}`)
			for _, c := range []*wsSubscriber{a, b} {
				if m, _ := c.nextModeChange(); m.Data.ModeChanged.Asset != line3ID {
					t.Errorf("got %+v, want line3's mode change", m.Data.ModeChanged)
				}
			}
			var executions, messages float64
			if !eventually(t, 10*time.Second, func() bool {
				_, fams := scrape(t, addr)
				executions = sample(fams, "twingraph_subscription_executions_total", ws)
				messages = sample(fams, "twingraph_subscription_messages_total", ws)
				return messages > 0 && executions == tc.perEvent*messages
			}) {
				t.Errorf("%v executions for %v messages, want %v per message", executions, messages, tc.perEvent)
			}
		})
	}
}
