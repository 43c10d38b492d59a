package httpapi_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

// fixture is a platform with one authorized mini program and a template.
type fixture struct {
	s        *mstest.Server
	p        *miniship.Platform
	app      *miniship.Authorizer
	ctoken   string
	atoken   string
	tplID    string
	stdTplID string
}

func newFixture(t *testing.T, o mstest.Options, a *miniship.Authorizer) *fixture {
	t.Helper()
	s := mstest.New(t, o)
	f := &fixture{s: s, p: s.Platform(t, nil)}
	var refresh string
	f.app, refresh = s.MiniProgram(t, f.p.AppID, a)
	f.ctoken = componentToken(t, s, f.p.AppID, f.p.Secret)
	f.atoken = authorizerToken(t, s, f.ctoken, f.p.AppID, f.app.AppID, refresh)
	f.tplID = jsonNum(float64(s.Template(t, f.p.AppID, nil, miniship.TemplateNormal)))
	f.stdTplID = jsonNum(float64(s.Template(t, f.p.AppID, nil, miniship.TemplateStandard)))
	return f
}

func (f *fixture) commitBody(tpl, ext, version string) string {
	return `{"template_id":` + tpl + `,"ext_json":` + extJSON(ext) + `,"user_version":"` + version + `","user_desc":"d"}`
}

// TestErrcodes checks that each bad input gets its documented errcode over
// the wire, with a rid, and that nothing was stored for it.
func TestErrcodes(t *testing.T) { mstest.Backends(t, testErrcodes) }

