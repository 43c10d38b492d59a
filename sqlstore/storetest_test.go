package sqlstore

import (
	"context"
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
		{"Read", testRead}, {"AuditsDue", testAuditsDue}, {"CreateVersionIf", testCreateVersionIf}, // read_test.go, commitif_test.go
		{"PruneQuotaCounters", testPruneQuotaCounters}, // retention_quota_test.go
		{"Seed", testSeed}, // seed_test.go
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
		ok(t, tx.DeleteTemplate("wxp", tpls[2].ID))
		wantErr(t, tx.DeleteTemplate("wxp", tpls[2].ID), miniship.ErrNotFound) // deleted already
		wantErr(t, tx.DeleteTemplate("other", tpls[0].ID), miniship.ErrNotFound)
		wantErr(t, tx.DeleteTemplate("wxp", 1<<40), miniship.ErrNotFound)
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

func testVersions(t *testing.T, s miniship.Store) {
	full := &miniship.Version{AuthorizerAppID: "wxa", PlatformAppID: "wxp", TemplateID: 7,
		UserVersion: "1.2.3", UserDesc: "desc", ExtJSON: `{"extAppid":"wxa","ext":{"k":"v"}}`,
		App:                 json.RawMessage(`{"pages":["pages/index/index"],"window":{"navigationBarTitleText":"标题"}}`),
		Pages:               json.RawMessage(`{"pages/index/index":{"usingComponents":{}}}`),
		Ext:                 json.RawMessage(`null`),
		PageList:            []string{"pages/index/index", "pages/about/about"},
		UsedPrivacyAPIs:     []string{"getLocation"},
		DeclaredPrivacyAPIs: []string{},
		ScanDoneAt:          at(40), CreatedAt: at(30)}
	bare := &miniship.Version{AuthorizerAppID: "wxb", App: json.RawMessage{}}               // nil Pages/Ext, empty App
	v3 := &miniship.Version{AuthorizerAppID: "wxa", UserVersion: "1.2.4", CreatedAt: at(1)} // earlier clock, later commit
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreateVersion(full))
		ok(t, tx.CreateVersion(bare))
		return tx.CreateVersion(v3)
	})
	if full.ID == 0 || bare.ID <= full.ID || v3.ID <= bare.ID {
		t.Fatalf("version ids %d %d %d: want increasing", full.ID, bare.ID, v3.ID)
	}
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Version](t)(tx.GetVersion(full.ID)), full)
		equal(t, must[*miniship.Version](t)(tx.GetVersion(bare.ID)), bare)
		_, err := tx.GetVersion(1 << 40)
		wantErr(t, err, miniship.ErrNotFound)
		equal(t, must[*miniship.Version](t)(tx.LatestVersion("wxa")), v3)
		equal(t, must[*miniship.Version](t)(tx.LatestVersion("wxb")), bare)
		_, err = tx.LatestVersion("nope")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
}

func testAudits(t *testing.T, s miniship.Store) {
	var v miniship.Version
	var audits []*miniship.Audit
	update(t, s, func(tx miniship.Tx) error {
		v = miniship.Version{AuthorizerAppID: "wxa"}
		ok(t, tx.CreateVersion(&v))
		audits = []*miniship.Audit{
			{AuthorizerAppID: "wxa", PlatformAppID: "wxp", VersionID: v.ID, Status: miniship.AuditPending,
				Reason: "", ScreenShot: "m1|m2", Request: json.RawMessage(`{"item_list":[{"address":"pages/index/index"}]}`),
				SubmittedAt: at(1)},
			{AuthorizerAppID: "wxb", VersionID: v.ID, Status: miniship.AuditRejected, Reason: "不符合规范",
				SpedUp: true, SubmittedAt: at(2), DecidedAt: at(3)},
			{AuthorizerAppID: "wxa", VersionID: v.ID, Status: miniship.AuditPending, SubmittedAt: at(4)},
			{AuthorizerAppID: "wxc", VersionID: v.ID, Status: miniship.AuditPending, Request: json.RawMessage(`{}`)},
		}
		for _, a := range audits {
			ok(t, tx.CreateAudit(a))
		}
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		for _, a := range audits {
			equal(t, must[*miniship.Audit](t)(tx.GetAudit(a.ID)), a)
		}
		_, err := tx.GetAudit(1 << 40)
		wantErr(t, err, miniship.ErrNotFound)
		equal(t, must[*miniship.Audit](t)(tx.LatestAudit("wxa")), audits[2])
		_, err = tx.LatestAudit("nope")
		wantErr(t, err, miniship.ErrNotFound)
		list := func(st miniship.AuditStatus, n int) []*miniship.Audit {
			return must[[]*miniship.Audit](t)(tx.ListAudits(st, n))
		}
		equal(t, list(miniship.AuditPending, 0), []*miniship.Audit{audits[0], audits[2], audits[3]})
		equal(t, list(miniship.AuditPending, 2), []*miniship.Audit{audits[0], audits[2]})
		equal(t, list(-1, 0), audits)
		equal(t, list(miniship.AuditApproved, 10), []*miniship.Audit{})
		return nil
	})
	decided := *audits[0]
	decided.Status, decided.Reason, decided.DecidedAt, decided.Released, decided.SpedUp =
		miniship.AuditApproved, "ok", at(9), true, true
	decided.Request = nil
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.UpdateAudit(&decided))
		wantErr(t, tx.UpdateAudit(&miniship.Audit{ID: 1 << 40}), miniship.ErrNotFound)
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Audit](t)(tx.GetAudit(decided.ID)), &decided)
		equal(t, len(must[[]*miniship.Audit](t)(tx.ListAudits(miniship.AuditPending, 0))), 2)
		return nil
	})
	err := s.Update(t.Context(), func(tx miniship.Tx) error {
		return tx.CreateAudit(&miniship.Audit{AuthorizerAppID: "wxa", VersionID: 1 << 40})
	})
	wantErr(t, err, miniship.ErrNotFound)
}

