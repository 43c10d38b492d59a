package httpapi_test

import (
	"flag"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestConsentPageGolden pins the two pages a merchant sees: the sign-in
// form, and the choice of sets with the exclusive ones another platform
// holds greyed out. Run with -update after a deliberate change and look at
// the files in a browser.
func TestConsentPageGolden(t *testing.T) {
	s := mstest.New(t, mstest.Options{})
	holder := s.Platform(t, &miniship.Platform{AppID: "wxholderplatform1"})
	asker := s.Platform(t, &miniship.Platform{AppID: "wxaskingplatform1"})
	s.MiniProgram(t, holder.AppID, &miniship.Authorizer{AppID: "wxgoldenshop00001", Nickname: "Golden Shop", Secret: "golden-secret-0123456789"})
	e := &consentEnv{t: t, s: s}
	code := e.preAuth(asker)
	normalize := func(html string) string { return strings.ReplaceAll(html, code, "PRE_AUTH_CODE") }

	res := rawCall(t, s, "GET", "/cgi-bin/componentloginpage", url.Values{"component_appid": {asker.AppID}, "pre_auth_code": {code}, "redirect_uri": {"https://platform.example/cb"}}, "")
	signin, _ := io.ReadAll(res.Body)
	res.Body.Close()
	golden(t, "consent_signin.html", normalize(string(signin)))

	choose := e.post(asker.AppID, code, "wxgoldenshop00001", "golden-secret-0123456789")
	golden(t, "consent_choose.html", normalize(choose.html))
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestConsentPageGolden -update)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs from the page served (run with -update after a deliberate change):\n%s", path, got)
	}
}
