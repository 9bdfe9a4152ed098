package twin_test

import (
	"testing"

	twin "github.com/twingraph/twingraph"
)

func TestEventCursor(t *testing.T) {
	for _, seq := range []int64{0, 1, 42, 1 << 40} {
		got, err := twin.ParseEventCursor(twin.EventCursor(seq))
		if err != nil || got != seq {
			t.Errorf("round trip of %d = %d, %v", seq, got, err)
		}
	}
	if got, err := twin.ParseEventCursor(""); got != 0 || err != nil {
		t.Errorf(`"" = %d, %v; want the start`, got, err)
	}
	// Garbage, a negative seq, and a cursor of another list are refused with BAD_INPUT.
	for _, bad := range []string{"!!", "MQ", "ZXY6LTE", "YXM6cGxhbnQ"} {
		if _, err := twin.ParseEventCursor(bad); twin.ErrorCode(err) != twin.EBADINPUT {
			t.Errorf("%q: err = %v, want BAD_INPUT", bad, err)
		}
	}
}
