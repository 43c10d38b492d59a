package sqlstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// runSuite checks a miniship.Store against the contract. open returns a
// fresh, empty store and arranges for it to be closed.
func runSuite(t *testing.T, open func(t *testing.T) miniship.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s miniship.Store)
	}{
		{"Platforms", testPlatforms},
		{"Tokens", testTokens},
		{"UseTokenOnce", testUseTokenOnce},
		{"Authorizers", testAuthorizers},
		{"Authorizations", testAuthorizations},
		{"DraftsAndTemplates", testDraftsAndTemplates},
		{"Versions", testVersions},
		{"Audits", testAudits},
		{"Releases", testReleases},
		{"GrayPlans", testGrayPlans},
		{"Counters", testCounters},
		{"Media", testMedia},
		{"Grants", testGrants},
		{"Events", testEvents},
		{"DueEventsClaim", testDueEventsClaim},
		{"Rollback", testRollback},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"Context", testContext},
		{"ConcurrentCounter", testConcurrentCounter},
		{"ConcurrentLockAuthorizer", testConcurrentLockAuthorizer},
		{"ConcurrentLockPlatform", testConcurrentLockPlatform},
		{"DeadlockRetry", testDeadlockRetry},
		{"AuthorizerSecret", testAuthorizerSecret}, {"AuthorizationList", testAuthorizationList}, {"ManualClock", testManualClock},
		{"GrantGenerations", testGrantGenerations}, {"LockForCommit", testLockForCommit}, // commit_test.go
		{"SubmitReads", testSubmitReads},                                                                                                                         // submit_test.go
		{"Read", testRead}, {"AuditsDue", testAuditsDue}, {"CreateVersionIf", testCreateVersionIf}, {"CreateVersionIfConcurrent", testCreateVersionIfConcurrent}, // read_test.go, commitif_test.go
		{"PruneQuotaCounters", testPruneQuotaCounters},                                     // retention_quota_test.go
		{"IssueToken", testIssueToken}, {"IssueTokenConcurrent", testIssueTokenConcurrent}, // storetest_tokens_test.go
		{"VersionBound", testVersionBound}, {"PruneTemplates", testPruneTemplates}, // retention_bound_test.go
		{"Seed", testSeed},               // seed_test.go
		{"FairCommits", testFairCommits}, // fair_test.go
	}
	tests = append(tests, domainSuite...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// --- helpers ----------------------------------------------------------------

// at is a test time with nanoseconds, in UTC as the store returns times.
func at(sec int) time.Time { return time.Date(2026, 11, 23, 10, 0, sec, 123456789, time.UTC) }

func update(t *testing.T, s miniship.Store, fn func(tx miniship.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, s miniship.Store, fn func(tx miniship.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// must fails the test on err, else returns v.
func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func equal(t *testing.T, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("\ngot  %s\nwant %s", dump(got), dump(want))
	}
}

func dump(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

func backend(s miniship.Store) string { return s.(*Store).Backend() }

// fixtures creates a platform and two authorizers.
func fixtures(t *testing.T, s miniship.Store) {
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxp", CreatedAt: at(0)}))
		ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxa", CreatedAt: at(0)}))
		return tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxb", CreatedAt: at(0)})
	})
}

// --- entity tests -----------------------------------------------------------

func testPlatforms(t *testing.T, s miniship.Store) {
	p := &miniship.Platform{AppID: "wxp1", Secret: "sec", Token: "tok", EncodingAESKey: "aes",
		AuthEventURL: "https://a.example/auth", MessageURL: "https://a.example/msg",
		VerifyTicket: "ticket@@@", TicketAt: at(1), AuditQuota: 20, SpeedupQuota: 5, CreatedAt: at(0)}
	bare := &miniship.Platform{AppID: "wxp0"} // zero times
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(p))
		return tx.CreatePlatform(bare)
	})
	update(t, s, func(tx miniship.Tx) error {
		wantErr(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxp1"}), miniship.ErrConflict)
		// ErrConflict leaves the transaction usable, on PostgreSQL too.
		return tx.CreatePlatform(&miniship.Platform{AppID: "wxp2", CreatedAt: at(2)})
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Platform](t)(tx.GetPlatform("wxp1")), p)
		equal(t, must[*miniship.Platform](t)(tx.GetPlatform("wxp0")), bare)
		_, err := tx.GetPlatform("nope")
		wantErr(t, err, miniship.ErrNotFound)
		var ids []string
		for _, p := range must[[]*miniship.Platform](t)(tx.ListPlatforms()) {
			ids = append(ids, p.AppID)
		}
		equal(t, ids, []string{"wxp0", "wxp1", "wxp2"})
		return nil
	})
	changed := &miniship.Platform{AppID: "wxp1", Secret: "sec2", Token: "tok2", EncodingAESKey: "aes2",
		AuthEventURL: "https://b.example/auth", MessageURL: "https://b.example/msg",
		VerifyTicket: "ticket2", TicketAt: at(9), AuditQuota: 19, SpeedupQuota: 4, CreatedAt: at(99)}
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.UpdatePlatform(changed))
		wantErr(t, tx.UpdatePlatform(&miniship.Platform{AppID: "nope"}), miniship.ErrNotFound)
		return nil
	})
	want := *changed
	want.CreatedAt = p.CreatedAt // kept
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Platform](t)(tx.GetPlatform("wxp1")), &want)
		return nil
	})
}