func testErrcodes(t *testing.T, database string) {
	f := newFixture(t, mstest.Options{Database: database}, &miniship.Authorizer{
		PrivacyAPIs: []string{"getLocation"},
		Plugins:     []miniship.PluginGrant{{AppID: "wxplugin000000001", Versions: []string{"1.0.0"}}},
	})
	s, A, C := f.s, tok(f.atoken), tok(f.ctoken)
	long := strings.Repeat("v", 65)
	plugin := func(provider, version string) string {
		return `{"plugins":{"p":{"provider":"` + provider + `","version":"` + version + `"}}}`
	}
	cases := []struct {
		name         string
		method, path string
		q            url.Values
		body         string
		code         int
	}{
		{"unknown path", "GET", "/wxa/no_such_api", A, "", -1},
		{"token missing", "POST", "/wxa/commit", nil, "{}", 41001},
		{"token unknown", "POST", "/wxa/commit", tok("garbage"), "{}", 40001},
		{"component token on code api", "POST", "/wxa/commit", C, "{}", 40001},
		{"authorizer token on component api", "GET", "/wxa/gettemplatelist", A, "", 61014},
		{"commit by GET", "GET", "/wxa/commit", A, "", 43002},
		{"templatelist by POST", "POST", "/wxa/gettemplatelist", C, "{}", 43001},
		{"empty body", "POST", "/wxa/commit", A, "", 44002},
		{"malformed JSON", "POST", "/wxa/commit", A, `{"template_id":`, 47001},
		{"template_id not a number", "POST", "/wxa/commit", A, `{"template_id":"abc"}`, 47001},
		{"NUL in user_desc", "POST", "/wxa/commit", A, `{"template_id":` + f.tplID + `,"ext_json":"{}","user_version":"1","user_desc":"a\u0000b"}`, 47001},
		{"NUL inside ext_json", "POST", "/wxa/commit", A, `{"template_id":` + f.tplID + `,"ext_json":"{\"a\":\"\u0000\"}","user_version":"1","user_desc":"d"}`, 47001},
		{"NUL in the token", "GET", "/wxa/get_category", url.Values{"access_token": {"a\x00b"}}, "", 40001},
		{"invalid UTF-8 in the token", "GET", "/wxa/get_category", url.Values{"access_token": {"a\xffb"}}, "", 40001},
		{"NUL in a query parameter", "POST", "/cgi-bin/clear_quota/v2", url.Values{"appid": {"wx\x00"}, "appsecret": {"s"}}, "", 47001},
		// An escaped query is parsed in full; a plain one is read in place.
		{"NUL beside a good token", "GET", "/wxa/get_category", url.Values{"access_token": {f.atoken}, "x": {"\x00"}}, "", 47001},
		{"invalid UTF-8 beside a good token", "GET", "/wxa/get_category", url.Values{"access_token": {f.atoken}, "x": {"\xff"}}, "", 47001},
		{"escaped query, good token", "GET", "/wxa/get_category", url.Values{"access_token": {f.atoken}, "x": {"a b%"}}, "", 0},
		{"component token by its own name", "GET", "/wxa/gettemplatelist", url.Values{"component_access_token": {f.ctoken}}, "", 0},
		{"NUL in a nested list", "POST", "/wxa/modify_domain", A, `{"action":"add","requestdomain":["https://a\u0000.example.com"]}`, 47001},
		{"component appid wrong", "POST", "/cgi-bin/component/api_component_token", nil, `{"component_appid":"wxnobody","component_appsecret":"x","component_verify_ticket":"y"}`, 40013},
		{"component secret wrong", "POST", "/cgi-bin/component/api_component_token", nil, `{"component_appid":"` + f.p.AppID + `","component_appsecret":"x","component_verify_ticket":"y"}`, 40125},
		{"ticket invalid", "POST", "/cgi-bin/component/api_component_token", nil, `{"component_appid":"` + f.p.AppID + `","component_appsecret":"` + f.p.Secret + `","component_verify_ticket":"ticket@@@nope"}`, 61006},
		{"preauthcode for another platform", "POST", "/cgi-bin/component/api_create_preauthcode", C, `{"component_appid":"wxsomeoneelse"}`, 40013},
		{"refresh token wrong", "POST", "/cgi-bin/component/api_authorizer_token", C, `{"component_appid":"` + f.p.AppID + `","authorizer_appid":"` + f.app.AppID + `","authorizer_refresh_token":"nope"}`, 61023},
		{"authorizer not authorized", "POST", "/cgi-bin/component/api_authorizer_token", C, `{"component_appid":"` + f.p.AppID + `","authorizer_appid":"wxnotauthorized1","authorizer_refresh_token":"x"}`, 61003},
		{"draft missing", "POST", "/wxa/addtotemplate", C, `{"draft_id":999}`, 85064},
		{"template type bad", "POST", "/wxa/addtotemplate", C, `{"draft_id":1,"template_type":7}`, 40097},
		{"delete missing template", "POST", "/wxa/deletetemplate", C, `{"template_id":999}`, 85064},
		{"template missing", "POST", "/wxa/commit", A, f.commitBody("999", `{}`, "1"), 85014},
		{"user_version too long", "POST", "/wxa/commit", A, f.commitBody(f.tplID, `{}`, long), 40097},
		{"ext_json not JSON", "POST", "/wxa/commit", A, f.commitBody(f.tplID, `{ext}`, "1"), 85048},
		{"ext_json official 004 sample", "POST", "/wxa/commit", A, f.commitBody(f.tplID, `{extAppid:"", pages:["index":"search/index"],}`, "1"), 85048},
		{"window wrong type", "POST", "/wxa/commit", A, f.commitBody(f.tplID, `{"window":[]}`, "1"), 85013},
		{"standard template extra key", "POST", "/wxa/commit", A, f.commitBody(f.stdTplID, `{"pages":["pages/index/index"]}`, "1"), 9402203},
		{"page not in template", "POST", "/wxa/commit", A, f.commitBody(f.tplID, `{"pages":["pages/nope/nope"]}`, "1"), 85045},
		{"pages empty", "POST", "/wxa/commit", A, f.commitBody(f.tplID, `{"pages":[]}`, "1"), 85047},
		{"tabBar item without pagePath", "POST", "/wxa/commit", A, f.commitBody(f.tplID, `{"tabBar":{"list":[{"text":"a"},{"text":"b"}]}}`, "1"), 85046},
		{"privacy api bad name", "POST", "/wxa/commit", A, f.commitBody(f.tplID, `{"requiredPrivateInfos":["getSecrets"]}`, "1"), 85310},
		{"privacy apis exclusive", "POST", "/wxa/commit", A, f.commitBody(f.tplID, `{"requiredPrivateInfos":["getFuzzyLocation","getLocation"]}`, "1"), 85311},
		{"privacy api not granted", "POST", "/wxa/commit", A, f.commitBody(f.tplID, `{"requiredPrivateInfos":["chooseAddress"]}`, "1"), 85312},
		{"plugin not found", "POST", "/wxa/commit", A, f.commitBody(f.tplID, plugin("nope", "1.0.0"), "1"), 80067},
		{"plugin not granted", "POST", "/wxa/commit", A, f.commitBody(f.tplID, plugin("wxplugin000000002", "1.0.0"), "1"), 80082},
		{"plugin version bad", "POST", "/wxa/commit", A, f.commitBody(f.tplID, plugin("wxplugin000000001", "9.9.9"), "1"), 80066},
		{"get_page before commit", "GET", "/wxa/get_page", A, "", 86001},
		{"privacy info before commit", "GET", "/wxa/security/get_code_privacy_info", A, "", 86001},
		{"versioninfo empty body", "POST", "/wxa/getversioninfo", A, "", 44002},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			arWant(t, wx(t, s, c.method, c.path, c.q, c.body), c.code)
		})
	}
	// None of the failed commits left a version behind.
	arWant(t, wx(t, s, "GET", "/wxa/get_page", A, ""), 86001)
	// A good commit with the same grants works: the table's failures were
	// the inputs, not the fixture.
	arWant(t, wx(t, s, "POST", "/wxa/commit", A, f.commitBody(f.tplID, plugin("wxplugin000000001", "1.0.0"), "1")), 0)
}

