package miniship

import "context"

type tenantKey struct{}

// tenantCtx carries the mark itself, rather than a value boxed in a
// context.WithValue: one allocation a request instead of two.
type tenantCtx struct {
	context.Context
	id    string
	bytes int64
}

func (c *tenantCtx) Value(key any) any {
	if key == (tenantKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// WithTenant marks ctx as work of one tenant (a platform's appid) that
// carries up to bytes of payload (its request's body). A Store may use it
// to share its writer fairly between tenants and to keep one transaction
// from carrying too much; work without it is nobody's, of no size.
func WithTenant(ctx context.Context, id string, bytes int64) context.Context {
	return &tenantCtx{ctx, id, bytes}
}

// TenantOf is what WithTenant put in ctx: "" and 0 when nothing.
func TenantOf(ctx context.Context) (id string, bytes int64) {
	if t, ok := ctx.Value(tenantKey{}).(*tenantCtx); ok {
		return t.id, t.bytes
	}
	return "", 0
}

type turnKey struct{}

// WithTurn marks ctx as holding a turn at the processors (the HTTP layer
// gives large requests turns, so that one tenant's cannot take every
// processor), which end gives back; end must be safe to call more than
// once. Work that waits for something other than the processors while
// it holds a turn (a modelled build time) calls EndTurn first.
func WithTurn(ctx context.Context, end func()) context.Context {
	return context.WithValue(ctx, turnKey{}, end)
}

// EndTurn gives back the turn WithTurn marked ctx with, if any.
func EndTurn(ctx context.Context) {
	if end, ok := ctx.Value(turnKey{}).(func()); ok {
		end()
	}
}
