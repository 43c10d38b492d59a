package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// consentEnv is two platforms and two mini programs: shop is authorized to
// platform A with every default set (so A holds set 18), free to none.
type consentEnv struct {
	t          *testing.T
	s          *mstest.Server
	a, b       *miniship.Platform
	shop, free *miniship.Authorizer
	shopRefA   string
}

func newConsentEnv(t *testing.T, database string) *consentEnv {
	s := mstest.New(t, mstest.Options{Database: database})
	e := &consentEnv{t: t, s: s, a: s.Platform(t, nil), b: s.Platform(t, nil)}
	e.shop, e.shopRefA = s.MiniProgram(t, e.a.AppID, &miniship.Authorizer{Nickname: "Shop Nickname"})
	var err error
	e.free, err = s.Service.CreateAuthorizer(context.Background(), &miniship.Authorizer{AppID: "wxfree" + e.a.AppID[len(e.a.AppID)-8:], Nickname: "Free Nickname"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// preAuth gets a pre_auth_code for the platform through the API.
func (e *consentEnv) preAuth(p *miniship.Platform) string {
	e.t.Helper()
	m := wx(e.t, e.s, "POST", "/cgi-bin/component/api_create_preauthcode", tok(componentToken(e.t, e.s, p.AppID, p.Secret)),
		`{"component_appid":"`+p.AppID+`"}`)
	return arStr(m, "pre_auth_code")
}

type consentAnswer struct {
	status   int
	location *url.URL
	html     string
}

// post submits the consent form as a browser (or a script) does.
func (e *consentEnv) post(platform, code, appid, secret string, sets ...string) consentAnswer {
	e.t.Helper()
	form := url.Values{"component_appid": {platform}, "pre_auth_code": {code}, "redirect_uri": {"https://platform.example/cb?keep=1"}}
	if appid != "" {
		form.Set("authorizer_appid", appid)
	}
	if secret != "" {
		form.Set("authorizer_secret", secret)
	}
	form["permission_set"] = sets
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(e.s.URL+"/cgi-bin/componentloginpage", form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	loc, _ := url.Parse(res.Header.Get("Location"))
	return consentAnswer{res.StatusCode, loc, string(b)}
}

// refused checks an HTML refusal that hands out no auth_code.
func (e *consentEnv) refused(a consentAnswer, status int, text string) {
	e.t.Helper()
	if a.status != status || a.location.String() != "" || strings.Contains(a.html, "queryauthcode@@@") ||
		!strings.Contains(a.html, "<!doctype html>") || !strings.Contains(a.html, text) {
		e.t.Fatalf("want an HTML %d refusal saying %q, got %d %v\n%s", status, text, a.status, a.location, a.html)
	}
}

// granted checks the redirect with an auth_code and returns the code.
func (e *consentEnv) granted(a consentAnswer) string {
	e.t.Helper()
	q := a.location.Query()
	if a.status != http.StatusFound || a.location.Host != "platform.example" || q.Get("keep") != "1" || q.Get("auth_code") == "" || q.Get("expires_in") != "600" {
		e.t.Fatalf("want a 302 with auth_code, got %d %v\n%s", a.status, a.location, a.html)
	}
	return q.Get("auth_code")
}

// queryAuth exchanges the auth code and returns the granted sets and an
// authorizer token.
func (e *consentEnv) queryAuth(p *miniship.Platform, code string) ([]int, string) {
	e.t.Helper()
	m := wx(e.t, e.s, "POST", "/cgi-bin/component/api_query_auth", url.Values{"component_access_token": {componentToken(e.t, e.s, p.AppID, p.Secret)}},
		`{"component_appid":"`+p.AppID+`","authorization_code":"`+code+`"}`)
	info, _ := m["authorization_info"].(map[string]any)
	if info == nil {
		e.t.Fatalf("query_auth: %v", m)
	}
	var sets []int
	for _, f := range info["func_info"].([]any) {
		n, _ := f.(map[string]any)["funcscope_category"].(map[string]any)["id"].(json.Number).Int64()
		sets = append(sets, int(n))
	}
	return sets, arStr(info, "authorizer_access_token")
}

// TestConsentSignIn: the consent page lists no mini program and grants
// one only to a merchant who signs in with its AppSecret; every attack
// tried from another platform gets an HTML refusal and no auth_code.
func TestConsentSignIn(t *testing.T) { mstest.Backends(t, testConsentSignIn) }

func testConsentSignIn(t *testing.T, database string) {
	e := newConsentEnv(t, database)
	code := e.preAuth(e.b)

	// The page shows a sign-in form, never the mini programs on the server.
	res := rawCall(t, e.s, "GET", "/cgi-bin/componentloginpage", url.Values{"component_appid": {e.b.AppID}, "pre_auth_code": {code}, "redirect_uri": {"https://platform.example/cb"}}, "")
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, leak := range []string{e.shop.AppID, e.free.AppID, "Shop Nickname", "Free Nickname"} {
		if strings.Contains(string(page), leak) {
			t.Fatalf("the consent page shows %q", leak)
		}
	}
	if res.StatusCode != 200 || !strings.Contains(string(page), `name="authorizer_secret"`) || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("consent page: %d %v\n%s", res.StatusCode, res.Header, page)
	}

	// Platform B tries to take platform A's mini program.
	e.refused(e.post(e.b.AppID, code, e.shop.AppID, "", "18"), 400, "enter the mini program")              // no secret
	e.refused(e.post(e.b.AppID, code, e.shop.AppID, "wrong-secret-0123456789", "18"), 403, "4 more tries") // wrong secret
	e.refused(e.post(e.b.AppID, code, e.shop.AppID, e.free.Secret, "18"), 403, "3 more tries")             // another mini program's secret
	e.refused(e.post(e.b.AppID, code, "wxnosuchapp000001", "wrong-secret-0123456789", "18"), 403, "wrong appid or AppSecret (2")
	e.refused(e.post(e.a.AppID, code, e.shop.AppID, e.shop.Secret, "18"), 400, "invalid, expired or used") // B's code as A's
	e.refused(e.post(e.b.AppID, code, e.shop.AppID, strings.ToUpper(e.shop.Secret), "18"), 403, "1 more tries")
	// The fifth wrong secret burns the code: even the right one fails now.
	e.refused(e.post(e.b.AppID, code, e.shop.AppID, e.shop.Secret+"x"), 403, "no longer valid")
	e.refused(e.post(e.b.AppID, code, e.free.AppID, e.free.Secret, "30"), 400, "invalid, expired or used")

	// Permission sets must be WeChat's: refused, and the code survives.
	code = e.preAuth(e.b)
	// As must every value be text PostgreSQL can store.
	e.refused(e.post(e.b.AppID, code, e.free.AppID+"\x00", e.free.Secret, "18"), 400, "bad form")
	e.refused(e.post(e.b.AppID, code, e.free.AppID, "\xff"+e.free.Secret, "18"), 400, "bad form")
	e.refused(e.post(e.b.AppID, code, e.free.AppID, e.free.Secret, "18", "999"), 400, "999 is not one WeChat defines")
	e.refused(e.post(e.b.AppID, code, e.free.AppID, e.free.Secret, "abc"), 400, "bad permission set")

	// The right secret: a 302 with the code, which query_auth honours.
	sets, _ := e.queryAuth(e.b, e.granted(e.post(e.b.AppID, code, e.free.AppID, e.free.Secret, "18", "30")))
	if !slices.Equal(sets, []int{18, 30}) {
		t.Fatalf("func_info %v, want [18 30]", sets)
	}
	e.refused(e.post(e.b.AppID, code, e.free.AppID, e.free.Secret, "18"), 400, "invalid, expired or used") // single use

	// The admin API hands out and changes the secret; the old one stops working.
	st, m := admin(t, e.s, "GET", "/miniship/v1/authorizers/"+e.free.AppID, nil)
	if st != 200 || arStr(m, "secret") != e.free.Secret {
		t.Fatalf("GET authorizer: %d %v", st, m)
	}
	if st, m = admin(t, e.s, "PATCH", "/miniship/v1/authorizers/"+e.free.AppID, map[string]any{"secret": "short"}); st != 400 {
		t.Fatalf("PATCH a 5-character secret: %d %v", st, m)
	}
	if st, m = admin(t, e.s, "PATCH", "/miniship/v1/authorizers/"+e.free.AppID, map[string]any{"secret": "a-new-secret-of-merchant"}); st != 200 || arStr(m, "secret") != "a-new-secret-of-merchant" {
		t.Fatalf("PATCH secret: %d %v", st, m)
	}
	code = e.preAuth(e.b)
	e.refused(e.post(e.b.AppID, code, e.free.AppID, e.free.Secret, "30"), 403, "wrong appid or AppSecret")
	e.granted(e.post(e.b.AppID, code, e.free.AppID, "a-new-secret-of-merchant", "30"))
	if st, m = admin(t, e.s, "POST", "/miniship/v1/authorizers", map[string]any{"appid": "wxgivensecret0001", "secret": "given-secret-0123456789"}); st != 201 || arStr(m, "secret") != "given-secret-0123456789" {
		t.Fatalf("POST authorizer with a secret: %d %v", st, m)
	}
}

// TestConsentExclusiveSets: set 18 and the other exclusive sets stay with
// the platform that holds them. A second platform's consent grants the
// rest (spec §9: omitted silently), the page shows the merchant which sets
// are held and by whom, the second platform's code calls answer 61007, and
// the admin API reports the withheld sets.
func TestConsentExclusiveSets(t *testing.T) { mstest.Backends(t, testConsentExclusiveSets) }

func testConsentExclusiveSets(t *testing.T, database string) {
	e := newConsentEnv(t, database)
	code := e.preAuth(e.b)

	// The sign-in step shows 18 and 40 held by A, not tickable; 30 is.
	a := e.post(e.b.AppID, code, e.shop.AppID, e.shop.Secret)
	if a.status != 200 || !strings.Contains(a.html, "Shop Nickname") || !strings.Contains(a.html, "Held by platform <code>"+e.a.AppID+"</code>") ||
		strings.Contains(a.html, `name="permission_set" value="18"`) || strings.Contains(a.html, `name="permission_set" value="40"`) ||
		!strings.Contains(a.html, `name="permission_set" value="30" checked`) {
		t.Fatalf("sign-in step: %d\n%s", a.status, a.html)
	}

	// Asking for nothing but held sets is refused, and the code survives.
	e.refused(e.post(e.b.AppID, code, e.shop.AppID, e.shop.Secret, "18", "40"), 400, "held by another platform: set 18 (platform "+e.a.AppID+")")

	// A script asking for 18 and 30 gets 30 only.
	sets, tokB := e.queryAuth(e.b, e.granted(e.post(e.b.AppID, code, e.shop.AppID, e.shop.Secret, "18", "30")))
	if !slices.Equal(sets, []int{30}) {
		t.Fatalf("B's func_info %v, want [30]", sets)
	}
	arWant(t, wx(t, e.s, "GET", "/wxa/get_page", tok(tokB), ""), 61007)
	arWant(t, wx(t, e.s, "POST", "/wxa/release", tok(tokB), "{}"), 61007)
	tokA := authorizerToken(t, e.s, componentToken(t, e.s, e.a.AppID, e.a.Secret), e.a.AppID, e.shop.AppID, e.shopRefA)
	arWant(t, wx(t, e.s, "POST", "/wxa/release", tok(tokA), "{}"), 85019) // A still holds 18: the call reaches the release rules

	// The admin API applies the same rule and says what it withheld.
	st, m := admin(t, e.s, "POST", "/miniship/v1/platforms/"+e.b.AppID+"/authorizations", map[string]any{"authorizer_appid": e.shop.AppID, "permission_sets": []int{18, 17, 30}})
	wh, _ := json.Marshal(m["withheld_permission_sets"])
	if st != 201 || fmt.Sprint(m["permission_sets"]) != "[17 30]" || string(wh) != `[{"held_by":"`+e.a.AppID+`","id":18}]` {
		t.Fatalf("admin authorize: %d %v", st, m)
	}
	if st, m = admin(t, e.s, "POST", "/miniship/v1/platforms/"+e.b.AppID+"/authorizations", map[string]any{"authorizer_appid": e.shop.AppID, "permission_sets": []int{18}}); st != 409 {
		t.Fatalf("admin authorize with held sets only: %d %v", st, m)
	}
	if st, m = admin(t, e.s, "POST", "/miniship/v1/platforms/"+e.b.AppID+"/authorizations", map[string]any{"authorizer_appid": e.shop.AppID, "permission_sets": []int{1000}}); st != 400 {
		t.Fatalf("admin authorize with an unknown set: %d %v", st, m)
	}

	// Once the merchant revokes A, B can take set 18.
	if st, m = admin(t, e.s, "DELETE", "/miniship/v1/platforms/"+e.a.AppID+"/authorizations/"+e.shop.AppID, nil); st != 200 {
		t.Fatalf("revoke A: %d %v", st, m)
	}
	sets, tokB = e.queryAuth(e.b, e.granted(e.post(e.b.AppID, e.preAuth(e.b), e.shop.AppID, e.shop.Secret, "18", "30")))
	if !slices.Equal(sets, []int{18, 30}) {
		t.Fatalf("B's func_info after A was revoked: %v", sets)
	}
	arWant(t, wx(t, e.s, "POST", "/wxa/release", tok(tokB), "{}"), 85019)
}

// TestExclusiveSetRace: platforms racing for set 18 of one mini program
// never both get it (the mini program's row lock serialises grants).
func TestExclusiveSetRace(t *testing.T) { mstest.Backends(t, testExclusiveSetRace) }

func testExclusiveSetRace(t *testing.T, database string) {
	s := mstest.New(t, mstest.Options{Database: database})
	ctx := context.Background()
	mp, err := s.Service.CreateAuthorizer(ctx, &miniship.Authorizer{AppID: "wxracer0000000001"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	platforms := make([]string, n)
	for i := range platforms {
		platforms[i] = s.Platform(t, nil).AppID
	}
	var wg sync.WaitGroup
	results := make([]*service.GrantResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = s.Service.Grant(ctx, platforms[i], mp.AppID, []int{18, 30}) })
	}
	wg.Wait()
	holders := 0
	for i, g := range results {
		if errs[i] != nil {
			t.Fatalf("grant %d: %v", i, errs[i])
		}
		if slices.Contains(g.PermissionSets, 18) {
			holders++
		}
	}
	if holders != 1 {
		t.Fatalf("%d platforms hold set 18", holders)
	}
}

// TestFifteenPlatforms: a mini program authorizes at most 15 platforms at
// once (workflow spec §9). The 16th is refused at sign-in on the consent
// page and by the admin API (409), while the 15 keep updating their grants;
// once the merchant revokes one, the 16th is authorized.
func TestFifteenPlatforms(t *testing.T) {
	e := newConsentEnv(t, "")
	authorize := func(p *miniship.Platform, sets []int) (int, map[string]any) {
		return admin(t, e.s, "POST", "/miniship/v1/platforms/"+p.AppID+"/authorizations", map[string]any{"authorizer_appid": e.shop.AppID, "permission_sets": sets})
	}
	for range service.MaxPlatformsPerApp - 2 { // A holds one, B becomes the 15th
		if st, m := authorize(e.s.Platform(t, nil), []int{30}); st != 201 {
			t.Fatalf("authorize: %d %v", st, m)
		}
	}
	if st, m := authorize(e.b, []int{30}); st != 201 {
		t.Fatalf("the 15th: %d %v", st, m)
	}
	if st, m := authorize(e.b, []int{30, 17}); st != 201 {
		t.Fatalf("the 15th updating its grant: %d %v", st, m)
	}
	c := e.s.Platform(t, nil)
	if st, m := authorize(c, []int{30}); st != 409 || !strings.Contains(fmt.Sprint(m), "15 platforms") {
		t.Fatalf("the 16th: %d %v, want 409", st, m)
	}
	e.refused(e.post(c.AppID, e.preAuth(c), e.shop.AppID, e.shop.Secret), 400, "15 platforms")
	if st, m := admin(t, e.s, "DELETE", "/miniship/v1/platforms/"+e.b.AppID+"/authorizations/"+e.shop.AppID, nil); st != 200 {
		t.Fatalf("revoke B: %d %v", st, m)
	}
	e.granted(e.post(c.AppID, e.preAuth(c), e.shop.AppID, e.shop.Secret, "30"))
}
