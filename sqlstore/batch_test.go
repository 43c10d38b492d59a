package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miniship/miniship"
)

// TestBatchIsolation queues 40 Updates behind one that holds the writer,
// so that they run as group commits of 32 and 8, and checks that each
// caller gets its own outcome: what failed, panicked, ignored a failed
// statement or was cancelled stores nothing, and the rest are all stored.
func TestBatchIsolation(t *testing.T) {
	s := openSQLiteT(t)
	before := s.batch.txs.Load()

	release := holdWriter(t, s)

	const n = 40
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	errBusiness := errors.New("business rule")
	type outcome struct {
		err      error
		panicked any
	}
	got := make([]outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { got[i].panicked = recover() }()
			ctx, cancelMe := context.WithCancel(t.Context())
			defer cancelMe()
			if i == 11 {
				ctx = cancelled
			}
			got[i].err = s.Update(ctx, func(tx miniship.Tx) error {
				if err := tx.CreatePlatform(&miniship.Platform{AppID: fmt.Sprintf("wxp%02d", i)}); err != nil {
					return err
				}
				switch {
				case i == 13:
					// Its caller gives up half-way: its writes go, and
					// not the batch's (SQLite would roll back the whole
					// transaction on an interrupted write).
					cancelMe()
					return tx.CreatePlatform(&miniship.Platform{AppID: "wxp13b"})
				case i == 7:
					panic("boom")
				case i%3 == 0:
					return errBusiness
				case i%5 == 1:
					// A failed statement the function ignores: the
					// platform and mini program do not exist.
					_ = tx.PutAuthorization(&miniship.Authorization{PlatformAppID: "none", AuthorizerAppID: "none"})
				}
				return nil
			})
		})
	}
	waitQueued(s, n) // every caller queued behind the held transaction
	ok(t, release())
	wg.Wait()

	// The held transaction, then batches of 32 and 8: nothing reran.
	equal(t, s.batch.txs.Load()-before, int64(3))
	view(t, s, func(tx miniship.Tx) error {
		_, err := tx.GetPlatform("first")
		ok(t, err)
		_, err = tx.GetPlatform("wxp13b")
		wantErr(t, err, miniship.ErrNotFound)
		for i, o := range got {
			_, err := tx.GetPlatform(fmt.Sprintf("wxp%02d", i))
			stored := err == nil
			var want bool
			switch {
			case i == 7:
				if o.panicked != "boom" {
					t.Errorf("%d: panic %v reached its caller as %v", i, "boom", o.panicked)
				}
			case i == 11 || i == 13:
				if !errors.Is(o.err, context.Canceled) {
					t.Errorf("%d: err %v, want context.Canceled", i, o.err)
				}
			case i%3 == 0:
				if !errors.Is(o.err, errBusiness) {
					t.Errorf("%d: err %v, want the function's", i, o.err)
				}
			case i%5 == 1:
				if !errors.Is(o.err, miniship.ErrNotFound) {
					t.Errorf("%d: err %v, want the ignored statement's ErrNotFound", i, o.err)
				}
			default:
				ok(t, o.err)
				want = true
			}
			if stored != want {
				t.Errorf("%d: stored %v, want %v (err %v)", i, stored, want, o.err)
			}
		}
		return nil
	})
}

// TestBatchLoneUpdate: an Update that finds the writer idle runs alone, in
// its own transaction, and a failure rolls all of it back.
func TestBatchLoneUpdate(t *testing.T) {
	s := openSQLiteT(t)
	before := s.batch.txs.Load()
	err := s.Update(t.Context(), func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "a"}))
		return errors.New("no")
	})
	if err == nil || err.Error() != "no" {
		t.Fatalf("err %v", err)
	}
	update(t, s, func(tx miniship.Tx) error { return tx.CreatePlatform(&miniship.Platform{AppID: "b"}) })
	equal(t, s.batch.txs.Load()-before, int64(2))
	view(t, s, func(tx miniship.Tx) error {
		if _, err := tx.GetPlatform("a"); !errors.Is(err, miniship.ErrNotFound) {
			t.Errorf("a: %v, want not stored", err)
		}
		_, err := tx.GetPlatform("b")
		return err
	})
}

// TestSQLiteKillBatched: with 8 writers at once, so that commits are
// grouped, every commit a process reported survives its kill -9.
func TestSQLiteKillBatched(t *testing.T) { killTest(t, "TestSQLiteKillBatched", 8, 800) }

// TestBatchLeaderExits: a function that ends its goroutine
// (runtime.Goexit, as t.FailNow does) in the middle of a batch leaves the
// batch's other callers an error and the writer free, not taken for ever.
func TestBatchLeaderExits(t *testing.T) {
	s := openSQLiteT(t)
	release := holdWriter(t, s)
	var wg sync.WaitGroup
	var other error
	wg.Go(func() {
		_ = s.Update(t.Context(), func(tx miniship.Tx) error {
			_ = tx.CreatePlatform(&miniship.Platform{AppID: "gone"})
			runtime.Goexit()
			return nil
		})
	})
	waitQueued(s, 1) // the exiting one first, then the other
	wg.Go(func() {
		other = s.Update(t.Context(), func(tx miniship.Tx) error {
			return tx.CreatePlatform(&miniship.Platform{AppID: "other"})
		})
	})
	waitQueued(s, 2)
	ok(t, release())
	wg.Wait()
	if other == nil {
		t.Error("a caller of the abandoned batch was told its write was stored")
	}
	update(t, s, func(tx miniship.Tx) error { return tx.CreatePlatform(&miniship.Platform{AppID: "after"}) })
	view(t, s, func(tx miniship.Tx) error {
		for _, id := range []string{"gone", "other"} {
			_, err := tx.GetPlatform(id)
			wantErr(t, err, miniship.ErrNotFound)
		}
		return nil
	})
}

