package httpapi

import (
	"context"
	"errors"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/wxerr"
)

// waiting reports how many requests of tenant hold or wait for bytes.
func (b *bodyBudget) waiting(tenant string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.tenants[tenant]; t != nil {
		return t.refs
	}
	return 0
}

// untilWaiting blocks until n requests of tenant hold or wait: a state,
// not a time, so the test's outcome never depends on the scheduler.
func untilWaiting(t *testing.T, b *bodyBudget, tenant string, n int) {
	t.Helper()
	for b.waiting(tenant) != n {
		time.Sleep(100 * time.Microsecond)
	}
}

func mustAcquire(t *testing.T, b *bodyBudget, tenant string, n int64) func() {
	t.Helper()
	g, err := b.acquire(context.Background(), tenant, n)
	if err != nil {
		t.Fatalf("%s, %d bytes: %v", tenant, n, err)
	}
	return g.release
}

// TestBodyBudgetShare: a platform that holds its share waits for its own
// requests, and is refused -1 once the wait runs out, while another
// platform still gets its bytes at once; a waiting request goes on as
// soon as its platform's bytes come back.
func TestBodyBudgetShare(t *testing.T) {
	b := newBodyBudget(4 * MinBodyMemory)
	if b.share != MinBodyMemory {
		t.Fatalf("share %d, want %d", b.share, MinBodyMemory)
	}
	a1 := mustAcquire(t, b, "A", b.share)
	b.wait.Store(int64(time.Millisecond))
	_, err := b.acquire(context.Background(), "A", 1)
	if !errors.As(err, new(busy)) || wxerr.CodeOf(err) != wxerr.SystemError {
		t.Fatalf("A over its share: %v, want -1 (busy)", err)
	}
	mustAcquire(t, b, "B", b.share)() // B is not held up by A

	b.wait.Store(int64(time.Hour))
	got := make(chan error, 1)
	go func() {
		g, err := b.acquire(context.Background(), "A", 1)
		if err == nil {
			g.release()
		}
		got <- err
	}()
	untilWaiting(t, b, "A", 2)
	a1()
	if err := <-got; err != nil {
		t.Fatalf("A after its bytes came back: %v", err)
	}
	if n := len(b.tenants); n != 0 || b.held.Load() != 0 {
		t.Fatalf("after every release: %d tenants, %d bytes held", n, b.held.Load())
	}
}

// TestBodyBudgetTotal: when the platforms' shares fill the whole budget, a
// fifth platform waits for any of them; a request whose client goes while
// it waits gets its context's error, not -1, and leaves nothing behind.
func TestBodyBudgetTotal(t *testing.T) {
	b := newBodyBudget(4 * MinBodyMemory)
	var releases []func()
	for _, p := range []string{"A", "B", "C", "D"} {
		releases = append(releases, mustAcquire(t, b, p, b.share))
	}
	b.wait.Store(int64(time.Millisecond))
	if _, err := b.acquire(context.Background(), "E", 1); !errors.As(err, new(busy)) {
		t.Fatalf("E with the budget full: %v, want -1 (busy)", err)
	}
	b.wait.Store(int64(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() { _, err := b.acquire(ctx, "E", 1); gone <- err }()
	untilWaiting(t, b, "E", 1)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("E whose client went: %v, want context.Canceled", err)
	}
	got := make(chan error, 1)
	go func() {
		g, err := b.acquire(context.Background(), "E", MinBodyMemory)
		if err == nil {
			g.release()
		}
		got <- err
	}()
	untilWaiting(t, b, "E", 1)
	releases[2]()
	if err := <-got; err != nil {
		t.Fatalf("E once C's bytes came back: %v", err)
	}
	for i, r := range releases {
		if i != 2 {
			r()
		}
	}
	if n := len(b.tenants); n != 0 || b.held.Load() != 0 {
		t.Fatalf("after every release: %d tenants, %d bytes held", n, b.held.Load())
	}
}

// TestBodyBudgetConcurrent: many platforms' requests acquire and release
// at once (run with -race); no more than the budget, nor than a share per
// platform, is ever held, and nothing is left behind.
func TestBodyBudgetConcurrent(t *testing.T) {
	b := newBodyBudget(4 * MinBodyMemory)
	var mu sync.Mutex
	var held [8]int64
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			p := w % 8
			for i := range 50 {
				n := int64(1+(w*7+i*13)%4) * MinBodyMemory / 4
				g, err := b.acquire(context.Background(), string(rune('A'+p)), n)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				held[p] += n
				var total int64
				for _, h := range held {
					total += h
				}
				if held[p] > b.share || total > 4*MinBodyMemory {
					t.Errorf("held %d by platform %c, %d in all", held[p], 'A'+p, total)
				}
				mu.Unlock()
				runtime.Gosched()
				mu.Lock()
				held[p] -= n
				mu.Unlock()
				g.release()
			}
		})
	}
	wg.Wait()
	if n := len(b.tenants); n != 0 || b.held.Load() != 0 {
		t.Fatalf("after every release: %d tenants, %d bytes held", n, b.held.Load())
	}
}

// TestRequestMarked: a request's context reaches the handler (and so the
// store) marked with its platform and its body's bytes, which the store's
// writer takes turns by; a body read before any token is nobody's.
func TestRequestMarked(t *testing.T) {
	srv, _, at := demoServer(t)
	type mark struct {
		id    string
		bytes int64
	}
	var got mark
	seen := func(c *call) (any, error) {
		got.id, got.bytes = miniship.TenantOf(c.ctx)
		return nil, nil
	}
	srv.wechat["/test/marked"] = route{methods: both, token: miniship.AuthorizerToken, h: seen}
	srv.wechat["/test/anonymous"] = route{methods: post, h: seen}
	for _, c := range []struct {
		method, target, body string
		want                 mark
	}{
		{"POST", "/test/marked?access_token=" + at, `{"k":"v"}`, mark{demo.PlatformAppID, 9}},
		{"GET", "/test/marked?access_token=" + at, "", mark{demo.PlatformAppID, 0}},
		{"POST", "/test/anonymous", `{}`, mark{"", 2}},
	} {
		got = mark{}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(c.method, c.target, strings.NewReader(c.body)))
		if !strings.Contains(rec.Body.String(), `"errcode":0`) || got != c.want {
			t.Errorf("%s %s: mark %+v (answer %s), want %+v", c.method, c.target, got, rec.Body.String(), c.want)
		}
	}
}
