package gqlmodel_test

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/resolvers/gqlmodel"
)

func marshal(m graphql.Marshaler) string {
	var b bytes.Buffer
	m.MarshalGQL(&b)
	return b.String()
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"10s", 10 * time.Second, `"10s"`},
		{"1m", time.Minute, `"1m"`},
		{"15m", 15 * time.Minute, `"15m"`},
		{"90m", 90 * time.Minute, `"90m"`},
		{"1h", time.Hour, `"1h"`},
		{"1d", 24 * time.Hour, `"1d"`},
		{"7d", 7 * 24 * time.Hour, `"7d"`},
	} {
		d, err := gqlmodel.UnmarshalDuration(tc.in)
		if err != nil || d != tc.want {
			t.Errorf("UnmarshalDuration(%q) = %v, %v; want %v", tc.in, d, err, tc.want)
		}
		if got := marshal(gqlmodel.MarshalDuration(d)); got != tc.out {
			t.Errorf("MarshalDuration(%v) = %s, want %s", d, got, tc.out)
		}
	}
	for _, bad := range []any{"fortnight", "-1m", "1x", 15, nil} {
		if _, err := gqlmodel.UnmarshalDuration(bad); twin.ErrorCode(err) != twin.EBADINPUT {
			t.Errorf("UnmarshalDuration(%v) error %v, want BAD_INPUT", bad, err)
		}
	}
}

func TestTime(t *testing.T) {
	ts, err := gqlmodel.UnmarshalTime("2026-11-24T13:00:00+07:00")
	if err != nil || !ts.Equal(time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)) {
		t.Fatalf("UnmarshalTime = %v, %v", ts, err)
	}
	if got := marshal(gqlmodel.MarshalTime(ts)); got != `"2026-11-24T06:00:00Z"` {
		t.Errorf("MarshalTime = %s", got)
	}
	for _, bad := range []any{"yesterday", "2026-11-24", 1795500000, nil} {
		if _, err := gqlmodel.UnmarshalTime(bad); twin.ErrorCode(err) != twin.EBADINPUT {
			t.Errorf("UnmarshalTime(%v) error %v, want BAD_INPUT", bad, err)
		}
	}
}

func TestJSON(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{6.2, `6.2`},
		{true, `true`},
		{"SKU", `"SKU"`},
		{[]string{"E1", "E2"}, `["E1","E2"]`},
		{map[string]any{"rated": 240}, `{"rated":240}`},
		{math.NaN(), `null`},
		{math.Inf(1), `null`},
		{nil, `null`},
	} {
		if got := marshal(gqlmodel.MarshalJSON(tc.in)); got != tc.want {
			t.Errorf("MarshalJSON(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