func TestTokenExpiry(t *testing.T) {
	f := newFixture(t, mstest.Options{}, nil)
	ticket := f.s.Ticket(t, f.p.AppID)
	f.s.Advance(7200 * time.Second)
	arWant(t, wx(t, f.s, "GET", "/wxa/get_category", tok(f.atoken), ""), 42001)
	arWant(t, wx(t, f.s, "GET", "/wxa/gettemplatelist", tok(f.ctoken), ""), 42001)
	// Tickets are pushed every 10 minutes and each lives 12 hours.
	if now := f.s.Ticket(t, f.p.AppID); now == ticket {
		t.Fatal("the ticket did not rotate after two hours")
	}
	f.s.Advance(10*time.Hour + time.Second)
	arWant(t, wx(t, f.s, "POST", "/cgi-bin/component/api_component_token", nil,
		`{"component_appid":"`+f.p.AppID+`","component_appsecret":"`+f.p.Secret+`","component_verify_ticket":"`+ticket+`"}`), 61005)
	// A day after expiry the token is swept: it is now simply unknown.
	f.s.Advance(15 * time.Hour)
	arWant(t, wx(t, f.s, "GET", "/wxa/get_category", tok(f.atoken), ""), 40001)
}

// TestScope: a token reaches only its own platform and mini program, and
// only the permission sets granted.
func TestScope(t *testing.T) { mstest.Backends(t, testScope) }

