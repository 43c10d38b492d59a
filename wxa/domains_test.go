package wxa_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	_ "image/jpeg"
	"reflect"
	"testing"
	"time"

	"github.com/miniship/miniship/internal/qrread"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxa/internal/fixture"
	"github.com/miniship/miniship/wxerr"
)

// TestPipelineCalls runs the SDK's domain, tester, utility and code calls
// against mstest: each typed call reaches its endpoint and reads its answer.
func TestPipelineCalls(t *testing.T) {
	e, c, _ := fixture.Setup(t, mstest.Options{}, func(e *fixture.Env, o *wxa.Options) {
		o.Sleep = func(ctx context.Context, d time.Duration) error { e.S.Advance(d); return ctx.Err() }
	})
	ctx, cancel := context.WithTimeout(bg, time.Minute)
	defer cancel()
	app := c.App(e.AppID)

	pd, err := c.ModifyServerDomain(ctx, wxa.DomainAdd, []string{"api.shop.com", "old.shop.com", "10.0.0.1"}, true)
	if err != nil || !reflect.DeepEqual(pd.Published, []string{"api.shop.com", "old.shop.com"}) || !reflect.DeepEqual(pd.Invalid, []string{"10.0.0.1"}) {
		t.Fatalf("ModifyServerDomain = %+v, %v", pd, err)
	}
	if pd, err = c.ModifyJumpDomain(ctx, wxa.DomainSet, []string{"shop.com"}, false); err != nil || pd.Published != nil {
		t.Fatalf("ModifyJumpDomain = %+v, %v", pd, err)
	}
	res, err := app.ModifyDomain(ctx, wxa.DomainAdd, wxa.Domains{RequestDomain: []string{"https://api.shop.com", "https://old.shop.com", "https://x.com"}})
	if err != nil || len(res.RequestDomain) != 2 || !reflect.DeepEqual(res.InvalidRequestDomain, []string{"https://x.com"}) {
		t.Fatalf("ModifyDomain = %+v, %v", res, err)
	}
	if _, err := app.ModifyDomain(ctx, wxa.DomainAdd, wxa.Domains{RequestDomain: []string{"https://x.com"}}); !errors.Is(err, wxerr.DomainNotOnPlatform) {
		t.Fatalf("ModifyDomain off the platform list: %v, want 85018", err)
	}
	if _, err := app.ModifyDomainDirectly(ctx, wxa.DomainSet, wxa.Domains{UDPDomain: []string{"udp://u.other.com"}}); err != nil {
		t.Fatal(err)
	}
	if web, err := app.SetWebviewDomain(ctx, "", nil); err != nil || !reflect.DeepEqual(web, []string{"https://shop.com"}) {
		t.Fatalf("SetWebviewDomain = %v, %v", web, err)
	}
	if web, err := app.SetWebviewDomainDirectly(ctx, wxa.DomainAdd, []string{"https://h5.other.com"}); err != nil || len(web) != 1 {
		t.Fatalf("SetWebviewDomainDirectly = %v, %v", web, err)
	}
	if f, err := app.WebviewDomainConfirmFile(ctx); err != nil || f.FileName == "" || f.FileContent == "" {
		t.Fatalf("WebviewDomainConfirmFile = %+v, %v", f, err)
	}
	if f, err := c.DomainConfirmFile(ctx); err != nil || f.FileName == "" {
		t.Fatalf("DomainConfirmFile = %+v, %v", f, err)
	}

	us, err := app.BindTester(ctx, "merchant_qa")
	if err != nil || us != service.UserStr("merchant_qa") {
		t.Fatalf("BindTester = %q, %v", us, err)
	}
	if _, err := app.BindTester(ctx, "merchant_qa"); !errors.Is(err, wxerr.TesterAlreadyBound) {
		t.Fatalf("BindTester again: %v, want 85004", err)
	}
	if _, err := app.BindTester(ctx, "second_qa"); err != nil {
		t.Fatal(err)
	}
	if err := app.UnbindTesterByUserStr(ctx, us); err != nil {
		t.Fatal(err)
	}
	if ts, err := app.Testers(ctx); err != nil || !reflect.DeepEqual(ts, []string{service.UserStr("second_qa")}) {
		t.Fatalf("Testers = %v, %v", ts, err)
	}
	if err := app.UnbindTester(ctx, "second_qa"); err != nil {
		t.Fatal(err)
	}

	// Publish, with old.shop.com dropped from the platform's list first.
	if err := app.Commit(ctx, wxa.CommitRequest{TemplateID: e.Template, ExtJSON: map[string]any{"requiredPrivateInfos": []string{}}, UserVersion: "1.0.0", UserDesc: "d"}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.WaitPrivacyScan(ctx); err != nil {
		t.Fatal(err)
	}
	cats, _ := app.Categories(ctx)
	item := cats[0].AuditItem()
	item.Address, item.Title, item.Tag = "pages/index/index", "Home", "shop"
	id, err := app.SubmitAudit(ctx, wxa.SubmitAuditRequest{ItemList: []wxa.AuditItem{item}, PrivacyAPINotUse: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.S.Service.DecideAudit(ctx, id, service.Decision{Result: service.DecisionApprove}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyServerDomain(ctx, wxa.DomainDelete, []string{"old.shop.com"}, true); err != nil {
		t.Fatal(err)
	}
	if err := app.Release(ctx); err != nil {
		t.Fatal(err)
	}
	eff, err := app.EffectiveDomain(ctx)
	if err != nil || !reflect.DeepEqual(eff.EffectiveDomain.RequestDomain, []string{"https://api.shop.com"}) ||
		!reflect.DeepEqual(eff.EffectiveDomain.UDPDomain, []string{"udp://u.other.com"}) || len(eff.ThirdDomain.RequestDomain) != 2 {
		t.Fatalf("EffectiveDomain = %+v, %v", eff, err)
	}
	web, err := app.EffectiveWebviewDomain(ctx)
	if err != nil || !reflect.DeepEqual(web.Effective, []string{"https://shop.com", "https://h5.other.com"}) {
		t.Fatalf("EffectiveWebviewDomain = %+v, %v", web, err)
	}
	info, err := c.AuthorizerInfo(ctx, e.AppID)
	if err != nil || !reflect.DeepEqual(info.AuthorizerInfo.MiniProgramInfo.Network["RequestDomain"], []string{"https://api.shop.com"}) {
		t.Fatalf("AuthorizerInfo network = %+v, %v", info.AuthorizerInfo.MiniProgramInfo, err)
	}

	// Codes: images whose QR code carries the request.
	qr, err := app.WxaCode(ctx, "pages/index/index?id=1", wxa.CodeOptions{Width: 300, LineColor: &wxa.RGB{R: 20}})
	if err != nil || qr.ContentType != "image/jpeg" || readQR(t, qr.Data) != "miniship:wxacode?appid="+e.AppID+"&env_version=release&path=pages%2Findex%2Findex%3Fid%3D1" {
		t.Fatalf("WxaCode = %v, %v", qr, err)
	}
	if qr, err = app.WxaCodeUnlimit(ctx, "id=1", "pages/index/index", true, wxa.CodeOptions{}); err != nil || readQR(t, qr.Data) == "" {
		t.Fatalf("WxaCodeUnlimit: %v", err)
	}
	if _, err = app.WxaCodeUnlimit(ctx, "id=1", "pages/nowhere", true, wxa.CodeOptions{}); !errors.Is(err, wxerr.InvalidCodePage) {
		t.Fatalf("WxaCodeUnlimit of a missing page: %v, want 41030", err)
	}
	if qr, err = app.CreateQRCode(ctx, "pages/index/index", 280); err != nil || readQR(t, qr.Data) != "miniship:wxaqrcode?appid="+e.AppID+"&path=pages%2Findex%2Findex" {
		t.Fatalf("CreateQRCode: %v", err)
	}

	// Utilities.
	list, err := c.AuthorizerList(ctx, 0, 10)
	if err != nil || list.TotalCount != 1 || list.List[0].AuthorizerAppID != e.AppID {
		t.Fatalf("AuthorizerList = %+v, %v", list, err)
	}
	if err := c.SetAuthorizerOption(ctx, e.AppID, "customer_service", "1"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.AuthorizerOption(ctx, e.AppID, "customer_service"); err != nil || v != "1" {
		t.Fatalf("AuthorizerOption = %q, %v", v, err)
	}
	if err := c.StartPushTicket(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.ClearQuota(ctx, e.AppID); err != nil {
		t.Fatal(err)
	}
	if err := app.ClearQuota(ctx); err != nil {
		t.Fatal(err)
	}
	if q, err := app.APIQuota(ctx, "/wxa/commit"); err != nil || q.RateLimit.RefreshSecond != 60 {
		t.Fatalf("APIQuota = %+v, %v", q, err)
	}
	if bi, err := app.AccountBasicInfo(ctx); err != nil || bi.AppID != e.AppID || bi.HeadImageInfo.HeadImageURL == "" {
		t.Fatalf("AccountBasicInfo = %+v, %v", bi, err)
	}
}

func readQR(t *testing.T, data []byte) string {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not an image: %v", err)
	}
	text, err := qrread.Read(img)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return text
}
