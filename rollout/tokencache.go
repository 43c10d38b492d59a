package rollout

import (
	"container/list"
	"sync"

	"github.com/miniship/miniship/wxa"
)

// tokenCache keeps the authorizer tokens last used, so the calls of the
// apps being worked on do not each read the state file; bounded, since the
// fleet is not. The file is the truth: only this process writes it (it
// holds the exclusive lock), and every write goes through the cache too.
type tokenCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used
	byKey map[string]*list.Element
}

type cached struct {
	key string
	tok wxa.Token
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *tokenCache) get(key string) (wxa.Token, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return wxa.Token{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cached).tok, true
}

func (c *tokenCache) put(key string, tok wxa.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		el.Value.(*cached).tok = tok
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&cached{key, tok})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*cached).key)
	}
}

func (c *tokenCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.order.Remove(el)
		delete(c.byKey, key)
	}
}
