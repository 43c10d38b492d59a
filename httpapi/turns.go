package httpapi

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxerr"
)

// Large requests take turns for the processor. Decoding a 1 MB body and
// running the ext_json engine on it keeps a core busy for milliseconds;
// sixteen of them at once kept both cores of a small server busy, and every
// other platform's requests waited behind them for the Go scheduler's
// turns (100–200 ms for a small commit). So a request whose body is larger
// than heavyBody is handled only while it holds its body's bytes (at most
// all) of heavyBytes: what a request costs the processor grows with its
// body, and this bounds the work of large requests in progress to about
// what half the processors finish in a few milliseconds. Smaller requests,
// nearly all of them, take nothing and wait for nothing. When requests
// wait, the platforms take turns (one request each, in the order they
// first waited; a request that does not fit yet holds up the turns behind
// it, so that a large one is not passed for ever by small ones), so one
// platform's many large requests delay another's by at most one request
// per platform waiting ahead of it.
//
// A request waits with its context, at most budgetWait, then is answered
// -1 as for the body budget: the server protecting itself.

// heavyBody is the body size past which a request takes a turn: a JSON
// body of 16 KiB costs about half a millisecond to decode and check, and
// nearly every WeChat request is under 4 KiB.
const heavyBody = 16 << 10

// heavyBytes is how many bytes of large work are handled at once: 256
// KiB for every two processors (a 60 KB commit takes 1–3 ms of one), as
// many as the server starts with (a later change of GOMAXPROCS leaves it).
func heavyBytes() int64 { return 256 << 10 * int64(max(1, runtime.GOMAXPROCS(0)/2)) }

// takeTurn makes c's work, of cost (a body's bytes, imageCost),
// wait for its turn as its platform's (the endpoints without a token all
// count as one platform) when cost is over heavyBody. c holds the turn
// until its answer is ready (runWeChat's endTurn; an image's handler
// gives it back before it writes the image, which a slow client may take
// long to read), through its wait for the store's writer too: that bounds
// what one platform's large writes make everyone's wait for the writer
// (docs/performance.md, "One tenant's large requests"). A modelled build
// time gives it back (miniship.EndTurn). A request that holds a smaller
// turn gives it back before it waits for the larger, so that it never
// waits holding one.
func (s *Server) takeTurn(c *call, cost int64) error { return s.takeTurnWithin(c, cost, true) }

// takeCountedTurn is takeTurn for work whose request has already counted
// what it asks for (a code against its quotas): once counted it is drawn,
// so it waits for its turn for as long as its client does, never -1. Its
// checks all came first, so that a bad or refused request gets its own
// errcode whatever the load.
func (s *Server) takeCountedTurn(c *call, cost int64) error { return s.takeTurnWithin(c, cost, false) }

func (s *Server) takeTurnWithin(c *call, cost int64, bounded bool) error {
	cost = min(cost, s.turns.capacity)
	if cost <= heavyBody || cost <= c.turnCost {
		return nil
	}
	c.endTurn()
	tenant := ""
	if c.caller != nil {
		tenant = c.caller.PlatformAppID
	}
	give, err := s.turns.takeWithin(c.ctx, tenant, cost, bounded)
	if err != nil {
		return err
	}
	// The service may give it back early (miniship.EndTurn), and the
	// request does before it writes its answer (endTurn).
	c.turn = sync.OnceFunc(func() {
		give()
		c.turnCost = 0 // held no more: a later takeTurn waits again
	})
	c.turnCost = cost
	c.ctx = miniship.WithTurn(c.ctx, c.turn)
	return nil
}

// imageCost is what rendering a square image of side pixels costs, as
// turns count: its RGBA bytes. Drawing and encoding a pixel costs the
// processor about what decoding and checking 3–4 bytes of JSON does (a
// 1280-pixel code 80–120 ms, a 60 KB commit 1–3 ms).
func imageCost(side int) int64 { return 4 * int64(side) * int64(side) }

// endTurn gives back the turn c holds, if any.
func (c *call) endTurn() {
	if c.turn != nil {
		c.turn()
		c.turn, c.turnCost = nil, 0
	}
}

