package service

import (
	"container/list"
	"sync"
)

// DefaultTemplateCacheBytes bounds the parsed-template cache when
// Config.TemplateCacheBytes is zero.
const DefaultTemplateCacheBytes = 256 << 20

// tplOverhead is counted per cached template on top of its files' bytes:
// the decoded configs and indexes.
const tplOverhead = 4 << 10

// tplCache holds parsed templates, least recently used evicted first,
// bounded by the bytes of their files rather than their number: 64
// templates of 20 MB held 1.9 GB under a count bound. A template bigger
// than the whole bound is parsed for each use and not kept.
type tplCache struct {
	mu    sync.Mutex
	max   int64
	used  int64
	order *list.List // of *tplEntry, most recent first
	byID  map[int64]*list.Element
}

type tplEntry struct {
	id   int64
	ct   *cachedTemplate
	size int64
}

func newTplCache(max int64) *tplCache {
	if max <= 0 {
		max = DefaultTemplateCacheBytes
	}
	return &tplCache{max: max, order: list.New(), byID: map[int64]*list.Element{}}
}

func (c *tplCache) get(id int64) (*cachedTemplate, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*tplEntry).ct, true
}

func (c *tplCache) put(id int64, ct *cachedTemplate) {
	size := ct.tpl.Sizes.Total + tplOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.max {
		return
	}
	if el, ok := c.byID[id]; ok {
		c.used -= el.Value.(*tplEntry).size
		c.order.Remove(el)
		delete(c.byID, id)
	}
	for c.used+size > c.max {
		el := c.order.Back()
		e := el.Value.(*tplEntry)
		c.used -= e.size
		c.order.Remove(el)
		delete(c.byID, e.id)
	}
	c.byID[id] = c.order.PushFront(&tplEntry{id: id, ct: ct, size: size})
	c.used += size
}

// bytes is what the cache holds now, for tests and metrics.
func (c *tplCache) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}
