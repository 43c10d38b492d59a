package service

import (
	"container/list"
	"encoding/json"
	"sync"

	"github.com/miniship/miniship"
)

// DefaultTemplateCacheBytes bounds the parsed-template cache when
// Config.TemplateCacheBytes is zero.
const DefaultTemplateCacheBytes = 256 << 20

// tplOverhead is counted per cached template on top of its files' bytes:
// the decoded configs and indexes.
const tplOverhead = 4 << 10

// lru holds values by id, least recently used evicted first, bounded by
// the bytes of its values rather than their number: 64 templates of 20 MB
// held 1.9 GB under a count bound. A value bigger than the whole bound is
// not kept.
type lru[V any] struct {
	mu    sync.Mutex
	max   int64
	used  int64
	order *list.List // of *lruEntry[V], most recent first
	byID  map[int64]*list.Element
}

type lruEntry[V any] struct {
	id   int64
	v    V
	size int64
}

func newLRU[V any](max int64) *lru[V] {
	return &lru[V]{max: max, order: list.New(), byID: map[int64]*list.Element{}}
}

func (c *lru[V]) get(id int64) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry[V]).v, true
}

func (c *lru[V]) putSized(id int64, v V, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.max {
		return
	}
	if el, ok := c.byID[id]; ok {
		c.used -= el.Value.(*lruEntry[V]).size
		c.order.Remove(el)
		delete(c.byID, id)
	}
	for c.used+size > c.max {
		el := c.order.Back()
		e := el.Value.(*lruEntry[V])
		c.used -= e.size
		c.order.Remove(el)
		delete(c.byID, e.id)
	}
	c.byID[id] = c.order.PushFront(&lruEntry[V]{id: id, v: v, size: size})
	c.used += size
}

// bytes is what the cache holds now, for tests and metrics.
func (c *lru[V]) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// tplCache holds parsed templates by template id. A template bigger than
// the whole bound is parsed for each use and not kept.
type tplCache struct{ *lru[*cachedTemplate] }

func newTplCache(max int64) tplCache {
	if max <= 0 {
		max = DefaultTemplateCacheBytes
	}
	return tplCache{newLRU[*cachedTemplate](max)}
}

func (c tplCache) put(id int64, ct *cachedTemplate) {
	c.putSized(id, ct, ct.tpl.Sizes.Total+tplOverhead)
}

// derivedCacheBytes bounds the cache of derived version answers: about
// 2,000 versions of a 200-page template with a 17 KB ext, far more of the
// demo's.
const derivedCacheBytes = 64 << 20

// derivedVersion is what derive adds to a version.
type derivedVersion struct {
	ext                      json.RawMessage
	pageList, used, declared []string
}

func derivedOf(v *miniship.Version) *derivedVersion {
	return &derivedVersion{v.Ext, v.PageList, v.UsedPrivacyAPIs, v.DeclaredPrivacyAPIs}
}

// fill sets the derived fields of v. The slices are shared: callers only
// read them.
func (d *derivedVersion) fill(v *miniship.Version) {
	v.Ext, v.PageList, v.UsedPrivacyAPIs, v.DeclaredPrivacyAPIs = d.ext, d.pageList, d.used, d.declared
}

// derivedCache holds derived version answers by version id.
type derivedCache struct{ *lru[*derivedVersion] }

func (c derivedCache) put(id int64, d *derivedVersion) {
	size := int64(len(d.ext)) + 128
	for _, l := range [][]string{d.pageList, d.used, d.declared} {
		for _, s := range l {
			size += int64(len(s)) + 16
		}
	}
	c.putSized(id, d, size)
}