func testReleases(t *testing.T, s miniship.Store) {
	var rels []*miniship.Release
	update(t, s, func(tx miniship.Tx) error {
		v := &miniship.Version{AuthorizerAppID: "wxa"}
		ok(t, tx.CreateVersion(v))
		for i := range 5 {
			r := &miniship.Release{AuthorizerAppID: "wxa", VersionID: v.ID, AuditID: int64(i + 1),
				UserVersion: fmt.Sprintf("1.0.%d", i), UserDesc: "d", CommitTime: at(i), ReleasedAt: at(10 + i)}
			ok(t, tx.CreateRelease(r))
			rels = append(rels, r)
		}
		return tx.CreateRelease(&miniship.Release{AuthorizerAppID: "wxb", VersionID: v.ID})
	})
	newest := func(rs ...*miniship.Release) []*miniship.Release { return rs }
	view(t, s, func(tx miniship.Tx) error {
		list := func(n int) []*miniship.Release { return must[[]*miniship.Release](t)(tx.ListReleases("wxa", n)) }
		equal(t, list(3), newest(rels[4], rels[3], rels[2]))
		equal(t, list(0), newest(rels[4], rels[3], rels[2], rels[1], rels[0]))
		equal(t, list(100), list(0))
		equal(t, must[[]*miniship.Release](t)(tx.ListReleases("nope", 0)), []*miniship.Release{})
		return nil
	})
	r := *rels[3]
	r.Reverted, r.UserDesc, r.ReleasedAt = true, "rolled back", time.Time{}
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.UpdateRelease(&r))
		wantErr(t, tx.UpdateRelease(&miniship.Release{ID: 1 << 40}), miniship.ErrNotFound)
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[[]*miniship.Release](t)(tx.ListReleases("wxa", 2)), newest(rels[4], &r))
		return nil
	})
	err := s.Update(t.Context(), func(tx miniship.Tx) error {
		return tx.CreateRelease(&miniship.Release{AuthorizerAppID: "wxa", VersionID: 1 << 40})
	})
	wantErr(t, err, miniship.ErrNotFound)
}

func testGrayPlans(t *testing.T, s miniship.Store) {
	g := &miniship.GrayPlan{AuthorizerAppID: "wxa", Status: miniship.GrayRunning, Percentage: 30,
		DebugerFirst: true, ExperiencerFirst: true, AuditID: 12, CreatedAt: at(1)}
	update(t, s, func(tx miniship.Tx) error {
		_, err := tx.GetGrayPlan("wxa")
		wantErr(t, err, miniship.ErrNotFound)
		return tx.PutGrayPlan(g)
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.GrayPlan](t)(tx.GetGrayPlan("wxa")), g)
		return nil
	})
	next := &miniship.GrayPlan{AuthorizerAppID: "wxa", Status: miniship.GrayFinished, Percentage: 100, AuditID: 13}
	update(t, s, func(tx miniship.Tx) error { return tx.PutGrayPlan(next) })
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.GrayPlan](t)(tx.GetGrayPlan("wxa")), next)
		return nil
	})
}

