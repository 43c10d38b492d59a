package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/clock"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/sqlstore"
)

// FuzzConsentForm posts arbitrary forms to the consent page, each with a
// fresh pre_auth_code in place of PRE: the answer is an HTML page or a
// redirect, never a 500, and a redirect only for the mini program's own
// AppSecret.
func FuzzConsentForm(f *testing.F) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer store.Close()
	svc := service.New(service.Options{Store: store, Clock: clock.NewManual(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))})
	srv, err := New(Options{Service: svc, AdminKey: "k"})
	if err != nil {
		f.Fatal(err)
	}
	seeded, err := demo.Seed(ctx, svc)
	if err != nil {
		f.Fatal(err)
	}
	secrets := map[string]string{}
	for _, a := range seeded.Authorizers {
		secrets[a.AppID] = a.Secret
	}
	base := "component_appid=" + demo.PlatformAppID + "&pre_auth_code=PRE&redirect_uri=https%3A%2F%2Fx.example%2F"
	f.Add(base + "&authorizer_appid=" + demo.ShopA + "&authorizer_secret=" + secrets[demo.ShopA] + "&permission_set=18")
	f.Add(base + "&authorizer_appid=" + demo.ShopA + "&authorizer_secret=" + secrets[demo.ShopB] + "&permission_set=18")
	f.Add(base + "&authorizer_appid=" + demo.ShopA + "&authorizer_secret=" + secrets[demo.ShopA])
	f.Add(base + "&authorizer_appid=" + demo.ShopB + "&authorizer_secret=x&permission_set=999&permission_set=-1")
	f.Add(base + "&authorizer_appid=&authorizer_secret=&permission_set=%ZZ")
	caller := &service.Caller{Kind: miniship.ComponentToken, PlatformAppID: demo.PlatformAppID}
	f.Fuzz(func(t *testing.T, body string) {
		pre, err := svc.CreatePreAuthCode(ctx, caller, demo.PlatformAppID)
		if err != nil {
			t.Fatal(err)
		}
		body = strings.ReplaceAll(body, "PRE", url.QueryEscape(pre.Code))
		req := httptest.NewRequest("POST", "/cgi-bin/componentloginpage", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusFound:
			form, _ := url.ParseQuery(body)
			if want, ok := secrets[form.Get("authorizer_appid")]; !ok || form.Get("authorizer_secret") != want {
				t.Fatalf("%q: redirected without the right AppSecret", body)
			}
		case rec.Code >= 500:
			t.Fatalf("%q: HTTP %d %s", body, rec.Code, rec.Body)
		case !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html"):
			t.Fatalf("%q: HTTP %d %s, not HTML", body, rec.Code, rec.Header().Get("Content-Type"))
		}
	})
}
