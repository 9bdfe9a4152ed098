// Package resolvers implements twingraph's GraphQL API on top of the domain
// interfaces of package twin: the resolvers gqlgen calls (follow-schema layout),
// per-request DataLoaders, the subscription hub, and New, the
// http.Handler that serves it all.
//
// It holds no state of its own beyond per-request caches and the hub: the
// model, stores, bus and clock come in through Config.
package resolvers

import (
	"context"
	"log/slog"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/resolvers/gqlmodel"
)

// Resolver is the root resolver: it holds only interfaces (model, stores, bus,
// clock) and the subscription hub.
type Resolver struct {
	cfg Config
	hub *Hub
}

func (r *Resolver) now() time.Time { return r.cfg.Now() }

func (r *Resolver) log() *slog.Logger { return r.cfg.Logger }

// wrap returns the schema's view of a domain asset, reading its state (if
// asked) within ctx's request; nil stays nil.
func (r *Resolver) wrap(ctx context.Context, a *twin.Asset) *gqlmodel.Asset {
	if a == nil {
		return nil
	}
	return &gqlmodel.Asset{Asset: a, States: requestStates{r: r, ctx: ctx}}
}

// wrapAll wraps a list of domain assets.
func (r *Resolver) wrapAll(ctx context.Context, as []*twin.Asset) []*gqlmodel.Asset {
	out := make([]*gqlmodel.Asset, len(as))
	states := requestStates{r: r, ctx: ctx}
	for i, a := range as {
		out[i] = &gqlmodel.Asset{Asset: a, States: states}
	}
	return out
}

// requestStates reads states through the request's loader: one store call
// per query level, usually primed already by the level's prefetch. It keeps
// the request's context because gqlgen calls Asset.State without one.
type requestStates struct {
	r   *Resolver
	ctx context.Context
}

func (s requestStates) AssetState(a *twin.Asset) (*gqlmodel.AssetState, error) {
	st, err := s.r.loaders(s.ctx).State.Load(s.ctx, a.ID)
	if err != nil || st == nil {
		return nil, err
	}
	return gqlmodel.NewAssetState(st, a, s.r.cfg.Model.Type(a.Type), s.r.now()), nil
}

// assetNode returns the asset with the id for an event's assetNode field. An
// event of an asset since removed from the model still resolves, to a bare
// asset that only names its id, so old events stay readable.
func (r *Resolver) assetNode(ctx context.Context, id string) *gqlmodel.Asset {
	if a := r.cfg.Model.Asset(id); a != nil {
		return r.wrap(ctx, a)
	}
	return r.wrap(ctx, &twin.Asset{ID: id, Name: id})
}

// assetType returns the type of the asset with the id, or nil.
func (r *Resolver) assetType(id string) (*twin.Asset, *twin.AssetType) {
	a := r.cfg.Model.Asset(id)
	if a == nil {
		return nil, nil
	}
	return a, r.cfg.Model.Type(a.Type)
}

// mustAsset returns the asset with the id or a NOT_FOUND error.
func (r *Resolver) mustAsset(id string) (*twin.Asset, error) {
	a := r.cfg.Model.Asset(id)
	if a == nil {
		return nil, notFound(id)
	}
	return a, nil
}

// assetsUnder returns the assets of type typ ("": any) at or below under, in
// model order, or all of them when under is nil. Errors: NOT_FOUND (unknown
// under), FORBIDDEN (under out of the caller's scope); the assets returned
// are not yet filtered by scope.
func (r *Resolver) assetsUnder(ctx context.Context, under *string, typ string) ([]*twin.Asset, error) {
	var out []*twin.Asset
	if under == nil {
		for _, a := range r.cfg.Model.Assets() {
			if typ == "" || a.Type == typ {
				out = append(out, a)
			}
		}
		return out, nil
	}
	u, err := r.mustAsset(*under)
	if err != nil {
		return nil, err
	}
	if err := r.checkVisible(ctx, u.ID); err != nil {
		return nil, err
	}
	if typ == "" || u.Type == typ {
		out = append(out, u)
	}
	return append(out, r.cfg.Model.Descendants(u.ID, typ, 0)...), nil
}

// checkFirst bounds a page size to 1..MaxPageSize.
func (r *Resolver) checkFirst(first int) error { return r.checkPageSize("first", first) }

// checkPageSize bounds the page size argument named arg to 1..MaxPageSize.
func (r *Resolver) checkPageSize(arg string, n int) error {
	if n < 1 {
		return twin.Errorf(twin.EBADINPUT, "%s must be at least 1, got %d", arg, n)
	}
	if n > r.cfg.MaxPageSize {
		return twin.Errorf(twin.ELIMIT, "%s must be at most %d, got %d", arg, r.cfg.MaxPageSize, n)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// assetIDs returns the ids of as, in order: what a store call about them takes.
func assetIDs(as []*twin.Asset) []string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return ids
}

// nonEmpty returns nil for "" so optional strings read as null.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
