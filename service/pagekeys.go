package service

import (
	"sync"
	"time"
)

// pageKeys remembers where api_get_authorizer_list's pages ended, so that
// a client walking the list (offset 0, 500, 1000, …) gets each next page by
// a seek to the key the previous one ended with rather than by skipping
// the offset in the index, which costs in proportion to the offset (23 ms
// at 100,000). An entry holds for the order's revision it was made under
// (CountAuthorizationsRev): while the revision stays, the grant at each
// offset stays, whichever instance made the entry. A miss is only the
// offset scan again.
type pageKeys struct {
	mu sync.Mutex
	m  map[pageAt]pageKey
}

type pageAt struct {
	platform string
	rev      int64
	offset   int
}

// pageKey is the last grant before the offset, in list order.
type pageKey struct {
	created time.Time
	appid   string
}

// maxPageKeys bounds the memory: past it the map starts again (walks in
// progress then take one offset scan each).
const maxPageKeys = 1 << 14

func (k *pageKeys) get(at pageAt) (pageKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[at]
	return v, ok
}

func (k *pageKeys) put(at pageAt, v pageKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) >= maxPageKeys {
		k.m = make(map[pageAt]pageKey)
	}
	k.m[at] = v
}
