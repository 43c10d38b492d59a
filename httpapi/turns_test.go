package httpapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship/wxerr"
)

// untilTurnWaiting blocks until n requests wait for a turn: a state, not a
// time, so that the order requests queue in is the test's own.
func untilTurnWaiting(t *testing.T, tr *turns, n int64) {
	t.Helper()
	for tr.waiting.Load() != n {
		time.Sleep(100 * time.Microsecond)
	}
}

// idle reports whether all the room is free and nobody waits.
func (t *turns) idle() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.free != t.capacity || len(t.ring) != 0 || len(t.queue) != 0 {
		return fmt.Errorf("free %d of %d, ring %v, %d platforms queued", t.free, t.capacity, t.ring, len(t.queue))
	}
	return nil
}

// mustTake takes n bytes for tenant, failing the test on an error.
func mustTake(t *testing.T, tr *turns, tenant string, n int64) func() {
	t.Helper()
	give, err := tr.take(context.Background(), tenant, n)
	if err != nil {
		t.Fatalf("%s, %d bytes: %v", tenant, n, err)
	}
	return give
}

// TestTurnsOrder: with the one slot taken, requests queued by three
// platforms get it one platform at a time, each platform's in its order,
// whatever order they queued in.
func TestTurnsOrder(t *testing.T) {
	tr := newTurns(1)
	hold := mustTake(t, tr, "H", 1)
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for i, name := range []string{"A1", "A2", "A3", "B1", "C1", "B2"} {
		wg.Go(func() {
			give, err := tr.take(context.Background(), name[:1], 1)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, name)
			mu.Unlock()
			give()
		})
		untilTurnWaiting(t, tr, int64(i+1))
	}
	hold()
	wg.Wait()
	if want := []string{"A1", "B1", "C1", "A2", "B2", "A3"}; !slices.Equal(got, want) {
		t.Fatalf("turns went %v, want %v", got, want)
	}
	if err := tr.idle(); err != nil {
		t.Fatal(err)
	}
}

// TestTurnsGiveUp: a request whose wait runs out is answered -1, one whose
// client went gets its context's error, and neither keeps a place: the
// slot, once given back, is free, and the next platform's request is
// served in turn.
func TestTurnsGiveUp(t *testing.T) {
	tr := newTurns(1)
	hold := mustTake(t, tr, "H", 1)
	tr.wait.Store(int64(time.Millisecond))
	_, err := tr.take(context.Background(), "A", 1)
	if !errors.As(err, new(busy)) || wxerr.CodeOf(err) != wxerr.SystemError {
		t.Fatalf("wait ran out: %v, want -1 (busy)", err)
	}
	if tr.refused.Load() != 1 {
		t.Fatalf("refused %d, want 1", tr.refused.Load())
	}
	tr.wait.Store(int64(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, err := tr.take(ctx, "A", 1)
		gone <- err
	}()
	untilTurnWaiting(t, tr, 1)
	served := make(chan struct{})
	go func() {
		give, err := tr.take(context.Background(), "B", 1)
		if err != nil {
			t.Error(err)
			close(served)
			return
		}
		give()
		close(served)
	}()
	untilTurnWaiting(t, tr, 2)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("client went: %v, want context.Canceled", err)
	}
	hold()
	<-served
	if err := tr.idle(); err != nil {
		t.Fatal(err)
	}
}