func testScope(t *testing.T, database string) {
	f := newFixture(t, mstest.Options{Database: database}, nil)
	s := f.s
	other := s.Platform(t, nil)
	otherToken := componentToken(t, s, other.AppID, other.Secret)
	// The other platform sees none of this platform's templates, cannot
	// commit them, and cannot use this platform's authorizations.
	if l := wx(t, s, "GET", "/wxa/gettemplatelist", tok(otherToken), "")["template_list"].([]any); len(l) != 0 {
		t.Fatalf("other platform sees %d templates", len(l))
	}
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_get_authorizer_info", url.Values{"component_access_token": {otherToken}},
		`{"component_appid":"`+other.AppID+`","authorizer_appid":"`+f.app.AppID+`"}`), 61003)
	arWant(t, wx(t, s, "POST", "/wxa/deletetemplate", tok(otherToken), `{"template_id":`+f.tplID+`}`), 85064)

	// A mini program authorized to the other platform cannot commit this
	// platform's template.
	app2, refresh2 := s.MiniProgram(t, other.AppID, nil)
	atoken2 := authorizerToken(t, s, otherToken, other.AppID, app2.AppID, refresh2)
	arWant(t, wx(t, s, "POST", "/wxa/commit", tok(atoken2), f.commitBody(f.tplID, `{}`, "1")), 85014)

	// Without permission set 18 the code APIs answer 61007.
	ctx := context.Background()
	if _, err := s.Service.Authorize(ctx, f.p.AppID, f.app.AppID, []int{30}); err != nil {
		t.Fatal(err)
	}
	arWant(t, wx(t, s, "POST", "/wxa/commit", tok(f.atoken), f.commitBody(f.tplID, `{}`, "1")), 61007)
	// Revoked authorization: 61003.
	if err := s.Service.Unauthorize(ctx, f.p.AppID, f.app.AppID); err != nil {
		t.Fatal(err)
	}
	arWant(t, wx(t, s, "GET", "/wxa/get_category", tok(f.atoken), ""), 61003)
	// Re-authorizing later does not bring the old token back.
	s.Advance(time.Second)
	if _, err := s.Service.Authorize(ctx, f.p.AppID, f.app.AppID, nil); err != nil {
		t.Fatal(err)
	}
	arWant(t, wx(t, s, "GET", "/wxa/get_category", tok(f.atoken), ""), 40001)
}

func TestTemplateLibraryLimits(t *testing.T) {
	f := newFixture(t, mstest.Options{Config: service.Config{MaxTemplates: 3}}, nil)
	s, C := f.s, tok(f.ctoken)
	// The fixture made two templates; one more fills the library.
	st, d := uploadDraft(t, s, f.p.AppID, templateZip(t, nil), "3")
	if st != 201 {
		t.Fatalf("draft: %d %v", st, d)
	}
	id := jsonNum(d["draft_id"].(float64))
	arWant(t, wx(t, s, "POST", "/wxa/addtotemplate", C, `{"draft_id":`+id+`}`), 0)
	arWant(t, wx(t, s, "POST", "/wxa/addtotemplate", C, `{"draft_id":`+id+`}`), 85065)
	// gettemplatelist filters by type.
	if l := wx(t, s, "GET", "/wxa/gettemplatelist", url.Values{"access_token": {f.ctoken}, "template_type": {"1"}}, "")["template_list"].([]any); len(l) != 1 {
		t.Fatalf("standard templates: %v", l)
	}
	// A deleted template cannot be committed, and frees a place.
	arWant(t, wx(t, s, "POST", "/wxa/deletetemplate", C, `{"template_id":"`+f.tplID+`"}`), 0)
	arWant(t, wx(t, s, "POST", "/wxa/commit", tok(f.atoken), f.commitBody(f.tplID, `{}`, "1")), 85014)
	arWant(t, wx(t, s, "POST", "/wxa/addtotemplate", C, `{"draft_id":`+id+`}`), 0)
	// Bad packages never become drafts.
	for name, files := range map[string]map[string]string{
		"no app.json":  {"pages/a.js": "x"},
		"empty pages":  {"app.json": `{"pages":[]}`},
		"app.json bad": {"app.json": `[1]`},
	} {
		if st, m := uploadDraft(t, s, f.p.AppID, templateZip(t, files), "x"); st != 400 || !strings.Contains(arStr(m, "error"), "template") {
			t.Errorf("%s: %d %v", name, st, m)
		}
	}
}

// TestConcurrentCommits: while one commit runs, others for the same mini
// program get 9402202; exactly one wins. The build is held open by the test
// (Config.CommitBuild) rather than by a real-time latency, so a slow
// machine cannot let a second commit start after the first has finished.
func TestConcurrentCommits(t *testing.T) { mstest.Backends(t, testConcurrentCommits) }

