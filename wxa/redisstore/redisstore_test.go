package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxa/internal/fixture"
	"github.com/miniship/miniship/wxa/redisstore"
	"github.com/miniship/miniship/wxa/storetest"
)

// newStore connects to MINISHIP_TEST_REDIS (default 127.0.0.1:6379, which
// CI runs) under a random key prefix that is removed afterwards.
func newStore(t *testing.T) *redisstore.Store {
	t.Helper()
	addr := os.Getenv("MINISHIP_TEST_REDIS")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Skipf("Redis at %s is unreachable (%v): start one or set MINISHIP_TEST_REDIS", addr, err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "wxatest:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	return redisstore.New(rdb, prefix)
}

func TestContract(t *testing.T) { storetest.Run(t, newStore(t)) }

// TestLockExpires: a holder that died frees the lock after its ttl.
func TestLockExpires(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.Lock(ctx, "lock:dead", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	unlock, err := s.Lock(ctx, "lock:dead", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Fatalf("took the abandoned lock after %v", d)
	}
}

// TestSharedTokens: two clients ("processes") on one Redis share the
// component and authorizer tokens; the second fetches nothing.
func TestSharedTokens(t *testing.T) {
	store := newStore(t)
	share := func(_ *fixture.Env, o *wxa.Options) { o.Store = store }
	e, a, callsA := fixture.Setup(t, mstest.Options{}, share)
	b, callsB := e.Client(t, share)
	ctx := context.Background()

	if _, err := a.App(e.AppID).Categories(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.App(e.AppID).Categories(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.TemplateList(ctx, wxa.AllTemplates); err != nil {
		t.Fatal(err)
	}
	if n, m := callsA.N("/cgi-bin/component/api_component_token"), callsA.N("/cgi-bin/component/api_authorizer_token"); n != 1 || m != 1 {
		t.Fatalf("first client fetched %d component and %d authorizer tokens, want 1 each", n, m)
	}
	if n, m := callsB.N("/cgi-bin/component/api_component_token"), callsB.N("/cgi-bin/component/api_authorizer_token"); n != 0 || m != 0 {
		t.Fatalf("second client fetched %d component and %d authorizer tokens, want none", n, m)
	}
	ta, _ := a.AuthorizerAccessToken(ctx, e.AppID)
	tb, _ := b.AuthorizerAccessToken(ctx, e.AppID)
	if ta != tb || ta == "" {
		t.Fatalf("tokens differ: %q %q", ta, tb)
	}

	// After expiry on the server, one of them refreshes for both.
	e.S.Advance(2 * time.Hour)
	if _, err := b.App(e.AppID).Categories(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.App(e.AppID).Categories(ctx); err != nil {
		t.Fatal(err)
	}
	if n := callsA.N("/cgi-bin/component/api_component_token") + callsB.N("/cgi-bin/component/api_component_token"); n != 2 {
		t.Fatalf("%d component token fetches in all, want 2", n)
	}
	if n := callsA.N("/wxa/get_category"); n != 2 {
		t.Fatalf("the first client's call after the refresh was rejected: %d get_category calls, want 2", n)
	}
}

// TestNoThunderingHerd: 3 processes × 20 goroutines needing tokens at the
// same moment make one fetch of each token in all.
func TestNoThunderingHerd(t *testing.T) {
	store := newStore(t)
	share := func(_ *fixture.Env, o *wxa.Options) { o.Store = store }
	e, first, calls0 := fixture.Setup(t, mstest.Options{}, share)
	clients, calls := []*wxa.Client{first}, []*fixture.Calls{calls0}
	for range 2 {
		c, n := e.Client(t, share)
		clients, calls = append(clients, c), append(calls, n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for _, c := range clients {
		for range 20 {
			wg.Go(func() {
				_, err := c.App(e.AppID).Categories(context.Background())
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var comp, auth int
	for _, n := range calls {
		comp += n.N("/cgi-bin/component/api_component_token")
		auth += n.N("/cgi-bin/component/api_authorizer_token")
	}
	if comp != 1 || auth != 1 {
		t.Fatalf("%d component and %d authorizer token fetches across processes, want 1 each", comp, auth)
	}
}