// TestTurnsBytes: a request takes its body's bytes, at most all of them;
// the next platform's request that does not fit yet holds up the turns
// behind it, even one that would fit, until bytes come back; and a request
// that gave up at the head of the ring lets the ones behind it through.
func TestTurnsBytes(t *testing.T) {
	tr := newTurns(4)
	hold := mustTake(t, tr, "H", 40) // past the capacity: takes all of it
	var mu sync.Mutex
	var got []string
	gives := map[string]func(){}
	var wg sync.WaitGroup
	for i, w := range []struct {
		name string
		n    int64
	}{{"A", 3}, {"B", 2}, {"C", 1}} {
		wg.Go(func() {
			give, err := tr.take(context.Background(), w.name, w.n)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, w.name)
			gives[w.name] = give
			mu.Unlock()
		})
		untilTurnWaiting(t, tr, int64(i+1))
	}
	served := func(want ...string) {
		t.Helper()
		untilTurnWaiting(t, tr, int64(3-len(want)))
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(slices.Sorted(slices.Values(got)), want) { // B and C are served together
			t.Fatalf("served %v, want %v", got, want)
		}
	}
	hold()
	served("A") // B's 2 do not fit in the 1 left, and C waits behind B
	mu.Lock()
	giveA := gives["A"]
	mu.Unlock()
	giveA()
	served("A", "B", "C")
	wg.Wait()
	gives["B"]()
	gives["C"]()
	if err := tr.idle(); err != nil {
		t.Fatal(err)
	}

	hold = mustTake(t, tr, "H", 3)
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, err := tr.take(ctx, "A", 2)
		gone <- err
	}()
	untilTurnWaiting(t, tr, 1)
	next := make(chan func(), 1)
	go func() { next <- mustTake(t, tr, "B", 1) }() // fits, but queues behind A
	untilTurnWaiting(t, tr, 2)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("client went: %v, want context.Canceled", err)
	}
	(<-next)()
	hold()
	if err := tr.idle(); err != nil {
		t.Fatal(err)
	}
}

// TestTurnsConcurrent: many platforms' requests of different sizes, some
// giving up, never hold more bytes than there are, and leave all of them
// free at the end.
//
//	go test ./httpapi -race -count=20 -run TestTurns
func TestTurnsConcurrent(t *testing.T) {
	const capacity = 8
	tr := newTurns(capacity)
	var inUse, most atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 200 {
				ctx, cancel := context.WithCancel(context.Background())
				if i%7 == 0 {
					cancel() // a client that went: it may or may not get a slot
				}
				size := int64(1 + (w+i)%10) // 9 and 10 are past the capacity
				give, err := tr.take(ctx, fmt.Sprint("P", w%5), size)
				cancel()
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						t.Error(err)
					}
					continue
				}
				size = min(size, capacity)
				n := inUse.Add(size)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				inUse.Add(-size)
				give()
			}
		})
	}
	wg.Wait()
	if most.Load() > capacity {
		t.Fatalf("requests held %d bytes at once, want at most %d", most.Load(), capacity)
	}
	if err := tr.idle(); err != nil {
		t.Fatal(err)
	}
}

// TestTurnsGrantedAsCancelled: a request granted its turn just as its
// client went gives the turn back; one granted just as its wait ran out
// keeps it; neither counts as refused. (The sleep, under the lock the
// waiter needs, lets its client's end or its timer come first; had the
// grant come first, the outcome would be the same.)
func TestTurnsGrantedAsCancelled(t *testing.T) {
	for _, cancelled := range []bool{true, false} {
		tr := newTurns(1)
		mustTake(t, tr, "H", 1) // given back below, by hand, under the lock
		if !cancelled {
			tr.wait.Store(int64(20 * time.Millisecond))
		}
		ctx, cancel := context.WithCancel(context.Background())
		type result struct {
			give func()
			err  error
		}
		got := make(chan result, 1)
		go func() {
			give, err := tr.take(ctx, "A", 1)
			got <- result{give, err}
		}()
		untilTurnWaiting(t, tr, 1)
		tr.mu.Lock()
		if cancelled {
			cancel()
		}
		time.Sleep(40 * time.Millisecond)
		tr.free++ // H's bytes back, as its give would
		tr.grant()
		tr.mu.Unlock()
		r := <-got
		switch {
		case !cancelled && r.err != nil:
			t.Fatalf("granted as its wait ran out: %v, want the turn", r.err)
		case cancelled && r.err != nil && !errors.Is(r.err, context.Canceled):
			t.Fatalf("cancelled: %v", r.err)
		}
		if r.err == nil {
			r.give()
		}
		cancel()
		if err := tr.idle(); err != nil {
			t.Fatalf("cancelled %v: %v", cancelled, err)
		}
		if n := tr.refused.Load(); n != 0 {
			t.Fatalf("cancelled %v: %d refused, want 0", cancelled, n)
		}
	}
}
