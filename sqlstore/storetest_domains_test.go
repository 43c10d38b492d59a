package sqlstore

import (
	"testing"

	"github.com/miniship/miniship"
)

// The store suite's cases for domains, testers, authorizer options, the
// authorizer list and counter resets (issue 9, part A); runSuite runs them
// on every backend.
var domainSuite = []struct {
	name string
	fn   func(t *testing.T, s miniship.Store)
}{
	{"Domains", testDomains},
	{"Testers", testTesters},
	{"AuthorizationPages", testAuthorizationPages},
	{"AuthorizationCount", testAuthorizationCount}, {"AuthorizationRev", testAuthorizationRev}, // authcount_test.go
	{"AuthorizerOptions", testAuthorizerOptions},
	{"DeleteCounters", testDeleteCounters},
}

func testDomains(t *testing.T, s miniship.Store) {
	ad := &miniship.AuthorizerDomains{AuthorizerAppID: "wxa",
		Third:        miniship.ServerDomains{Request: []string{"https://a.example.com"}, WsRequest: []string{}},
		Direct:       miniship.ServerDomains{TCP: []string{"tcp://t.example.com:8080"}},
		ThirdWebview: []string{"https://w.example.com"}, UpdatedAt: at(1)}
	pd := &miniship.PlatformDomains{PlatformAppID: "wxp", TestingServer: []string{"a.example.com"}, UpdatedAt: at(2)}
	view(t, s, func(tx miniship.Tx) error {
		_, err := tx.GetAuthorizerDomains("wxa")
		wantErr(t, err, miniship.ErrNotFound)
		_, err = tx.GetPlatformDomains("wxp")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.PutAuthorizerDomains(ad))
		return tx.PutPlatformDomains(pd)
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.AuthorizerDomains](t)(tx.GetAuthorizerDomains("wxa")), ad)
		got := must[*miniship.PlatformDomains](t)(tx.GetPlatformDomains("wxp"))
		equal(t, got, pd)
		if got.PublishedServer != nil {
			t.Fatal("a never-published list must read back nil")
		}
		return nil
	})
	// Put replaces the whole state.
	ad2 := &miniship.AuthorizerDomains{AuthorizerAppID: "wxa", Effective: miniship.ServerDomains{Request: []string{"https://b.example.com"}}, UpdatedAt: at(3)}
	pd.PublishedServer, pd.UpdatedAt = []string{}, at(4)
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.PutAuthorizerDomains(ad2))
		return tx.PutPlatformDomains(pd)
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.AuthorizerDomains](t)(tx.GetAuthorizerDomains("wxa")), ad2)
		equal(t, must[*miniship.PlatformDomains](t)(tx.GetPlatformDomains("wxp")), pd)
		return nil
	})
}

func testTesters(t *testing.T, s miniship.Store) {
	t1 := &miniship.Tester{AuthorizerAppID: "wxa", WechatID: "alice_01", UserStr: "u-alice", CreatedAt: at(2)}
	t2 := &miniship.Tester{AuthorizerAppID: "wxa", WechatID: "bob_0001", UserStr: "u-bob", CreatedAt: at(1)}
	t3 := &miniship.Tester{AuthorizerAppID: "wxb", WechatID: "alice_01", UserStr: "u-alice", CreatedAt: at(3)}
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.AddTester(t1))
		ok(t, tx.AddTester(t2))
		ok(t, tx.AddTester(t3))
		wantErr(t, tx.AddTester(&miniship.Tester{AuthorizerAppID: "wxa", WechatID: "alice_01", UserStr: "u-alice", CreatedAt: at(9)}), miniship.ErrConflict)
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[[]*miniship.Tester](t)(tx.ListTesters("wxa")), []*miniship.Tester{t2, t1})
		equal(t, must[[]*miniship.Tester](t)(tx.ListTesters("none")), []*miniship.Tester{})
		equal(t, must[int](t)(tx.CountTesterBindings("u-alice")), 2)
		equal(t, must[int](t)(tx.CountTesterBindings("u-bob")), 1)
		equal(t, must[int](t)(tx.CountTesters("wxa")), 2)
		equal(t, must[int](t)(tx.CountTesters("none")), 0)
		return nil
	})
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.DeleteTester("wxa", "u-alice"))
		wantErr(t, tx.DeleteTester("wxa", "u-alice"), miniship.ErrNotFound)
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[[]*miniship.Tester](t)(tx.ListTesters("wxa")), []*miniship.Tester{t2})
		equal(t, must[int](t)(tx.CountTesterBindings("u-alice")), 1)
		return nil
	})
}

