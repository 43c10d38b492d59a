package httpapi

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/miniship/miniship/wxerr"
)

// The body budget bounds the bytes of WeChat request bodies the server
// holds at once, whatever the number of requests in flight: a request
// takes its body's bytes (its Content-Length, or the most its route reads
// when it does not say) before the body is read, and gives them back when
// it has been answered. A platform takes at most a share of the budget, so
// that one platform's large requests cannot take all of it: its further
// requests wait for its own earlier ones, and the others' go on.
//
// A request that cannot have its bytes waits, with its context, at most
// budgetWait; then it is answered -1 (system busy), WeChat's answer for a
// backend that cannot serve it now. Bodies the server does not read (a
// GET's) and bodies of at most smallBody take nothing; a multipart body
// sent to an endpoint that is not an upload is read, and counted, as any
// other body.

// DefaultBodyMemory is the budget serve starts with (--body-memory-mb).
const DefaultBodyMemory = 64 << 20

// MinBodyMemory is the smallest budget: one body of the largest request,
// an upload of 10 MB with its multipart framing.
const MinBodyMemory = maxMediaBody

// budgetShare is the part of the budget one platform may hold: a quarter,
// and never less than the largest request.
func budgetShare(total int64) int64 { return max(total/4, MinBodyMemory) }

// budgetWait is how long a request waits for its body's bytes before it is
// answered -1. A request holds its bytes for milliseconds (reading its
// body, the engine, one write); a wait this long means the server is
// overloaded, and a client's retry later is the better use of its time.
const budgetWait = 10 * time.Second

// smallBody is the largest body that takes nothing of the budget, nearly
// every WeChat request's: its connection already costs the server more
// (buffers, a goroutine), so counting it would bound nothing, and slow
// clients that declare small bodies could fill the share of the
// endpoints read before any token and keep every platform from its
// component_access_token for as long as the server waits for a body.
const smallBody = 4 << 10

// maxAnonymousBody caps the body of the endpoints that read it before any
// token is checked (api_component_token, clear_quota, …): their bodies are
// a few hundred bytes, and all of them share one platform's share of the
// budget, which a few 2 MiB bodies would fill.
const maxAnonymousBody = 64 << 10

type bodyBudget struct {
	total   *semaphore.Weighted
	share   int64
	wait    atomic.Int64 // budgetWait in nanoseconds; tests shorten it
	held    atomic.Int64 // bytes held now, for the metrics
	refused atomic.Int64 // requests answered -1 after waiting budgetWait

	mu      sync.Mutex
	tenants map[string]*tenantShare // platforms with a request holding or waiting
	free    []*tenantShare          // idle shares, for reuse
}

// tenantShare is one platform's share, alive while a request of the
// platform holds or waits for bytes.
type tenantShare struct {
	sem  *semaphore.Weighted
	refs int
}

// maxFreeShares bounds the shares kept for reuse (their semaphores are
// idle), so that a request of a platform with nothing else in flight
// allocates none.
const maxFreeShares = 64

func newBodyBudget(total int64) *bodyBudget {
	b := &bodyBudget{total: semaphore.NewWeighted(total), share: budgetShare(total), tenants: map[string]*tenantShare{}}
	b.wait.Store(int64(budgetWait))
	return b
}

// bodyGrant is the bytes a request holds; release gives them back, once.
type bodyGrant struct {
	b      *bodyBudget
	t      *tenantShare
	tenant string
	n      int64
}

func (g bodyGrant) release() {
	if g.n <= 0 {
		return
	}
	g.b.held.Add(-g.n)
	g.b.total.Release(g.n)
	g.t.sem.Release(g.n)
	g.b.leave(g.tenant, g.t)
}

// acquire takes n bytes for tenant ("" for requests read before a token is
// checked), waiting while the tenant's share or the whole budget is taken.
// It returns ctx's error when ctx ends first, and -1 after b.wait.
func (b *bodyBudget) acquire(ctx context.Context, tenant string, n int64) (bodyGrant, error) {
	if n <= 0 {
		return bodyGrant{}, nil
	}
	n = min(n, b.share) // a route's largest body fits one share (MinBodyMemory)
	t := b.join(tenant)
	g := bodyGrant{b: b, t: t, tenant: tenant, n: n}
	// The tenant's share first: a platform over it waits behind its own
	// requests and never holds any of the whole budget meanwhile. Either
	// semaphore that has waiters makes a newcomer wait behind them.
	mine := t.sem.TryAcquire(n)
	if mine && b.total.TryAcquire(n) {
		b.held.Add(n)
		return g, nil
	}
	wctx, cancel := context.WithTimeout(ctx, time.Duration(b.wait.Load()))
	defer cancel()
	if !mine {
		if err := t.sem.Acquire(wctx, n); err != nil {
			b.leave(tenant, t)
			return bodyGrant{}, b.refusal(ctx)
		}
	}
	if err := b.total.Acquire(wctx, n); err != nil {
		t.sem.Release(n)
		b.leave(tenant, t)
		return bodyGrant{}, b.refusal(ctx)
	}
	b.held.Add(n)
	return g, nil
}

// join is the tenant's share, counted until leave.
func (b *bodyBudget) join(tenant string) *tenantShare {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.tenants[tenant]
	if t == nil {
		if k := len(b.free); k > 0 {
			t, b.free = b.free[k-1], b.free[:k-1]
		} else {
			t = &tenantShare{sem: semaphore.NewWeighted(b.share)}
		}
		b.tenants[tenant] = t
	}
	t.refs++
	return t
}

func (b *bodyBudget) leave(tenant string, t *tenantShare) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.refs--; t.refs == 0 {
		delete(b.tenants, tenant)
		if len(b.free) < maxFreeShares {
			b.free = append(b.free, t) // nobody holds or waits: idle
		}
	}
}

// refusal is the error of a wait that ended: the request's own context's
// (the client went), or -1 when the wait ran out.
func (b *bodyBudget) refusal(ctx context.Context) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	b.refused.Add(1)
	return busy{wxerr.New(wxerr.SystemError, "system busy: request bodies fill the server's memory budget; retry later")}
}

// busy is a request refused for the body budget or a turn (turns.go): the
// server protecting itself, not failing, and logged as such.
type busy struct{ err *wxerr.Error }

func (b busy) Error() string { return b.err.Error() }
func (b busy) Unwrap() error { return b.err }

// bodyBytes is what a request's body takes of the budget: nothing when
// runWeChat and the handler will not read it, else its Content-Length, or
// the most the route reads when the length is not sent.
func (rt route) bodyBytes(r *http.Request) int64 {
	if r.Method != http.MethodPost || r.ContentLength == 0 {
		return 0
	}
	limit := int64(maxBody)
	switch {
	case rt.readsMultipart(r):
		limit = rt.upload
	case rt.token == "":
		limit = maxAnonymousBody
	}
	if n := r.ContentLength; n >= 0 && n < limit {
		return n
	}
	return limit
}

// readsMultipart reports whether the route's handler reads r's body as a
// multipart upload: only upload routes do, and only such a body.
func (rt route) readsMultipart(r *http.Request) bool {
	return rt.upload > 0 && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/")
}
