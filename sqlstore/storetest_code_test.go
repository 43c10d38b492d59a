package sqlstore

// The store suite (storetest_test.go): versions, audits, releases and gray plans.

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

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
