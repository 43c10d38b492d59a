package wxa_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxa/internal/fixture"
	"github.com/miniship/miniship/wxerr"
)

// TestGrantCalls drives the privacy, category and plugin calls of the SDK
// against mstest: each typed call reaches its endpoint and decodes the
// answer, and the grants they obtain are what commit checks.
func TestGrantCalls(t *testing.T) {
	e, c, _ := fixture.Setup(t, mstest.Options{Config: service.Config{AutoGrant: time.Minute}}, nil)
	ctx, cancel := context.WithTimeout(bg, time.Minute)
	defer cancel()
	app := c.App(e.AppID)

	// Privacy: the demo template uses getLocation.
	err := app.Commit(ctx, wxa.CommitRequest{TemplateID: e.Template, UserVersion: "1.0.0"})
	if !errors.Is(err, wxerr.PrivateAPINotAuthorized) {
		t.Fatalf("commit before the grant: %v, want 85312", err)
	}
	id, err := app.ApplyPrivacyInterface(ctx, wxa.PrivacyApplication{APIName: "wx.getLocation", Content: "门店导航", URLList: []string{"https://shop.example/s"}})
	if err != nil || id == 0 {
		t.Fatalf("apply: %d %v", id, err)
	}
	if _, err := app.ApplyPrivacyInterface(ctx, wxa.PrivacyApplication{APIName: "wx.getLocation", Content: "x", URLList: []string{"https://a.cn"}}); !errors.Is(err, wxerr.PrivacyApplyAuditing) {
		t.Fatalf("second apply: %v, want 61031", err)
	}
	e.S.Advance(time.Minute) // the auto rule approves
	list, err := app.PrivacyInterfaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range list {
		if it.APIName == "wx.getLocation" && (it.Status != wxa.PrivacyAPIGranted || it.AuditID != id) {
			t.Fatalf("wx.getLocation: %+v", it)
		}
	}
	if err := app.Commit(ctx, wxa.CommitRequest{TemplateID: e.Template, UserVersion: "1.0.0"}); err != nil {
		t.Fatalf("commit after the grant: %v", err)
	}
	media, err := app.UploadPrivacyExtFile(ctx, "extra.txt", []byte("补充说明"))
	if err != nil || media == "" {
		t.Fatalf("upload: %q %v", media, err)
	}
	if err := app.SetPrivacySetting(ctx, wxa.PrivacySetting{
		SettingList:  []wxa.PrivacyItem{{Key: "Location", Text: "门店导航"}},
		OwnerSetting: wxa.OwnerSetting{ContactEmail: "a@b.cn", NoticeMethod: "弹窗", ExtFileMediaID: media},
	}); err != nil {
		t.Fatal(err)
	}
	ps, err := app.PrivacySetting(ctx, wxa.PrivacyDev)
	if err != nil || ps.CodeExist != 1 || len(ps.PrivacyList) != 1 || ps.OwnerSetting.ExtFileMediaID != media || len(ps.PrivacyDesc.List) == 0 {
		t.Fatalf("privacy setting: %+v %v", ps, err)
	}
	if _, err := app.PrivacySetting(ctx, 7); !errors.Is(err, wxerr.PrivacyVerInvalid) {
		t.Fatalf("ver 7: %v", err)
	}

	// Categories.
	tree, err := app.AllCategories(ctx)
	if err != nil || len(tree) < 20 || tree[0].ID != 0 {
		t.Fatalf("tree: %d nodes, %v", len(tree), err)
	}
	if err := app.AddCategories(ctx, wxa.CategoryRequest{First: 36, Second: 37, Certificates: []wxa.Certificate{{Key: "许可证", Value: "m1"}}},
		wxa.CategoryRequest{First: 287, Second: 613}); err != nil {
		t.Fatal(err)
	}
	cs, err := app.SettingCategories(ctx)
	if err != nil || cs.Limit != 5 || cs.Quota != 3 || cs.CategoryLimit != 20 {
		t.Fatalf("getcategory: %+v %v", cs, err)
	}
	want := map[int64]int{612: wxa.CategoryApproved, 613: wxa.CategoryApproved, 37: wxa.CategoryReviewing}
	for _, cat := range cs.Categories {
		if want[cat.Second] != cat.AuditStatus {
			t.Fatalf("category %d: audit_status %d, want %d", cat.Second, cat.AuditStatus, want[cat.Second])
		}
	}
	if err := app.DeleteCategory(ctx, 36, 37); !errors.Is(err, wxerr.CategoryDeleteAuditing) {
		t.Fatalf("delete in review: %v", err)
	}
	if err := app.ModifyCategory(ctx, wxa.CategoryRequest{First: 36, Second: 37, Certificates: []wxa.Certificate{{Key: "k", Value: "v"}}}); !errors.Is(err, wxerr.CategoryModifyNotFailed) {
		t.Fatalf("modify in review: %v", err)
	}
	if err := app.DeleteCategory(ctx, 287, 613); err != nil {
		t.Fatal(err)
	}

	// Plugins: the developer is another mini program the client manages.
	const plugin = "wx00000000000000ff"
	_, refresh := e.S.MiniProgram(t, e.P.AppID, &miniship.Authorizer{AppID: plugin, Nickname: "插件"})
	if err := c.SetRefreshToken(ctx, plugin, refresh); err != nil {
		t.Fatal(err)
	}
	dev := c.App(plugin)
	if err := app.ApplyPlugin(ctx, plugin, "地图"); err != nil {
		t.Fatal(err)
	}
	apps, err := dev.PluginApplications(ctx, 1, 10)
	if err != nil || len(apps) != 1 || apps[0].AppID != e.AppID || apps[0].Reason != "地图" || apps[0].CreateTimeUnix() == 0 {
		t.Fatalf("applications: %+v %v", apps, err)
	}
	if err := dev.RefusePlugin(ctx, e.AppID, "no"); err != nil {
		t.Fatal(err)
	}
	if err := dev.DeletePluginApplications(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := app.ApplyPlugin(ctx, plugin, "again"); err != nil {
		t.Fatal(err)
	}
	if err := dev.AgreePlugin(ctx, e.AppID); err != nil {
		t.Fatal(err)
	}
	pl, err := app.Plugins(ctx)
	if err != nil || len(pl) != 1 || pl[0].Status != wxa.PluginApproved || pl[0].Nickname != "插件" {
		t.Fatalf("plugins: %+v %v", pl, err)
	}
	if err := app.UpdatePlugin(ctx, plugin, "2.0.0"); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(ctx, wxa.CommitRequest{TemplateID: e.Template, UserVersion: "1.0.1",
		ExtJSON: map[string]any{"plugins": map[string]any{"p": map[string]string{"provider": plugin, "version": "2.0.0"}}}}); err != nil {
		t.Fatalf("commit with the plugin: %v", err)
	}
	if err := app.UnbindPlugin(ctx, plugin); err != nil {
		t.Fatal(err)
	}
	if err := app.UnbindPlugin(ctx, plugin); !errors.Is(err, wxerr.PluginAppIDNotInList) {
		t.Fatalf("unbind twice: %v", err)
	}
}
