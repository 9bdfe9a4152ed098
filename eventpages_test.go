package twin_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/store/memory"
)

// countingEvents counts ListEvents calls and fails the one numbered failAt.
type countingEvents struct {
	twin.EventStore
	calls, failAt int
}

var errStore = errors.New("store down")

func (s *countingEvents) ListEvents(ctx context.Context, q twin.EventQuery) (twin.EventPage, error) {
	s.calls++
	if s.calls == s.failAt {
		return twin.EventPage{}, errStore
	}
	return s.EventStore.ListEvents(ctx, q)
}

func TestEventPages(t *testing.T) {
	// Seqs 1..7: a holds 1, 2, 4, 5, 7 and b holds 3, 6.
	store := memory.NewEventStore()
	t0 := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	var evs []twin.Event
	for i, asset := range []string{"a", "a", "b", "a", "a", "b", "a"} {
		evs = append(evs, twin.Event{Kind: twin.EventFaultRaised, Asset: asset, TS: t0.Add(time.Duration(i) * time.Minute)})
	}
	if err := store.AppendEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		q       twin.EventQuery
		failAt  int // the ListEvents call that fails; 0: none
		take    int // pages taken before breaking out; 0: all
		want    [][]int64
		wantErr error  // matched with errors.Is
		code    string // the error code wanted, for twin errors
		calls   int    // ListEvents calls made
	}{
		{name: "several pages", q: twin.EventQuery{First: 3}, want: [][]int64{{1, 2, 3}, {4, 5, 6}, {7}}, calls: 3},
		{name: "exactly one page", q: twin.EventQuery{First: 7}, want: [][]int64{{1, 2, 3, 4, 5, 6, 7}}, calls: 1},
		{name: "filtered", q: twin.EventQuery{Assets: []string{"a"}, First: 2}, want: [][]int64{{1, 2}, {4, 5}, {7}}, calls: 3},
		{name: "after a cursor", q: twin.EventQuery{AfterSeq: 4, First: 2}, want: [][]int64{{5, 6}, {7}}, calls: 2},
		{name: "empty", q: twin.EventQuery{Assets: []string{"none"}, First: 3}, calls: 1},
		{name: "store refuses the query", q: twin.EventQuery{First: 0}, code: twin.EBADINPUT, calls: 1},
		{name: "error on a later page", q: twin.EventQuery{First: 3}, failAt: 2, want: [][]int64{{1, 2, 3}}, wantErr: errStore, calls: 2},
		{name: "early stop", q: twin.EventQuery{First: 3}, take: 1, want: [][]int64{{1, 2, 3}}, calls: 1},
		{name: "backward refused", q: twin.EventQuery{First: 3, Backward: true}, code: twin.EBADINPUT, calls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &countingEvents{EventStore: store, failAt: tt.failAt}
			var got [][]int64
			var gotErr error
			errs := 0
			for page, err := range twin.EventPages(context.Background(), s, tt.q) {
				if err != nil {
					gotErr = err
					errs++
					continue // the iterator must end by itself after an error
				}
				var seqs []int64
				for _, e := range page {
					seqs = append(seqs, e.Seq)
				}
				got = append(got, seqs)
				if len(got) == tt.take {
					break
				}
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal[[]int64]) {
				t.Errorf("pages = %v, want %v", got, tt.want)
			}
			switch {
			case tt.wantErr != nil && !errors.Is(gotErr, tt.wantErr),
				tt.code != "" && twin.ErrorCode(gotErr) != tt.code,
				tt.wantErr == nil && tt.code == "" && gotErr != nil,
				errs > 1:
				t.Errorf("err = %v (%d yielded), want %v %s", gotErr, errs, tt.wantErr, tt.code)
			}
			if s.calls != tt.calls {
				t.Errorf("%d ListEvents calls, want %d", s.calls, tt.calls)
			}
		})
	}
}
