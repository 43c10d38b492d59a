package httpapi_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// TestPipelineErrcodes is the errcode table of the domain, tester, utility
// and code endpoints: bad input, the wrong token kind, another platform's
// mini program, a missing permission set and the quotas, each over the
// wire with its documented code; then nothing of it was stored.
func TestPipelineErrcodes(t *testing.T) { mstest.Backends(t, testPipelineErrcodes) }

func testPipelineErrcodes(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database, Config: service.Config{TesterCap: 2}}, nil)
	s := e.s
	ctoken := componentToken(t, s, e.p.AppID, e.p.Secret)
	A, C := tok(e.tok), url.Values{"component_access_token": {ctoken}}
	// A mini program that granted only set 19: no 17, 18 or 30.
	bare, btok := e.addMiniProgram(&miniship.Authorizer{})
	if _, err := s.Service.Authorize(t.Context(), e.p.AppID, bare.AppID, []int{19}); err != nil {
		t.Fatal(err)
	}
	B := tok(btok)
	// Another platform and its own mini program.
	p2 := s.Platform(t, nil)
	other, _ := s.MiniProgram(t, p2.AppID, nil)
	C2 := url.Values{"component_access_token": {componentToken(t, s, p2.AppID, p2.Secret)}}
	s.PlatformDomains(t, e.p.AppID, []string{"api.shop.com"}, []string{"shop.com"})
	ownApp := fmt.Sprintf(`{"component_appid":%q,"authorizer_appid":%q,"option_name":"voice_recognize","option_value":"1"}`, e.p.AppID, e.mp.AppID)
	otherApp := fmt.Sprintf(`{"component_appid":%q,"authorizer_appid":%q,"option_name":"voice_recognize","option_value":"1"}`, e.p.AppID, other.AppID)

	cases := []struct {
		name         string
		method, path string
		q            url.Values
		body         string
		code         int
	}{
		// modify_domain and modify_domain_directly
		{"domain empty body", "POST", "/wxa/modify_domain", A, ``, 44002},
		{"domain bad json", "POST", "/wxa/modify_domain", A, `{"action":`, 47001},
		{"domain bad action", "POST", "/wxa/modify_domain", A, `{"action":"replace"}`, 40097},
		{"domain nothing given", "POST", "/wxa/modify_domain", A, `{"action":"add"}`, 85017},
		{"domain only rule-breakers", "POST", "/wxa/modify_domain", A, `{"action":"add","requestdomain":["http://api.shop.com","https://1.2.3.4"]}`, 85301},
		{"domain not on platform", "POST", "/wxa/modify_domain", A, `{"action":"add","requestdomain":["https://evil.com"]}`, 85018},
		{"domain delete absent", "POST", "/wxa/modify_domain", A, `{"action":"delete","requestdomain":["https://api.shop.com"]}`, 85017},
		{"domain component token", "POST", "/wxa/modify_domain", C, `{"action":"get"}`, 40001},
		{"domain without set 18", "POST", "/wxa/modify_domain", B, `{"action":"get"}`, 61007},
		{"direct bad scheme", "POST", "/wxa/modify_domain_directly", A, `{"action":"add","requestdomain":["ftp://a.other.com"]}`, 86100},
		{"direct weixin", "POST", "/wxa/modify_domain_directly", A, `{"action":"add","requestdomain":["https://api.weixin.qq.com"]}`, 86101},
		{"effective without set 18", "POST", "/wxa/get_effective_domain", B, `{}`, 61007},
		{"effective bad json", "POST", "/wxa/get_effective_domain", A, `{`, 47001},
		// business domains
		{"webview not platform's", "POST", "/wxa/setwebviewdomain", A, `{"action":"add","webviewdomain":["https://evil.com"]}`, 89021},
		{"webview bad form", "POST", "/wxa/setwebviewdomain", A, `{"action":"add","webviewdomain":["https://shop.com:8443"]}`, 40097},
		{"webview no change", "POST", "/wxa/setwebviewdomain", A, `{"action":"delete","webviewdomain":["https://shop.com"]}`, 89019},
		{"webview direct no action", "POST", "/wxa/setwebviewdomain_directly", A, `{"webviewdomain":["https://a.other.com"]}`, 40097},
		{"webview direct bad scheme", "POST", "/wxa/setwebviewdomain_directly", A, `{"action":"add","webviewdomain":["http://a.other.com"]}`, 86100},
		{"confirmfile empty body", "POST", "/wxa/get_webviewdomain_confirmfile", A, ``, 44002},
		// platform lists
		{"platform list authorizer token", "POST", "/cgi-bin/component/modify_wxa_server_domain", A, `{"action":"get"}`, 61014},
		{"platform list bad action", "POST", "/cgi-bin/component/modify_wxa_server_domain", C, `{"action":"put"}`, 40097},
		// testers
		{"tester not a wechat id", "POST", "/wxa/bind_tester", A, `{"wechatid":"1x"}`, 85001},
		{"tester empty", "POST", "/wxa/bind_tester", A, `{"wechatid":""}`, 85001},
		{"tester without set 18", "POST", "/wxa/bind_tester", B, `{"wechatid":"tester_one"}`, 61007},
		{"unbind nobody", "POST", "/wxa/unbind_tester", A, `{}`, 40097},
		{"unbind stranger", "POST", "/wxa/unbind_tester", A, `{"wechatid":"stranger1"}`, 40097},
		{"memberauth bad action", "POST", "/wxa/memberauth", A, `{"action":"get_admin"}`, 40097},
		// utilities
		{"list other platform", "POST", "/cgi-bin/component/api_get_authorizer_list", C, fmt.Sprintf(`{"component_appid":%q,"offset":0,"count":10}`, p2.AppID), 40013},
		{"list count over 500", "POST", "/cgi-bin/component/api_get_authorizer_list", C, fmt.Sprintf(`{"component_appid":%q,"offset":0,"count":501}`, e.p.AppID), 40170},
		{"list authorizer token", "POST", "/cgi-bin/component/api_get_authorizer_list", A, `{}`, 61014},
		{"option other platform's app", "POST", "/cgi-bin/component/api_set_authorizer_option", C, otherApp, 61003},
		{"option wrong platform token", "POST", "/cgi-bin/component/api_set_authorizer_option", C2, ownApp, 40013},
		{"option authorizer token, another app", "POST", "/cgi-bin/component/set_authorizer_option", A, fmt.Sprintf(`{"authorizer_appid":%q,"option_name":"voice_recognize","option_value":"1"}`, other.AppID), 40013},
		{"option get authorizer token, another app", "POST", "/cgi-bin/component/get_authorizer_option", A, fmt.Sprintf(`{"authorizer_appid":%q,"option_name":"voice_recognize"}`, other.AppID), 40013},
		{"option bad name", "POST", "/cgi-bin/component/set_authorizer_option", A, `{"option_name":"dark_mode","option_value":"1"}`, 40097},
		{"option bad value", "POST", "/cgi-bin/component/set_authorizer_option", A, `{"option_name":"location_report","option_value":"3"}`, 40097},
		{"option no token", "POST", "/cgi-bin/component/get_authorizer_option", nil, `{"option_name":"location_report"}`, 41001},
		{"clear_quota other appid", "POST", "/cgi-bin/clear_quota", A, fmt.Sprintf(`{"appid":%q}`, e.p.AppID), 40013},
		{"clear_quota no appid", "POST", "/cgi-bin/clear_quota", C, `{}`, 41002},
		{"clear_quota v2 no secret", "POST", "/cgi-bin/clear_quota/v2", nil, fmt.Sprintf(`{"appid":%q}`, e.p.AppID), 41004},
		{"clear_quota v2 bad secret", "POST", "/cgi-bin/clear_quota/v2", nil, fmt.Sprintf(`{"appid":%q,"appsecret":"nope"}`, e.p.AppID), 40125},
		{"clear_quota v2 mini program", "POST", "/cgi-bin/clear_quota/v2", nil, fmt.Sprintf(`{"appid":%q,"appsecret":"x"}`, e.mp.AppID), 40013},
		{"component clear other's app", "POST", "/cgi-bin/component/clear_quota/v2", nil, fmt.Sprintf(`{"component_appid":%q,"appsecret":%q,"appid":%q}`, e.p.AppID, e.p.Secret, other.AppID), 61003},
		{"component clear unknown", "POST", "/cgi-bin/component/clear_quota/v2", nil, `{"component_appid":"wxnobody","appsecret":"x"}`, 61011},
		{"quota/get no slash", "POST", "/cgi-bin/openapi/quota/get", A, `{"cgi_path":"wxa/commit"}`, 76003},
		{"quota/get host", "POST", "/cgi-bin/openapi/quota/get", A, `{"cgi_path":"https://api.weixin.qq.com/wxa/commit"}`, 76003},
		{"quota/get unknown", "POST", "/cgi-bin/openapi/quota/get", A, `{"cgi_path":"/wxa/nothing"}`, 76021},
		{"quota/get not mine", "POST", "/cgi-bin/openapi/quota/get", A, `{"cgi_path":"/cgi-bin/component/api_get_authorizer_list"}`, 76022},
		{"basicinfo without set 30", "GET", "/cgi-bin/account/getaccountbasicinfo", B, ``, 61007},
		{"basicinfo component token", "GET", "/cgi-bin/account/getaccountbasicinfo", C, ``, 40001},
		{"push ticket bad secret", "POST", "/cgi-bin/component/api_start_push_ticket", nil, fmt.Sprintf(`{"component_appid":%q,"component_secret":"x"}`, e.p.AppID), 40125},
		{"push ticket unknown", "POST", "/cgi-bin/component/api_start_push_ticket", nil, `{"component_appid":"wxnobody","component_secret":"x"}`, 61011},
		{"push ticket other's token", "POST", "/cgi-bin/component/api_start_push_ticket", C2, fmt.Sprintf(`{"component_appid":%q,"component_secret":%q}`, e.p.AppID, e.p.Secret), 40013},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			arWant(t, wx(t, s, c.method, c.path, c.q, c.body), c.code)
		})
	}

	// An errmsg quotes what was sent, but not 100 KB of it.
	huge := e.fails(85001, "POST", "/wxa/bind_tester", `{"wechatid":"`+strings.Repeat("x", 100<<10)+`"}`)
	if msg := arStr(huge, "errmsg"); len(msg) > 2048 || !strings.Contains(msg, "… rid: ") {
		t.Fatalf("errmsg of a 100 KB wechatid: %d bytes, ends %q", len(msg), msg[max(0, len(msg)-60):])
	}

	// Nothing was stored by any of them.
	m := e.ok("POST", "/wxa/get_effective_domain", `{}`)
	for _, layer := range []string{"third_domain", "direct_domain", "effective_domain"} {
		for _, k := range []string{"requestdomain", "wsrequestdomain", "uploaddomain", "downloaddomain", "udpdomain", "tcpdomain"} {
			wantList(t, m[layer].(map[string]any), k)
		}
	}
	wantList(t, e.ok("POST", "/wxa/setwebviewdomain", `{"action":"get"}`), "webviewdomain")
	if ms := e.ok("POST", "/wxa/memberauth", `{"action":"get_experiencer"}`)["members"].([]any); len(ms) != 0 {
		t.Fatalf("testers stored by failed calls: %v", ms)
	}
	for _, name := range []string{"location_report", "voice_recognize"} {
		m = e.ok("POST", "/cgi-bin/component/get_authorizer_option", `{"option_name":"`+name+`"}`)
		if arStr(m, "option_value") != "0" {
			t.Fatalf("option stored by a failed call: %v", m)
		}
	}

	// Quotas. The tester cap (2 here), then 85004 for a second binding.
	e.ok("POST", "/wxa/bind_tester", `{"wechatid":"tester_one"}`)
	e.fails(85004, "POST", "/wxa/bind_tester", `{"wechatid":"Tester_One"}`)
	e.ok("POST", "/wxa/bind_tester", `{"wechatid":"tester_two"}`)
	e.fails(85002, "POST", "/wxa/bind_tester", `{"wechatid":"tester_three"}`)
	// A person testing 50 mini programs already: 85003.
	busy := service.UserStr("busy_person")
	if err := s.Store.Update(t.Context(), func(tx miniship.Tx) error {
		for i := range 50 {
			if err := tx.AddTester(&miniship.Tester{AuthorizerAppID: fmt.Sprintf("wxelsewhere%03d", i), WechatID: "busy_person", UserStr: busy}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.ok("POST", "/wxa/unbind_tester", `{"wechatid":"tester_two"}`)
	e.fails(85003, "POST", "/wxa/bind_tester", `{"wechatid":"busy_person"}`)

	// 50 domain changes a month, then 86102; a new month resets it.
	for i := range 50 {
		e.ok("POST", "/wxa/modify_domain_directly", fmt.Sprintf(`{"action":"set","requestdomain":["https://h%d.other.com"]}`, i))
	}
	e.fails(86102, "POST", "/wxa/modify_domain_directly", `{"action":"set","requestdomain":["https://late.other.com"]}`)
	m = e.ok("POST", "/wxa/modify_domain_directly", `{"action":"get"}`)
	wantList(t, m, "requestdomain", "https://h49.other.com")

	// 10 quota resets a month, shared by the forms.
	for range 5 {
		e.ok("POST", "/cgi-bin/clear_quota", fmt.Sprintf(`{"appid":%q}`, e.mp.AppID))
		arWant(t, wx(t, s, "POST", "/cgi-bin/component/clear_quota/v2", nil,
			fmt.Sprintf(`{"component_appid":%q,"appsecret":%q,"appid":%q}`, e.p.AppID, e.p.Secret, e.mp.AppID)), 0)
	}
	e.fails(48006, "POST", "/cgi-bin/clear_quota", fmt.Sprintf(`{"appid":%q}`, e.mp.AppID))
	// The platform's own resets are its own.
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/clear_quota", C, fmt.Sprintf(`{"component_appid":%q}`, e.p.AppID)), 0)
	if !strings.HasPrefix(e.p.AppID, "wx") {
		t.Fatal("fixture")
	}
}

// TestConcurrentTesterCap: concurrent bind_tester calls past the cap bind
// exactly the cap, on both databases (the mini program's row lock).
func TestConcurrentTesterCap(t *testing.T) { mstest.Backends(t, testConcurrentTesterCap) }

func testConcurrentTesterCap(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database, Config: service.Config{TesterCap: 3}}, nil)
	const n = 8
	codes := make(chan int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes <- arCode(e.call("POST", "/wxa/bind_tester", fmt.Sprintf(`{"wechatid":"racer_%02d"}`, i)))
		}()
	}
	close(start)
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	if got[0] != 3 || got[85002] != n-3 {
		t.Fatalf("answers %v, want 3×0 and %d×85002", got, n-3)
	}
	if ms := e.ok("POST", "/wxa/memberauth", `{"action":"get_experiencer"}`)["members"].([]any); len(ms) != 3 {
		t.Fatalf("%d testers bound, want 3", len(ms))
	}
}
