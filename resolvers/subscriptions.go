package resolvers

import (
	"context"
	"slices"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/alias"
	"github.com/twingraph/twingraph/auth"
	"github.com/twingraph/twingraph/resolvers/gqlmodel"
)

// replayPage is the page size of a resume's replay from the event store.
const replayPage = 500

// eventFilter decides which events a subscription delivers.
type eventFilter struct {
	model  twin.Model
	under  string           // "" is every asset
	kinds  []twin.EventKind // nil is every kind
	assets []string         // under and its descendants, for the store query; nil for all
	viewer *auth.Principal  // who subscribes; nil sees every asset
}

func (f *eventFilter) match(e *twin.Event) bool {
	if f.kinds != nil && !slices.Contains(f.kinds, e.Kind) {
		return false
	}
	return (f.under == "" || f.model.IsUnder(e.Asset, f.under)) && f.viewer.CanSee(f.model, e.Asset)
}

func (r *Resolver) newEventFilter(ctx context.Context, under *string, kinds []twin.EventKind) (*eventFilter, error) {
	p, err := r.viewer(ctx)
	if err != nil {
		return nil, err
	}
	f := &eventFilter{model: r.cfg.Model, viewer: p}
	if len(kinds) > 0 {
		f.kinds = kinds
	}
	if under != nil {
		a, err := r.mustAsset(*under)
		if err != nil {
			return nil, err
		}
		if err := r.checkVisible(ctx, a.ID); err != nil {
			return nil, err
		}
		f.under = a.ID
		f.assets = []string{a.ID}
		for _, d := range r.cfg.Model.Descendants(a.ID, "", 0) {
			f.assets = append(f.assets, d.ID)
		}
	} else if !p.All() {
		// The replay asks the store for the visible assets only.
		f.assets = []string{}
		for _, a := range p.Filter(r.cfg.Model, r.cfg.Model.Assets()) {
			f.assets = append(f.assets, a.ID)
		}
	}
	return f, nil
}

// streamEvents delivers matching events to emit: with a cursor, first every
// stored event after it, then live ones. The bus subscription is taken before
// the replay starts, so an event stored during the replay arrives live; live
// events at or below the highest Seq replayed are skipped (Seq order is commit
// order), so there is no gap and no duplicate, in constant memory. It returns when ctx ends, emit returns
// false, or the subscriber falls behind (the hub drops it).
func (r *Resolver) streamEvents(ctx context.Context, f *eventFilter, after *string, emit func(*twin.Event) bool) (func(), error) {
	seq, err := ParseEventCursor(after)
	if err != nil {
		return nil, err
	}
	// A resuming subscriber replays at its client's pace; meanwhile live
	// notices queue in its buffer, so it gets room for a busy plant's worth.
	buffer := 0
	if after != nil {
		buffer = replayQueue
	}
	live, err := r.hub.SubscribeBuffer(ctx, func(n *twin.Notice) bool { return n.Event != nil && f.match(n.Event) }, buffer)
	if err != nil {
		return nil, err
	}
	run := func() {
		// seen is the highest Seq delivered from the store. Seq order is commit
		// order, so every matching event at or below it was in the replay: a
		// live notice at or below it is a duplicate (or a re-published old event).
		seen := seq
		if after != nil {
			q := twin.EventQuery{Assets: f.assets, Kinds: f.kinds, AfterSeq: seq, First: replayPage}
			for evs, err := range twin.EventPages(ctx, r.cfg.Events, q) {
				if err != nil {
					if ctx.Err() == nil && r.log() != nil {
						r.log().Error("subscription replay failed", "err", err)
					}
					return
				}
				for i := range evs {
					e := evs[i]
					seen = max(seen, e.Seq)
					if !emit(&e) {
						return
					}
				}
			}
		}
		for n := range live {
			if after != nil && n.Event.Seq <= seen {
				continue
			}
			e := *n.Event
			if !emit(&e) {
				return
			}
		}
	}
	return run, nil
}

// replayQueue bounds the live notices a resuming subscription holds while it
// replays; past it the subscription is dropped and the client resumes again.
const replayQueue = 16384

// send delivers v on out unless ctx ends first.
func send[T any](ctx context.Context, out chan<- T, v T) bool {
	select {
	case out <- v:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *Resolver) twinEvents(ctx context.Context, under *string, kinds []twin.EventKind, after *string) (<-chan *twin.Event, error) {
	return subscribeEvents(r, ctx, under, kinds, after, func(e *twin.Event) *twin.Event { return e })
}

func (r *Resolver) modeChanged(ctx context.Context, under *string, after *string) (<-chan *gqlmodel.ModeChange, error) {
	return subscribeEvents(r, ctx, under, []twin.EventKind{twin.EventModeChanged}, after, func(e *twin.Event) *gqlmodel.ModeChange {
		return &gqlmodel.ModeChange{
			Cursor: EventCursor(e.Seq), AssetID: e.Asset, Asset: e.Asset, AssetNode: r.assetNode(ctx, e.Asset), FromMode: norm(e.FromMode), ToMode: norm(e.ToMode),
			TS: e.TS, DurationSeconds: e.DurationSeconds,
		}
	})
}

// subscribeEvents streams the events under a subtree (resuming after a
// cursor), each converted to the subscription's message type.
func subscribeEvents[T any](r *Resolver, ctx context.Context, under *string, kinds []twin.EventKind, after *string, convert func(*twin.Event) T) (<-chan T, error) {
	f, err := r.newEventFilter(ctx, under, kinds)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan T)
	run, err := r.streamEvents(ctx, f, resumeAfter(ctx, after), func(e *twin.Event) bool {
		// An event published under an earlier id (by a worker still on the
		// previous model) answers under the asset's current id.
		alias.Relabel(r.cfg.Model, e)
		noteCursor(ctx, EventCursor(e.Seq))
		return send(ctx, out, convert(e))
	})
	if err != nil {
		cancel()
		return nil, err
	}
	go func() {
		defer close(out)
		defer cancel()
		run()
	}()
	return out, nil
}

