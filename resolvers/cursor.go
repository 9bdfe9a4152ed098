package resolvers

import (
	"encoding/base64"
	"strings"

	twin "github.com/twingraph/twingraph"
)

// Cursors are opaque to clients but stable: an event cursor names the event
// store's Seq, so a cursor taken from an events page, a twinEvents or a
// modeChanged message resumes any of them.
const (
	assetCursorPrefix = "as:"
)

// EventCursor returns the cursor of a stored event (twin.EventCursor: REST
// and GraphQL share event cursors).
func EventCursor(seq int64) string { return twin.EventCursor(seq) }

// ParseEventCursor returns the Seq an event cursor names; nil or "" is 0 (the start).
func ParseEventCursor(c *string) (int64, error) {
	if c == nil {
		return 0, nil
	}
	return twin.ParseEventCursor(*c)
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
