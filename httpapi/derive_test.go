package httpapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// TestVersionStoresWhatTheCommitSent: a commit stores its ext_json, not
// what follows from it and the template (the effective app.json and page
// configs, ext, the page list, the privacy lists), which are derived again
// when read; a version stored with them (before this) still builds from
// what it stored.
func TestVersionStoresWhatTheCommitSent(t *testing.T) { mstest.Backends(t, testVersionStores) }

func testVersionStores(t *testing.T, database string) {
	f := newFixture(t, mstest.Options{Database: database}, arMiniProgram())
	s, ctx := f.s, context.Background()
	ext := `{"extAppid":"` + f.app.AppID + `","window":{"navigationBarTitleText":"Derived Title"},"ext":{"shop":"x"}}`
	arWant(t, wx(t, s, "POST", "/wxa/commit", tok(f.atoken), f.commitBody(f.tplID, ext, "1")), 0)
	var v *miniship.Version
	if err := s.Store.View(ctx, func(tx miniship.Tx) (err error) { v, err = tx.LatestVersion(f.app.AppID); return err }); err != nil {
		t.Fatal(err)
	}
	if v.App != nil || v.Pages != nil || v.Ext != nil || v.PageList != nil || v.UsedPrivacyAPIs != nil || v.DeclaredPrivacyAPIs != nil || !v.Derived {
		t.Fatalf("stored app.json (%d bytes), pages (%d bytes), ext (%d bytes), page list %v, privacy lists %v %v (derived %v): derivable",
			len(v.App), len(v.Pages), len(v.Ext), v.PageList, v.UsedPrivacyAPIs, v.DeclaredPrivacyAPIs, v.Derived)
	}
	if got := appTitle(t, s, f.app.AppID); got != "Derived Title" {
		t.Fatalf("derived app.json title %q", got)
	}
	// A version stored whole (as before) builds from what it stored.
	old := *v
	old.Derived, old.Ext = false, json.RawMessage(`{"shop":"x"}`)
	old.App = json.RawMessage(`{"pages":["index"],"window":{"navigationBarTitleText":"Stored Title"}}`)
	old.Pages = json.RawMessage(`{}`)
	if err := s.Store.Update(ctx, func(tx miniship.Tx) error { return tx.CreateVersion(&old) }); err != nil {
		t.Fatal(err)
	}
	if got := appTitle(t, s, f.app.AppID); got != "Stored Title" {
		t.Fatalf("stored app.json title %q", got)
	}
}

// appTitle reads the window title of app.json in the experience package.
func appTitle(t *testing.T, s *mstest.Server, appid string) string {
	t.Helper()
	pkg, err := s.Service.ExperiencePackage(context.Background(), appid)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open("app.json")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	raw, _ := io.ReadAll(rc)
	var app struct {
		Window map[string]any `json:"window"`
	}
	if err := json.Unmarshal(raw, &app); err != nil {
		t.Fatal(err)
	}
	title, _ := app.Window["navigationBarTitleText"].(string)
	return title
}

// TestDerivedAfterTemplateDeleted: a deleted template is only marked
// deleted, so its versions still derive their answers, on a server that
// never cached it.
func TestDerivedAfterTemplateDeleted(t *testing.T) { mstest.Backends(t, testDerivedAfterDelete) }

func testDerivedAfterDelete(t *testing.T, database string) {
	f := newFixture(t, mstest.Options{Database: database}, arMiniProgram())
	s, ctx := f.s, context.Background()
	ext := `{"extAppid":"` + f.app.AppID + `","ext":{"shop":"x"}}`
	arWant(t, wx(t, s, "POST", "/wxa/commit", tok(f.atoken), f.commitBody(f.tplID, ext, "1")), 0)
	want := wx(t, s, "GET", "/wxa/get_page", tok(f.atoken), "")
	arWant(t, wx(t, s, "POST", "/wxa/deletetemplate", tok(f.ctoken), `{"template_id":`+f.tplID+`}`), 0)

	fresh := service.New(service.Options{Store: s.Store, Clock: s.Clock})
	c := &service.Caller{Kind: miniship.AuthorizerToken, PlatformAppID: f.p.AppID, AuthorizerAppID: f.app.AppID}
	pages, err := fresh.GetPage(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(pages); string(got) != mustJSON(t, want["page_list"]) {
		t.Fatalf("page list %s after the template was deleted, %s before", got, mustJSON(t, want["page_list"]))
	}
	if _, err := fresh.ExperiencePackage(ctx, f.app.AppID); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
