// Package auth is twingraph's optional bearer-token authorization: a Verifier
// that checks JWTs against locally configured keys (a JWKS file and/or a
// shared HS256 secret; keys are never fetched over the network), the
// Principal a valid token yields, and the HTTP middleware that puts it in the
// request context. API keys for machine clients ("twk_<id>_<secret>", only
// the secret's hash stored; APIKeys) yield the same Principal, so every
// surface applies a key's scope exactly like a token's.
//
// A Principal's scope is a list of asset ids: the caller may read those
// assets and everything under them (Model.IsUnder), nothing else; ancestors
// of a scope root are not visible. With no Verifier configured nothing here
// is used and every request sees everything.
//
// The package knows no transport beyond net/http: the GraphQL layer reads
// WebSocket connection_init payloads itself and calls Verifier.Authenticate.
package auth

import (
	"context"
	"slices"
	"time"

	twin "github.com/twingraph/twingraph"
)

// ScopeClaim is the private JWT claim listing the asset ids a caller may read.
const ScopeClaim = "twin_scope"

// Principal is an authenticated caller.
type Principal struct {
	// Subject is the token's sub claim ("" when absent); for logs.
	Subject string
	// Scope lists the asset ids whose subtrees the caller may read; nil means
	// every asset (no twin_scope claim, or one containing "*"). An empty,
	// non-nil list sees nothing.
	Scope []string
	// Expires is when the authority ends: the token's exp plus the tolerated
	// clock skew. Long-lived streams (WebSocket, SSE) end then, so a
	// subscription never outlives its token; zero means never.
	Expires time.Time

	// recheck, for an API key, verifies it again (Hold ends a stream when
	// it is revoked); nil for tokens, whose authority ends at Expires.
	recheck func(context.Context) error
	// every is how often Hold calls recheck.
	every time.Duration
}

// WithExpiry returns ctx ending when p expires (ctx itself when p is nil or
// never expires), and the function releasing its timer.
func WithExpiry(ctx context.Context, p *Principal) (context.Context, context.CancelFunc) {
	if p == nil || p.Expires.IsZero() {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, p.Expires)
}

// Hold returns ctx ending when p's authority does, and the function
// releasing it: at p's expiry (WithExpiry), and for an API key when it is
// found revoked or deleted, checked every cache TTL while ctx lives, so a
// long-lived stream (WebSocket, SSE) ends within seconds of a revocation. A
// store that cannot be read does not end it.
func Hold(ctx context.Context, p *Principal) (context.Context, context.CancelFunc) {
	if p == nil || p.recheck == nil {
		return WithExpiry(ctx, p)
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := p.recheck(ctx); twin.ErrorCode(err) == twin.EFORBIDDEN {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}

// All reports whether p may read every asset. A nil Principal (authorization
// disabled) may.
func (p *Principal) All() bool { return p == nil || p.Scope == nil }

// CanSee reports whether p may read the asset id: it is under (or equal to)
// one of p's scope roots. A nil Principal sees everything.
func (p *Principal) CanSee(m twin.Model, id string) bool {
	if p.All() {
		return true
	}
	for _, root := range p.Scope {
		if m.IsUnder(id, root) {
			return true
		}
	}
	return false
}

// Filter returns the assets of as that p may read, in order. It returns as
// itself when p sees everything, and never modifies as.
func (p *Principal) Filter(m twin.Model, as []*twin.Asset) []*twin.Asset {
	if p.All() {
		return as
	}
	out := make([]*twin.Asset, 0, len(as))
	for _, a := range as {
		if p.CanSee(m, a.ID) {
			out = append(out, a)
		}
	}
	return out
}

// Roots returns the topmost assets p may read: the model's roots when p sees
// everything, else the scope roots that exist and lie under no other scope
// root, in scope order.
func (p *Principal) Roots(m twin.Model) []*twin.Asset {
	if p.All() {
		return m.Roots()
	}
	var out []*twin.Asset
	for i, id := range p.Scope {
		a := m.Asset(id)
		if a == nil || slices.Contains(p.Scope[:i], id) {
			continue
		}
		covered := false
		for _, other := range p.Scope {
			if other != id && m.IsUnder(id, other) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, a)
		}
	}
	return out
}

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the Principal in ctx, or nil when there is none (no
// token was verified for this request, or authorization is disabled).
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