type turns struct {
	capacity int64
	wait     atomic.Int64 // how long a request waits, in nanoseconds; tests shorten it
	waiting  atomic.Int64 // requests waiting now, for the metrics
	taken    atomic.Int64 // requests that took a turn, for the metrics
	refused  atomic.Int64 // requests answered -1 after waiting t.wait

	mu    sync.Mutex
	free  int64
	queue map[string][]*turnWaiter // waiting requests by platform, oldest first
	ring  []string                 // platforms with waiting requests, next first
}

type turnWaiter struct {
	n       int64
	ready   chan struct{} // closed when granted
	granted bool          // under mu
}

func newTurns(capacity int64) *turns {
	t := &turns{capacity: capacity, free: capacity, queue: map[string][]*turnWaiter{}}
	t.wait.Store(int64(budgetWait))
	return t
}

// take waits until tenant's request of n bytes may be handled and returns
// its release; it returns ctx's error when the client went, or -1 after
// t.wait.
func (t *turns) take(ctx context.Context, tenant string, n int64) (release func(), err error) {
	return t.takeWithin(ctx, tenant, n, true)
}

// takeWithin is take; unbounded, it waits for as long as ctx lasts.
func (t *turns) takeWithin(ctx context.Context, tenant string, n int64, bounded bool) (release func(), err error) {
	n = min(n, t.capacity)
	give := func() { t.give(n) }
	t.taken.Add(1)
	t.mu.Lock()
	if len(t.ring) == 0 && t.free >= n {
		t.free -= n
		t.mu.Unlock()
		return give, nil
	}
	w := &turnWaiter{n: n, ready: make(chan struct{})}
	if len(t.queue[tenant]) == 0 {
		t.ring = append(t.ring, tenant)
	}
	t.queue[tenant] = append(t.queue[tenant], w)
	t.mu.Unlock()
	t.waiting.Add(1)
	defer t.waiting.Add(-1)

	var expired <-chan time.Time // nil: never
	if bounded {
		timer := time.NewTimer(time.Duration(t.wait.Load()))
		defer timer.Stop()
		expired = timer.C
	}
	var done <-chan struct{}
	select {
	case <-w.ready:
		return give, nil
	case <-ctx.Done():
		done = ctx.Done()
	case <-expired:
	}
	t.mu.Lock()
	if w.granted { // granted as the wait ended
		t.mu.Unlock()
		if done == nil {
			return give, nil // the wait ran out as the turn came: take it
		}
		give() // the client went: hand its bytes on
		return nil, ctx.Err()
	}
	t.remove(tenant, w)
	t.grant() // it may have held up the turns behind it
	t.mu.Unlock()
	if done != nil || ctx.Err() != nil {
		return nil, ctx.Err()
	}
	t.refused.Add(1)
	return nil, busy{wxerr.New(wxerr.SystemError, "system busy: large requests fill the server's processors; retry later")}
}

// give returns n bytes and grants the turns they make room for.
func (t *turns) give(n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.free += n
	t.grant()
}

// grant serves the waiting requests in turn while the next one fits: a
// platform's oldest, then the platform goes to the back of the ring if it
// has more. Under mu.
func (t *turns) grant() {
	for len(t.ring) > 0 {
		tenant := t.ring[0]
		q := t.queue[tenant]
		w := q[0]
		if w.n > t.free {
			return
		}
		t.free -= w.n
		t.ring = t.ring[1:]
		if len(q) == 1 {
			delete(t.queue, tenant)
		} else {
			t.queue[tenant] = q[1:]
			t.ring = append(t.ring, tenant)
		}
		w.granted = true
		close(w.ready)
	}
}

// remove takes a waiter that gave up out of its platform's queue. Under mu.
func (t *turns) remove(tenant string, w *turnWaiter) {
	q := t.queue[tenant]
	for i, x := range q {
		if x == w {
			q = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	if len(q) > 0 {
		t.queue[tenant] = q
		return
	}
	delete(t.queue, tenant)
	for i, x := range t.ring {
		if x == tenant {
			t.ring = append(t.ring[:i:i], t.ring[i+1:]...)
			break
		}
	}
}