func testCounters(t *testing.T, s miniship.Store) {
	update(t, s, func(tx miniship.Tx) error {
		n, err := tx.GetCounter("undo:wxa:2026-11-23")
		wantErr(t, err, miniship.ErrNotFound)
		equal(t, n, 0)
		add := func(key string, d int) int { return must[int](t)(tx.AddCounter(key, d)) }
		equal(t, add("undo:wxa:2026-11-23", 1), 1)
		equal(t, add("undo:wxa:2026-11-23", 4), 5)
		equal(t, add("undo:wxa:2026-11-23", -2), 3)
		equal(t, add("undo:wxb:2026-11-23", 2), 2)
		equal(t, add("zero", 0), 0)
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[int](t)(tx.GetCounter("undo:wxa:2026-11-23")), 3)
		equal(t, must[int](t)(tx.GetCounter("undo:wxb:2026-11-23")), 2)
		equal(t, must[int](t)(tx.GetCounter("zero")), 0)
		return nil
	})
}

func testMedia(t *testing.T, s miniship.Store) {
	ms := []*miniship.Media{
		{ID: "m1", AuthorizerAppID: "wxa", Type: "image", Data: []byte("\x89PNG\r\n\x1a\n\x00"), CreatedAt: at(1)},
		{ID: "m2", Data: []byte{}},
		{ID: "m3"}, // nil data
	}
	update(t, s, func(tx miniship.Tx) error {
		for _, m := range ms {
			ok(t, tx.PutMedia(m))
		}
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		for _, m := range ms {
			equal(t, must[*miniship.Media](t)(tx.GetMedia(m.ID)), m)
		}
		_, err := tx.GetMedia("nope")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
	repl := &miniship.Media{ID: "m1", AuthorizerAppID: "wxb", Type: "video", Data: []byte("x"), CreatedAt: at(2)}
	update(t, s, func(tx miniship.Tx) error { return tx.PutMedia(repl) })
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Media](t)(tx.GetMedia("m1")), repl)
		return nil
	})
}