func testTokens(t *testing.T, s miniship.Store) {
	code := &miniship.Token{Value: "code1", Kind: miniship.AuthCode, PlatformAppID: "wxp",
		AuthorizerAppID: "wxa", ExpiresAt: at(10), CreatedAt: at(0)}
	access := &miniship.Token{Value: "code1", Kind: miniship.AuthorizerToken, PlatformAppID: "wxp",
		AuthorizerAppID: "wxa", ExpiresAt: at(20), Used: true, CreatedAt: at(1)}
	noExpiry := &miniship.Token{Value: "zero", Kind: miniship.ComponentToken}
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.PutToken(code))
		ok(t, tx.PutToken(access)) // same value, other kind: another token
		return tx.PutToken(noExpiry)
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Token](t)(tx.GetToken(miniship.AuthCode, "code1")), code)
		equal(t, must[*miniship.Token](t)(tx.GetToken(miniship.AuthorizerToken, "code1")), access)
		equal(t, must[*miniship.Token](t)(tx.GetToken(miniship.ComponentToken, "zero")), noExpiry)
		_, err := tx.GetToken(miniship.PreAuthCode, "code1")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
	// Single use.
	update(t, s, func(tx miniship.Tx) error {
		if !must[bool](t)(tx.UseToken(miniship.AuthCode, "code1")) {
			t.Fatal("first UseToken = false")
		}
		if must[bool](t)(tx.UseToken(miniship.AuthCode, "code1")) {
			t.Fatal("second UseToken = true")
		}
		_, err := tx.UseToken(miniship.AuthCode, "nope")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
	update(t, s, func(tx miniship.Tx) error {
		if must[bool](t)(tx.UseToken(miniship.AuthCode, "code1")) {
			t.Fatal("UseToken in a later transaction = true")
		}
		if !must[*miniship.Token](t)(tx.GetToken(miniship.AuthCode, "code1")).Used {
			t.Fatal("used code not marked Used")
		}
		return nil
	})
	// Put replaces, Used included.
	renewed := *code
	renewed.ExpiresAt, renewed.Used, renewed.AuthorizerAppID = at(30), false, "wxb"
	update(t, s, func(tx miniship.Tx) error { return tx.PutToken(&renewed) })
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Token](t)(tx.GetToken(miniship.AuthCode, "code1")), &renewed)
		return nil
	})
	// Expiry: strictly before; the zero time is before everything.
	update(t, s, func(tx miniship.Tx) error {
		n := must[int64](t)(tx.DeleteExpiredTokens(at(20)))
		equal(t, n, int64(1)) // noExpiry; access expires at(20), not before it
		n = must[int64](t)(tx.DeleteExpiredTokens(at(20)))
		equal(t, n, int64(0))
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		_, err := tx.GetToken(miniship.ComponentToken, "zero")
		wantErr(t, err, miniship.ErrNotFound)
		_, err = tx.GetToken(miniship.AuthorizerToken, "code1")
		return err
	})
}

