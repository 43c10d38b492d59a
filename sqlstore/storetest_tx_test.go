package sqlstore

// The store suite (storetest_test.go): transactions and concurrency.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miniship/miniship"
)

// --- transaction behaviour --------------------------------------------------

func testRollback(t *testing.T, s miniship.Store) {
	boom := errors.New("boom")
	err := s.Update(t.Context(), func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxp"}))
		ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxa"}))
		_, err := tx.AddCounter("c", 1)
		ok(t, err)
		return boom
	})
	wantErr(t, err, boom)

	func() {
		defer func() {
			if p := recover(); p != "panic" {
				t.Fatalf("recovered %v, want the panic to propagate", p)
			}
		}()
		_ = s.Update(t.Context(), func(tx miniship.Tx) error {
			ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxb"}))
			panic("panic")
		})
	}()

	// A failed statement spends the transaction even if fn ignores it.
	err = s.Update(t.Context(), func(tx miniship.Tx) error {
		ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxc"}))
		ferr := tx.PutAuthorization(&miniship.Authorization{PlatformAppID: "ghost", AuthorizerAppID: "wxc"})
		wantErr(t, ferr, miniship.ErrNotFound)
		_, err := tx.GetAuthorizer("wxc")
		if err == nil {
			t.Errorf("statement after a failure: err %v, want the earlier failure", err)
		}
		return nil // ignores the failure
	})
	wantErr(t, err, miniship.ErrNotFound)

	view(t, s, func(tx miniship.Tx) error {
		for _, id := range []string{"wxa", "wxb", "wxc"} {
			_, err := tx.GetAuthorizer(id)
			wantErr(t, err, miniship.ErrNotFound)
		}
		_, err := tx.GetPlatform("wxp")
		wantErr(t, err, miniship.ErrNotFound)
		_, err = tx.GetCounter("c")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
	// The store is still usable after all that.
	update(t, s, func(tx miniship.Tx) error { return tx.CreatePlatform(&miniship.Platform{AppID: "wxp"}) })
}

func testViewIsReadOnly(t *testing.T, s miniship.Store) {
	err := s.View(t.Context(), func(tx miniship.Tx) error {
		return tx.CreatePlatform(&miniship.Platform{AppID: "wxp"})
	})
	if err == nil {
		t.Fatal("a write inside View succeeded")
	}
	view(t, s, func(tx miniship.Tx) error {
		_, err := tx.GetPlatform("wxp")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
}

func testContext(t *testing.T, s miniship.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Update(ctx, func(tx miniship.Tx) error { return tx.CreatePlatform(&miniship.Platform{AppID: "a"}) })
	wantErr(t, err, context.Canceled)
	err = s.View(ctx, func(tx miniship.Tx) error { return nil })
	wantErr(t, err, context.Canceled)

	// Statements run under the transaction's context.
	ctx, cancel = context.WithCancel(t.Context())
	err = s.Update(ctx, func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "b"}))
		cancel()
		return tx.CreatePlatform(&miniship.Platform{AppID: "c"})
	})
	if err == nil {
		t.Fatal("Update after cancel succeeded")
	}
	view(t, s, func(tx miniship.Tx) error {
		equal(t, len(must[[]*miniship.Platform](t)(tx.ListPlatforms())), 0)
		return nil
	})
}

// --- concurrency ------------------------------------------------------------

const workers, rounds = 50, 20

func hammer(t *testing.T, fn func() error) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				if err := fn(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func testConcurrentCounter(t *testing.T, s miniship.Store) {
	hammer(t, func() error {
		return s.Update(t.Context(), func(tx miniship.Tx) error {
			_, err := tx.AddCounter("n", 1)
			return err
		})
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[int](t)(tx.GetCounter("n")), workers*rounds)
		return nil
	})
}

// testConcurrentLockAuthorizer: read-modify-write under LockAuthorizer
// loses no update.
func testConcurrentLockAuthorizer(t *testing.T, s miniship.Store) {
	update(t, s, func(tx miniship.Tx) error { return tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxa"}) })
	hammer(t, func() error {
		return s.Update(t.Context(), func(tx miniship.Tx) error {
			a, err := tx.LockAuthorizer("wxa")
			if err != nil {
				return err
			}
			a.VisitStatus++
			return tx.UpdateAuthorizer(a)
		})
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Authorizer](t)(tx.GetAuthorizer("wxa")).VisitStatus, workers*rounds)
		return nil
	})
}

// testConcurrentLockPlatform: read-modify-write under LockPlatform loses
// no update; an unknown platform is ErrNotFound.
func testConcurrentLockPlatform(t *testing.T, s miniship.Store) {
	update(t, s, func(tx miniship.Tx) error { return tx.CreatePlatform(&miniship.Platform{AppID: "wxp"}) })
	hammer(t, func() error {
		return s.Update(t.Context(), func(tx miniship.Tx) error {
			p, err := tx.LockPlatform("wxp")
			if err != nil {
				return err
			}
			p.AuditQuota++
			return tx.UpdatePlatform(p)
		})
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Platform](t)(tx.LockPlatform("wxp")).AuditQuota, workers*rounds) // a plain read in View
		_, err := tx.LockPlatform("nope")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
}

// testDeadlockRetry: two Updates lock two mini programs in opposite orders.
// PostgreSQL breaks the deadlock by failing one (40P01), which Update
// reruns; SQLite never lets the second start before the first ends.
func testDeadlockRetry(t *testing.T, s miniship.Store) {
	fixtures(t, s)
	var runs atomic.Int32
	worker := func(first, second string, mine, theirs chan struct{}, once *sync.Once) error {
		return s.Update(t.Context(), func(tx miniship.Tx) error {
			runs.Add(1)
			a, err := tx.LockAuthorizer(first)
			if err != nil {
				return err
			}
			once.Do(func() { close(mine) })
			if backend(s) == "postgres" {
				// Both must hold their first lock before either asks for its
				// second, however slow the machine: that is the deadlock.
				// The victim's rerun finds theirs already closed.
				<-theirs
			}
			// On SQLite the other cannot start before this one ends.
			b, err := tx.LockAuthorizer(second)
			if err != nil {
				return err
			}
			a.VisitStatus++
			b.VisitStatus++
			if err := tx.UpdateAuthorizer(a); err != nil {
				return err
			}
			return tx.UpdateAuthorizer(b)
		})
	}
	lockedA, lockedB := make(chan struct{}), make(chan struct{})
	var onceA, onceB sync.Once
	errs := make(chan error, 2)
	go func() { errs <- worker("wxa", "wxb", lockedA, lockedB, &onceA) }()
	go func() { errs <- worker("wxb", "wxa", lockedB, lockedA, &onceB) }()
	ok(t, <-errs)
	ok(t, <-errs)
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Authorizer](t)(tx.GetAuthorizer("wxa")).VisitStatus, 2)
		equal(t, must[*miniship.Authorizer](t)(tx.GetAuthorizer("wxb")).VisitStatus, 2)
		return nil
	})
	if backend(s) == "postgres" && runs.Load() < 3 {
		t.Errorf("%d runs: want the deadlock victim rerun", runs.Load())
	}
}
