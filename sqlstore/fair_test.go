package sqlstore

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miniship/miniship"
)

// TestFairPick: the batches a queue makes, by its requests' tenants and
// sizes alone.
func TestFairPick(t *testing.T) {
	type req struct {
		tenant string
		size   int
	}
	reqs := func(tenant string, n, size int) []req { return slices.Repeat([]req{{tenant, size}}, n) }
	const mb = 1 << 20
	cases := []struct {
		name  string
		queue []req
		want  []int
	}{
		{"a lone request", reqs("A", 1, 10), []int{0}},
		{"one tenant: the first maxBatch, in order", reqs("A", 40, 10), slices.Collect(func(yield func(int) bool) {
			for i := range maxBatch {
				yield(i)
			}
		})},
		{"one tenant: up to maxBatchBytes", reqs("A", 12, 100<<10), []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"a victim behind a burst of large requests goes next",
			append(reqs("A", 16, mb-1000), req{"V", 200}), []int{0, 16}},
		{"a head past the bound goes alone", []req{{"A", 2 * mb}, {"B", 10}}, []int{0}},
		{"turns, then what fits, each tenant in its order",
			[]req{{"A", 400 << 10}, {"A", 400 << 10}, {"A", 400 << 10}, {"B", 100}, {"C", 400 << 10}, {"B", 100}},
			// round 0: A's head, B, C; round 1: A's second is past
			// the bound, so A gives no more; B's second fits.
			[]int{0, 3, 4, 5}},
		{"every tenant's oldest before anyone's second",
			[]req{{"A", 1}, {"A", 1}, {"A", 1}, {"B", 1}, {"B", 1}, {"C", 1}},
			[]int{0, 1, 2, 3, 4, 5}},
		{"many tenants: maxBatch of their oldest", func() []req {
			var q []req
			for i := range 40 {
				q = append(q, req{fmt.Sprint("T", i), 1}, req{fmt.Sprint("T", i), 1})
			}
			return q
		}(), slices.Collect(func(yield func(int) bool) {
			for i := range maxBatch {
				yield(2 * i)
			}
		})},
		{"unmarked requests are one tenant's", append(reqs("", 3, 0), req{"V", 1}), []int{0, 1, 2, 3}},
		{"a request beyond the window waits", append(reqs("A", fairWindow, mb-1000), req{"V", 1}), []int{0}},
		{"a request inside the window does not", append(reqs("A", fairWindow-1, mb-1000), req{"V", 1}), []int{0, fairWindow - 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := c.queue
			got := fairPick(len(q), func(i int) string { return q[i].tenant }, func(i int) int { return q[i].size })
			equal(t, got, c.want)
		})
	}
}

// TestTakePicked: the picked requests leave the queue in their order, the
// rest stay in theirs, and the queue's array keeps nothing handed on.
func TestTakePicked(t *testing.T) {
	a, b, c, d := new(int), new(int), new(int), new(int)
	q := []*int{a, b, c, d}
	batch, rest := takePicked(q, []int{0, 2})
	equal(t, batch, []*int{a, c})
	equal(t, rest, []*int{b, d})
	equal(t, q[2:], []*int{nil, nil})
	batch, rest = takePicked(rest, []int{0, 1})
	equal(t, batch, []*int{b, d})
	if rest != nil {
		t.Fatalf("rest %v, want nil", rest)
	}
}

// TestBatchFair: behind a held writer, one platform queues eight writes of
// 600 KB each, then another platform one small write, then a write of
// nobody's: the small ones run in the first batch with the oldest large
// one, and each other large one in a batch of its own, in their order.
func TestBatchFair(t *testing.T) {
	s := openSQLiteT(t)
	release := holdWriter(t, s)
	before := s.batch.txs.Load()
	var mu sync.Mutex
	batchOf := map[string]int64{}
	write := func(ctx context.Context, name string) {
		err := s.Update(ctx, func(tx miniship.Tx) error {
			mu.Lock()
			batchOf[name] = s.batch.txs.Load() - before
			mu.Unlock()
			return tx.CreatePlatform(&miniship.Platform{AppID: name})
		})
		if err != nil {
			t.Error(name, err)
		}
	}
	var wg sync.WaitGroup
	queue := func(ctx context.Context, name string) {
		s.batch.mu.Lock()
		n := len(s.batch.queue)
		s.batch.mu.Unlock()
		wg.Go(func() { write(ctx, name) })
		waitQueued(s, n+1)
	}
	for i := range 8 {
		queue(miniship.WithTenant(t.Context(), "wxattacker", 600<<10), fmt.Sprint("A", i))
	}
	queue(miniship.WithTenant(t.Context(), "wxvictim", 200), "V")
	queue(t.Context(), "X")
	ok(t, release())
	wg.Wait()
	want := map[string]int64{"V": 1, "X": 1}
	for i := range 8 {
		want[fmt.Sprint("A", i)] = int64(i + 1)
	}
	equal(t, batchOf, want)
}

// TestGroupFair: PostgreSQL's shared statements take tenants in turns as
// the group commit does: a request of another tenant queued behind a
// burst of large ones joins the first batch.
func TestGroupFair(t *testing.T) {
	var rec recorder
	g := rec.group(func(v int) int { return v % 1000 * 1000 })
	g.tenant = func(v int) string { return fmt.Sprint(v / 1000) }
	g.running = g.flight // a batch runs
	// Tenant 1's requests of 600,000 bytes, then tenant 2's of 1,000.
	done := queueAll(g, background(5), 1600, 1601, 1602, 2001, 1603)
	g.handOn()
	for range 5 {
		if !<-done {
			t.Fatal("a queued request did not run")
		}
	}
	equal(t, rec.batches, [][]int{{1600, 2001}, {1601}, {1602}, {1603}})
}

// testFairCommits: on either backend, a platform's small commit queued
// behind another platform's large ones is stored before the second of
// them (ids are drawn in the order commits are stored), and the large ones
// in the order they came.
func testFairCommits(t *testing.T, st miniship.Store) {
	s := st.(*Store)
	victim := fairSetup(t, s, "wxvictim", "wxvictimapp")[0]
	attacker := fairSetup(t, s, "wxattacker", "wxattackerapp")[0]
	big := `{"ext":{"pad":"` + strings.Repeat("a", 600<<10) + `"}}`
	queued := func() int {
		if s.combine != nil {
			s.combine.mu.Lock()
			defer s.combine.mu.Unlock()
			return len(s.combine.queue)
		}
		s.batch.mu.Lock()
		defer s.batch.mu.Unlock()
		return len(s.batch.queue)
	}
	var release func()
	if s.combine != nil {
		r, _ := holdGroup(&s.combine.group, 5)
		var none atomic.Int32
		release = func() { r(&none) }
	} else {
		r := holdWriter(t, s)
		release = func() { ok(t, r()) }
	}
	vs := make([]*miniship.Version, 5)
	var wg sync.WaitGroup
	for i, f := range []fairCommitter{attacker, attacker, attacker, attacker, victim} {
		ext := big
		if i == 4 {
			ext = `{"ext":{}}`
		}
		n := queued()
		wg.Go(func() { vs[i], _ = f.commitV(t, s, ext) })
		for queued() <= n {
			runtime.Gosched()
		}
	}
	release()
	wg.Wait()
	ids := make([]int64, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	if !slices.IsSorted(ids[:4]) || ids[4] > ids[1] {
		t.Fatalf("ids %v: want the attacker's four in order and the victim's (last) before the attacker's second", ids)
	}
}
