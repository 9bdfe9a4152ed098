package resolvers

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// AssetCursorForTest exposes the asset cursor encoding to the external tests,
// so they can forge a cursor of an asset outside the listed page.
var AssetCursorForTest = assetCursor

// ThrottleForTest exposes the subscription throttle with a timer the test
// fires by hand.
func ThrottleForTest(ctx context.Context, in <-chan int, every time.Duration, fire <-chan time.Time) <-chan int {
	return throttle(ctx, in, every, func(time.Duration) timer { return manualTimer(fire) })
}

type manualTimer <-chan time.Time

func (t manualTimer) C() <-chan time.Time { return t }
func (t manualTimer) Stop() bool          { return true }

// HubSubscribersForTest returns how many subscribers the handler's hub
// has: one per subscription executing alone, one per shared execution.
func HubSubscribersForTest(h *Handler) int { return h.hub.out.Len() }

// SharingExecutorForTest wraps exec as a WebSocket connection of a handler
// with Config.ShareSubscriptions sees it, members buffering buffer
// responses; onDrop is called for each slow member dropped. It returns
// the executor and the count of members dropped.
func SharingExecutorForTest(exec graphql.GraphExecutor, buffer int, onDrop func()) (graphql.GraphExecutor, func() int64) {
	s := newSubscriptionShare(Config{SubscriberBuffer: buffer, OnSlowSubscriber: onDrop}, nil, newMetrics(nil))
	return sharingExecutor{GraphExecutor: exec, share: s}, s.Dropped
}

// WantsStatesForTest reports whether the hub takes state notices from the bus.
func (h *Hub) WantsStatesForTest() bool { return h.states.Load() > 0 }
