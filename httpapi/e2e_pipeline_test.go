package httpapi_test

import (
	"fmt"
	"net/url"
	"reflect"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

// TestWholePipelineRaw is the raw-HTTP variant of wxa's TestWholePipeline:
// the same pipeline with the wire forms the Go SDK does not send (the
// component-token clear_quota, the newer authorizer-option paths, GET
// forms, certicates spelled as WeChat spells it) and the plugin grant,
// whose developer approves through /wxa/devplugin. Every grant comes from
// the API, the reviewer decides the rest through the admin API, and at the
// end api_get_authorizer_info's network is compared with
// get_effective_domain's answer, not with a fixed value.
func TestWholePipelineRaw(t *testing.T) { mstest.Backends(t, testWholePipelineRaw) }

func testWholePipelineRaw(t *testing.T, database string) {
	rcv := newArReceiver(t)
	e := arSetup(t, mstest.Options{Database: database}, &miniship.Platform{MessageURL: rcv.srv.URL + "/msg"})
	rcv.p = e.p
	ctoken := componentToken(t, e.s, e.p.AppID, e.p.Secret)
	C := url.Values{"component_access_token": {ctoken}}
	// A mini program with nothing set up, and a plugin developer.
	mp, refresh := e.s.MiniProgram(t, e.p.AppID, &miniship.Authorizer{ProfileComplete: true, Categories: []miniship.Category{}})
	tok := authorizerToken(t, e.s, ctoken, e.p.AppID, mp.AppID, refresh)
	const plugin = "wx00000000000000aa"
	_, prefresh := e.s.MiniProgram(t, e.p.AppID, &miniship.Authorizer{AppID: plugin, Nickname: "门店插件"})
	ptok := authorizerToken(t, e.s, ctoken, e.p.AppID, plugin, prefresh)
	decide := func(path, result string) {
		t.Helper()
		if code, m := e.admin("POST", "/miniship/v1/"+path, map[string]string{"result": result, "reason": "资料不全"}); code != 200 {
			t.Fatalf("%s %s: HTTP %d %v", result, path, code, m)
		}
	}

	// Domains: the platform's lists, then the mini program's.
	arWant(t, e.raw("POST", "/cgi-bin/component/modify_wxa_server_domain", C,
		`{"action":"add","wxa_server_domain":"api.shop.com;ws.shop.com;old.shop.com","is_modify_published_together":true}`), 0)
	arWant(t, e.raw("POST", "/cgi-bin/component/modify_wxa_jump_domain", C,
		`{"action":"set","wxa_jump_h5_domain":"shop.com","is_modify_published_together":true}`), 0)
	e.ok("POST", "/wxa/modify_domain", `{"action":"set","requestdomain":["https://api.shop.com","https://old.shop.com"],"wsrequestdomain":["wss://ws.shop.com"]}`, tok)
	e.ok("POST", "/wxa/setwebviewdomain", `{"action":"set","webviewdomain":["https://shop.com"]}`, tok)
	e.ok("POST", "/wxa/bind_tester", `{"wechatid":"merchant_qa"}`, tok)

	// Privacy: a rejected application leaves commit at 85312; a new one,
	// approved, lets it through to the plugin check.
	ext := `{"plugins":{"map":{"provider":"` + plugin + `","version":"1.0.0"}}}`
	commit := fmt.Sprintf(`{"template_id":%d,"ext_json":%q,"user_version":"1.0.0","user_desc":"raw"}`, e.tpl, ext)
	e.fails(85312, "POST", "/wxa/commit", commit, tok)
	apply := `{"api_name":"wx.getLocation","content":"门店导航","url_list":["https://shop.com/scene"]}`
	id := arInt(t, e.ok("POST", "/wxa/security/apply_privacy_interface", apply, tok), "audit_id")
	decide(fmt.Sprintf("privacy-applications/%d/decision", id), "reject")
	wantPrivacyPush(t, rcv.wait(1), mp, id, "2", "资料不全")
	e.fails(85312, "POST", "/wxa/commit", commit, tok)
	id = arInt(t, e.ok("POST", "/wxa/security/apply_privacy_interface", apply, tok), "audit_id")
	decide(fmt.Sprintf("privacy-applications/%d/decision", id), "approve")
	wantPrivacyPush(t, rcv.wait(2), mp, id, "3", "")

	// Plugin: 80082 until the plugin's developer agrees.
	e.fails(80082, "POST", "/wxa/commit", commit, tok)
	e.ok("POST", "/wxa/plugin", `{"action":"apply","plugin_appid":"`+plugin+`","reason":"门店地图"}`, tok)
	e.fails(80082, "POST", "/wxa/commit", commit, tok)
	e.ok("POST", "/wxa/devplugin", `{"action":"dev_agree","appid":"`+mp.AppID+`"}`, ptok)
	e.ok("POST", "/wxa/commit", commit, tok)
	e.scanned()

	// Guide for every key the committed code uses.
	used := listOf(t, e.ok("GET", "/cgi-bin/component/getprivacysetting?privacy_ver=2", "", tok), "privacy_list")
	if len(used) == 0 {
		t.Fatal("getprivacysetting lists no key the code uses")
	}
	setting := ""
	for i, k := range used {
		if i > 0 {
			setting += ","
		}
		setting += fmt.Sprintf(`{"privacy_key":%q,"privacy_text":"为门店导航"}`, k)
	}
	e.ok("POST", "/cgi-bin/component/setprivacysetting", `{"privacy_ver":2,"setting_list":[`+setting+`],"owner_setting":{"contact_email":"p@shop.com","notice_method":"弹窗"}}`, tok)

	// Category: rejected (85077), modified, approved.
	e.ok("POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":36,"second":37,"certicates":[{"key":"许可证","value":"m1"}]}]}`, tok)
	item := `{"item_list":[{"address":"pages/index/index","first_id":36,"second_id":37,"first_class":"医疗","second_class":"公立医疗机构","title":"首页","tag":"门店"}]}`
	e.fails(85008, "POST", "/wxa/submit_audit", item, tok)
	decide("authorizers/"+mp.AppID+"/categories/36/37/decision", "reject")
	wantFields(t, rcv.wait(3), map[string]string{"Event": "wxa_category_audit", "ret": "2"})
	e.fails(85077, "POST", "/wxa/submit_audit", item, tok)
	e.ok("POST", "/cgi-bin/wxopen/modifycategory", `{"first":36,"second":37,"certicates":[{"key":"许可证","value":"m2"}]}`, tok)
	decide("authorizers/"+mp.AppID+"/categories/36/37/decision", "approve")
	wantFields(t, rcv.wait(4), map[string]string{"Event": "wxa_category_audit", "ret": "3"})

	// Audit, approve, release (after the platform drops old.shop.com).
	auditID := arInt(t, e.ok("POST", "/wxa/submit_audit", item, tok), "auditid")
	decide(fmt.Sprintf("audits/%d/decision", auditID), "approve")
	e.wantStatus(auditID, 0, tok)
	arWant(t, e.raw("POST", "/cgi-bin/component/modify_wxa_server_domain", C,
		`{"action":"delete","wxa_server_domain":"old.shop.com","is_modify_published_together":true}`), 0)
	e.ok("POST", "/wxa/release", `{}`, tok)

	eff := e.ok("POST", "/wxa/get_effective_domain", `{}`, tok)["effective_domain"].(map[string]any)
	wantList(t, eff, "requestdomain", "https://api.shop.com")
	wantList(t, eff, "wsrequestdomain", "wss://ws.shop.com")
	web := listOf(t, e.ok("GET", "/wxa/get_effective_webviewdomain", "", tok), "effective_webviewdomain")
	info := e.raw("POST", "/cgi-bin/component/api_get_authorizer_info", C,
		fmt.Sprintf(`{"component_appid":%q,"authorizer_appid":%q}`, e.p.AppID, mp.AppID))
	mpi := info["authorizer_info"].(map[string]any)["MiniProgramInfo"].(map[string]any)
	net := mpi["network"].(map[string]any)
	for wire, key := range map[string]string{"RequestDomain": "requestdomain", "WsRequestDomain": "wsrequestdomain",
		"UploadDomain": "uploaddomain", "DownloadDomain": "downloaddomain", "UDPDomain": "udpdomain"} {
		if got, want := listOf(t, net, wire), listOf(t, eff, key); !reflect.DeepEqual(got, want) {
			t.Fatalf("network.%s = %q, get_effective_domain's %s = %q", wire, got, key, want)
		}
	}
	if got := listOf(t, net, "BizDomain"); !reflect.DeepEqual(got, web) {
		t.Fatalf("network.BizDomain = %q, effective_webviewdomain = %q", got, web)
	}
	if cats := mpi["categories"].([]any); len(cats) != 1 || cats[0].(map[string]any)["second"] != "公立医疗机构" {
		t.Fatalf("MiniProgramInfo.categories = %v", mpi["categories"])
	}
	live := e.ok("POST", "/cgi-bin/component/getprivacysetting", `{"privacy_ver":1}`, tok)
	if got := grList(t, live, "setting_list"); len(got) != len(used) || got[0]["privacy_text"] != "为门店导航" {
		t.Fatalf("live guide after release: %v", live)
	}

	// The forms the SDK does not send: component-token clear_quota and the
	// newer authorizer-option paths.
	arWant(t, e.raw("POST", "/cgi-bin/component/clear_quota", C, `{"component_appid":"`+e.p.AppID+`"}`), 0)
	e.ok("POST", "/cgi-bin/component/set_authorizer_option", `{"option_name":"location_report","option_value":"1"}`, tok)
	m := e.raw("POST", "/cgi-bin/component/api_get_authorizer_option", C,
		fmt.Sprintf(`{"component_appid":%q,"authorizer_appid":%q,"option_name":"location_report"}`, e.p.AppID, mp.AppID))
	if arStr(m, "option_value") != "1" {
		t.Fatalf("option set through the newer path, read through the older: %v", m)
	}
}
