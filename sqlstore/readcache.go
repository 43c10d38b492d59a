package sqlstore

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miniship/miniship"
)

// readCache keeps, on PostgreSQL, what the hot reads of Read answer with:
// grants by (platform, mini program), categories by mini program, audits
// by id. It is exact across every server sharing the database, by the
// protocol in cachepeer.go: an entry is dropped when PostgreSQL notifies
// its change, a write that changes one returns only once every live
// server has dropped it (or lost its lease), and a server serves entries
// only while its lease runs and its listener is up.
//
// A read that fills the cache notes the generation before it runs; the
// fill is refused when any invalidation came in between, so a read that
// raced a write never stores what the write replaced.
type readCache struct {
	base time.Time // monotonic origin of until

	// until is when the lease ends, in nanoseconds since base; 0 while the
	// cache is off (no lease, or the listener is down).
	until atomic.Int64

	mu     sync.RWMutex
	gen    uint64 // moves with every invalidation and every start
	on     bool
	grants map[grantKey]*miniship.Authorization
	cats   map[string][]miniship.Category
	audits map[int64]*miniship.Audit
}

type grantKey struct{ platform, authorizer string }

// readCacheEntries bounds each of the cache's maps; past it an arbitrary
// entry makes room, and is read again when next asked for.
const readCacheEntries = 65536

func newReadCache() *readCache {
	c := &readCache{base: time.Now()}
	c.reset()
	return c
}

func (c *readCache) now() int64 { return int64(time.Since(c.base)) }

// live reports whether entries may be served now.
func (c *readCache) live() bool { return c.now() < c.until.Load() }

// reset empties the maps; under mu, or before the cache is shared.
func (c *readCache) reset() {
	c.grants = map[grantKey]*miniship.Authorization{}
	c.cats = map[string][]miniship.Category{}
	c.audits = map[int64]*miniship.Audit{}
}

// start turns the cache on, empty, with a lease until the given time.
func (c *readCache) start(until int64) {
	c.mu.Lock()
	c.reset()
	c.gen++
	c.on = true
	c.until.Store(until)
	c.mu.Unlock()
}

// extend moves the lease's end.
func (c *readCache) extend(until int64) {
	c.mu.Lock()
	if c.on {
		if c.now() >= c.until.Load() {
			// The lease lapsed: writers may have stopped waiting for this
			// server, so nothing kept before may be served again.
			c.reset()
			c.gen++
		}
		c.until.Store(until)
	}
	c.mu.Unlock()
}

// stop turns the cache off and empties it.
func (c *readCache) stop() {
	c.until.Store(0)
	c.mu.Lock()
	c.on = false
	c.gen++
	c.reset()
	c.mu.Unlock()
}

// begin is called before a read that may fill the cache: the generation
// to hand to the fill.
func (c *readCache) begin() (gen uint64, ok bool) {
	c.mu.RLock()
	gen, ok = c.gen, c.on
	c.mu.RUnlock()
	return gen, ok
}

// categories is the cached answer of CategoriesWithGrant.
func (c *readCache) categories(platform, authorizer string) ([]miniship.Category, *miniship.Authorization, bool) {
	if !c.live() {
		return nil, nil, false
	}
	c.mu.RLock()
	g, okG := c.grants[grantKey{platform, authorizer}]
	cats, okC := c.cats[authorizer]
	c.mu.RUnlock()
	if !okG || !okC {
		return nil, nil, false
	}
	gc := *g
	return cats, &gc, true
}

// audit is the cached answer of AuditWithGrant.
func (c *readCache) audit(platform, authorizer string, id int64) (*miniship.Audit, *miniship.Authorization, bool) {
	if !c.live() {
		return nil, nil, false
	}
	c.mu.RLock()
	g, okG := c.grants[grantKey{platform, authorizer}]
	a, okA := c.audits[id]
	c.mu.RUnlock()
	if !okG || !okA || a.AuthorizerAppID != authorizer {
		return nil, nil, false
	}
	ac, gc := *a, *g
	return &ac, &gc, true
}

// fill stores what a read begun at gen found, unless the cache moved on:
// the grant, and the categories (withCats) or the audit (a).
func (c *readCache) fill(gen uint64, g *miniship.Authorization, withCats bool, cats []miniship.Category, a *miniship.Audit) {
	if g == nil {
		return // no grant: the request fails, and nothing is kept
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on || c.gen != gen {
		return
	}
	gc := *g
	put(c.grants, grantKey{g.PlatformAppID, g.AuthorizerAppID}, &gc)
	if withCats {
		put(c.cats, g.AuthorizerAppID, cats)
	}
	if a != nil {
		ac := *a
		put(c.audits, a.ID, &ac)
	}
}

// put sets m[k], making room first when m is full.
func put[K comparable, V any](m map[K]V, k K, v V) {
	if _, ok := m[k]; !ok && len(m) >= readCacheEntries {
		for old := range m {
			delete(m, old)
			break
		}
	}
	m[k] = v
}

// invalidate drops what a notification names (cachepeer.go's payloads:
// "g <platform> <authorizer>", "c <authorizer>", "a <id>"); one it cannot
// read empties the cache.
func (c *readCache) invalidate(payload string) {
	kind, rest, _ := strings.Cut(payload, " ")
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	switch kind {
	case "g":
		if p, a, ok := strings.Cut(rest, " "); ok && !strings.Contains(a, " ") {
			delete(c.grants, grantKey{p, a})
			return
		}
	case "c":
		if !strings.Contains(rest, " ") {
			delete(c.cats, rest)
			return
		}
	case "a":
		if id, err := strconv.ParseInt(rest, 10, 64); err == nil {
			delete(c.audits, id)
			return
		}
	}
	c.reset()
}
