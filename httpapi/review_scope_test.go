package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// authCode runs the consent page's service half for the platform and mini
// program and returns the authorization code it redirects with.
func authCode(t *testing.T, s *mstest.Server, platform, authorizer string) string {
	t.Helper()
	ctx := context.Background()
	caller := &service.Caller{Kind: miniship.ComponentToken, PlatformAppID: platform}
	pre, err := s.Service.CreatePreAuthCode(ctx, caller, platform)
	if err != nil {
		t.Fatal(err)
	}
	var secret string
	if err := s.Store.View(ctx, func(tx miniship.Tx) error {
		a, err := tx.GetAuthorizer(authorizer)
		if a != nil {
			secret = a.Secret
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Service.Consent(ctx, service.ConsentRequest{Platform: platform, PreAuthCode: pre.Code,
		AuthorizerAppID: authorizer, Secret: secret, PermissionSets: []int{18}})
	if err != nil {
		t.Fatal(err)
	}
	return res.AuthCode
}

// TestCredentialsOfAnotherPlatform: a ticket or an authorization code is
// good only for the platform it was issued to, and an expired code is
// refused. Each used to answer success with an empty token or a null
// authorization_info.
func TestCredentialsOfAnotherPlatform(t *testing.T) {
	f := newFixture(t, mstest.Options{}, nil)
	s := f.s
	other := s.Platform(t, nil)
	otherApp, _ := s.MiniProgram(t, other.AppID, nil)

	// Platform A's credentials with platform B's ticket.
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_component_token", nil,
		`{"component_appid":"`+f.p.AppID+`","component_appsecret":"`+f.p.Secret+`","component_verify_ticket":"`+s.Ticket(t, other.AppID)+`"}`), 61006)

	// Platform A's token and appid with platform B's authorization code.
	C := url.Values{"component_access_token": {f.ctoken}}
	code := authCode(t, s, other.AppID, otherApp.AppID)
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_query_auth", C,
		`{"component_appid":"`+f.p.AppID+`","authorization_code":"`+code+`"}`), 40097)

	// An expired code of the right platform.
	code = authCode(t, s, f.p.AppID, f.app.AppID)
	s.Advance(s.Service.Config().AuthCodeTTL)
	f.ctoken = componentToken(t, s, f.p.AppID, f.p.Secret)
	C = url.Values{"component_access_token": {f.ctoken}}
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_query_auth", C,
		`{"component_appid":"`+f.p.AppID+`","authorization_code":"`+code+`"}`), 40097)
}

