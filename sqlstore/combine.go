package sqlstore

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// On PostgreSQL what a statement costs the database is mostly the
// statement, not its rows: waking a backend, a round trip and, for a
// write, a WAL flush. So the commits and the hot reads of concurrent
// requests share statements: while one runs, the requests of its kind that
// arrive queue, and the next statement serves them (up to maxBatch and
// maxBatchBytes, tenants taking turns: fair.go), one row per request, each
// judged by its own conditions. A caller returns only after the statement
// that holds its row has ended (a write's end is its commit). Should a
// shared statement fail in a way that certainly stored nothing, each of
// its callers runs its own, as without sharing (combine_commit.go,
// combine_read.go).

// group runs concurrent requests of one kind together. Leadership passes
// from caller to caller as in batcher: a caller that finds fewer than
// flight batches running runs its own request at once (a lone request
// never waits), and a caller whose batch ends hands the queue's head batch
// to its oldest request, whose caller runs it. No goroutine belongs to it.
type group[R any] struct {
	flight int             // batches that may run at once
	run    func(batch []R) // gives every request of the batch its outcome
	size   func(R) int     // bytes a request adds to a batch; nil: none
	tenant func(R) string  // whose request it is, for turns (fair.go); nil: all one's

	mu      sync.Mutex
	running int
	queue   []*member[R]

	batches atomic.Int64 // batches of more than one request, for tests
}

// maxBatchBytes bounds what a shared statement carries, so that one
// tenant's large requests do not make everyone's statement large: a
// request past it goes in the next batch (alone, if it is that large).
const maxBatchBytes = 1 << 20

type member[R any] struct {
	r        R
	wake     chan struct{} // closed when done, or when handed batch; nil for a caller that led at once
	batch    []*member[R]  // set before wake is closed: run it, then hand on
	complete bool          // set before wake is closed: run returned (did not panic)
}

// do runs r, alone or in a batch, and returns when r has its outcome. ran
// is false, and r did not run, when ctx ended while r still queued;
// complete is false when the batch's run panicked (in its leader's
// goroutine), so that r's outcome is not known.
func (g *group[R]) do(ctx context.Context, r R) (ran, complete bool) {
	m := &member[R]{r: r}
	g.mu.Lock()
	if g.running < g.flight {
		g.running++
		g.mu.Unlock()
		g.lead([]*member[R]{m})
		return true, true
	}
	m.wake = make(chan struct{})
	g.queue = append(g.queue, m)
	g.mu.Unlock()
	select {
	case <-m.wake:
	case <-ctx.Done():
		g.mu.Lock()
		if i := slices.Index(g.queue, m); i >= 0 {
			g.queue = slices.Delete(g.queue, i, i+1)
			g.mu.Unlock()
			return false, false
		}
		g.mu.Unlock()
		<-m.wake // already in a batch, whose statement ends when its callers have all gone
	}
	if m.batch != nil {
		g.lead(m.batch)
	}
	return true, m.complete
}

// lead runs batch, whose head is the caller's own request, then hands the
// next batch on (or frees its place) and wakes the rest of its own, even
// when run panics.
func (g *group[R]) lead(batch []*member[R]) {
	defer func() {
		g.handOn()
		for _, m := range batch[1:] {
			close(m.wake)
		}
	}()
	rs := make([]R, len(batch))
	for i, m := range batch {
		rs[i] = m.r
	}
	if len(rs) > 1 {
		g.batches.Add(1)
	}
	g.run(rs)
	for _, m := range batch {
		m.complete = true
	}
}

// handOn gives a batch's place to the queue's head batch, or frees it.
func (g *group[R]) handOn() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.running--
		return
	}
	q := g.queue
	tenant, size := func(int) string { return "" }, func(int) int { return 0 }
	if g.tenant != nil {
		tenant = func(i int) string { return g.tenant(q[i].r) }
	}
	if g.size != nil {
		size = func(i int) int { return g.size(q[i].r) }
	}
	next := q[0]
	next.batch, g.queue = takePicked(q, fairPick(len(q), tenant, size))
	close(next.wake)
}

// sharedTimeout bounds a shared statement.
const sharedTimeout = 30 * time.Second

// sharedContext is the context of a statement shared by the callers of
// ctxs: not cancelled by one caller going (which must not fail the
// others), but once all have, and bounded by sharedTimeout.
func sharedContext(ctxs []context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctxs[0]), sharedTimeout)
	left := atomic.Int64{}
	left.Store(int64(len(ctxs)))
	stops := make([]func() bool, len(ctxs))
	for i, c := range ctxs {
		stops[i] = context.AfterFunc(c, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// errNotSent marks a shared statement that failed before it was sent.
var errNotSent = errors.New("sqlstore: not sent")

// nothingStored reports whether a shared write's error means that it
// certainly stored nothing, so that its callers may each run their own: it
// was never sent, or PostgreSQL refused it with an ERROR. Anything else (a
// connection lost, FATAL or PANIC, which may come after the commit reached
// the disk) leaves the outcome unknown.
func nothingStored(err error) bool {
	if errors.Is(err, errNotSent) {
		return true
	}
	if ce := (*pgconn.ConnectError)(nil); errors.As(err, &ce) {
		return true
	}
	pg := (*pgconn.PgError)(nil)
	if !errors.As(err, &pg) {
		return false
	}
	severity := pg.SeverityUnlocalized
	if severity == "" { // servers before 9.6 send only the localized one
		severity = pg.Severity
	}
	return severity == "ERROR"
}