func TestIsSelect(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1": true, "  select x FROM t": true, "WITH a AS (SELECT 1) SELECT * FROM a": true,
		"INSERT INTO t VALUES (1) RETURNING id": false, "WITH RECURSIVE s(n) AS (SELECT 1) INSERT INTO t SELECT n FROM s": false,
		"WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x": false, "UPDATE t SET a = 1 RETURNING a": false, "": false,
	} {
		if got := isSelect(q); got != want {
			t.Errorf("isSelect(%q) = %v, want %v", q, got, want)
		}
	}
}

// TestBatchOneStatement: an UpdateOne in a batch is as isolated as an
// Update, in its own savepoint: a statement that breaks a constraint, a
// function that fails after its write and a caller cancelled after its
// statement ran store nothing, and the rest of the batch is stored, in one
// transaction.
func TestBatchOneStatement(t *testing.T) {
	errAfter := errors.New("failed after its write")
	s := openSQLiteT(t)
	before := s.batch.txs.Load()
	release := holdWriter(t, s)
	const n = 12
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			id := fmt.Sprintf("wxp%02d", i)
			fn := func(tx miniship.Tx) error {
				return tx.CreatePlatform(&miniship.Platform{AppID: id})
			}
			switch i {
			case 2: // breaks the foreign key
				fn = func(tx miniship.Tx) error {
					return tx.PutAuthorization(&miniship.Authorization{PlatformAppID: "none", AuthorizerAppID: "none", Generation: 1})
				}
			case 4: // its caller goes away once the statement ran
				fn = func(tx miniship.Tx) error {
					err := tx.CreatePlatform(&miniship.Platform{AppID: id})
					cancel()
					return err
				}
			case 8:
				fn = func(tx miniship.Tx) error {
					if err := tx.CreatePlatform(&miniship.Platform{AppID: id}); err != nil {
						return err
					}
					return errAfter
				}
			}
			// Ordinary Updates in between; the queue's order is the
			// goroutines' arrival, and the rules hold for every order.
			if i%2 == 1 {
				errs[i] = s.Update(ctx, fn)
			} else {
				errs[i] = s.UpdateOne(ctx, fn)
			}
		})
	}
	waitQueued(s, n)
	ok(t, release())
	wg.Wait()

	equal(t, s.batch.txs.Load()-before, int64(2)) // the held transaction and one batch
	view(t, s, func(tx miniship.Tx) error {
		for i, err := range errs {
			_, gerr := tx.GetPlatform(fmt.Sprintf("wxp%02d", i))
			switch i {
			case 2:
				wantErr(t, err, miniship.ErrNotFound)
			case 4:
				wantErr(t, err, context.Canceled)
				wantErr(t, gerr, miniship.ErrNotFound)
			case 8:
				wantErr(t, err, errAfter)
				wantErr(t, gerr, miniship.ErrNotFound)
			default:
				ok(t, err)
				ok(t, gerr)
			}
		}
		return nil
	})
}

// holdWriter starts an Update that holds the writer until the function it
// returns is called, which then returns that Update's error: the Updates
// started meanwhile queue behind it.
func holdWriter(t *testing.T, s *Store) (release func() error) {
	held, done := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Update(t.Context(), func(tx miniship.Tx) error {
			close(held)
			<-done
			return tx.CreatePlatform(&miniship.Platform{AppID: "first"})
		})
	}()
	<-held
	return func() error { close(done); return <-first }
}

// waitQueued waits until n Updates queue for the writer.
func waitQueued(s *Store, n int) {
	for {
		s.batch.mu.Lock()
		queued := len(s.batch.queue)
		s.batch.mu.Unlock()
		if queued >= n {
			return
		}
		runtime.Gosched()
	}
}

// TestBatchOneStatementSawUndone: an UpdateOne that reads an earlier write
// of its batch answers consistently with what is committed, even when that
// write's function fails when run again.
func TestBatchOneStatementSawUndone(t *testing.T) {
	s := openSQLiteT(t)
	release := holdWriter(t, s)
	var runsA atomic.Int32
	var errA, errB error
	var wg sync.WaitGroup
	wg.Go(func() {
		errA = s.Update(t.Context(), func(tx miniship.Tx) error {
			if runsA.Add(1) > 1 {
				return errors.New("changed its mind") // a rerun stores nothing
			}
			return tx.CreatePlatform(&miniship.Platform{AppID: "P"})
		})
	})
	waitQueued(s, 1) // A before B in the batch
	errSaw := errors.New("B saw P")
	wg.Go(func() {
		errB = s.UpdateOne(t.Context(), func(tx miniship.Tx) error {
			if _, err := tx.GetPlatform("P"); err == nil {
				return errSaw
			}
			return nil
		})
	})
	waitQueued(s, 2)
	ok(t, release())
	wg.Wait()
	view(t, s, func(tx miniship.Tx) error {
		_, err := tx.GetPlatform("P")
		stored := err == nil
		if stored != (errA == nil) || stored != errors.Is(errB, errSaw) {
			t.Errorf("P stored %v, yet A answered %v and B %v", stored, errA, errB)
		}
		return nil
	})
}
