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