// TestSpeedupChargesTheCaller: a mini program moves to a second platform
// (set 18 is exclusive, so the merchant revokes the first) which speeds up
// the audit the first submitted; the speed-up is the second platform's to
// spend, not the submitter's, whose quota a foreign token must not reach.
func TestSpeedupChargesTheCaller(t *testing.T) {
	e := arSetup(t, mstest.Options{}, &miniship.Platform{SpeedupQuota: 3})
	e.commit("1.0.0", "")
	e.scanned()
	id := e.submit()

	other := e.s.Platform(t, &miniship.Platform{SpeedupQuota: 3})
	_, firstTok := e.addMiniProgram(arMiniProgram()) // reads the first platform's quota after the move
	if err := e.s.Service.Unauthorize(context.Background(), e.p.AppID, e.mp.AppID); err != nil {
		t.Fatal(err)
	}
	auth, err := e.s.Service.Authorize(context.Background(), other.AppID, e.mp.AppID, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctoken := componentToken(t, e.s, other.AppID, other.Secret)
	otherTok := authorizerToken(t, e.s, ctoken, other.AppID, e.mp.AppID, auth.RefreshToken)
	e.ok("POST", "/wxa/speedupaudit", fmt.Sprintf(`{"auditid":%d}`, id), otherTok)

	// queryquota answers for the token's platform.
	if rest := arInt(t, e.ok("GET", "/wxa/queryquota", "", firstTok), "speedup_rest"); rest != 3 {
		t.Fatalf("submitting platform: speedup_rest %d, want 3 (untouched)", rest)
	}
	if rest := arInt(t, e.ok("GET", "/wxa/queryquota", "", otherTok), "speedup_rest"); rest != 2 {
		t.Fatalf("calling platform: speedup_rest %d, want 2", rest)
	}
}

// TestTemplateCapUnderConcurrency: concurrent addtotemplate calls of one
// platform never take the library past MaxTemplates (85065), also on
// PostgreSQL where each count-then-insert runs in its own transaction.
func TestTemplateCapUnderConcurrency(t *testing.T) {
	mstest.Backends(t, testTemplateCapUnderConcurrency)
}

func testTemplateCapUnderConcurrency(t *testing.T, database string) {
	const max, tries = 3, 12
	s := mstest.New(t, mstest.Options{Database: database, Config: service.Config{MaxTemplates: max}})
	p := s.Platform(t, nil)
	ctoken := componentToken(t, s, p.AppID, p.Secret)
	st, d := uploadDraft(t, s, p.AppID, templateZip(t, nil), "1")
	if st != 201 {
		t.Fatalf("draft: %d %v", st, d)
	}
	body := fmt.Sprintf(`{"draft_id":%v}`, d["draft_id"])
	var wg sync.WaitGroup
	codes := make([]int, tries)
	for i := range tries {
		wg.Go(func() { codes[i] = arCode(wx(t, s, "POST", "/wxa/addtotemplate", tok(ctoken), body)) })
	}
	wg.Wait()
	var ok int
	for _, c := range codes {
		switch c {
		case 0:
			ok++
		case 85065:
		default:
			t.Fatalf("addtotemplate: errcode %d", c)
		}
	}
	n := len(wx(t, s, "GET", "/wxa/gettemplatelist", tok(ctoken), "")["template_list"].([]any))
	if ok != max || n != max {
		t.Fatalf("%d successes and %d templates, want %d each (codes %v)", ok, n, max, codes)
	}
}

// TestConcurrentFirstAuthorization: grants racing for a new authorization
// agree on one refresh token; none of them hands out a token that the
// next write has already replaced (61023).
func TestConcurrentFirstAuthorization(t *testing.T) {
	mstest.Backends(t, testConcurrentFirstAuthorization)
}

func testConcurrentFirstAuthorization(t *testing.T, database string) {
	s := mstest.New(t, mstest.Options{Database: database})
	p := s.Platform(t, nil)
	a, err := s.Service.CreateAuthorizer(context.Background(), &miniship.Authorizer{AppID: "wxrace" + p.AppID[len(p.AppID)-8:]})
	if err != nil {
		t.Fatal(err)
	}
	const n = 24
	tokens := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			auth, err := s.Service.Authorize(context.Background(), p.AppID, a.AppID, []int{18})
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = auth.RefreshToken
		})
	}
	wg.Wait()
	for _, tk := range tokens {
		if tk != tokens[0] {
			t.Fatalf("refresh tokens differ: %v", tokens)
		}
	}
}

// TestConsentPageHardening: the consent page refuses a redirect_uri
// without a host, cannot be framed by another site (its one button grants
// a platform a mini program), and does not leak its pre_auth_code in a
// Referer.
func TestConsentPageHardening(t *testing.T) {
	f := newFixture(t, mstest.Options{}, nil)
	pre, err := f.s.Service.CreatePreAuthCode(context.Background(), &service.Caller{Kind: miniship.ComponentToken, PlatformAppID: f.p.AppID}, f.p.AppID)
	if err != nil {
		t.Fatal(err)
	}
	page := func(redirect string) *http.Response {
		q := url.Values{"component_appid": {f.p.AppID}, "pre_auth_code": {pre.Code}, "redirect_uri": {redirect}}
		res := rawCall(t, f.s, "GET", "/cgi-bin/componentloginpage", q, "")
		res.Body.Close()
		return res
	}
	for _, bad := range []string{"https:", "https:///cb", "http:relative", "javascript:alert(1)"} {
		if res := page(bad); res.StatusCode != http.StatusBadRequest {
			t.Errorf("redirect_uri %q: HTTP %d, want 400", bad, res.StatusCode)
		}
	}
	res := page("https://platform.example/cb")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("consent page: HTTP %d", res.StatusCode)
	}
	h := res.Header
	if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		h.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("consent page headers: %v", h)
	}
}
