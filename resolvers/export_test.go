package resolvers

import (
	"context"
	"time"
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
