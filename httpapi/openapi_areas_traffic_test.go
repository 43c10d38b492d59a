package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

// TestOpenAPIValidatesAreaTraffic calls every endpoint around the core
// (domains, testers, component utilities, mini program codes, privacy,
// categories, plugins, their admin reviews and storage) at least once with
// success and once with an error, every request and answer checked against
// the document by the validating transport.
func TestOpenAPIValidatesAreaTraffic(t *testing.T) {
	rcv := newArReceiver(t)
	s := mstest.New(t, mstest.Options{})
	v := newValidating(t, s.URL)
	e := &arEnv{t: t, s: s, hc: &http.Client{Timeout: 30 * time.Second, Transport: v}}
	e.p = s.Platform(t, &miniship.Platform{MessageURL: rcv.srv.URL + "/msg"})
	rcv.p = e.p
	e.tpl = s.Template(t, e.p.AppID, nil, 0)
	e.mp, e.tok = e.addMiniProgram(arMiniProgram())
	// A second mini program with no grants, for privacy, category and plugin applications.
	mp2, tok2 := e.addMiniProgram(&miniship.Authorizer{ProfileComplete: true,
		Categories: []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 287, SecondID: 612}}})
	const plugin = "wx0123456789abcdef"
	_, ptok := e.addMiniProgram(&miniship.Authorizer{AppID: plugin, Nickname: "地图插件", ProfileComplete: true,
		Categories: []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 287, SecondID: 612}}})

	m := e.raw("POST", "/cgi-bin/component/api_component_token", nil, fmt.Sprintf(
		`{"component_appid":%q,"component_appsecret":%q,"component_verify_ticket":%q}`, e.p.AppID, e.p.Secret, s.Ticket(t, e.p.AppID)))
	C := url.Values{"component_access_token": {arStr(m, "component_access_token")}}
	badC := url.Values{"component_access_token": {"bad-token"}}
	// comp calls with the component token and wants the errcode (-1: any error).
	comp := func(code int, path string, q url.Values, body string) map[string]any {
		t.Helper()
		m := e.raw("POST", path, q, body)
		if code < 0 {
			if arCode(m) == 0 {
				t.Fatalf("%s %s: want an error, got %v", path, body, m)
			}
			return m
		}
		arWant(t, m, code)
		return m
	}
	anyErr := func(method, path, body string, tok ...string) {
		t.Helper()
		if m := e.call(method, path, body, tok...); arCode(m) == 0 {
			t.Fatalf("%s %s %s: want an error, got %v", method, path, body, m)
		}
	}

	// noKey calls an admin route without the admin key: 401.
	noKey := func(method, path string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL+path, nil)
		res, err := e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without the admin key: HTTP %d, want 401", method, path, res.StatusCode)
		}
	}

	// Domains and testers.
	comp(0, "/cgi-bin/component/modify_wxa_server_domain", C, `{"action":"add","wxa_server_domain":"api.shop.com;1.2.3.4"}`)
	comp(0, "/cgi-bin/component/modify_wxa_server_domain", C, `{"action":"set","wxa_server_domain":"api.shop.com","is_modify_published_together":true}`)
	comp(40001, "/cgi-bin/component/modify_wxa_server_domain", badC, `{"action":"get"}`)
	comp(0, "/cgi-bin/component/modify_wxa_jump_domain", C, `{"action":"add","wxa_jump_h5_domain":"shop.com","is_modify_published_together":true}`)
	comp(40001, "/cgi-bin/component/modify_wxa_jump_domain", badC, `{"action":"get"}`)
	comp(0, "/cgi-bin/component/get_domain_confirmfile", C, `{}`)
	comp(40001, "/cgi-bin/component/get_domain_confirmfile", badC, `{}`)
	arWant(t, e.raw("GET", "/cgi-bin/component/get_domain_confirmfile", C, ""), 0)
	arWant(t, e.raw("GET", "/cgi-bin/component/get_domain_confirmfile", badC, ""), 40001)
	e.ok("POST", "/wxa/modify_domain", `{"action":"add","requestdomain":["https://api.shop.com","http://evil.com"]}`)
	e.fails(40001, "POST", "/wxa/modify_domain", `{"action":"get"}`, "bad-token")
	e.ok("POST", "/wxa/modify_domain_directly", `{"action":"add","tcpdomain":["tcp://game.other.com:9000"]}`)
	e.fails(40001, "POST", "/wxa/modify_domain_directly", `{"action":"get"}`, "bad-token")
	e.ok("POST", "/wxa/setwebviewdomain", `{}`)
	e.fails(40001, "POST", "/wxa/setwebviewdomain", `{"action":"get"}`, "bad-token")
	e.ok("POST", "/wxa/setwebviewdomain_directly", `{"action":"add","webviewdomain":["https://m.other.com"]}`)
	e.fails(40001, "POST", "/wxa/setwebviewdomain_directly", `{"action":"get"}`, "bad-token")
	for _, method := range []string{"GET", "POST"} {
		e.ok(method, "/wxa/get_effective_domain", "")
		e.fails(40001, method, "/wxa/get_effective_domain", "", "bad-token")
		e.ok(method, "/wxa/get_effective_webviewdomain", "")
		e.fails(40001, method, "/wxa/get_effective_webviewdomain", "", "bad-token")
	}
	e.ok("POST", "/wxa/get_webviewdomain_confirmfile", `{}`)
	anyErr("POST", "/wxa/get_webviewdomain_confirmfile", "")
	us := arStr(e.ok("POST", "/wxa/bind_tester", `{"wechatid":"merchant_qa"}`), "userstr")
	anyErr("POST", "/wxa/bind_tester", `{"wechatid":""}`)
	e.ok("POST", "/wxa/memberauth", `{"action":"get_experiencer"}`)
	e.fails(40001, "POST", "/wxa/memberauth", `{"action":"get_experiencer"}`, "bad-token")
	e.ok("POST", "/wxa/unbind_tester", `{"userstr":"`+us+`"}`)
	e.fails(40097, "POST", "/wxa/unbind_tester", `{"userstr":"`+us+`"}`) // no longer a tester

	// Component utilities.
	// These two answer bare fields on success, without errcode.
	if m := e.raw("POST", "/cgi-bin/component/api_get_authorizer_list", C, fmt.Sprintf(`{"component_appid":%q,"offset":0,"count":2}`, e.p.AppID)); arCode(m) != 0 || m["total_count"] == nil {
		t.Errorf("api_get_authorizer_list: %v", m)
	}
	comp(40170, "/cgi-bin/component/api_get_authorizer_list", C, fmt.Sprintf(`{"component_appid":%q,"count":501}`, e.p.AppID))
	opt := func(name, value string) string {
		return fmt.Sprintf(`{"component_appid":%q,"authorizer_appid":%q,"option_name":%q,"option_value":%q}`, e.p.AppID, e.mp.AppID, name, value)
	}
	comp(0, "/cgi-bin/component/api_set_authorizer_option", C, opt("location_report", "2"))
	comp(40097, "/cgi-bin/component/api_set_authorizer_option", C, opt("location_report", "7"))
	if m := e.raw("POST", "/cgi-bin/component/api_get_authorizer_option", C, opt("location_report", "")); m["option_value"] != "2" {
		t.Errorf("api_get_authorizer_option: %v", m)
	}
	comp(40001, "/cgi-bin/component/api_get_authorizer_option", badC, opt("location_report", ""))
	e.ok("POST", "/cgi-bin/component/set_authorizer_option", `{"option_name":"voice_recognize","option_value":"1"}`)
	anyErr("POST", "/cgi-bin/component/set_authorizer_option", `{"option_name":"voice_recognize","option_value":"9"}`)
	comp(0, "/cgi-bin/component/get_authorizer_option", C, opt("voice_recognize", ""))
	e.fails(40001, "POST", "/cgi-bin/component/get_authorizer_option", `{"option_name":"voice_recognize"}`, "bad-token")
	e.ok("POST", "/cgi-bin/openapi/quota/get", `{"cgi_path":"/wxa/get_category"}`)
	anyErr("POST", "/cgi-bin/openapi/quota/get", `{"cgi_path":"https://x/wxa/get_category"}`)
	e.ok("POST", "/cgi-bin/clear_quota", fmt.Sprintf(`{"appid":%q}`, e.mp.AppID))
	anyErr("POST", "/cgi-bin/clear_quota", `{"appid":"wxnobody"}`)
	arWant(t, e.raw("POST", "/cgi-bin/clear_quota/v2", url.Values{"appid": {e.p.AppID}, "appsecret": {e.p.Secret}}, ""), 0)
	if arCode(e.raw("POST", "/cgi-bin/clear_quota/v2", nil, `{"appid":"`+e.p.AppID+`","appsecret":"wrong"}`)) == 0 {
		t.Error("clear_quota/v2 with a wrong secret succeeded")
	}
	comp(0, "/cgi-bin/component/clear_quota/v2", nil, fmt.Sprintf(`{"component_appid":%q,"appsecret":%q,"appid":%q}`, e.p.AppID, e.p.Secret, e.mp.AppID))
	comp(-1, "/cgi-bin/component/clear_quota/v2", nil, fmt.Sprintf(`{"component_appid":%q,"appsecret":"wrong","appid":%q}`, e.p.AppID, e.mp.AppID))
	comp(0, "/cgi-bin/component/clear_quota", C, fmt.Sprintf(`{"component_appid":%q}`, e.p.AppID))
	comp(-1, "/cgi-bin/component/clear_quota", C, `{"component_appid":"wxother"}`)
	start := fmt.Sprintf(`{"component_appid":%q,"component_secret":%q}`, e.p.AppID, e.p.Secret)
	comp(0, "/cgi-bin/component/api_start_push_ticket", nil, start)
	comp(-1, "/cgi-bin/component/api_start_push_ticket", nil, fmt.Sprintf(`{"component_appid":%q,"component_secret":"wrong"}`, e.p.AppID))
	for _, method := range []string{"GET", "POST"} {
		e.ok(method, "/cgi-bin/account/getaccountbasicinfo", "")
		e.fails(40001, method, "/cgi-bin/account/getaccountbasicinfo", "", "bad-token")
	}

	// Mini program codes and the account images: an image, then a JSON error.
	image := func(method, path string, q url.Values, body string) string {
		t.Helper()
		u := s.URL + path + "?" + q.Encode()
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.Header.Get("Content-Type")
	}
	// A published version, for the square code (release only).
	e.commit("1.0.0", "")
	e.scanned()
	e.decide(e.submit(), "approve", "", "")
	e.ok("POST", "/wxa/release", `{}`)
	T := url.Values{"access_token": {e.tok}}
	for path, body := range map[string]string{
		"/wxa/getwxacode":                 `{"path":"pages/index/index","env_version":"develop","width":300,"line_color":{"r":10,"g":20,"b":30}}`,
		"/wxa/getwxacodeunlimit":          `{"scene":"a=1","page":"pages/index/index","env_version":"develop","check_path":false,"is_hyaline":true}`,
		"/cgi-bin/wxaapp/createwxaqrcode": `{"path":"pages/index/index"}`,
	} {
		if ct := image("POST", path, T, body); !strings.HasPrefix(ct, "image/") {
			t.Errorf("%s: Content-Type %q, want an image", path, ct)
		}
		if ct := image("POST", path, url.Values{"access_token": {"bad-token"}}, body); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s with a bad token: Content-Type %q, want JSON", path, ct)
		}
	}
	for _, path := range []string{"/miniship/img/head", "/miniship/img/qrcode"} {
		if ct := image("GET", path, url.Values{"appid": {e.mp.AppID}}, ""); !strings.HasPrefix(ct, "image/") {
			t.Errorf("%s: Content-Type %q, want an image", path, ct)
		}
		if ct := image("GET", path, url.Values{"appid": {"wxnobody"}}, ""); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s of an unknown appid: Content-Type %q, want JSON", path, ct)
		}
	}

	// Privacy: the guide, its file, the API applications and their review.
	e.ok("POST", "/cgi-bin/component/setprivacysetting", `{"privacy_ver":2,"setting_list":[{"privacy_key":"UserInfo","privacy_text":"登录"}],"owner_setting":{"contact_email":"a@b.cn","notice_method":"弹窗"}}`, tok2)
	e.fails(86074, "POST", "/cgi-bin/component/setprivacysetting", `{"privacy_ver":1,"owner_setting":{"contact_phone":"1","notice_method":"x"}}`, tok2)
	e.ok("POST", "/cgi-bin/component/getprivacysetting", `{"privacy_ver":2}`, tok2)
	e.fails(40001, "POST", "/cgi-bin/component/getprivacysetting", `{}`, "bad-token")
	e.ok("GET", "/cgi-bin/component/getprivacysetting?privacy_ver=2", "", tok2)
	anyErr("GET", "/cgi-bin/component/getprivacysetting?privacy_ver=x", "", tok2)
	upload := func(token string) map[string]any {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "privacy.txt")
		fw.Write([]byte("补充说明"))
		mw.Close()
		req, _ := http.NewRequest("POST", s.URL+"/cgi-bin/component/uploadprivacyextfile?access_token="+url.QueryEscape(token), &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return e.do(req)
	}
	if m := upload(tok2); arCode(m) != 0 || arStr(m, "ext_file_media_id") == "" {
		t.Errorf("uploadprivacyextfile: %v", m)
	}
	arWant(t, upload("bad-token"), 40001)
	for _, method := range []string{"GET", "POST"} {
		e.ok(method, "/wxa/security/get_privacy_interface", "", tok2)
		e.fails(40001, method, "/wxa/security/get_privacy_interface", "", "bad-token")
	}
	apply := `{"api_name":"wx.getLocation","content":"门店导航","url_list":["https://shop.example/scene"]}`
	pid := arInt(t, e.ok("POST", "/wxa/security/apply_privacy_interface", apply, tok2), "audit_id")
	e.fails(61031, "POST", "/wxa/security/apply_privacy_interface", apply, tok2)
	e.ok("GET", "/wxa/security/get_privacy_interface", "", tok2) // with the application in review
	e.admin("GET", "/miniship/v1/privacy-applications", nil)
	noKey("GET", "/miniship/v1/privacy-applications")
	e.admin("POST", fmt.Sprintf("/miniship/v1/privacy-applications/%d/decision", pid), map[string]string{"result": "approve"})
	e.admin("POST", fmt.Sprintf("/miniship/v1/privacy-applications/%d/decision", pid), map[string]string{"result": "approve"}) // 409
	e.admin("GET", "/miniship/v1/privacy-applications?status=all&authorizer="+mp2.AppID, nil)

	// Categories and their review.
	for _, method := range []string{"GET", "POST"} {
		e.ok(method, "/cgi-bin/wxopen/getallcategories", "", tok2)
		e.fails(40001, method, "/cgi-bin/wxopen/getallcategories", "", "bad-token")
		e.ok(method, "/cgi-bin/wxopen/getcategory", "", tok2)
		e.fails(40001, method, "/cgi-bin/wxopen/getcategory", "", "bad-token")
	}
	e.ok("POST", "/cgi-bin/wxopen/getcategoriesbytype", `{"verify_type":0}`, tok2)
	e.fails(53303, "POST", "/cgi-bin/wxopen/getcategoriesbytype", `{"verify_type":9}`, tok2)
	e.ok("POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":36,"second":37,"certicates":[{"key":"《医疗机构执业许可证》","value":"media-1"}]}]}`, tok2)
	e.fails(53311, "POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":36,"second":38}]}`, tok2)
	e.ok("GET", "/cgi-bin/wxopen/getcategory", "", tok2) // with one in review
	e.fails(53306, "POST", "/cgi-bin/wxopen/modifycategory", `{"first":36,"second":38,"certicates":[{"key":"k","value":"v"}]}`, tok2)
	e.admin("GET", "/miniship/v1/category-applications", nil)
	noKey("GET", "/miniship/v1/category-applications")
	catDecision := "/miniship/v1/authorizers/" + mp2.AppID + "/categories/36/37/decision"
	e.admin("POST", catDecision, map[string]string{"result": "reject", "reason": "证照不清"})
	e.admin("POST", catDecision, map[string]string{"result": "reject"})                                                        // 409
	e.admin("POST", "/miniship/v1/authorizers/"+mp2.AppID+"/categories/36/39/decision", map[string]string{"result": "reject"}) // 404
	e.ok("POST", "/cgi-bin/wxopen/modifycategory", `{"first":36,"second":37,"certicates":[{"key":"《医疗机构执业许可证》","value":"media-2"}]}`, tok2)
	e.ok("POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":613}]}`, tok2)
	e.ok("POST", "/cgi-bin/wxopen/deletecategory", `{"first":287,"second":613}`, tok2)
	e.fails(53303, "POST", "/cgi-bin/wxopen/deletecategory", `{"first":287,"second":613}`, tok2)

	// Plugins, both sides, and the reviewer.
	e.ok("POST", "/wxa/plugin", `{"action":"apply","plugin_appid":"`+plugin+`","reason":"门店地图"}`, tok2)
	e.fails(89237, "POST", "/wxa/plugin", `{"action":"apply","plugin_appid":"`+plugin+`"}`, tok2)
	e.ok("POST", "/wxa/plugin", `{"action":"list"}`, tok2)
	e.fails(40001, "POST", "/wxa/plugin", `{"action":"list"}`, "bad-token")
	e.ok("POST", "/wxa/devplugin", `{"action":"dev_apply_list","page":1,"num":10}`, ptok)
	e.fails(89242, "POST", "/wxa/devplugin", `{"action":"dev_agree","appid":"wxnotapplying0000"}`, ptok)
	e.admin("GET", "/miniship/v1/plugin-applications?plugin="+plugin, nil)
	noKey("GET", "/miniship/v1/plugin-applications")
	plugDecision := "/miniship/v1/authorizers/" + mp2.AppID + "/plugins/" + plugin + "/decision"
	e.admin("POST", plugDecision, map[string]string{"result": "approve"})
	e.admin("POST", plugDecision, map[string]string{"result": "reject"}) // 409
	e.ok("POST", "/wxa/plugin", `{"action":"list"}`, tok2)               // with the approved plugin
	e.ok("POST", "/wxa/plugin", `{"action":"unbind","plugin_appid":"`+plugin+`"}`, tok2)

	// The platform's authorizations, as rollout --admin-key reads them.
	e.admin("GET", "/miniship/v1/platforms/"+e.p.AppID+"/authorizations", nil)
	e.admin("GET", "/miniship/v1/platforms/"+e.p.AppID+"/authorizations?limit=1&after=wx", nil)
	e.admin("GET", "/miniship/v1/platforms/"+e.p.AppID+"/authorizations?limit=-1", nil) // 400
	noKey("GET", "/miniship/v1/platforms/"+e.p.AppID+"/authorizations")

	// Storage.
	e.admin("GET", "/miniship/v1/storage", nil)
	e.admin("POST", "/miniship/v1/storage/prune", nil)
	noKey("GET", "/miniship/v1/storage")
	noKey("POST", "/miniship/v1/storage/prune")

	v.mu.Lock()
	defer v.mu.Unlock()
	for _, want := range []string{
		"GET /miniship/img/head 200", "GET /miniship/img/qrcode 200", "POST /wxa/getwxacode 200",
		"POST /miniship/v1/privacy-applications/{id}/decision 200", "POST /miniship/v1/privacy-applications/{id}/decision 409",
		"GET /miniship/v1/privacy-applications 401", "POST /miniship/v1/authorizers/{appid}/categories/{first}/{second}/decision 404", "POST /miniship/v1/authorizers/{appid}/categories/{first}/{second}/decision 409",
		"POST /miniship/v1/authorizers/{appid}/plugins/{plugin}/decision 200", "POST /miniship/v1/authorizers/{appid}/plugins/{plugin}/decision 409",
		"GET /miniship/v1/storage 200", "GET /miniship/v1/storage 401", "POST /miniship/v1/storage/prune 200",
		"GET /miniship/v1/platforms/{appid}/authorizations 200", "GET /miniship/v1/platforms/{appid}/authorizations 401",
		"GET /miniship/v1/platforms/{appid}/authorizations 400",
		"POST /cgi-bin/wxopen/getcategoriesbytype 200",
	} {
		if v.checked[want] == 0 {
			t.Errorf("no %s was validated (validated: %v)", want, v.checked)
		}
	}
}
