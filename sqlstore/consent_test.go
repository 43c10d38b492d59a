package sqlstore

import (
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// testAuthorizerSecret: the AppSecret round-trips through create and update.
func testAuthorizerSecret(t *testing.T, s miniship.Store) {
	update(t, s, func(tx miniship.Tx) error {
		return tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxs", Secret: "first-secret", CreatedAt: at(0)})
	})
	update(t, s, func(tx miniship.Tx) error {
		a := must[*miniship.Authorizer](t)(tx.LockAuthorizer("wxs"))
		if a.Secret != "first-secret" {
			t.Errorf("secret after create = %q", a.Secret)
		}
		a.Secret = "second-secret"
		return tx.UpdateAuthorizer(a)
	})
	view(t, s, func(tx miniship.Tx) error {
		if a := must[*miniship.Authorizer](t)(tx.GetAuthorizer("wxs")); a.Secret != "second-secret" {
			t.Errorf("secret after update = %q", a.Secret)
		}
		return nil
	})
}

// testGrants: ListGrants returns one mini program's grants across
// platforms, oldest first, and nothing of other mini programs.
func testAuthorizationList(t *testing.T, s miniship.Store) {
	fixtures(t, s)
	g1 := &miniship.Authorization{PlatformAppID: "wxq", AuthorizerAppID: "wxa", PermissionSets: []int{18},
		RefreshToken: "r1", CreatedAt: at(1), UpdatedAt: at(1)}
	g2 := &miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", PermissionSets: []int{17},
		RefreshToken: "r2", CreatedAt: at(2), UpdatedAt: at(2)}
	other := &miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxb", PermissionSets: []int{18},
		RefreshToken: "r3", CreatedAt: at(0), UpdatedAt: at(0)}
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxq", CreatedAt: at(0)}))
		ok(t, tx.PutAuthorization(g2))
		ok(t, tx.PutAuthorization(other))
		return tx.PutAuthorization(g1)
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[[]*miniship.Authorization](t)(tx.ListGrants("wxa")), []*miniship.Authorization{g1, g2})
		equal(t, must[[]*miniship.Authorization](t)(tx.ListGrants("nobody")), []*miniship.Authorization{})
		return nil
	})
}

// testManualClock: nothing stored at first; the position round-trips with
// nanoseconds and never moves backwards.
func testManualClock(t *testing.T, s miniship.Store) {
	view(t, s, func(tx miniship.Tx) error {
		_, err := tx.GetClock()
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
	update(t, s, func(tx miniship.Tx) error { return tx.PutClock(at(5)) })
	update(t, s, func(tx miniship.Tx) error { return tx.PutClock(at(3)) }) // older: kept at 5
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[time.Time](t)(tx.GetClock()), at(5))
		return nil
	})
	update(t, s, func(tx miniship.Tx) error { return tx.PutClock(at(9)) })
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[time.Time](t)(tx.GetClock()), at(9))
		return nil
	})
}
