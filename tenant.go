package miniship

import "context"

type tenantKey struct{}

type tenant struct {
	id    string
	bytes int64
}

// WithTenant marks ctx as work of one tenant (a platform's appid) that
// carries up to bytes of payload (its request's body). A Store may use it
// to share its writer fairly between tenants and to keep one transaction
// from carrying too much; work without it is nobody's, of no size.
func WithTenant(ctx context.Context, id string, bytes int64) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant{id, bytes})
}

// TenantOf is what WithTenant put in ctx: "" and 0 when nothing.
func TenantOf(ctx context.Context) (id string, bytes int64) {
	t, _ := ctx.Value(tenantKey{}).(tenant)
	return t.id, t.bytes
}