func testAuthorizationPages(t *testing.T, s miniship.Store) {
	var want []*miniship.Authorization
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxp", CreatedAt: at(0)}))
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxq", CreatedAt: at(0)}))
		// Created out of order, two in the same instant: the page order is
		// by authorization time, then appid.
		for i, id := range []string{"wx3", "wx1", "wx2", "wx0"} {
			ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: id, CreatedAt: at(0)}))
			sec := []int{5, 1, 3, 3}[i]
			a := &miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: id, RefreshToken: "r" + id, CreatedAt: at(sec), UpdatedAt: at(sec)}
			ok(t, tx.PutAuthorization(a))
		}
		return tx.PutAuthorization(&miniship.Authorization{PlatformAppID: "wxq", AuthorizerAppID: "wx1", CreatedAt: at(0), UpdatedAt: at(0)})
	})
	view(t, s, func(tx miniship.Tx) error {
		want = must[[]*miniship.Authorization](t)(tx.ListAuthorizations("wxp"))
		ids := func(as []*miniship.Authorization) []string {
			out := []string{}
			for _, a := range as {
				out = append(out, a.AuthorizerAppID)
			}
			return out
		}
		equal(t, ids(want), []string{"wx1", "wx0", "wx2", "wx3"})
		equal(t, ids(must[[]*miniship.Authorization](t)(tx.PageAuthorizations("wxp", 0, 2))), []string{"wx1", "wx0"})
		equal(t, ids(must[[]*miniship.Authorization](t)(tx.PageAuthorizations("wxp", 2, 2))), []string{"wx2", "wx3"})
		equal(t, ids(must[[]*miniship.Authorization](t)(tx.PageAuthorizations("wxp", 3, 10))), []string{"wx3"})
		equal(t, ids(must[[]*miniship.Authorization](t)(tx.PageAuthorizations("wxp", 4, 10))), []string{})
		equal(t, must[[]*miniship.Authorization](t)(tx.PageAuthorizations("wxp", 0, 4)), want)
		equal(t, must[int](t)(tx.CountAuthorizations("wxp")), 4)
		// The admin pages: appid order from after a cursor.
		equal(t, ids(must[[]*miniship.Authorization](t)(tx.ListAuthorizationsAfter("wxp", "", 3))), []string{"wx0", "wx1", "wx2"})
		equal(t, ids(must[[]*miniship.Authorization](t)(tx.ListAuthorizationsAfter("wxp", "wx2", 3))), []string{"wx3"})
		equal(t, ids(must[[]*miniship.Authorization](t)(tx.ListAuthorizationsAfter("wxp", "wx3", 3))), []string{})
		equal(t, must[int](t)(tx.CountAuthorizations("wxq")), 1)
		equal(t, must[int](t)(tx.CountAuthorizations("none")), 0)
		return nil
	})
}

func testAuthorizerOptions(t *testing.T, s miniship.Store) {
	update(t, s, func(tx miniship.Tx) error {
		_, err := tx.GetAuthorizerOption("wxa", "voice_recognize")
		wantErr(t, err, miniship.ErrNotFound)
		ok(t, tx.PutAuthorizerOption("wxa", "voice_recognize", "1"))
		ok(t, tx.PutAuthorizerOption("wxa", "location_report", "2"))
		ok(t, tx.PutAuthorizerOption("wxa", "voice_recognize", "0"))
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[string](t)(tx.GetAuthorizerOption("wxa", "voice_recognize")), "0")
		equal(t, must[string](t)(tx.GetAuthorizerOption("wxa", "location_report")), "2")
		_, err := tx.GetAuthorizerOption("wxb", "location_report")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
}

func testDeleteCounters(t *testing.T, s miniship.Store) {
	update(t, s, func(tx miniship.Tx) error {
		for _, k := range []string{"call:wxa:/x:2026-11-23", "call:wxa:/y:2026-11-23", "call:wxab:/x:2026-11-23", "call:WXA:/x:2026-11-23", "min:wxa:/x:t"} {
			must[int](t)(tx.AddCounter(k, 3))
		}
		equal(t, must[int64](t)(tx.DeleteCounters("call:wxa:")), int64(2))
		equal(t, must[int64](t)(tx.DeleteCounters("call:wxa:")), int64(0))
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		_, err := tx.GetCounter("call:wxa:/x:2026-11-23")
		wantErr(t, err, miniship.ErrNotFound)
		for _, k := range []string{"call:wxab:/x:2026-11-23", "call:WXA:/x:2026-11-23", "min:wxa:/x:t"} {
			equal(t, must[int](t)(tx.GetCounter(k)), 3)
		}
		return nil
	})
}
