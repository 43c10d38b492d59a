package wxa_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxa/internal/fixture"
	"github.com/miniship/miniship/wxcrypt"
	"github.com/miniship/miniship/wxerr"
)

// pipelineEnv is a platform whose pushes the SDK's handler decodes,
// including the grant pushes, and a mini program with nothing set up: no
// categories, no privacy guide, no grants, no domains.
type pipelineEnv struct {
	*fixture.Env
	c     *wxa.Client
	other chan *wxcrypt.Message
}

func newPipeline(t *testing.T, database string) *pipelineEnv {
	t.Helper()
	e := &fixture.Env{S: mstest.New(t, mstest.Options{Database: database}), Audit: make(chan *wxa.AuditEvent, 16)}
	e.P = &miniship.Platform{AppID: "wxcomponentpipe01", Secret: strings.Repeat("s", 32), Token: "pipelinetoken",
		EncodingAESKey: strings.Repeat("k", 43)}
	// The SDK waits (for the privacy scan) by moving the server clock.
	c, _ := e.Client(t, func(e *fixture.Env, o *wxa.Options) {
		o.Sleep = func(ctx context.Context, d time.Duration) error { e.S.Advance(d); return ctx.Err() }
	})
	pe := &pipelineEnv{Env: e, c: c, other: make(chan *wxcrypt.Message, 16)}
	push := httptest.NewServer(c.PushHandler(wxa.PushHandlers{
		Audit: func(_ *http.Request, ev *wxa.AuditEvent) error { e.Audit <- ev; return nil },
		Other: func(_ *http.Request, m *wxcrypt.Message) error {
			if m.Type() != wxcrypt.InfoTypeComponentVerifyTicket {
				pe.other <- m
			}
			return nil
		},
	}))
	t.Cleanup(push.Close)
	e.P.AuthEventURL, e.P.MessageURL = push.URL+"/auth", push.URL+"/msg/$APPID$"
	e.P = e.S.Platform(t, e.P)
	fixture.WaitTicket(t, c)
	// A non-nil, empty category list: mstest seeds neither a category nor
	// a privacy guide, so both must come through the API.
	a, refresh := e.S.MiniProgram(t, e.P.AppID, &miniship.Authorizer{ProfileComplete: true, Categories: []miniship.Category{}})
	e.AppID, e.Refresh = a.AppID, refresh
	if err := c.SetRefreshToken(bg, a.AppID, refresh); err != nil {
		t.Fatal(err)
	}
	e.Template = e.S.Template(t, e.P.AppID, nil, 0)
	return pe
}

// decide posts a reviewer decision to the admin API, which the SDK does not
// wrap (it is miniship's, not WeChat's).
func (e *pipelineEnv) decide(t *testing.T, path, result, reason string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"result": result, "reason": reason})
	req, _ := http.NewRequest("POST", e.S.URL+"/miniship/v1/"+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+e.S.AdminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("admin %s: HTTP %d", path, res.StatusCode)
	}
}

