package sqlstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/miniship/miniship"
)

// testAuthorizationCount: the count the triggers keep equals the rows
// under concurrent grants, re-grants, revokes and rolled-back grants, in
// every snapshot a reader takes, not only at the end.
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
	consistent := func(tx miniship.Tx) error {
		for _, p := range platforms {
			n, err := tx.CountAuthorizations(p)
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
		}
		return nil
	}
	errRollback := errors.New("rolled back")
	hammer(t, func() error {
		p, app := platforms[rand.IntN(len(platforms))], fmt.Sprintf("wx%d", rand.IntN(apps))
		a := &miniship.Authorization{PlatformAppID: p, AuthorizerAppID: app, RefreshToken: "r", CreatedAt: at(1), UpdatedAt: at(1)}
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
