package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth"
)

// closeForbidden is the WebSocket close code for a refused connection_init,
// the one graphql-transport-ws uses for "Forbidden".
const closeForbidden = 4403

// websocketInit authenticates a WebSocket connection whose upgrade carried no
// Authorization header by the connection_init payload's "Authorization"
// ("Bearer <jwt>"); without a verifier it accepts every connection, as before.
// A token in the upgrade URL is never read: it would leak into logs.
func websocketInit(v *auth.Verifier) transport.WebsocketInitFunc {
	if v == nil {
		return nil
	}
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		if auth.FromContext(ctx) != nil {
			return ctx, nil, nil // the upgrade's header was verified by the middleware
		}
		p, err := v.AuthenticateContext(ctx, payload.Authorization())
		if err != nil {
			// A close frame's reason holds at most 123 bytes.
			reason := twin.ErrorMessage(err)
			if len(reason) > 120 {
				reason = reason[:120]
			}
			ctx = transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, closeForbidden), reason)
			return ctx, nil, err
		}
		// The connection closes when the token expires or the API key is
		// revoked; the connection's own end releases the timer.
		ctx, cancel := auth.Hold(auth.NewContext(ctx, p), p)
		context.AfterFunc(ctx, cancel)
		return ctx, nil, nil
	}
}

// viewer returns the caller's Principal: nil, which sees everything, when
// authorization is off; a FORBIDDEN error when it is on and the request was
// not authenticated (a handler mounted without the middleware, say).
func (r *Resolver) viewer(ctx context.Context) (*auth.Principal, error) {
	if r.cfg.Auth == nil {
		return nil, nil
	}
	p := auth.FromContext(ctx)
	if p == nil {
		return nil, twin.Errorf(twin.EFORBIDDEN, "authentication required")
	}
	return p, nil
}

// checkVisible returns an error unless the caller may read asset id: the
// NOT_FOUND of an unknown id, or FORBIDDEN with Config.RevealOutOfScope.
func (r *Resolver) checkVisible(ctx context.Context, id string) error {
	p, err := r.viewer(ctx)
	if err != nil {
		return err
	}
	if !p.CanSee(r.cfg.Model, id) {
		if r.cfg.RevealOutOfScope {
			return twin.Errorf(twin.EFORBIDDEN, "asset %q is outside the caller's scope", id)
		}
		// Exactly what an unknown id gets, so a scoped caller cannot probe
		// which ids exist outside its scope.
		return notFound(id)
	}
	return nil
}

// notFound is the error for an asset id that does not exist (or, with
// existence hidden, that the caller may not see).
func notFound(id string) error { return twin.Errorf(twin.ENOTFOUND, "no asset %q", id) }

// nullIfNotFound turns the NOT_FOUND of a hidden asset into no error, for
// the fields (asset, node) that answer an unknown id with null.
func nullIfNotFound(err error) error {
	if twin.ErrorCode(err) == twin.ENOTFOUND {
		return nil
	}
	return err
}

// visible returns the assets of as the caller may read (as itself when it
// may read everything).
func (r *Resolver) visible(ctx context.Context, as []*twin.Asset) ([]*twin.Asset, error) {
	p, err := r.viewer(ctx)
	if err != nil {
		return nil, err
	}
	return p.Filter(r.cfg.Model, as), nil
}