func testEvents(t *testing.T, s miniship.Store) {
	ev := func(platform, status string, next time.Time) *miniship.Event {
		return &miniship.Event{PlatformAppID: platform, URL: "https://r.example/" + platform, Kind: "weapp_audit_success",
			EnvelopeKind: miniship.EnvelopeToUserName, EnvelopeTo: "gh_1", Payload: "<xml><Event>x</Event></xml>",
			Status: status, Attempts: 1, NextAttemptAt: next, CreatedAt: at(0)}
	}
	e1 := ev("wxp", miniship.EventPending, at(5))
	e2 := ev("wxp", miniship.EventPending, at(1))
	e3 := ev("wxp", miniship.EventDelivered, at(0))
	e4 := ev("wxp", miniship.EventPending, at(20)) // not yet due
	e5 := ev("wxp", miniship.EventPending, time.Time{})
	e6 := ev("wxq", miniship.EventPending, at(2))
	e7 := ev("wxp", miniship.EventFailed, at(1))
	e8 := ev("wxp", miniship.EventPending, at(5)) // same time as e1: id breaks the tie
	events := []*miniship.Event{e1, e2, e3, e4, e5, e6, e7, e8}
	update(t, s, func(tx miniship.Tx) error {
		for _, e := range events {
			ok(t, tx.EnqueueEvent(e))
		}
		// Due inside Update too (where PostgreSQL claims the rows).
		equal(t, must[[]*miniship.Event](t)(tx.DueEvents(at(5), 0)), []*miniship.Event{e5, e2, e6, e1, e8})
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		for _, e := range events {
			got := must[[]*miniship.Event](t)(tx.ListEvents(e.PlatformAppID, 0))
			found := false
			for _, g := range got {
				if g.ID == e.ID {
					equal(t, g, e)
					found = true
				}
			}
			if !found {
				t.Fatalf("event %d not listed", e.ID)
			}
		}
		due := func(now time.Time, n int) []*miniship.Event { return must[[]*miniship.Event](t)(tx.DueEvents(now, n)) }
		equal(t, due(at(5), 0), []*miniship.Event{e5, e2, e6, e1, e8})
		equal(t, due(at(5), 2), []*miniship.Event{e5, e2})
		equal(t, due(at(1), 0), []*miniship.Event{e5, e2})
		equal(t, due(time.Time{}, 0), []*miniship.Event{e5})
		equal(t, must[[]*miniship.Event](t)(tx.ListEvents("wxp", 3)), []*miniship.Event{e8, e7, e5})
		equal(t, must[[]*miniship.Event](t)(tx.ListEvents("", 2)), []*miniship.Event{e8, e7})
		equal(t, len(must[[]*miniship.Event](t)(tx.ListEvents("", 0))), len(events))
		equal(t, must[[]*miniship.Event](t)(tx.ListEvents("nope", 0)), []*miniship.Event{})
		return nil
	})
	// Delivery: attempts and the status change.
	a1 := &miniship.EventAttempt{EventID: e2.ID, At: at(1), HTTPStatus: 500, Response: "oops", Error: "status 500"}
	a2 := &miniship.EventAttempt{EventID: e2.ID, At: at(3), HTTPStatus: 200, Response: "success"}
	d := *e2
	d.Status, d.Attempts, d.NextAttemptAt, d.URL = miniship.EventDelivered, 2, time.Time{}, "https://moved.example"
	d.CreatedAt = at(99) // not written
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.AddEventAttempt(a1))
		ok(t, tx.AddEventAttempt(a2))
		ok(t, tx.UpdateEvent(&d))
		wantErr(t, tx.UpdateEvent(&miniship.Event{ID: 1 << 40}), miniship.ErrNotFound)
		return nil
	})
	// A delivered (or failed) event is final: a late writer changes nothing.
	update(t, s, func(tx miniship.Tx) error {
		late := d
		late.Status, late.Attempts, late.NextAttemptAt = miniship.EventPending, 9, at(7)
		wantErr(t, tx.UpdateEvent(&late), miniship.ErrConflict)
		late.ID = e7.ID
		wantErr(t, tx.UpdateEvent(&late), miniship.ErrConflict)
		return nil
	})
	d.CreatedAt = e2.CreatedAt
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[[]*miniship.EventAttempt](t)(tx.ListEventAttempts(e2.ID)), []*miniship.EventAttempt{a1, a2})
		equal(t, must[[]*miniship.EventAttempt](t)(tx.ListEventAttempts(e1.ID)), []*miniship.EventAttempt{})
		equal(t, must[[]*miniship.Event](t)(tx.DueEvents(at(5), 0)), []*miniship.Event{e5, e6, e1, e8})
		got := must[[]*miniship.Event](t)(tx.ListEvents("wxp", 0))
		equal(t, got[len(got)-2], &d) // e2, second oldest
		return nil
	})
	err := s.Update(t.Context(), func(tx miniship.Tx) error {
		return tx.AddEventAttempt(&miniship.EventAttempt{EventID: 1 << 40})
	})
	wantErr(t, err, miniship.ErrNotFound)
}

// testDueEventsClaim: two outbox workers in concurrent Updates take
// different events on PostgreSQL.
func testDueEventsClaim(t *testing.T, s miniship.Store) {
	if backend(s) == "sqlite" {
		t.Skip("SQLite runs one Update at a time: there is nothing to skip")
	}
	var e1, e2 miniship.Event
	update(t, s, func(tx miniship.Tx) error {
		e1 = miniship.Event{Status: miniship.EventPending, NextAttemptAt: at(1)}
		e2 = miniship.Event{Status: miniship.EventPending, NextAttemptAt: at(2)}
		ok(t, tx.EnqueueEvent(&e1))
		return tx.EnqueueEvent(&e2)
	})
	claimed, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.Update(t.Context(), func(tx miniship.Tx) error {
			due, err := tx.DueEvents(at(9), 1)
			if err != nil || len(due) != 1 || due[0].ID != e1.ID {
				return fmt.Errorf("first worker got %v, %v", dump(due), err)
			}
			close(claimed)
			<-release
			return nil
		})
	}()
	<-claimed
	update(t, s, func(tx miniship.Tx) error {
		due := must[[]*miniship.Event](t)(tx.DueEvents(at(9), 0))
		if len(due) != 1 || due[0].ID != e2.ID {
			t.Errorf("second worker got %s, want only event %d", dump(due), e2.ID)
		}
		return nil
	})
	close(release)
	ok(t, <-done)
	view(t, s, func(tx miniship.Tx) error { // a View takes no locks and sees both
		equal(t, len(must[[]*miniship.Event](t)(tx.DueEvents(at(9), 0))), 2)
		return nil
	})
}

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
