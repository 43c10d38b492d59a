package wxa_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxa/internal/fixture"
	"github.com/miniship/miniship/wxcrypt"
	"github.com/miniship/miniship/wxerr"
)

// requireRoute skips when the server does not serve path yet (the audit
// and release endpoints arrived after the SDK).
func requireRoute(t *testing.T, s *mstest.Server, path string) {
	t.Helper()
	res, err := http.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(b), "unknown api") {
		t.Skipf("the server has no %s yet", path)
	}
}

// TestAuditReleaseFlow: commit → scan → submit (61039 is waited out, never
// answered by committing again) → approve (pushed) → release → visit
// status → gray → rollback → support version → undo.
func TestAuditReleaseFlow(t *testing.T) {
	e, c, calls := fixture.Setup(t, mstest.Options{}, func(e *fixture.Env, o *wxa.Options) {
		o.Sleep = func(ctx context.Context, d time.Duration) error { e.S.Advance(d); return ctx.Err() }
	})
	requireRoute(t, e.S, "/wxa/submit_audit")
	ctx, cancel := context.WithTimeout(bg, time.Minute)
	defer cancel()
	app := c.App(e.AppID)

	commit := func(version string) {
		t.Helper()
		if err := app.Commit(ctx, wxa.CommitRequest{TemplateID: e.Template, ExtJSON: map[string]any{"ext": map[string]string{"v": version}, "requiredPrivateInfos": []string{}}, UserVersion: version, UserDesc: "d" + version}); err != nil {
			t.Fatalf("commit %s: %v", version, err)
		}
	}
	cats, err := app.Categories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	item := cats[0].AuditItem()
	item.Address, item.Title, item.Tag = "pages/index/index", "Home", "shop"
	submit := func() int64 {
		t.Helper()
		if _, err := app.WaitPrivacyScan(ctx); err != nil {
			t.Fatal(err)
		}
		// The demo code calls getLocation, which this mini program may not:
		// promise it is unused (else 61040).
		id, err := app.SubmitAudit(ctx, wxa.SubmitAuditRequest{ItemList: []wxa.AuditItem{item}, PrivacyAPINotUse: true, VersionDesc: "v"})
		if err != nil || id == 0 {
			t.Fatalf("SubmitAudit = %d, %v", id, err)
		}
		return id
	}
	approve := func(id int64) {
		t.Helper()
		if _, err := e.S.Service.DecideAudit(ctx, id, service.Decision{Result: service.DecisionApprove}); err != nil {
			t.Fatal(err)
		}
	}

	commit("1.0.0")
	// Right after commit the scan runs: submit_audit answers 61039 once,
	// nothing is retried and nothing is committed again.
	commits, submits := calls.N("/wxa/commit"), calls.N("/wxa/submit_audit")
	if _, err := app.SubmitAudit(ctx, wxa.SubmitAuditRequest{ItemList: []wxa.AuditItem{item}, PrivacyAPINotUse: true}); !errors.Is(err, wxerr.PrivacyScanRunning) {
		t.Fatalf("submit during the scan: %v, want 61039", err)
	}
	if calls.N("/wxa/commit") != commits || calls.N("/wxa/submit_audit") != submits+1 {
		t.Fatal("61039 triggered another commit or submit")
	}
	if _, err := app.WaitPrivacyScan(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := app.SubmitAudit(ctx, wxa.SubmitAuditRequest{ItemList: []wxa.AuditItem{item}}); !errors.Is(err, wxerr.PrivacyAPINotConfigured) {
		t.Fatalf("submit without the promise: %v, want 61040", err)
	}

	var pic bytes.Buffer
	png.Encode(&pic, image.NewGray(image.Rect(0, 0, 4, 4)))
	media, err := app.UploadMedia(ctx, "shot.png", pic.Bytes())
	if err != nil || media.Type != "image" || media.MediaID == "" {
		t.Fatalf("UploadMedia = %+v, %v", media, err)
	}
	id, err := app.SubmitAudit(ctx, wxa.SubmitAuditRequest{ItemList: []wxa.AuditItem{item}, PrivacyAPINotUse: true,
		PreviewInfo: &wxa.PreviewInfo{PicIDList: []string{media.MediaID}}})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := app.AuditStatus(ctx, id); err != nil || st.Status != wxa.AuditPending {
		t.Fatalf("AuditStatus = %+v, %v", st, err)
	}
	if st, err := app.LatestAuditStatus(ctx); err != nil || st.AuditID != id || st.UserVersion != "1.0.0" || st.SubmitAuditTime == 0 {
		t.Fatalf("LatestAuditStatus = %+v, %v", st, err)
	}
	if _, err := app.SubmitAudit(ctx, wxa.SubmitAuditRequest{ItemList: []wxa.AuditItem{item}, PrivacyAPINotUse: true}); !errors.Is(err, wxerr.AlreadyAuditing) {
		t.Fatalf("second submit: %v, want 85009", err)
	}
	if q, err := app.QueryQuota(ctx); err != nil || q.Limit == 0 || q.Rest != q.Limit-1 {
		t.Fatalf("QueryQuota = %+v, %v", q, err)
	}
	if err := app.SpeedupAudit(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := app.Release(ctx); !errors.Is(err, wxerr.StatusNotAllowed) {
		t.Fatalf("release before approval: %v, want 85020", err)
	}

	approve(id)
	select {
	case ev := <-e.Audit:
		if ev.Event != wxcrypt.EventWeappAuditSuccess || ev.Time.IsZero() {
			t.Fatalf("audit push = %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no audit push")
	}
	if st, err := app.WaitAudit(ctx, id); err != nil || st.Status != wxa.AuditApproved {
		t.Fatalf("WaitAudit = %+v, %v", st, err)
	}
	if err := app.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := app.Release(ctx); !errors.Is(err, wxerr.AlreadyReleased) {
		t.Fatalf("second release: %v, want 85052", err)
	}
	if vi, err := app.VersionInfo(ctx); err != nil || vi.ReleaseInfo == nil || vi.ReleaseInfo.ReleaseVersion != "1.0.0" {
		t.Fatalf("VersionInfo = %+v, %v", vi, err)
	}
	if err := app.ChangeVisitStatus(ctx, wxa.VisitClose); err != nil {
		t.Fatal(err)
	}
	if st, err := app.VisitStatus(ctx); err != nil || st != 0 {
		t.Fatalf("VisitStatus after close = %d, %v", st, err)
	}
	if err := app.ChangeVisitStatus(ctx, wxa.VisitOpen); err != nil {
		t.Fatal(err)
	}

	// Version 2: gray 10% → 50%, a lower step is refused, then full release
	// and a rollback to 1.0.0.
	commit("2.0.0")
	id2 := submit()
	approve(id2)
	<-e.Audit
	for _, pct := range []int{10, 50} {
		if err := app.GrayRelease(ctx, wxa.GrayReleaseRequest{GrayPercentage: pct}); err != nil {
			t.Fatalf("gray %d%%: %v", pct, err)
		}
	}
	if err := app.GrayRelease(ctx, wxa.GrayReleaseRequest{GrayPercentage: 20}); !errors.Is(err, wxerr.GrayPercentageTooLow) {
		t.Fatalf("gray down to 20%%: %v, want 85082", err)
	}
	if plan, err := app.GrayReleasePlan(ctx); err != nil || plan.Status != 1 || plan.GrayPercentage != 50 {
		t.Fatalf("GrayReleasePlan = %+v, %v", plan, err)
	}
	if err := app.RevertRelease(ctx, 0); !errors.Is(err, wxerr.GrayReleaseForbidsRevert) {
		t.Fatalf("revert during gray: %v, want 87011", err)
	}
	if err := app.RevertGrayRelease(ctx); err != nil {
		t.Fatal(err)
	}
	if err := app.Release(ctx); err != nil {
		t.Fatal(err)
	}
	hist, err := app.ReleaseHistory(ctx)
	if err != nil || len(hist) == 0 || hist[0].AppVersion == 0 {
		t.Fatalf("ReleaseHistory = %+v, %v", hist, err)
	}
	if err := app.RevertRelease(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if vi, err := app.VersionInfo(ctx); err != nil || vi.ReleaseInfo == nil || vi.ReleaseInfo.ReleaseVersion != "1.0.0" {
		t.Fatalf("after revert: %+v, %v", vi.ReleaseInfo, err)
	}

	sv, err := app.SupportVersion(ctx)
	if err != nil || sv.NowVersion == "" || len(sv.UVInfo.Items) == 0 {
		t.Fatalf("SupportVersion = %+v, %v", sv, err)
	}
	want := sv.UVInfo.Items[len(sv.UVInfo.Items)-1].Version
	if err := app.SetSupportVersion(ctx, want); err != nil {
		t.Fatal(err)
	}
	if sv, err := app.SupportVersion(ctx); err != nil || sv.NowVersion != want {
		t.Fatalf("after SetSupportVersion(%s): %+v, %v", want, sv, err)
	}
	if err := app.SetSupportVersion(ctx, "not-a-version"); !errors.Is(err, wxerr.InvalidVersion) && !errors.Is(err, wxerr.SupportVersionError) {
		t.Fatalf("bad support version: %v", err)
	}

	// Version 3 is withdrawn.
	commit("3.0.0")
	id3 := submit()
	if err := app.UndoAudit(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := app.AuditStatus(ctx, id3); err != nil || st.Status != wxa.AuditWithdrawn {
		t.Fatalf("after undo: %+v, %v", st, err)
	}
	e.AllDelivered(t)
}
