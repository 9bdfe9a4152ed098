package twin

import (
	"context"
	"iter"
)

// EventPages reads every event that matches q, page after page of q.First
// events in Seq order, each page resuming after the last one's final event.
// It yields the events of each non-empty page; an error of the store is
// yielded once, with nil events, and ends it. Breaking out of the loop stops
// it before the next page is read. q.Backward is refused (BAD_INPUT): paging
// resumes forward.
//
// It yields pages rather than events so that a caller can stop at a page's
// end, having seen every event the page holds.
func EventPages(ctx context.Context, store EventStore, q EventQuery) iter.Seq2[[]Event, error] {
	return func(yield func([]Event, error) bool) {
		if q.Backward {
			yield(nil, Errorf(EBADINPUT, "event pages: backward paging is not supported"))
			return
		}
		for {
			p, err := store.ListEvents(ctx, q)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(p.Events) == 0 || !yield(p.Events, nil) || !p.HasNext {
				return
			}
			q.AfterSeq = p.Events[len(p.Events)-1].Seq
		}
	}
}
