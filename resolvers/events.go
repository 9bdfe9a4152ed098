package resolvers

import (
	"context"
	"strings"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/graph/model"
)

// pageArgs are a Relay connection's paging arguments: first/after pages
// forward from the start, last/before back from the end.
type pageArgs struct {
	first  *int
	after  *string
	last   *int
	before *string
}

// pageSize returns the page size (first or last, exactly one of them), bounded
// to 1..MaxPageSize.
func (r *Resolver) pageSize(p pageArgs) (int, error) {
	switch {
	case p.first != nil && p.last != nil:
		return 0, twin.Errorf(twin.EBADINPUT, "give first or last, not both")
	case p.first != nil:
		return *p.first, r.checkPageSize("first", *p.first)
	case p.last != nil:
		return *p.last, r.checkPageSize("last", *p.last)
	}
	return 0, twin.Errorf(twin.EBADINPUT, "first or last is required")
}

// eventQuery turns a connection's arguments into a store query over assets
// (nil is every asset).
func (r *Resolver) eventQuery(assets []string, kinds []twin.EventKind, from, to *time.Time, p pageArgs) (twin.EventQuery, error) {
	n, err := r.pageSize(p)
	if err != nil {
		return twin.EventQuery{}, err
	}
	q := twin.EventQuery{Assets: assets, First: n, Backward: p.last != nil}
	if q.AfterSeq, err = ParseEventCursor(p.after); err != nil {
		return q, err
	}
	if q.BeforeSeq, err = ParseEventCursor(p.before); err != nil {
		return q, err
	}
	if len(kinds) > 0 {
		q.Kinds = kinds
	}
	if from != nil {
		q.From = *from
	}
	if to != nil {
		q.To = *to
	}
	return q, nil
}

// events reads one page through the request's loader and makes it a Relay
// connection. Paging forward says nothing of what lies before the page
// (hasPreviousPage false), paging back nothing of what follows it, as the
// Relay spec allows.
func (r *Resolver) events(ctx context.Context, q twin.EventQuery, p pageArgs) (*model.EventConnection, error) {
	page, err := r.loaders(ctx).Events.Load(ctx, newEventKey(q))
	if err != nil {
		return nil, err
	}
	conn := &model.EventConnection{Edges: make([]*model.EventEdge, len(page.Events)), PageInfo: &model.PageInfo{}}
	for i := range page.Events {
		e := &page.Events[i]
		conn.Edges[i] = &model.EventEdge{Cursor: EventCursor(e.Seq), Node: e}
	}
	if q.Backward {
		conn.PageInfo.HasPreviousPage = page.HasNext
	} else {
		conn.PageInfo.HasNextPage = page.HasNext
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
		conn.PageInfo.EndCursor = &conn.Edges[n-1].Cursor
	} else if !q.Backward && p.after != nil {
		// An empty page after a cursor: polling resumes from the same place.
		conn.PageInfo.EndCursor = p.after
	}
	return conn, nil
}

// eventKey is an EventQuery in comparable form, for the loader.
type eventKey struct {
	assets              string // newline-joined ids; see all
	all                 bool   // every asset (Assets nil)
	kinds               string // comma-joined
	from, to            time.Time
	afterSeq, beforeSeq int64
	first               int
	backward            bool
}

func newEventKey(q twin.EventQuery) eventKey {
	k := eventKey{
		assets: strings.Join(q.Assets, "\n"), all: q.Assets == nil, from: q.From, to: q.To,
		afterSeq: q.AfterSeq, beforeSeq: q.BeforeSeq, first: q.First, backward: q.Backward,
	}
	ks := make([]string, len(q.Kinds))
	for i, kind := range q.Kinds {
		ks[i] = string(kind)
	}
	k.kinds = strings.Join(ks, ",")
	return k
}

func (k eventKey) query() twin.EventQuery {
	q := twin.EventQuery{From: k.from, To: k.to, AfterSeq: k.afterSeq, BeforeSeq: k.beforeSeq, First: k.first, Backward: k.backward}
	if !k.all {
		q.Assets = []string{}
		if k.assets != "" {
			q.Assets = strings.Split(k.assets, "\n")
		}
	}
	if k.kinds != "" {
		for _, s := range strings.Split(k.kinds, ",") {
			q.Kinds = append(q.Kinds, twin.EventKind(s))
		}
	}
	return q
}

// subtreeIDs returns the id of a and of every asset below it.
func (r *Resolver) subtreeIDs(a *twin.Asset) []string {
	ids := []string{a.ID}
	for _, d := range r.cfg.Model.Descendants(a.ID, "", 0) {
		ids = append(ids, d.ID)
	}
	return ids
}
