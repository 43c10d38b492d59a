package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/miniship/miniship/mstest"
)

// TestSessionAndCSRF checks the console's protections without a browser:
// pages need a session, the cookie's attributes, every state-changing
// form needs the session's CSRF token, and a forged cookie is refused.
func TestSessionAndCSRF(t *testing.T) {
	s := mstest.New(t, mstest.Options{})
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	anon := &http.Client{CheckRedirect: noRedirect}
	res, err := anon.Get(s.URL + "/console/audits")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/console/signin") {
		t.Fatalf("page without a session: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = anon.PostForm(s.URL+"/console/signin", url.Values{"admin_key": {"nope"}})
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "admin key is not right") || len(res.Cookies()) != 0 {
		t.Fatalf("wrong key: %d %v", res.StatusCode, res.Cookies())
	}
	res, _ = anon.PostForm(s.URL+"/console/signin", url.Values{"admin_key": {s.AdminKey}})
	res.Body.Close()
	cookies := res.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/console/" {
		t.Fatalf("session cookie: %+v", cookies)
	}

	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(s.URL + "/console/")
	jar.SetCookies(u, cookies)
	hc := &http.Client{Jar: jar, CheckRedirect: noRedirect}
	res, _ = hc.Get(s.URL + "/console/server")
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindSubmatch(body)
	if res.StatusCode != 200 || m == nil {
		t.Fatalf("server page: %d, csrf token found: %v", res.StatusCode, m != nil)
	}
	csrf := string(m[1])
	for _, tc := range []struct {
		name string
		form url.Values
		want int
	}{
		{"no token", url.Values{"by": {"1h"}}, http.StatusForbidden},
		{"wrong token", url.Values{"by": {"1h"}, "csrf": {strings.Repeat("0", len(csrf))}}, http.StatusForbidden},
		{"right token", url.Values{"by": {"1h"}, "csrf": {csrf}}, http.StatusSeeOther},
	} {
		before := s.Clock.Now()
		res, err := hc.PostForm(s.URL+"/console/server/clock", tc.form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		moved := s.Clock.Now().Sub(before).Hours()
		if res.StatusCode != tc.want || (tc.want == http.StatusForbidden) != (moved == 0) {
			t.Errorf("%s: HTTP %d, clock moved %vh; want %d and a move only with the right token", tc.name, res.StatusCode, moved, tc.want)
		}
	}

	// A forged or tampered cookie is no session.
	for _, v := range []string{"99999999999.deadbeef", strings.Replace(cookies[0].Value, "1", "2", 1), ""} {
		req, _ := http.NewRequest("GET", s.URL+"/console/audits", nil)
		req.AddCookie(&http.Cookie{Name: cookies[0].Name, Value: v})
		res, err := anon.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("cookie %q: HTTP %d, want the sign-in redirect", v, res.StatusCode)
		}
	}

	// Sign out clears the cookie.
	res, _ = hc.PostForm(s.URL+"/console/signout", url.Values{"csrf": {csrf}})
	res.Body.Close()
	if c := res.Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("sign out: cookies %+v", c)
	}
}

// TestSigninRedirect: sign-in sends the browser back to the console page
// it came from, and nowhere else, however the next parameter is dressed.
func TestSigninRedirect(t *testing.T) {
	s := mstest.New(t, mstest.Options{})
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct{ next, want string }{
		{"/console/mini-programs?q=wx1", "/console/mini-programs?q=wx1"},
		{"/console/server", "/console/server"},
		{"/console/", "/console/"},
		{"", "/console/audits"},
		{"/console/../\\evil.example", "/console/audits"},
		{"/console/..%2f%5cevil.example", "/console/audits"},
		{"/console/%2e%2e/%5cevil.example", "/console/audits"},
		{"/console/../../evil", "/console/audits"},
		{"//evil.example/console/", "/console/audits"},
		{"https://evil.example/console/", "/console/audits"},
		{"/console/\r\nLocation: https://evil.example", "/console/audits"},
		{"javascript:alert(1)", "/console/audits"},
	} {
		res, err := hc.PostForm(s.URL+"/console/signin", url.Values{"admin_key": {s.AdminKey}, "next": {tc.next}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || got != tc.want {
			t.Errorf("next %q: HTTP %d Location %q, want %q", tc.next, res.StatusCode, got, tc.want)
		}
	}
	// The sign-in page does not carry a foreign next into its form.
	res, err := http.Get(s.URL + "/console/signin?next=" + url.QueryEscape("/console/../\\evil.example"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(body), "evil.example") {
		t.Errorf("sign-in page carries the foreign next:\n%s", body)
	}
}
