package httpapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

// TestVersionStoresWhatTheCommitSent: a commit stores its ext_json and what
// the API returns from it, not the effective app.json and page configs,
// which the experience package derives again from the template; a version
// stored with them (before this) still builds from what it stored.
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
	if v.App != nil || v.Pages != nil {
		t.Fatalf("stored app.json (%d bytes) and pages (%d bytes): derivable", len(v.App), len(v.Pages))
	}
	if stored := len(v.ExtJSON) + len(v.Ext) + len(strings.Join(v.PageList, "")); stored > 3*len(ext) {
		t.Fatalf("%d bytes stored for a %d-byte ext_json", stored, len(ext))
	}
	if got := appTitle(t, s, f.app.AppID); got != "Derived Title" {
		t.Fatalf("derived app.json title %q", got)
	}
	// A version stored whole (as before) builds from what it stored.
	old := *v
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
