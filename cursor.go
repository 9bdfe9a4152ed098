package twin

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// eventCursorPrefix marks an event cursor, so a cursor from another list is refused.
const eventCursorPrefix = "ev:"

// EventCursor returns the opaque cursor of a stored event: it names the event
// store's Seq, so a cursor from a GraphQL events page, a twinEvents or
// modeChanged message or a REST events page resumes any of them.
func EventCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(eventCursorPrefix + strconv.FormatInt(seq, 10)))
}

// ParseEventCursor returns the Seq an event cursor names; "" is 0 (the start).
// Errors: BAD_INPUT.
func ParseEventCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(c, "="))
	if err == nil {
		if s, ok := strings.CutPrefix(string(b), eventCursorPrefix); ok {
			if seq, err := strconv.ParseInt(s, 10, 64); err == nil && seq >= 0 {
				return seq, nil
			}
		}
	}
	return 0, Errorf(EBADINPUT, "bad cursor %q: not an event cursor of this API", c)
}