func testUseTokenOnce(t *testing.T, s miniship.Store) {
	update(t, s, func(tx miniship.Tx) error {
		return tx.PutToken(&miniship.Token{Value: "c", Kind: miniship.PreAuthCode, ExpiresAt: at(1)})
	})
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			err := s.Update(t.Context(), func(tx miniship.Tx) error {
				won, err := tx.UseToken(miniship.PreAuthCode, "c")
				if won {
					wins.Add(1)
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	equal(t, wins.Load(), int32(1))
}

func testAuthorizers(t *testing.T, s miniship.Store) {
	full := &miniship.Authorizer{AppID: "wxa1", Nickname: "小程序", OriginalID: "gh_1", ProfileComplete: true,
		Categories: []miniship.Category{
			{FirstClass: "工具", SecondClass: "效率", FirstID: 1, SecondID: 2},
			{FirstClass: "教育", SecondClass: "在线", ThirdClass: "语言", FirstID: 3, SecondID: 4, ThirdID: 5},
		},
		PrivacyAPIs: []string{}, // empty, not nil
		Plugins: []miniship.PluginGrant{
			{AppID: "wxplugin1", Versions: []string{"1.0.0", "1.1.0"}},
			{AppID: "wxplugin2"}, // nil Versions
			{AppID: "wxplugin3", Versions: []string{}},
		},
		VisitStatus: 1, SupportVersion: "2.30.0", CommitUntil: at(30), CreatedAt: at(0)}
	bare := &miniship.Authorizer{AppID: "wxa0"} // nil slices, zero times
	update(t, s, func(tx miniship.Tx) error {
		// An empty list is [], not null, once encoded.
		equal(t, must[[]*miniship.Authorizer](t)(tx.ListAuthorizers()), []*miniship.Authorizer{})
		ok(t, tx.CreateAuthorizer(full))
		ok(t, tx.CreateAuthorizer(bare))
		wantErr(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxa1"}), miniship.ErrConflict)
		equal(t, must[*miniship.Authorizer](t)(tx.LockAuthorizer("wxa1")), full)
		_, err := tx.LockAuthorizer("nope")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Authorizer](t)(tx.GetAuthorizer("wxa1")), full)
		equal(t, must[*miniship.Authorizer](t)(tx.GetAuthorizer("wxa0")), bare)
		equal(t, must[*miniship.Authorizer](t)(tx.LockAuthorizer("wxa0")), bare) // a plain read in View
		_, err := tx.GetAuthorizer("nope")
		wantErr(t, err, miniship.ErrNotFound)
		equal(t, must[[]*miniship.Authorizer](t)(tx.ListAuthorizers()), []*miniship.Authorizer{bare, full})
		return nil
	})
	changed := &miniship.Authorizer{AppID: "wxa1", Nickname: "新名字", OriginalID: "gh_2",
		Categories: []miniship.Category{}, PrivacyAPIs: []string{"getLocation"}, Plugins: nil,
		VisitStatus: 0, SupportVersion: "3.0.0", CommitUntil: time.Time{}, CreatedAt: at(77)}
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.UpdateAuthorizer(changed))
		wantErr(t, tx.UpdateAuthorizer(&miniship.Authorizer{AppID: "nope"}), miniship.ErrNotFound)
		return nil
	})
	want := *changed
	want.CreatedAt = full.CreatedAt
	want.GrantsRev = full.GrantsRev + 1 // privacy_apis changed
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Authorizer](t)(tx.GetAuthorizer("wxa1")), &want)
		return nil
	})
}

func testAuthorizations(t *testing.T, s miniship.Store) {
	fixtures(t, s)
	ab := &miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxb", PermissionSets: []int{1, 17, 18},
		RefreshToken: "refresh-b", CreatedAt: at(1), UpdatedAt: at(1)}
	aa := &miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", RefreshToken: "refresh-a",
		CreatedAt: at(2), UpdatedAt: at(3)} // nil PermissionSets
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.PutAuthorization(aa))
		return tx.PutAuthorization(ab)
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Authorization](t)(tx.GetAuthorization("wxp", "wxa")), aa)
		equal(t, must[*miniship.Authorization](t)(tx.GetAuthorization("wxp", "wxb")), ab)
		_, err := tx.GetAuthorization("wxp", "nope")
		wantErr(t, err, miniship.ErrNotFound)
		// Oldest first.
		equal(t, must[[]*miniship.Authorization](t)(tx.ListAuthorizations("wxp")), []*miniship.Authorization{ab, aa})
		equal(t, must[[]*miniship.Authorization](t)(tx.ListAuthorizations("other")), []*miniship.Authorization{})
		return nil
	})
	// Re-authorization replaces the grant but keeps CreatedAt.
	again := &miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", PermissionSets: []int{},
		RefreshToken: "refresh-a2", CreatedAt: at(50), UpdatedAt: at(50)}
	update(t, s, func(tx miniship.Tx) error { return tx.PutAuthorization(again) })
	want := *again
	want.CreatedAt = aa.CreatedAt
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Authorization](t)(tx.GetAuthorization("wxp", "wxa")), &want)
		return nil
	})
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.DeleteAuthorization("wxp", "wxa"))
		wantErr(t, tx.DeleteAuthorization("wxp", "wxa"), miniship.ErrNotFound)
		_, err := tx.GetAuthorization("wxp", "wxa")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
	// Both sides must exist.
	err := s.Update(t.Context(), func(tx miniship.Tx) error {
		return tx.PutAuthorization(&miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "ghost"})
	})
	wantErr(t, err, miniship.ErrNotFound)
}

