// Package storetest checks a wxa.TokenStore against the contract the SDK
// relies on; a store implementation's tests call Run.
package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship/wxa"
)

// Run checks get/set, compare-and-delete and mutual exclusion of Lock on a
// fresh store.
func Run(t *testing.T, s wxa.TokenStore) {
	ctx := context.Background()
	t.Run("GetSet", func(t *testing.T) {
		if _, ok, err := s.Get(ctx, "missing"); ok || err != nil {
			t.Fatalf("Get(missing) = %v, %v; want not found", ok, err)
		}
		exp := time.UnixMilli(time.Now().Add(time.Hour).UnixMilli())
		for _, want := range []wxa.Token{{Value: "a", ExpiresAt: exp}, {Value: "b"}} {
			if err := s.Set(ctx, "k", want); err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.Get(ctx, "k")
			if err != nil || !ok || got.Value != want.Value || !got.ExpiresAt.Equal(want.ExpiresAt) {
				t.Fatalf("Get = %+v %v %v, want %+v", got, ok, err, want)
			}
		}
	})
	t.Run("DeleteIfValue", func(t *testing.T) {
		s.Set(ctx, "d", wxa.Token{Value: "new"})
		if err := s.Delete(ctx, "d", "old"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Get(ctx, "d"); !ok {
			t.Fatal("Delete with a stale value removed the fresh token")
		}
		s.Delete(ctx, "d", "new")
		if _, ok, _ := s.Get(ctx, "d"); ok {
			t.Fatal("Delete with the current value kept it")
		}
		s.Set(ctx, "d", wxa.Token{Value: "x"})
		s.Delete(ctx, "d", "")
		if _, ok, _ := s.Get(ctx, "d"); ok {
			t.Fatal("unconditional Delete kept the token")
		}
	})
	t.Run("LockExcludes", func(t *testing.T) {
		var in, maxIn atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				unlock, err := s.Lock(ctx, "lock:x", 10*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				n := in.Add(1)
				for m := maxIn.Load(); n > m && !maxIn.CompareAndSwap(m, n); m = maxIn.Load() {
				}
				time.Sleep(5 * time.Millisecond)
				in.Add(-1)
				unlock()
			})
		}
		wg.Wait()
		if maxIn.Load() != 1 {
			t.Fatalf("%d holders at once", maxIn.Load())
		}
	})
	t.Run("LockHonoursContext", func(t *testing.T) {
		unlock, err := s.Lock(ctx, "lock:y", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, err := s.Lock(cctx, "lock:y", 10*time.Second); err == nil {
			t.Fatal("a held lock was taken twice")
		}
	})
}
