package sqlstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// testAuthorizationCount: the count the triggers keep equals the rows
// under concurrent grants, re-grants, revokes and rolled-back grants, in
// every snapshot a reader takes, not only at the end; and snapshots of one
// revision of the order list the grants they share in the same places (the
// one with fewer is a prefix of the other).
func testAuthorizationCount(t *testing.T, s miniship.Store) {
	const apps = 8
	platforms := []string{"wxp", "wxq"}
	update(t, s, func(tx miniship.Tx) error {
		for _, p := range platforms {
			ok(t, tx.CreatePlatform(&miniship.Platform{AppID: p, CreatedAt: at(0)}))
		}
		for i := range apps {
			ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: fmt.Sprintf("wx%d", i), CreatedAt: at(0)}))
		}
		return nil
	})
	var mu sync.Mutex
	seen := map[string][]string{} // platform and rev: the longest list seen
	consistent := func(tx miniship.Tx) error {
		for _, p := range platforms {
			n, rev, err := tx.CountAuthorizationsRev(p)
			if err != nil {
				return err
			}
			as, err := tx.ListAuthorizations(p)
			if err != nil {
				return err
			}
			if n != len(as) {
				return fmt.Errorf("%s: count %d, %d rows", p, n, len(as))
			}
			ids := make([]string, len(as))
			for i, a := range as {
				ids[i] = a.AuthorizerAppID
			}
			key := fmt.Sprint(p, rev)
			mu.Lock()
			prev := seen[key]
			short, long := prev, ids
			if len(short) > len(long) {
				short, long = long, short
			}
			if !slices.Equal(short, long[:len(short)]) {
				mu.Unlock()
				return fmt.Errorf("%s rev %d: %v and %v", p, rev, prev, ids)
			}
			seen[key] = long
			mu.Unlock()
		}
		return nil
	}
	errRollback := errors.New("rolled back")
	hammer(t, func() error {
		p, app := platforms[rand.IntN(len(platforms))], fmt.Sprintf("wx%d", rand.IntN(apps))
		a := &miniship.Authorization{PlatformAppID: p, AuthorizerAppID: app, RefreshToken: "r", CreatedAt: at(rand.IntN(3)), UpdatedAt: at(1)}
		switch rand.IntN(4) {
		case 0: // a grant, or a re-grant (the upsert's update)
			return s.Update(t.Context(), func(tx miniship.Tx) error { return tx.PutAuthorization(a) })
		case 1: // a revoke, which may find nothing
			err := s.Update(t.Context(), func(tx miniship.Tx) error { return tx.DeleteAuthorization(p, app) })
			if errors.Is(err, miniship.ErrNotFound) {
				return nil
			}
			return err
		case 2: // a grant or a revoke that rolls back
			err := s.Update(t.Context(), func(tx miniship.Tx) error {
				err := tx.PutAuthorization(a)
				if rand.IntN(2) == 0 {
					err = tx.DeleteAuthorization(p, app)
				}
				if err != nil && !errors.Is(err, miniship.ErrNotFound) {
					return err
				}
				return errRollback
			})
			if errors.Is(err, errRollback) {
				return nil
			}
			return err
		default:
			return s.View(t.Context(), consistent)
		}
	})
	view(t, s, consistent)
}

// testAuthorizationRev: the order's revision stays for grants that go last
// and for re-grants, and moves for revokes and for grants that sort before
// the last one; PageAuthorizationsFrom continues after a key.
func testAuthorizationRev(t *testing.T, s miniship.Store) {
	rev := func() int64 {
		var r int64
		view(t, s, func(tx miniship.Tx) error {
			_, v, err := tx.CountAuthorizationsRev("wxp")
			r = v
			return err
		})
		return r
	}
	put := func(app string, sec int) {
		update(t, s, func(tx miniship.Tx) error {
			return tx.PutAuthorization(&miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: app, CreatedAt: at(sec), UpdatedAt: at(sec)})
		})
	}
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxp", CreatedAt: at(0)}))
		for _, id := range []string{"wx1", "wx2", "wx3", "wx4", "wx5"} {
			ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: id, CreatedAt: at(0)}))
		}
		return nil
	})
	equal(t, rev(), int64(0))
	put("wx2", 1)
	put("wx3", 1) // last: same time, larger appid
	put("wx4", 2) // last: later
	put("wx3", 5) // a re-grant keeps its place
	equal(t, rev(), int64(0))
	put("wx1", 2) // same time as wx4, smaller appid: before it
	equal(t, rev(), int64(1))
	wantErr(t, s.Update(t.Context(), func(tx miniship.Tx) error { return tx.DeleteAuthorization("wxp", "wx5") }), miniship.ErrNotFound)
	equal(t, rev(), int64(1)) // nothing deleted: nothing moved
	update(t, s, func(tx miniship.Tx) error { return tx.DeleteAuthorization("wxp", "wx2") })
	equal(t, rev(), int64(2))
	view(t, s, func(tx miniship.Tx) error {
		page := func(created time.Time, after string) []string {
			var out []string
			for _, a := range must[[]*miniship.Authorization](t)(tx.PageAuthorizationsFrom("wxp", created, after, 2)) {
				out = append(out, a.AuthorizerAppID)
			}
			return out
		}
		equal(t, page(at(1), "wx3"), []string{"wx1", "wx4"})
		equal(t, page(at(2), "wx1"), []string{"wx4"})
		equal(t, page(at(2), "wx4"), []string(nil))
		return nil
	})
}
