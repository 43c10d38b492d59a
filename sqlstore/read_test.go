package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// testRead: Read sees what was committed, refuses writes on both backends
// (PostgreSQL's pool would take them), and the reads of the hot endpoints
// return their row with the grant, or no grant when there is none.
func testRead(t *testing.T, s miniship.Store) {
	if st, ok := s.(*Store); ok && st.peer != nil {
		// The shared reads below must reach their statements: no cache
		// (readcache_test.go has its own tests).
		st.peer.off.Store(true)
	}
	cats := []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 1, SecondID: 2}}
	grant := &miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", PermissionSets: []int{18, 30},
		RefreshToken: "r", CreatedAt: at(3), UpdatedAt: at(3)}
	var audit *miniship.Audit
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxp"}))
		ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxa", Categories: cats}))
		ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxb"}))
		ok(t, tx.PutAuthorization(grant))
		v := &miniship.Version{AuthorizerAppID: "wxa", UserVersion: "1.0.0"}
		ok(t, tx.CreateVersion(v))
		audit = &miniship.Audit{AuthorizerAppID: "wxa", PlatformAppID: "wxp", VersionID: v.ID, Reason: "r",
			Status: miniship.AuditRejected, ScreenShot: "m1|m2", Request: json.RawMessage(`{"item_list":[]}`), SubmittedAt: at(5), DecidedAt: at(6)}
		return tx.CreateAudit(audit)
	})
	// The grant a hot read returns with its row: no refresh token.
	want := *grant
	want.RefreshToken, want.UpdatedAt = "", time.Time{}
	read := func(fn func(tx miniship.Tx) error) error { return s.Read(t.Context(), fn) }
	ok(t, read(func(tx miniship.Tx) error {
		c, g, err := tx.CategoriesWithGrant("wxp", "wxa")
		ok(t, err)
		equal(t, c, cats)
		equal(t, g, &want)
		c, g, err = tx.CategoriesWithGrant("other", "wxa") // no grant from wxa to other
		ok(t, err)
		equal(t, [2]any{c, g}, [2]any{cats, (*miniship.Authorization)(nil)})
		c, g, err = tx.CategoriesWithGrant("wxp", "wxb")
		ok(t, err)
		equal(t, [2]any{c, g}, [2]any{[]miniship.Category(nil), (*miniship.Authorization)(nil)})
		_, _, err = tx.CategoriesWithGrant("wxp", "nope")
		wantErr(t, err, miniship.ErrNotFound)

		a, g, err := tx.AuditWithGrant("wxp", "wxa", audit.ID)
		ok(t, err)
		equal(t, a, &miniship.Audit{ID: audit.ID, AuthorizerAppID: "wxa", Status: audit.Status, Reason: "r", ScreenShot: "m1|m2"})
		equal(t, g, &want)
		_, g, err = tx.AuditWithGrant("other", "wxa", audit.ID)
		ok(t, err)
		equal(t, g, (*miniship.Authorization)(nil))
		_, _, err = tx.AuditWithGrant("wxp", "wxb", audit.ID) // another mini program's audit
		wantErr(t, err, miniship.ErrNotFound)
		_, _, err = tx.AuditWithGrant("wxp", "wxa", audit.ID+1)
		wantErr(t, err, miniship.ErrNotFound)

		equal(t, must[bool](t)(tx.HasVersion("wxa")), true)
		equal(t, must[bool](t)(tx.HasVersion("wxb")), false)
		return nil
	}))

	// The same reads, each in a Read of its own, all at once: on
	// PostgreSQL two shared statements, one of each kind; the answers are
	// the ones each read gets alone.
	type answer struct {
		Row   any
		Grant *miniship.Authorization
		Err   string
	}
	reads := []func(tx miniship.Tx) answer{}
	for _, k := range [][2]string{{"wxp", "wxa"}, {"other", "wxa"}, {"wxp", "wxb"}, {"wxp", "nope"}} {
		reads = append(reads, func(tx miniship.Tx) answer {
			c, g, err := tx.CategoriesWithGrant(k[0], k[1])
			return answer{c, g, fmt.Sprint(err)}
		})
	}
	for _, k := range []struct {
		p, a string
		id   int64
	}{{"wxp", "wxa", audit.ID}, {"other", "wxa", audit.ID}, {"wxp", "wxb", audit.ID}, {"wxp", "wxa", audit.ID + 1}} {
		reads = append(reads, func(tx miniship.Tx) answer {
			a, g, err := tx.AuditWithGrant(k.p, k.a, k.id)
			return answer{a, g, fmt.Sprint(err)}
		})
	}
	alone := make([]answer, len(reads))
	for i, fn := range reads {
		ok(t, read(func(tx miniship.Tx) error { alone[i] = fn(tx); return nil }))
	}
	shared := make([]answer, len(reads))
	rc := s.(*Store).reads
	var releaseC, releaseA func(*atomic.Int32)
	var checkC, checkA func() int64
	if rc != nil {
		releaseC, checkC = holdGroup(&rc.categories, 4)
		releaseA, checkA = holdGroup(&rc.audits, 4)
	}
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	var ended [2]atomic.Int32 // categories, audits
	for i, fn := range reads {
		wg.Go(func() {
			defer ended[i/4].Add(1)
			errs[i] = read(func(tx miniship.Tx) error { shared[i] = fn(tx); return nil })
		})
	}
	if rc != nil {
		releaseC(&ended[0])
		releaseA(&ended[1])
	}
	wg.Wait()
	ok(t, errors.Join(errs...))
	equal(t, shared, alone)
	if rc != nil {
		equal(t, [2]int64{checkC(), checkA()}, [2]int64{1, 1})
	}

	for name, write := range map[string]func(tx miniship.Tx) error{
		"exec":      func(tx miniship.Tx) error { return tx.CreatePlatform(&miniship.Platform{AppID: "wxp2"}) },
		"returning": func(tx miniship.Tx) error { _, err := tx.AddCounter("n", 1); return err },
		"version": func(tx miniship.Tx) error {
			return tx.CreateVersion(&miniship.Version{AuthorizerAppID: "wxb", UserVersion: "9"})
		},
	} {
		err := read(write)
		if !errors.Is(err, errWriteInRead) {
			t.Errorf("%s inside Read: %v, want errWriteInRead", name, err)
		}
	}
	view(t, s, func(tx miniship.Tx) error {
		_, err := tx.GetPlatform("wxp2")
		wantErr(t, err, miniship.ErrNotFound)
		equal(t, must[bool](t)(tx.HasVersion("wxb")), false)
		_, err = tx.GetCounter("n")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	wantErr(t, s.Read(ctx, func(tx miniship.Tx) error { return nil }), context.Canceled)
}

// testAuditsDue: the automatic reviewer's listing keeps to the status,
// pages by id, and tests each audit's clock (submission, or the delay for
// a delayed one) against its deadline (half as long for a sped-up one).
func testAuditsDue(t *testing.T, s miniship.Store) {
	var ids []int64
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxa"}))
		v := &miniship.Version{AuthorizerAppID: "wxa", UserVersion: "1.0.0"}
		ok(t, tx.CreateVersion(v))
		for _, a := range []*miniship.Audit{
			{Status: miniship.AuditPending, SubmittedAt: at(10)},                   // due
			{Status: miniship.AuditPending, SubmittedAt: at(30)},                   // not yet
			{Status: miniship.AuditPending, SubmittedAt: at(30), SpedUp: true},     // due: half the wait
			{Status: miniship.AuditPending, SubmittedAt: at(50), SpedUp: true},     // not yet
			{Status: miniship.AuditDelayed, SubmittedAt: at(1), DecidedAt: at(10)}, // due
			{Status: miniship.AuditDelayed, SubmittedAt: at(1), DecidedAt: at(30)}, // delayed later: not yet
			{Status: miniship.AuditApproved, SubmittedAt: at(1), DecidedAt: at(2)}, // decided
			{Status: miniship.AuditPending, SubmittedAt: at(20)},                   // due, at the deadline
			{Status: miniship.AuditPending, SubmittedAt: at(5), DecidedAt: at(59)}, // due: a pending audit's clock is its submission
		} {
			a.AuthorizerAppID, a.PlatformAppID, a.VersionID = "wxa", "wxp", v.ID
			ok(t, tx.CreateAudit(a))
			ids = append(ids, a.ID)
		}
		return nil
	})
	due := func(st miniship.AuditStatus, after int64, n int) (got []int64) {
		view(t, s, func(tx miniship.Tx) error {
			as, err := tx.AuditsDue(st, at(20), at(40), after, n)
			for _, a := range as {
				got = append(got, a.ID)
			}
			return err
		})
		return got
	}
	equal(t, due(miniship.AuditPending, 0, 0), []int64{ids[0], ids[2], ids[7], ids[8]})
	equal(t, due(miniship.AuditPending, 0, 2), []int64{ids[0], ids[2]})
	equal(t, due(miniship.AuditPending, ids[2], 2), []int64{ids[7], ids[8]})
	equal(t, due(miniship.AuditPending, ids[8], 2), []int64(nil))
	equal(t, due(miniship.AuditDelayed, 0, 0), []int64{ids[4]})
}

// TestSQLiteReadNoCancel: SQLite's hot reads run their statements without
// the caller's cancellation (which costs the driver a goroutine per
// statement), keeping its values; a cancelled caller is refused before.
func TestSQLiteReadNoCancel(t *testing.T) {
	s := openSQLiteT(t)
	type key struct{}
	ctx := context.WithValue(t.Context(), key{}, "v")
	ok(t, s.Read(ctx, func(mt miniship.Tx) error {
		c := mt.(*tx).ctx
		if c.Done() != nil {
			t.Error("a Read statement's context can be cancelled")
		}
		equal(t, c.Value(key{}), any("v"))
		return nil
	}))
}