func testConcurrentCommits(t *testing.T, database string) {
	building, finish := make(chan struct{}), make(chan struct{})
	var once sync.Once
	build := func(ctx context.Context) error {
		once.Do(func() { close(building) })
		select {
		case <-finish:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f := newFixture(t, mstest.Options{Database: database, Config: service.Config{CommitBuild: build}}, nil)
	commit := func(v string) int {
		return arCode(wx(t, f.s, "POST", "/wxa/commit", tok(f.atoken), f.commitBody(f.tplID, `{"requiredPrivateInfos":[]}`, v)))
	}
	first := make(chan int, 1)
	go func() { first <- commit("1") }()
	<-building // the first commit holds the mini program now
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = commit("1")
		}()
	}
	wg.Wait()
	for _, c := range codes {
		if c != 9402202 {
			t.Fatalf("a commit during another's build answered %d, want 9402202 (codes %v)", c, codes)
		}
	}
	close(finish)
	if c := <-first; c != 0 {
		t.Fatalf("the first commit answered %d", c)
	}
	// After it finished, the next commit goes through.
	arWant(t, wx(t, f.s, "POST", "/wxa/commit", tok(f.atoken), f.commitBody(f.tplID, `{"requiredPrivateInfos":[]}`, "2")), 0)
}

func TestRestartKeepsEverything(t *testing.T) {
	dsn := t.TempDir() + "/miniship.db"
	s1 := mstest.New(t, mstest.Options{Database: dsn})
	p := s1.Platform(t, nil)
	app, refresh := s1.MiniProgram(t, p.AppID, nil)
	ctoken := componentToken(t, s1, p.AppID, p.Secret)
	atoken := authorizerToken(t, s1, ctoken, p.AppID, app.AppID, refresh)
	tpl := jsonNum(float64(s1.Template(t, p.AppID, nil, 0)))
	arWant(t, wx(t, s1, "POST", "/wxa/commit", tok(atoken), `{"template_id":`+tpl+`,"ext_json":"{\"requiredPrivateInfos\":[]}","user_version":"7.0","user_desc":"d"}`), 0)
	s1.Close()

	s2 := mstest.New(t, mstest.Options{Database: dsn})
	if l := wx(t, s2, "GET", "/wxa/get_page", tok(atoken), "")["page_list"].([]any); len(l) != 3 {
		t.Fatalf("after restart get_page = %v", l)
	}
	if l := wx(t, s2, "GET", "/wxa/gettemplatelist", tok(ctoken), "")["template_list"].([]any); len(l) != 1 {
		t.Fatalf("after restart templates = %v", l)
	}
	if v := wx(t, s2, "POST", "/wxa/getversioninfo", tok(atoken), "{}")["exp_info"].(map[string]any)["exp_version"]; v != "7.0" {
		t.Fatalf("after restart exp_version = %v", v)
	}
}

