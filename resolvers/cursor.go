package resolvers

import (
	"encoding/base64"
	"strconv"
	"strings"

	twin "github.com/twingraph/twingraph"
)

// Cursors are opaque to clients but stable: an event cursor names the event
// store's Seq, so a cursor taken from an events page, a twinEvents or a
// modeChanged message resumes any of them.
const (
	eventCursorPrefix = "ev:"
	assetCursorPrefix = "as:"
)

// EventCursor returns the cursor of a stored event.
func EventCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(eventCursorPrefix + strconv.FormatInt(seq, 10)))
}

// ParseEventCursor returns the Seq an event cursor names; nil or "" is 0 (the start).
func ParseEventCursor(c *string) (int64, error) {
	if c == nil || *c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*c)
	if err == nil {
		if s, ok := strings.CutPrefix(string(b), eventCursorPrefix); ok {
			if seq, err := strconv.ParseInt(s, 10, 64); err == nil && seq >= 0 {
				return seq, nil
			}
		}
	}
	return 0, twin.Errorf(twin.EBADINPUT, "bad cursor %q", *c)
}

func assetCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(assetCursorPrefix + id))
}

func parseAssetCursor(c *string) (string, error) {
	if c == nil || *c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*c)
	if err == nil {
		if id, ok := strings.CutPrefix(string(b), assetCursorPrefix); ok {
			return id, nil
		}
	}
	return "", twin.Errorf(twin.EBADINPUT, "bad cursor %q", *c)
}
