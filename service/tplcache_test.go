package service

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/miniship/miniship/template"
)

// parsed returns a template whose files take about n bytes.
func parsed(t *testing.T, n int) *cachedTemplate {
	t.Helper()
	tpl, err := template.New(map[string][]byte{
		"app.json": []byte(`{"pages":["index"]}`), "index.js": []byte("Page({})"),
		"big.bin": []byte(strings.Repeat("x", n)),
	}, template.Limits{PackageBytes: 64 << 20, TotalBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return &cachedTemplate{tpl: tpl}
}

// The cache is bounded by bytes, evicts the least recently used, and keeps
// no template bigger than its whole bound.
func TestTemplateCacheBoundedByBytes(t *testing.T) {
	const mb = 1 << 20
	c := newTplCache(10 * mb)
	for id := range int64(64) { // 64 templates of 2 MB: a count bound of 64 would hold 128 MB
		c.put(id, parsed(t, 2*mb))
		if c.bytes() > 10*mb {
			t.Fatalf("after %d puts the cache holds %d bytes, bound %d", id+1, c.bytes(), 10*mb)
		}
	}
	if _, ok := c.get(63); !ok {
		t.Fatal("the latest template was evicted")
	}
	if _, ok := c.get(0); ok {
		t.Fatal("the oldest template is still cached")
	}
	// Four fit (60 to 63). Using 60 makes 61 the least recently used: the
	// next put evicts it.
	if _, ok := c.get(60); !ok {
		t.Fatal("template 60 should be cached")
	}
	c.put(100, parsed(t, 2*mb))
	if _, ok := c.get(61); ok {
		t.Fatal("the least recently used template survived")
	}
	if _, ok := c.get(60); !ok {
		t.Fatal("a recently used template was evicted")
	}
	c.put(200, parsed(t, 11*mb))
	if _, ok := c.get(200); ok || c.bytes() > 10*mb {
		t.Fatalf("a template over the bound was cached (%d bytes held)", c.bytes())
	}
}

// The derived-answer cache stays within its bound under concurrent reads
// and writes, and what a get returns is what was put for that id.
func TestDerivedCacheConcurrent(t *testing.T) {
	c := derivedCache{newLRU[*derivedVersion](16 << 10)}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				id := int64(g*1000 + i%50)
				want := fmt.Sprintf(`{"id":%d}`, id)
				c.put(id, &derivedVersion{ext: json.RawMessage(want), pageList: []string{"index"}})
				if d, ok := c.get(id); ok && string(d.ext) != want {
					t.Errorf("id %d: got %s", id, d.ext)
				}
				if c.bytes() > 16<<10 {
					t.Errorf("cache holds %d bytes", c.bytes())
				}
			}
		})
	}
	wg.Wait()
}