// TestLimitsAtRunTime sets per-call limits through the admin API: the
// per-minute limit answers 45011 past its count, per mini program, and
// clearing the limits lifts it.
// TestLimitsBySecret: the calls that name their platform by appid and
// secret instead of a token (api_component_token, api_start_push_ticket
// without one) count against the configured limits per platform, as a
// token's calls do, and only with the right secret: a wrong one is 40125
// and uses up nothing.
func TestLimitsBySecret(t *testing.T) {
	f := newFixture(t, mstest.Options{Limits: httpapi.Limits{
		Daily:     map[string]int{"/cgi-bin/component/api_component_token": 2},
		PerMinute: map[string]int{"/cgi-bin/component/api_start_push_ticket": 1},
	}}, nil)
	s := f.s
	other := s.Platform(t, nil)
	token := func(appid, secret string) map[string]any {
		return wx(t, s, "POST", "/cgi-bin/component/api_component_token", nil,
			`{"component_appid":"`+appid+`","component_appsecret":"`+secret+`","component_verify_ticket":"`+s.Ticket(t, appid)+`"}`)
	}
	issued := func(m map[string]any) {
		t.Helper()
		if arStr(m, "component_access_token") == "" {
			t.Fatalf("api_component_token: %v", m)
		}
	}
	for range 3 {
		arWant(t, token(f.p.AppID, "wrong"), int(wxerr.InvalidAppSecret))
	}
	// The endpoint's own errcodes, limited or not.
	for _, appid := range []string{"", "wxnobody"} {
		arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_component_token", nil,
			`{"component_appid":"`+appid+`","component_appsecret":"x","component_verify_ticket":"`+s.Ticket(t, f.p.AppID)+`"}`), int(wxerr.InvalidAppID))
	}
	issued(token(f.p.AppID, f.p.Secret)) // the fixture took the first
	arWant(t, token(f.p.AppID, f.p.Secret), int(wxerr.DailyQuotaReached))
	issued(token(other.AppID, other.Secret)) // per platform

	ticket := `{"component_appid":"` + f.p.AppID + `","component_secret":"` + f.p.Secret + `"}`
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_start_push_ticket", nil, `{"component_appid":"`+f.p.AppID+`","component_secret":"wrong"}`), int(wxerr.InvalidAppSecret))
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_start_push_ticket", nil, ticket), 0)
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_start_push_ticket", nil, ticket), int(wxerr.MinuteQuotaReached))
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_start_push_ticket", tok(f.ctoken), ticket), int(wxerr.MinuteQuotaReached)) // one count, with or without the token
	s.Advance(time.Minute)
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_start_push_ticket", nil, ticket), 0)
}

func TestLimitsAtRunTime(t *testing.T) {
	f := newFixture(t, mstest.Options{}, nil)
	if st, m := admin(t, f.s, "PUT", "/miniship/v1/limits", map[string]any{"per_minute": map[string]int{"/wxa/get_category": 2}}); st != 200 {
		t.Fatalf("set limits: %d %v", st, m)
	}
	for range 2 {
		arWant(t, wx(t, f.s, "GET", "/wxa/get_category", tok(f.atoken), ""), 0)
	}
	arWant(t, wx(t, f.s, "GET", "/wxa/get_category", tok(f.atoken), ""), 45011)
	arWant(t, wx(t, f.s, "GET", "/wxa/get_page", tok(f.atoken), ""), 86001) // other paths are not limited
	f.s.Advance(time.Minute)
	arWant(t, wx(t, f.s, "GET", "/wxa/get_category", tok(f.atoken), ""), 0)
	if st, _ := admin(t, f.s, "PUT", "/miniship/v1/limits", map[string]any{"daily": map[string]int{"wxa/nope": 1}}); st != 400 {
		t.Fatalf("a bad path was accepted: %d", st)
	}
	admin(t, f.s, "PUT", "/miniship/v1/limits", map[string]any{})
	for range 3 {
		arWant(t, wx(t, f.s, "GET", "/wxa/get_category", tok(f.atoken), ""), 0)
	}
	// What GET answers is what is enforced: the default media quota shows,
	// until "*" or the path itself says otherwise.
	for _, tc := range []struct {
		set  map[string]any
		want string
	}{
		{map[string]any{}, `map[daily:map[/wxa/uploadmedia:1000]]`},
		{map[string]any{"daily": map[string]int{"/wxa/uploadmedia": 0}}, `map[daily:map[/wxa/uploadmedia:0]]`},
		{map[string]any{"daily": map[string]int{"*": 50}}, `map[daily:map[*:50 /wxa/uploadmedia:50]]`},
		{map[string]any{"per_minute": map[string]int{"*": 9}}, `map[daily:map[/wxa/uploadmedia:1000] per_minute:map[*:9]]`},
	} {
		admin(t, f.s, "PUT", "/miniship/v1/limits", tc.set)
		if st, m := admin(t, f.s, "GET", "/miniship/v1/limits", nil); st != 200 || fmt.Sprint(m) != tc.want {
			t.Errorf("after PUT %v: GET %d %v, want %s", tc.set, st, m, tc.want)
		}
	}
}
