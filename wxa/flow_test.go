package wxa_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxa/internal/fixture"
	"github.com/miniship/miniship/wxcrypt"
	"github.com/miniship/miniship/wxerr"
)

var bg = context.Background()

// TestComponentFlow walks the platform's whole flow through the SDK: the
// pushed ticket, the component token, a merchant's consent, query_auth,
// the template library and the code calls up to the privacy scan.
func TestComponentFlow(t *testing.T) {
	e, c, calls := fixture.Setup(t, mstest.Options{}, func(e *fixture.Env, o *wxa.Options) {
		// Polling sleeps move the server's clock, so the privacy scan ends.
		o.Sleep = func(ctx context.Context, d time.Duration) error { e.S.Advance(d); return ctx.Err() }
	})
	s := e.S

	if _, err := c.ComponentAccessToken(bg); err != nil {
		t.Fatal(err)
	}
	pre, err := c.CreatePreAuthCode(bg)
	if err != nil || pre.Code == "" || pre.ExpiresIn != 600 {
		t.Fatalf("CreatePreAuthCode = %+v, %v", pre, err)
	}

	// A merchant opens the consent link and approves.
	mp, err := s.Service.CreateAuthorizer(bg, &miniship.Authorizer{AppID: "wxflowshop0000001", ProfileComplete: true,
		Categories: []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 287, SecondID: 612}}})
	if err != nil {
		t.Fatal(err)
	}
	link, err := url.Parse(c.AuthorizationURL(pre.Code, "https://platform.example/back", wxa.AuthMiniProgram, ""))
	if err != nil || !strings.HasPrefix(link.String(), s.URL+"/cgi-bin/componentloginpage?") {
		t.Fatalf("AuthorizationURL = %v", link)
	}
	q := link.Query()
	back := s.Consent(t, q.Get("component_appid"), q.Get("pre_auth_code"), q.Get("redirect_uri"), mp.AppID, mp.Secret, 18, 30, 86)
	code := back.Query().Get("auth_code")
	if back.Host != "platform.example" || back.Query().Get("expires_in") != "600" {
		t.Fatalf("consent redirect: %v", back)
	}
	// The authorized push carries the same code.
	select {
	case ev := <-e.Auth:
		if ev.InfoType != wxcrypt.InfoTypeAuthorized || ev.AuthorizerAppID != mp.AppID || ev.AuthorizationCode != code || ev.PreAuthCode != pre.Code {
			t.Fatalf("authorized push = %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no authorized push")
	}

	info, err := c.QueryAuth(bg, code)
	if err != nil || info.AuthorizerAppID != mp.AppID || !slices.Equal(info.PermissionSets(), []int{18, 30, 86}) {
		t.Fatalf("QueryAuth = %+v, %v", info, err)
	}
	if rt, err := c.RefreshToken(bg, mp.AppID); err != nil || rt != info.RefreshToken {
		t.Fatalf("RefreshToken = %q, %v; want the one from query_auth", rt, err)
	}
	ai, err := c.AuthorizerInfo(bg, mp.AppID)
	if err != nil || ai.AuthorizationInfo.AuthorizerAppID != mp.AppID || ai.AuthorizerInfo.UserName != mp.OriginalID {
		t.Fatalf("AuthorizerInfo = %+v, %v", ai, err)
	}

	// The template library.
	d := &miniship.Draft{PlatformAppID: e.P.AppID, UserVersion: "3.0.0", UserDesc: "sdk flow", Package: demo.TemplateZip()}
	if err := s.Service.CreateDraft(bg, d); err != nil {
		t.Fatal(err)
	}
	drafts, err := c.TemplateDrafts(bg)
	if err != nil || !slices.ContainsFunc(drafts, func(x wxa.Draft) bool { return x.DraftID == d.ID && x.UserVersion == "3.0.0" }) {
		t.Fatalf("TemplateDrafts = %+v, %v", drafts, err)
	}
	if err := c.AddToTemplate(bg, d.ID, wxa.TemplateNormal); err != nil {
		t.Fatal(err)
	}
	list, err := c.TemplateList(bg, wxa.TemplateNormal)
	i := slices.IndexFunc(list, func(x wxa.Template) bool { return x.DraftID == d.ID })
	if err != nil || i < 0 {
		t.Fatalf("TemplateList = %+v, %v", list, err)
	}
	tplID := list[i].TemplateID
	if std, err := c.TemplateList(bg, wxa.TemplateStandard); err != nil || len(std) != 0 {
		t.Fatalf("standard templates = %+v, %v", std, err)
	}

	// Code management: ext_json as an object, sent as a string without
	// HTML escaping.
	app := c.App(mp.AppID)
	if _, err := app.QRCode(bg, ""); !errors.Is(err, wxerr.NoExperienceVersion) {
		t.Fatalf("QRCode before commit: %v, want 86001 as JSON", err)
	}
	ext := map[string]any{"extAppid": mp.AppID, "ext": map[string]any{"slogan": "<b>Tom & Jerry</b>"}, "requiredPrivateInfos": []string{}}
	if err := app.Commit(bg, wxa.CommitRequest{TemplateID: tplID, ExtJSON: ext, UserVersion: "3.0.1", UserDesc: "via wxa"}); err != nil {
		t.Fatal(err)
	}
	pages, err := app.Pages(bg)
	if err != nil || !slices.Contains(pages, "pages/index/index") {
		t.Fatalf("Pages = %v, %v", pages, err)
	}
	cats, err := app.Categories(bg)
	if err != nil || len(cats) != 1 || cats[0].SecondID != 612 {
		t.Fatalf("Categories = %+v, %v", cats, err)
	}
	qr, err := app.QRCode(bg, "pages/store/store?id=7")
	if err != nil || qr.ContentType != "image/jpeg" || !bytes.HasPrefix(qr.Data, []byte{0xff, 0xd8}) {
		t.Fatalf("QRCode = %v, %v", qr, err)
	}
	if _, err := app.PrivacyInfo(bg); !errors.Is(err, wxerr.PrivacyScanRunning) {
		t.Fatalf("PrivacyInfo right after commit: %v, want 61039", err)
	}
	scanned := calls.N("/wxa/security/get_code_privacy_info")
	pi, err := app.WaitPrivacyScan(bg)
	if err != nil || !slices.Equal(pi.WithoutAuthList, []string{"wx.getLocation"}) {
		t.Fatalf("WaitPrivacyScan = %+v, %v", pi, err)
	}
	if n := calls.N("/wxa/security/get_code_privacy_info") - scanned; n < 2 {
		t.Fatalf("WaitPrivacyScan polled %d times; the scan should have been running", n)
	}
	vi, err := app.VersionInfo(bg)
	if err != nil || vi.ExpInfo == nil || vi.ExpInfo.ExpVersion != "3.0.1" || vi.ReleaseInfo != nil {
		t.Fatalf("VersionInfo = %+v, %v", vi, err)
	}
	var extFile struct {
		Ext struct {
			Slogan string `json:"slogan"`
		} `json:"ext"`
	}
	if f := experienceFile(t, s, mp.AppID, "ext.json"); json.Unmarshal([]byte(f), &extFile) != nil || extFile.Ext.Slogan != "<b>Tom & Jerry</b>" {
		t.Fatalf("ext.json of the experience version: %s", f)
	}

	if err := c.DeleteTemplate(bg, tplID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTemplate(bg, tplID); !errors.Is(err, wxerr.DraftNotFound) {
		t.Fatalf("deleting twice: %v, want 85064", err)
	}
	var we *wxa.Error
	if err := app.Commit(bg, wxa.CommitRequest{TemplateID: tplID, UserVersion: "x"}); !errors.As(err, &we) || we.Code != wxerr.TemplateNotExist || we.RID == "" {
		t.Fatalf("commit of a deleted template: %#v, want 85014 with a rid", err)
	}

	// Revoking drops what the SDK kept for the mini program.
	req, _ := http.NewRequest("DELETE", s.URL+"/miniship/v1/platforms/"+e.P.AppID+"/authorizations/"+mp.AppID, nil)
	req.Header.Set("Authorization", "Bearer "+s.AdminKey)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", res, err)
	}
	select {
	case ev := <-e.Auth:
		if ev.InfoType != wxcrypt.InfoTypeUnauthorized || ev.AuthorizerAppID != mp.AppID {
			t.Fatalf("unauthorized push = %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no unauthorized push")
	}
	if _, err := c.RefreshToken(bg, mp.AppID); !errors.Is(err, wxa.ErrNoRefreshToken) {
		t.Fatalf("refresh token after unauthorized: %v", err)
	}
	e.AllDelivered(t)
}

func experienceFile(t *testing.T, s *mstest.Server, appid, name string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/miniship/v1/authorizers/"+appid+"/experience/package", nil)
	req.Header.Set("Authorization", "Bearer "+s.AdminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return unzipFile(t, b, name)
}

// TestTokenExpiryServerClock: two hours pass on the server only; it
// answers 42001 and the SDK refreshes the authorizer token and, inside
// that, the component token, without the caller noticing.
func TestTokenExpiryServerClock(t *testing.T) {
	e, c, calls := fixture.Setup(t, mstest.Options{}, nil)
	app := c.App(e.AppID)
	if _, err := app.Categories(bg); err != nil {
		t.Fatal(err)
	}
	e.S.Advance(2 * time.Hour)
	if _, err := app.Categories(bg); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	for path, want := range map[string]int{
		"/wxa/get_category":                       3, // ok, 42001, ok
		"/cgi-bin/component/api_authorizer_token": 3, // first, 42001 (component token expired), ok
		"/cgi-bin/component/api_component_token":  2,
	} {
		if n := calls.N(path); n != want {
			t.Errorf("%s called %d times, want %d", path, n, want)
		}
	}
}

// TestTokenExpiryClientClock: with the SDK on the server's clock, tokens
// are renewed before the server would reject them.
func TestTokenExpiryClientClock(t *testing.T) {
	e, c, calls := fixture.Setup(t, mstest.Options{}, func(e *fixture.Env, o *wxa.Options) {
		o.Now = e.S.Clock.Now
	})
	s := e.S
	app := c.App(e.AppID)
	for _, step := range []time.Duration{0, time.Hour, 55 * time.Minute, time.Hour} {
		s.Advance(step)
		if _, err := app.Categories(bg); err != nil {
			t.Fatal(err)
		}
	}
	// Fetched at 0, renewed at 1:55 (inside the 10 min margin), still good at 2:55.
	if n, m := calls.N("/wxa/get_category"), calls.N("/cgi-bin/component/api_component_token"); n != 4 || m != 2 {
		t.Fatalf("get_category %d times (want 4, no rejected call), api_component_token %d (want 2)", n, m)
	}
}

// TestRefreshOn40001: a token the server does not know (revoked,
// superseded) is dropped and refreshed once, for both token kinds.
func TestRefreshOn40001(t *testing.T) {
	e, c, calls := fixture.Setup(t, mstest.Options{}, nil)
	app := c.App(e.AppID)
	if _, err := app.Categories(bg); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TemplateList(bg, wxa.AllTemplates); err != nil {
		t.Fatal(err)
	}
	staleOnce(calls, "/wxa/get_category")
	if _, err := app.Categories(bg); err != nil {
		t.Fatalf("after 40001: %v", err)
	}
	staleOnce(calls, "/wxa/gettemplatelist")
	if _, err := c.TemplateList(bg, wxa.AllTemplates); err != nil {
		t.Fatalf("after 40001: %v", err)
	}
	for path, want := range map[string]int{
		"/wxa/get_category":                       3,
		"/wxa/gettemplatelist":                    3,
		"/cgi-bin/component/api_authorizer_token": 2,
		"/cgi-bin/component/api_component_token":  2,
	} {
		if n := calls.N(path); n != want {
			t.Errorf("%s called %d times, want %d", path, n, want)
		}
	}

	// A token rejected again after the refresh is an error, not a loop.
	calls.Tamper(func(r *http.Request) {
		if r.URL.Path == "/wxa/get_category" {
			setToken(r, "stale")
		}
	})
	defer calls.Tamper(nil)
	before := calls.N("/wxa/get_category")
	if _, err := app.Categories(bg); !errors.Is(err, wxerr.InvalidCredential) {
		t.Fatalf("always stale: %v, want 40001", err)
	}
	if n := calls.N("/wxa/get_category") - before; n != 2 {
		t.Fatalf("always stale: %d calls, want 2", n)
	}
}

// staleOnce swaps the access token of the next call to path for one the
// server never issued.
func staleOnce(calls *fixture.Calls, path string) {
	var once sync.Once
	calls.Tamper(func(r *http.Request) {
		if r.URL.Path == path {
			once.Do(func() { setToken(r, "stale-"+path) })
		}
	})
}

func setToken(r *http.Request, tok string) {
	q := r.URL.Query()
	for _, k := range []string{"access_token", "component_access_token"} {
		if q.Has(k) {
			q.Set(k, tok)
		}
	}
	r.URL.RawQuery = q.Encode()
}

// TestRetriesUnderFaults: injected -1s are retried with backoff until the
// call succeeds; a permanent fault gives up after the bound.
func TestRetriesUnderFaults(t *testing.T) {
	var mu sync.Mutex
	var waits []time.Duration
	e, c, calls := fixture.Setup(t, mstest.Options{
		Faults: []httpapi.FaultRule{{Path: "/wxa/get_category", Rate: 0.5, Errcode: -1}},
	}, func(_ *fixture.Env, o *wxa.Options) {
		o.Retry = wxa.RetryPolicy{Attempts: 25, Base: 100 * time.Millisecond, Max: 2 * time.Second}
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
			return nil
		}
	})
	app := c.App(e.AppID)
	const n = 20
	for range n {
		if _, err := app.Categories(bg); err != nil {
			t.Fatalf("with 50%% faults and 25 attempts: %v", err)
		}
	}
	got := calls.N("/wxa/get_category")
	if got <= n || len(waits) != got-n {
		t.Fatalf("%d calls for %d successes and %d waits; want retries, one wait each", got, n, len(waits))
	}
	for _, w := range waits {
		if w < 50*time.Millisecond || w > 2*time.Second {
			t.Fatalf("backoff %v outside [Base/2, Max]", w)
		}
	}

	// Every call fails now: each retryable code is tried Attempts times.
	for _, code := range []int{-1, 45011, 9402202} {
		setFaults(t, e.S, httpapi.FaultRule{Path: "/wxa/get_category", Rate: 1, Errcode: code})
		before := calls.N("/wxa/get_category")
		_, err := app.Categories(bg)
		if !errors.Is(err, wxerr.Code(code)) {
			t.Fatalf("permanent %d: %v", code, err)
		}
		if k := calls.N("/wxa/get_category") - before; k != 25 {
			t.Fatalf("permanent %d: %d attempts, want 25", code, k)
		}
	}
	// Other codes are answers, not hiccups: one attempt.
	setFaults(t, e.S, httpapi.FaultRule{Path: "/wxa/get_category", Rate: 1, Errcode: 85008})
	before := calls.N("/wxa/get_category")
	if _, err := app.Categories(bg); !errors.Is(err, wxerr.InvalidCategory) || calls.N("/wxa/get_category")-before != 1 {
		t.Fatalf("85008: %v after %d attempts, want 1", err, calls.N("/wxa/get_category")-before)
	}
}

// TestRetryHonoursContext: a cancelled context ends the backoff at once.
func TestRetryHonoursContext(t *testing.T) {
	e, c, _ := fixture.Setup(t, mstest.Options{
		Faults: []httpapi.FaultRule{{Path: "/wxa/get_category", Rate: 1, Errcode: -1}},
	}, func(_ *fixture.Env, o *wxa.Options) {
		o.Sleep = nil // real sleeps
		o.Retry = wxa.RetryPolicy{Attempts: 10, Base: time.Minute, Max: time.Minute}
	})
	// Fetch the tokens first, so the deadline can only fall in the backoff
	// after the injected -1 (under -race a token fetch can take 200 ms).
	if _, err := c.App(e.AppID).VersionInfo(bg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.App(e.AppID).Categories(ctx)
	if !errors.Is(err, wxerr.SystemError) || !strings.Contains(err.Error(), "deadline") || time.Since(start) > 5*time.Second {
		t.Fatalf("err %v after %v; want the -1 and the deadline, promptly", err, time.Since(start))
	}
}

func setFaults(t *testing.T, s *mstest.Server, rules ...httpapi.FaultRule) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"rules": rules})
	req, _ := http.NewRequest("PUT", s.URL+"/miniship/v1/faults", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+s.AdminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("set faults: %v %v", res, err)
	}
	res.Body.Close()
}

// TestConcurrentTokenFetch: 50 goroutines that all need tokens at once
// cause one fetch of each.
func TestConcurrentTokenFetch(t *testing.T) {
	e, c, calls := fixture.Setup(t, mstest.Options{}, nil)
	app := c.App(e.AppID)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, err := app.Categories(bg)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if a, b := calls.N("/cgi-bin/component/api_component_token"), calls.N("/cgi-bin/component/api_authorizer_token"); a != 1 || b != 1 {
		t.Fatalf("fetched the component token %d times and the authorizer token %d times, want 1 each", a, b)
	}
}

// TestNoTicket: without a pushed ticket the component token cannot be
// fetched, and the error says why.
func TestNoTicket(t *testing.T) {
	c, err := wxa.NewClient(wxa.Options{BaseURL: "http://127.0.0.1:1", ComponentAppID: "wxnone"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ComponentAccessToken(bg); !errors.Is(err, wxa.ErrNoTicket) {
		t.Fatalf("got %v", err)
	}
	if _, err := c.App("wxapp").AccessToken(bg); !errors.Is(err, wxa.ErrNoRefreshToken) {
		t.Fatalf("got %v", err)
	}
}