// assetState sends the asset's current state (when it has one), then each new
// state the bus announces; with minInterval at most one per interval (see
// throttle).
func (r *Resolver) assetState(ctx context.Context, id string, minInterval *time.Duration) (<-chan *gqlmodel.AssetState, error) {
	a, err := r.mustAsset(id)
	if err != nil {
		return nil, err
	}
	if err := r.checkVisible(ctx, a.ID); err != nil {
		return nil, err
	}
	var every time.Duration
	if minInterval != nil {
		if *minInterval <= 0 {
			return nil, twin.Errorf(twin.EBADINPUT, "minInterval must be positive, got %s", twin.FormatDuration(*minInterval))
		}
		every = *minInterval
	}
	t := r.cfg.Model.Type(a.Type)
	ctx, cancel := context.WithCancel(ctx)
	// Under any id of the asset, as the model in service has it: a rename
	// while subscribed (or a worker still on the previous model, publishing
	// under an earlier id) does not end the stream.
	live, err := r.hub.SubscribeStates(ctx, func(n *twin.Notice) bool {
		if n.State == nil {
			return false
		}
		if n.State.Asset == id || n.State.Asset == a.ID {
			return true
		}
		if am, ok := r.cfg.Model.(interface{ Aliased() bool }); ok && !am.Aliased() {
			return false // the common case costs no lookups
		}
		x, y := r.cfg.Model.Asset(n.State.Asset), r.cfg.Model.Asset(id)
		return x != nil && y != nil && x.ID == y.ID
	})
	if err != nil {
		cancel()
		return nil, err
	}
	changes := make(chan *twin.State)
	go func() {
		defer close(changes)
		defer cancel()
		current, err := r.cfg.States.GetStates(ctx, []string{id})
		if err != nil {
			if r.log() != nil {
				r.log().Error("read state for subscription", "err", err)
			}
			return
		}
		var last *twin.State
		if len(current) == 1 && current[0] != nil {
			last = current[0]
			if !send(ctx, changes, last) {
				return
			}
		}
		for n := range live {
			// A state read above may be newer than a notice still in flight.
			if last != nil && n.State.UpdatedAt.Before(last.UpdatedAt) {
				continue
			}
			last = n.State
			if !send(ctx, changes, n.State) {
				return
			}
		}
	}()
	var states <-chan *twin.State = changes
	if every > 0 {
		states = throttle(ctx, changes, every, newTimer)
	}
	out := make(chan *gqlmodel.AssetState)
	go func() {
		defer close(out)
		for st := range states {
			if !send(ctx, out, gqlmodel.NewAssetState(st, a, t, r.now())) {
				return
			}
		}
	}()
	return out, nil
}

// timer is the part of *time.Timer throttle uses, so a test can drive it.
type timer interface {
	C() <-chan time.Time
	Stop() bool
}

type realTimer struct{ *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.Timer.C }

func newTimer(d time.Duration) timer { return realTimer{time.NewTimer(d)} }

// throttle passes on at most one value of in per interval: a value after a
// quiet interval goes at once; the values that arrive within the interval
// after it are merged, and the newest goes when the interval ends, so the
// last value is never held back for good. It closes its channel when in
// closes (after sending a held value) or ctx ends.
func throttle[T any](ctx context.Context, in <-chan T, every time.Duration, newTimer func(time.Duration) timer) chan T {
	out := make(chan T)
	go func() {
		defer close(out)
		var (
			held    T
			holding bool
			tick    timer // running while sends are held back
		)
		defer func() {
			if tick != nil {
				tick.Stop()
			}
		}()
		var tickC <-chan time.Time
		for {
			select {
			case v, ok := <-in:
				if !ok {
					if holding {
						send(ctx, out, held)
					}
					return
				}
				if tick != nil {
					held, holding = v, true
					continue
				}
				if !send(ctx, out, v) {
					return
				}
				tick = newTimer(every)
				tickC = tick.C()
			case <-tickC:
				tick, tickC = nil, nil
				if holding {
					if !send(ctx, out, held) {
						return
					}
					var zero T
					held, holding = zero, false
					tick = newTimer(every)
					tickC = tick.C()
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