// push waits for the next grant push of the given event.
func (e *pipelineEnv) push(t *testing.T, event string) *wxcrypt.Message {
	t.Helper()
	select {
	case m := <-e.other:
		if m.Type() != event || string(m.ToUserName) == "" {
			t.Fatalf("push %q to %q, want %q", m.Type(), m.ToUserName, event)
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s push", event)
	}
	return nil
}

func (e *pipelineEnv) auditPush(t *testing.T) *wxa.AuditEvent {
	t.Helper()
	select {
	case ev := <-e.Audit:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no audit push")
	}
	return nil
}

// TestWholePipeline is issue 9's proof through the SDK's typed calls over
// a real listener, on both databases: platform domains → modify_domain →
// bind_tester → commit (blocked until the privacy application is
// approved) → setprivacysetting → addcategory (blocked until the category
// review approves) → submit_audit → approve → release → the live domains,
// privacy guide and categories agree everywhere they are shown.
func TestWholePipeline(t *testing.T) { mstest.Backends(t, testWholePipeline) }

func testWholePipeline(t *testing.T, database string) {
	e := newPipeline(t, database)
	ctx, cancel := context.WithTimeout(bg, 2*time.Minute)
	defer cancel()
	c, app := e.c, e.c.App(e.AppID)

	// 1. The platform's own server and business domain lists.
	pd, err := c.ModifyServerDomain(ctx, wxa.DomainAdd, []string{"api.shop.com", "cdn.shop.com", "ws.shop.com"}, true)
	if err != nil || !reflect.DeepEqual(pd.Published, []string{"api.shop.com", "cdn.shop.com", "ws.shop.com"}) {
		t.Fatalf("ModifyServerDomain = %+v, %v", pd, err)
	}
	if _, err := c.ModifyJumpDomain(ctx, wxa.DomainAdd, []string{"shop.com"}, true); err != nil {
		t.Fatal(err)
	}

	// 2. The mini program's domains, checked against those lists.
	if _, err := app.ModifyDomain(ctx, wxa.DomainSet, wxa.Domains{RequestDomain: []string{"https://evil.com"}}); !errors.Is(err, wxerr.DomainNotOnPlatform) {
		t.Fatalf("modify_domain off the platform's list: %v, want 85018", err)
	}
	want := wxa.Domains{RequestDomain: []string{"https://api.shop.com", "https://cdn.shop.com"}, WsRequestDomain: []string{"wss://ws.shop.com"},
		DownloadDomain: []string{"https://cdn.shop.com"}}
	if res, err := app.ModifyDomain(ctx, wxa.DomainSet, want); err != nil || !reflect.DeepEqual(res.RequestDomain, want.RequestDomain) {
		t.Fatalf("ModifyDomain = %+v, %v", res, err)
	}
	if web, err := app.SetWebviewDomain(ctx, wxa.DomainSet, []string{"https://shop.com"}); err != nil || !reflect.DeepEqual(web, []string{"https://shop.com"}) {
		t.Fatalf("SetWebviewDomain = %v, %v", web, err)
	}
	eff, err := app.EffectiveDomain(ctx)
	if err != nil || len(eff.EffectiveDomain.RequestDomain) != 0 || !reflect.DeepEqual(eff.ThirdDomain.RequestDomain, want.RequestDomain) {
		t.Fatalf("before release: %+v, %v (nothing is live yet)", eff, err)
	}

	// 3. A tester.
	us, err := app.BindTester(ctx, "merchant_qa")
	if err != nil || us == "" {
		t.Fatalf("BindTester = %q, %v", us, err)
	}

	// 4. The demo template calls getLocation: commit needs the grant, which
	// only the reviewer's approval of the application gives.
	commit := wxa.CommitRequest{TemplateID: e.Template, UserVersion: "1.0.0", UserDesc: "pipeline",
		ExtJSON: map[string]any{"extAppid": e.AppID, "ext": map[string]any{"shop": "s1"}}}
	if err := app.Commit(ctx, commit); !errors.Is(err, wxerr.PrivateAPINotAuthorized) {
		t.Fatalf("commit before the application: %v, want 85312", err)
	}
	auditID, err := app.ApplyPrivacyInterface(ctx, wxa.PrivacyApplication{APIName: "wx.getLocation", Content: "门店导航",
		URLList: []string{"https://shop.com/scene.png"}})
	if err != nil || auditID == 0 {
		t.Fatalf("ApplyPrivacyInterface = %d, %v", auditID, err)
	}
	if err := app.Commit(ctx, commit); !errors.Is(err, wxerr.PrivateAPINotAuthorized) {
		t.Fatalf("commit while the application waits: %v, want 85312", err)
	}
	e.decide(t, fmt.Sprintf("privacy-applications/%d/decision", auditID), "approve", "")
	m := e.push(t, wxcrypt.EventPrivacyApply)
	if m.PrivacyApply == nil || m.PrivacyApply.APIName != "wx.getLocation" || m.PrivacyApply.AuditID != strconv.FormatInt(auditID, 10) ||
		m.PrivacyApply.Status != strconv.Itoa(wxcrypt.PushApproved) {
		t.Fatalf("wxa_privacy_apply push: %+v", m.PrivacyApply)
	}
	if !grantedAPI(t, ctx, app, "wx.getLocation", auditID) {
		t.Fatal("get_privacy_interface does not show wx.getLocation granted")
	}
	if err := app.Commit(ctx, commit); err != nil {
		t.Fatalf("commit after the approval: %v", err)
	}
	if _, err := app.WaitPrivacyScan(ctx); err != nil {
		t.Fatal(err)
	}

	// 5. The privacy guide: getprivacysetting lists the keys the committed
	// code uses, not yet described.
	ps, err := app.PrivacySetting(ctx, wxa.PrivacyDev)
	if err != nil || ps.CodeExist != 1 || !contains(ps.PrivacyList, "Location") {
		t.Fatalf("getprivacysetting after commit: %+v, %v", ps, err)
	}
	var items []wxa.PrivacyItem
	for _, k := range ps.PrivacyList {
		items = append(items, wxa.PrivacyItem{Key: k, Text: "为门店导航"})
	}

	// 6. Categories: a sensitive one waits for the qualification review;
	// until then submit_audit has no approved category to name.
	if tree, err := app.CategoriesByType(ctx, 1); err != nil || !sensitive(tree, 37) {
		t.Fatalf("getcategoriesbytype: %d nodes, %v; want 37 needing a qualification", len(tree), err)
	}
	if _, err := app.CategoriesByType(ctx, 9); !errors.Is(err, wxerr.CategoryInvalidParams) {
		t.Fatalf("getcategoriesbytype 9: %v, want 53303", err)
	}
	if cats, err := app.Categories(ctx); err != nil || len(cats) != 0 {
		t.Fatalf("get_category of a fresh mini program: %+v, %v", cats, err)
	}
	if err := app.AddCategories(ctx, wxa.CategoryRequest{First: 36, Second: 37}); !errors.Is(err, wxerr.CategoryNeedMaterial) {
		t.Fatalf("addcategory without certificates: %v, want 53311", err)
	}
	if err := app.AddCategories(ctx, wxa.CategoryRequest{First: 36, Second: 37, Certificates: []wxa.Certificate{{Key: "许可证", Value: "media1"}}}); err != nil {
		t.Fatal(err)
	}
	cs, err := app.SettingCategories(ctx)
	if err != nil || len(cs.Categories) != 1 || cs.Categories[0].AuditStatus != wxa.CategoryReviewing {
		t.Fatalf("getcategory while in review: %+v, %v", cs, err)
	}
	item := wxa.AuditItem{Address: "pages/index/index", Tag: "门店", Title: "首页",
		FirstClass: cs.Categories[0].FirstName, SecondClass: cs.Categories[0].SecondName, FirstID: 36, SecondID: 37}
	if _, err := app.SubmitAudit(ctx, wxa.SubmitAuditRequest{ItemList: []wxa.AuditItem{item}}); !errors.Is(err, wxerr.InvalidCategory) {
		t.Fatalf("submit with a category in review: %v, want 85008", err)
	}
	e.decide(t, fmt.Sprintf("authorizers/%s/categories/36/37/decision", e.AppID), "approve", "")
	m = e.push(t, wxcrypt.EventCategoryAudit)
	if m.First != "36" || m.Second != "37" || m.Ret != strconv.Itoa(wxcrypt.PushApproved) {
		t.Fatalf("wxa_category_audit push: %+v", m.GrantFields)
	}
	cats, err := app.Categories(ctx)
	if err != nil || len(cats) != 1 || cats[0].FirstID != 36 || cats[0].SecondID != 37 {
		t.Fatalf("get_category after the review: %+v, %v", cats, err)
	}

	// 7. Without a guide the reviewer's approval turns into a rejection
	// with WeChat's reason: not an errcode at submit.
	id, err := app.SubmitAudit(ctx, wxa.SubmitAuditRequest{ItemList: []wxa.AuditItem{item}})
	if err != nil {
		t.Fatalf("submit without a guide: %v (the guide is checked at review)", err)
	}
	e.decide(t, fmt.Sprintf("audits/%d/decision", id), "approve", "")
	if ev := e.auditPush(t); ev.Event != wxcrypt.EventWeappAuditFail || !strings.Contains(ev.Reason, "用户隐私保护指引") {
		t.Fatalf("audit without a guide: %+v, want a rejection naming the guide", ev)
	}

	// 8. The guide, then a passing audit and the release.
	if err := app.SetPrivacySetting(ctx, wxa.PrivacySetting{SettingList: items,
		OwnerSetting: wxa.OwnerSetting{ContactEmail: "privacy@shop.com", NoticeMethod: "弹窗"}}); err != nil {
		t.Fatal(err)
	}
	if live, err := app.PrivacySetting(ctx, wxa.PrivacyLive); err != nil || live.OwnerSetting.ContactEmail != "" || live.UpdateTime != 0 {
		t.Fatalf("live guide before release: %+v, %v (only release fills it)", live, err)
	}
	id, err = app.SubmitAudit(ctx, wxa.SubmitAuditRequest{ItemList: []wxa.AuditItem{item}})
	if err != nil {
		t.Fatal(err)
	}
	e.decide(t, fmt.Sprintf("audits/%d/decision", id), "approve", "")
	if ev := e.auditPush(t); ev.Event != wxcrypt.EventWeappAuditSuccess {
		t.Fatalf("audit with the guide: %+v", ev)
	}
	if st, err := app.AuditStatus(ctx, id); err != nil || st.Status != wxa.AuditApproved {
		t.Fatalf("AuditStatus = %+v, %v", st, err)
	}
	// The platform drops cdn.shop.com from its published list before the
	// release: release keeps only what the list holds then (spec §2.7).
	if _, err := c.ModifyServerDomain(ctx, wxa.DomainDelete, []string{"cdn.shop.com"}, true); err != nil {
		t.Fatal(err)
	}
	if err := app.Release(ctx); err != nil {
		t.Fatal(err)
	}

	// 9. Everything that shows the live state agrees.
	eff, err = app.EffectiveDomain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	live := wxa.Domains{RequestDomain: []string{"https://api.shop.com"}, WsRequestDomain: []string{"wss://ws.shop.com"},
		UploadDomain: []string{}, DownloadDomain: []string{}, UDPDomain: []string{}, TCPDomain: []string{}}
	if !reflect.DeepEqual(eff.EffectiveDomain, live) {
		t.Fatalf("effective_domain = %+v, want %+v", eff.EffectiveDomain, live)
	}
	if !reflect.DeepEqual(eff.ThirdDomain.RequestDomain, want.RequestDomain) {
		t.Fatalf("third_domain changed by release: %+v", eff.ThirdDomain)
	}
	web, err := app.EffectiveWebviewDomain(ctx)
	if err != nil || !reflect.DeepEqual(web.Effective, []string{"https://shop.com"}) {
		t.Fatalf("EffectiveWebviewDomain = %+v, %v", web, err)
	}
	info, err := c.AuthorizerInfo(ctx, e.AppID)
	if err != nil {
		t.Fatal(err)
	}
	mpi := info.AuthorizerInfo.MiniProgramInfo
	if mpi == nil || mpi.VisitStatus != 1 {
		t.Fatalf("MiniProgramInfo after release: %+v", mpi)
	}
	net := map[string][]string{"RequestDomain": live.RequestDomain, "WsRequestDomain": live.WsRequestDomain,
		"UploadDomain": {}, "DownloadDomain": {}, "UDPDomain": {}, "BizDomain": {"https://shop.com"}}
	for k, v := range net {
		if got := mpi.Network[k]; !reflect.DeepEqual(got, v) && !(len(got) == 0 && len(v) == 0) {
			t.Fatalf("network.%s = %q, want %q (get_effective_domain's)", k, got, v)
		}
	}
	if len(mpi.Categories) != 1 || mpi.Categories[0].First != cs.Categories[0].FirstName || mpi.Categories[0].Second != cs.Categories[0].SecondName {
		t.Fatalf("MiniProgramInfo.categories = %+v", mpi.Categories)
	}
	livePS, err := app.PrivacySetting(ctx, wxa.PrivacyLive)
	if err != nil || livePS.OwnerSetting.ContactEmail != "privacy@shop.com" || len(livePS.SettingList) != len(items) {
		t.Fatalf("live guide after release: %+v, %v (release copies the development guide)", livePS, err)
	}
	if ts, err := app.Testers(ctx); err != nil || !reflect.DeepEqual(ts, []string{us}) {
		t.Fatalf("Testers = %v, %v", ts, err)
	}
	if ok, err := e.S.Service.IsTester(ctx, e.AppID, "merchant_qa"); err != nil || !ok {
		t.Fatalf("IsTester = %v, %v", ok, err)
	}
}

func grantedAPI(t *testing.T, ctx context.Context, app *wxa.App, api string, auditID int64) bool {
	t.Helper()
	list, err := app.PrivacyInterfaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range list {
		if it.APIName == api {
			return it.Status == wxa.PrivacyAPIGranted && it.AuditID == auditID
		}
	}
	return false
}

func contains(l []string, v string) bool {
	for _, s := range l {
		if s == v {
			return true
		}
	}
	return false
}

// sensitive is true when the tree has the category and it needs a
// qualification review.
func sensitive(tree []wxa.CategoryNode, id int64) bool {
	for _, n := range tree {
		if n.ID == id {
			return n.SensitiveType == 1
		}
	}
	return false
}