func testDraftsAndTemplates(t *testing.T, s miniship.Store) {
	drafts := []*miniship.Draft{
		{PlatformAppID: "wxp", UserVersion: "1.0.0", UserDesc: "first", SourceAppID: "wxdev",
			SourceName: "dev app", Developer: "alice", Package: []byte{0, 1, 2, 0xff}, CreatedAt: at(1)},
		{PlatformAppID: "wxp", UserVersion: "1.0.1", Package: []byte{}, CreatedAt: at(2)},
		{PlatformAppID: "wxp", UserVersion: "1.0.2"}, // nil package, zero time
		{PlatformAppID: "other", UserVersion: "9"},
	}
	update(t, s, func(tx miniship.Tx) error {
		for _, d := range drafts {
			ok(t, tx.CreateDraft(d))
		}
		return nil
	})
	if !(drafts[0].ID > 0 && drafts[0].ID < drafts[1].ID && drafts[1].ID < drafts[2].ID) {
		t.Fatalf("draft ids %d %d %d: want increasing", drafts[0].ID, drafts[1].ID, drafts[2].ID)
	}
	view(t, s, func(tx miniship.Tx) error {
		for _, d := range drafts {
			equal(t, must[*miniship.Draft](t)(tx.GetDraft(d.PlatformAppID, d.ID)), d)
		}
		_, err := tx.GetDraft("other", drafts[0].ID) // another platform's
		wantErr(t, err, miniship.ErrNotFound)
		var want []*miniship.Draft
		for _, d := range drafts[:3] {
			c := *d
			c.Package = nil // listings leave the code out
			want = append(want, &c)
		}
		equal(t, must[[]*miniship.Draft](t)(tx.ListDrafts("wxp")), want)
		return nil
	})

	tpls := []*miniship.Template{
		{PlatformAppID: "wxp", DraftID: drafts[0].ID, Type: miniship.TemplateNormal, UserVersion: "1.0.0",
			UserDesc: "first", SourceAppID: "wxdev", SourceName: "dev app", Developer: "alice", CreatedAt: at(5)},
		{PlatformAppID: "wxp", DraftID: drafts[1].ID, Type: miniship.TemplateStandard, UserVersion: "1.0.1"},
		{PlatformAppID: "wxp", DraftID: drafts[0].ID, Type: miniship.TemplateNormal, UserVersion: "1.0.0b"},
		{PlatformAppID: "wxp", DraftID: drafts[2].ID, Type: miniship.TemplateNormal, UserVersion: "1.0.2"},
		{PlatformAppID: "other", DraftID: drafts[3].ID},
	}
	update(t, s, func(tx miniship.Tx) error {
		for _, m := range tpls {
			ok(t, tx.CreateTemplate(m))
		}
		ok(t, tx.DeleteTemplate("wxp", tpls[2].ID, at(9)))
		wantErr(t, tx.DeleteTemplate("wxp", tpls[2].ID, at(9)), miniship.ErrNotFound) // deleted already
		wantErr(t, tx.DeleteTemplate("other", tpls[0].ID, at(9)), miniship.ErrNotFound)
		wantErr(t, tx.DeleteTemplate("wxp", 1<<40, at(9)), miniship.ErrNotFound)
		return nil
	})
	tpls[2].Deleted = true
	view(t, s, func(tx miniship.Tx) error {
		for _, m := range tpls {
			equal(t, must[*miniship.Template](t)(tx.GetTemplate(m.PlatformAppID, m.ID)), m)
		}
		_, err := tx.GetTemplate("other", tpls[0].ID)
		wantErr(t, err, miniship.ErrNotFound)
		list := func(typ int) []*miniship.Template { return must[[]*miniship.Template](t)(tx.ListTemplates("wxp", typ)) }
		equal(t, list(-1), []*miniship.Template{tpls[0], tpls[1], tpls[3]})
		equal(t, list(miniship.TemplateNormal), []*miniship.Template{tpls[0], tpls[3]})
		equal(t, list(miniship.TemplateStandard), []*miniship.Template{tpls[1]})
		equal(t, must[[]*miniship.Template](t)(tx.ListTemplates("nobody", -1)), []*miniship.Template{})
		return nil
	})
	// A template needs its draft.
	err := s.Update(t.Context(), func(tx miniship.Tx) error {
		return tx.CreateTemplate(&miniship.Template{PlatformAppID: "wxp", DraftID: 1 << 40})
	})
	wantErr(t, err, miniship.ErrNotFound)
}
