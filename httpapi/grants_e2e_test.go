package httpapi_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

// The grants that commit and submit_audit check now come from the API:
// each test drives one kind end to end over the real listener, on SQLite
// and PostgreSQL, with the pushes decrypted as a platform would.

// grSetup is arSetup with a receiver on the message URL and a second mini
// program with no grants beyond its one category and the privacy guide.
func grSetup(t *testing.T, database string) (*arEnv, *arReceiver, *miniship.Authorizer, string) {
	rcv := newArReceiver(t)
	e := arSetup(t, mstest.Options{Database: database}, &miniship.Platform{MessageURL: rcv.srv.URL + "/msg"})
	rcv.p = e.p
	mp, tok := e.addMiniProgram(&miniship.Authorizer{ProfileComplete: true,
		Categories: []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 287, SecondID: 612}}})
	return e, rcv, mp, tok
}

// grList returns a list field of an answer as objects.
func grList(t testing.TB, m map[string]any, key string) []map[string]any {
	t.Helper()
	raw, ok := m[key].([]any)
	if !ok {
		t.Fatalf("%s is not a list: %v", key, m)
	}
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i], _ = r.(map[string]any)
	}
	return out
}

func grFind(list []map[string]any, key, value string) map[string]any {
	for _, it := range list {
		if fmt.Sprint(it[key]) == value {
			return it
		}
	}
	return nil
}

func TestPrivacyGrantFlow(t *testing.T) { mstest.Backends(t, testPrivacyGrantFlow) }

func testPrivacyGrantFlow(t *testing.T, database string) {
	e, rcv, mp, tok := grSetup(t, database)
	status := func() map[string]any {
		it := grFind(grList(t, e.ok("GET", "/wxa/security/get_privacy_interface", "", tok), "interface_list"), "api_name", "wx.getLocation")
		if it == nil {
			t.Fatal("wx.getLocation missing from get_privacy_interface")
		}
		return it
	}

	// Not granted: the demo template declares getLocation, so commit fails.
	e.fails(85312, "POST", "/wxa/commit", fmt.Sprintf(`{"template_id":%d,"ext_json":"{}","user_version":"1.0.0"}`, e.tpl), tok)
	if st := status()["status"]; fmt.Sprint(st) != "1" {
		t.Fatalf("status %v before applying, want 1", st)
	}
	apply := `{"api_name":"wx.getLocation","content":"门店导航","url_list":["https://shop.example/scene"]}`
	id1 := arInt(t, e.ok("POST", "/wxa/security/apply_privacy_interface", apply, tok), "audit_id")
	e.fails(61031, "POST", "/wxa/security/apply_privacy_interface", apply, tok)
	if st := status(); fmt.Sprint(st["status"]) != "3" || fmt.Sprint(st["audit_id"]) != fmt.Sprint(id1) {
		t.Fatalf("after applying: %v, want status 3 and audit_id %d", st, id1)
	}
	e.fails(85312, "POST", "/wxa/commit", fmt.Sprintf(`{"template_id":%d,"ext_json":"{}","user_version":"1.0.0"}`, e.tpl), tok)

	// The reviewer's queue lists it; a rejection is pushed with status 2.
	code, q := e.admin("GET", "/miniship/v1/privacy-applications?authorizer="+mp.AppID, nil)
	if code != 200 || len(grList(t, q, "applications")) != 1 {
		t.Fatalf("queue: %d %v", code, q)
	}
	code, _ = e.admin("POST", fmt.Sprintf("/miniship/v1/privacy-applications/%d/decision", id1), map[string]string{"result": "reject", "reason": "未见使用场景"})
	if code != 200 {
		t.Fatalf("reject: HTTP %d", code)
	}
	wantPrivacyPush(t, rcv.wait(1), mp, id1, "2", "未见使用场景")
	if st := status(); fmt.Sprint(st["status"]) != "4" || st["fail_reason"] != "未见使用场景" {
		t.Fatalf("after rejection: %v", st)
	}
	if code, _ := e.admin("POST", fmt.Sprintf("/miniship/v1/privacy-applications/%d/decision", id1), map[string]string{"result": "approve"}); code != 409 {
		t.Fatalf("deciding twice: HTTP %d, want 409", code)
	}

	// Applying again replaces the rejected application; approval grants it.
	id2 := arInt(t, e.ok("POST", "/wxa/security/apply_privacy_interface", apply, tok), "audit_id")
	if code, _ := e.admin("POST", fmt.Sprintf("/miniship/v1/privacy-applications/%d/decision", id2), map[string]string{"result": "approve"}); code != 200 {
		t.Fatalf("approve: HTTP %d", code)
	}
	wantPrivacyPush(t, rcv.wait(2), mp, id2, "3", "")
	if st := status(); fmt.Sprint(st["status"]) != "5" {
		t.Fatalf("after approval: %v", st)
	}
	e.commit("1.0.0", "", tok)
	e.scanned()

	// A guide that does not describe Location: the audit is rejected with
	// the reason, not refused with an errcode.
	e.ok("POST", "/cgi-bin/component/setprivacysetting", `{"privacy_ver":2,"setting_list":[{"privacy_key":"UserInfo","privacy_text":"登录"}],"owner_setting":{"contact_email":"a@b.cn","notice_method":"弹窗"}}`, tok)
	got := e.ok("POST", "/cgi-bin/component/getprivacysetting", `[]`, tok)
	if pl, _ := json.Marshal(got["privacy_list"]); string(pl) != `["Location"]` || fmt.Sprint(got["code_exist"]) != "1" {
		t.Fatalf("getprivacysetting: %v", got)
	}
	if it := grFind(grList(t, got, "setting_list"), "privacy_key", "Location"); it == nil || it["privacy_text"] != "" {
		t.Fatalf("Location should be listed as not configured: %v", got["setting_list"])
	}
	a1 := e.submit(tok)
	e.decide(a1, "approve", "", "")
	m := e.wantStatus(a1, 1, tok)
	if r := arStr(m, "reason"); !strings.Contains(r, "位置信息") || !strings.Contains(r, "【用户隐私保护指引】") {
		t.Fatalf("rejection reason %q", r)
	}

	// Describe Location, resubmit, approve, release: the guide goes live.
	e.ok("POST", "/cgi-bin/component/setprivacysetting", `{"setting_list":[{"privacy_key":"Location","privacy_text":"门店导航"}],"owner_setting":{"contact_phone":"13800000000","notice_method":"弹窗"}}`, tok)
	e.fails(86074, "POST", "/cgi-bin/component/setprivacysetting", `{"privacy_ver":1,"owner_setting":{"contact_phone":"1","notice_method":"x"}}`, tok)
	a2 := e.submit(tok)
	e.decide(a2, "approve", "", "")
	e.wantStatus(a2, 0, tok)
	e.ok("POST", "/wxa/release", `{}`, tok)
	live := e.ok("POST", "/cgi-bin/component/getprivacysetting", `{"privacy_ver":1}`, tok)
	if it := grFind(grList(t, live, "setting_list"), "privacy_key", "Location"); it == nil || it["privacy_text"] != "门店导航" {
		t.Fatalf("live guide after release: %v", live)
	}
	// ver 1 edits the live owner_setting at once.
	e.ok("POST", "/cgi-bin/component/setprivacysetting", `{"privacy_ver":1,"owner_setting":{"contact_qq":"10000","notice_method":"短信"}}`, tok)
	live = e.ok("GET", "/cgi-bin/component/getprivacysetting?privacy_ver=1", "", tok)
	if o, _ := live["owner_setting"].(map[string]any); o["contact_qq"] != "10000" {
		t.Fatalf("live owner_setting: %v", live["owner_setting"])
	}
	// store_region, a number, also comes quoted; either way it reads back
	// as the number.
	for region, want := range map[string]json.Number{`1017`: "1017", `"1037"`: "1037"} {
		e.ok("POST", "/cgi-bin/component/setprivacysetting", `{"privacy_ver":1,"owner_setting":{"contact_qq":"10000","notice_method":"短信","store_region":`+region+`}}`, tok)
		live = e.ok("POST", "/cgi-bin/component/getprivacysetting", `{"privacy_ver":1}`, tok)
		if o, _ := live["owner_setting"].(map[string]any); o["store_region"] != want {
			t.Fatalf("store_region %s read back as %#v, want the number %v", region, o["store_region"], want)
		}
	}
}

// wantPrivacyPush checks a wxa_privacy_apply push, decrypted.
func wantPrivacyPush(t *testing.T, p arPush, mp *miniship.Authorizer, auditID int64, status, reason string) {
	t.Helper()
	var ev struct {
		ToUserName string `xml:"ToUserName"`
		Event      string `xml:"Event"`
		Result     struct {
			APIName string `xml:"api_name"`
			AuditID int64  `xml:"audit_id"`
			Status  string `xml:"status"`
			Reason  string `xml:"reason"`
		} `xml:"result_info"`
	}
	if err := xml.Unmarshal(p.Raw, &ev); err != nil {
		t.Fatalf("push: %v: %s", err, p.Raw)
	}
	if ev.Event != "wxa_privacy_apply" || ev.ToUserName != mp.OriginalID || p.Envelope != mp.OriginalID ||
		ev.Result.APIName != "wx.getLocation" || ev.Result.AuditID != auditID || ev.Result.Status != status || ev.Result.Reason != reason {
		t.Fatalf("push %s, want wxa_privacy_apply audit_id %d status %s reason %q", p.Raw, auditID, status, reason)
	}
}

func TestCategoryGrantFlow(t *testing.T) { mstest.Backends(t, testCategoryGrantFlow) }

func testCategoryGrantFlow(t *testing.T, database string) {
	e, rcv, mp, tok := grSetup(t, database)
	e.s.GrantPrivacyAPI(t, e.p.AppID, mp.AppID, "getLocation") // pushes wxa_privacy_apply: push 1
	rcv.wait(1)
	for _, method := range []string{"GET", "POST"} {
		all := e.ok(method, "/cgi-bin/wxopen/getallcategories", "", tok)
		cats := grList(t, all["categories_list"].(map[string]any), "categories")
		if root := grFind(cats, "id", "0"); root == nil || len(root["children"].([]any)) < 10 {
			t.Fatalf("%s getallcategories: no root with the first levels", method)
		}
		if c := grFind(cats, "id", "37"); c == nil || fmt.Sprint(c["sensitive_type"]) != "1" {
			t.Fatalf("category 37 should need a qualification: %v", c)
		}
	}
	get := func() map[string]any { return e.ok("GET", "/cgi-bin/wxopen/getcategory", "", tok) }
	statusOf := func(second string) string {
		it := grFind(grList(t, get(), "categories"), "second", second)
		if it == nil {
			return "none"
		}
		return fmt.Sprint(it["audit_status"])
	}
	if g := get(); fmt.Sprintf("%v %v %v", g["limit"], g["quota"], g["category_limit"]) != "5 5 20" {
		t.Fatalf("limits %v %v %v", g["limit"], g["quota"], g["category_limit"])
	}

	e.fails(53311, "POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":36,"second":37}]}`, tok)
	add := `{"categories":[{"first":36,"second":37,"certicates":[{"key":"《医疗机构执业许可证》","value":"media-1"}]}]}`
	e.ok("POST", "/cgi-bin/wxopen/addcategory", add, tok)
	e.fails(53304, "POST", "/cgi-bin/wxopen/addcategory", add, tok)
	if s := statusOf("37"); s != "1" {
		t.Fatalf("audit_status %s, want 1 (reviewing)", s)
	}
	if q := get()["quota"]; fmt.Sprint(q) != "4" {
		t.Fatalf("quota %v after one addition, want 4", q)
	}

	e.commit("1.0.0", "", tok)
	e.scanned()
	item := `{"item_list":[{"address":"pages/index/index","first_id":36,"second_id":37,"first_class":"医疗","second_class":"公立医疗机构","title":"首页"}]}`
	e.fails(85008, "POST", "/wxa/submit_audit", item, tok)
	e.fails(53308, "POST", "/cgi-bin/wxopen/deletecategory", `{"first":36,"second":37}`, tok)
	e.fails(53307, "POST", "/cgi-bin/wxopen/modifycategory", `{"first":36,"second":37,"certicates":[{"key":"k","value":"v"}]}`, tok)

	decide := func(result, reason string) {
		t.Helper()
		code, m := e.admin("POST", "/miniship/v1/authorizers/"+mp.AppID+"/categories/36/37/decision", map[string]string{"result": result, "reason": reason})
		if code != 200 {
			t.Fatalf("%s: HTTP %d %v", result, code, m)
		}
	}
	decide("reject", "资质模糊")
	wantFields(t, rcv.wait(2), map[string]string{"Event": "wxa_category_audit", "first": "36", "second": "37", "ret": "2", "reason": "资质模糊"})
	if s := statusOf("37"); s != "2" {
		t.Fatalf("audit_status %s after rejection, want 2", s)
	}
	e.fails(85077, "POST", "/wxa/submit_audit", item, tok)

	e.fails(53306, "POST", "/cgi-bin/wxopen/modifycategory", `{"first":36,"second":38,"certicates":[{"key":"k","value":"v"}]}`, tok)
	e.ok("POST", "/cgi-bin/wxopen/modifycategory", `{"first":36,"second":37,"certicates":[{"key":"《医疗机构执业许可证》","value":"media-2"}]}`, tok)
	if s := statusOf("37"); s != "1" {
		t.Fatalf("audit_status %s after modify, want 1", s)
	}
	decide("approve", "")
	wantFields(t, rcv.wait(3), map[string]string{"Event": "wxa_category_audit", "ret": "3"})
	if c := grFind(grList(t, e.ok("GET", "/wxa/get_category", "", tok), "category_list"), "second_id", "37"); c == nil || c["second_class"] != "公立医疗机构" {
		t.Fatalf("get_category does not list the approved category")
	}
	arInt(t, e.ok("POST", "/wxa/submit_audit", item, tok), "auditid")

	// A category without qualifications is approved on add, and deletable.
	e.ok("POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":613}]}`, tok)
	if s := statusOf("613"); s != "3" {
		t.Fatalf("non-sensitive category: audit_status %s, want 3", s)
	}
	e.ok("POST", "/cgi-bin/wxopen/deletecategory", `{"first":287,"second":613}`, tok)
	if s := statusOf("613"); s != "none" {
		t.Fatalf("deleted category still listed (%s)", s)
	}
	e.fails(53303, "POST", "/cgi-bin/wxopen/deletecategory", `{"first":287,"second":613}`, tok)

	// The month's quota: two spent; four more is over it and stores nothing.
	before := get()
	e.fails(53300, "POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":613},{"first":287,"second":614},{"first":287,"second":615},{"first":287,"second":616}]}`, tok)
	if after := get(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a refused addcategory changed getcategory:\n%v\n%v", before, after)
	}
}

func TestPluginGrantFlow(t *testing.T) { mstest.Backends(t, testPluginGrantFlow) }

func testPluginGrantFlow(t *testing.T, database string) {
	e, _, mp, tok := grSetup(t, database)
	const plugin = "wx0123456789abcdef"
	// The plugin's developer is another mini program of the same platform.
	_, ptok := e.addMiniProgram(&miniship.Authorizer{AppID: plugin, Nickname: "地图插件", ProfileComplete: true,
		Categories: []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 287, SecondID: 612}}})
	// The grant of getLocation comes from the admin API here: this test is about plugins.
	e.s.GrantPrivacyAPI(t, e.p.AppID, mp.AppID, "getLocation")
	ext := `{"plugins":{"map":{"provider":"` + plugin + `","version":"1.0.0"}}}`
	commit := fmt.Sprintf(`{"template_id":%d,"ext_json":%q,"user_version":"1.0.0"}`, e.tpl, ext)
	e.fails(80082, "POST", "/wxa/commit", commit, tok)

	e.ok("POST", "/wxa/plugin", `{"action":"apply","plugin_appid":"`+plugin+`","reason":"门店地图"}`, tok)
	e.fails(89237, "POST", "/wxa/plugin", `{"action":"apply","plugin_appid":"`+plugin+`"}`, tok)
	list := func() map[string]any {
		return grFind(grList(t, e.ok("POST", "/wxa/plugin", `{"action":"list"}`, tok), "plugin_list"), "appid", plugin)
	}
	if p := list(); p == nil || fmt.Sprint(p["status"]) != "1" || p["nickname"] != "地图插件" {
		t.Fatalf("after apply: %v", p)
	}
	e.fails(80082, "POST", "/wxa/commit", commit, tok)

	// The developer's side: its queue, then agreement.
	apps := grList(t, e.ok("POST", "/wxa/devplugin", `{"action":"dev_apply_list","page":1,"num":10}`, ptok), "apply_list")
	if a := grFind(apps, "appid", mp.AppID); a == nil || a["reason"] != "门店地图" || fmt.Sprint(a["status"]) != "1" {
		t.Fatalf("dev_apply_list: %v", apps)
	}
	e.fails(89242, "POST", "/wxa/devplugin", `{"action":"dev_agree","appid":"wxnotapplying0000"}`, ptok)
	e.fails(89243, "POST", "/wxa/devplugin", `{"action":"dev_delete","appid":"`+mp.AppID+`"}`, ptok)
	e.ok("POST", "/wxa/devplugin", `{"action":"dev_agree","appid":"`+mp.AppID+`"}`, ptok)
	e.fails(89240, "POST", "/wxa/devplugin", `{"action":"dev_agree","appid":"`+mp.AppID+`"}`, ptok)
	e.fails(89241, "POST", "/wxa/devplugin", `{"action":"dev_delete","appid":"`+mp.AppID+`"}`, ptok)
	if p := list(); fmt.Sprint(p["status"]) != "2" {
		t.Fatalf("after dev_agree: %v", p)
	}
	e.ok("POST", "/wxa/commit", commit, tok)

	e.ok("POST", "/wxa/plugin", `{"action":"update","plugin_appid":"`+plugin+`","user_version":"1.0.2"}`, tok)
	e.fails(89257, "POST", "/wxa/plugin", `{"action":"update","plugin_appid":"`+plugin+`","user_version":"latest"}`, tok)
	e.ok("POST", "/wxa/plugin", `{"action":"unbind","plugin_appid":"`+plugin+`"}`, tok)
	e.fails(89244, "POST", "/wxa/plugin", `{"action":"unbind","plugin_appid":"`+plugin+`"}`, tok)
	e.fails(80082, "POST", "/wxa/commit", commit, tok)

	// Refusal without an appid refuses every waiting application; delete clears them.
	e.ok("POST", "/wxa/plugin?action=apply", `{"plugin_appid":"`+plugin+`"}`, tok) // action from the query
	e.ok("POST", "/wxa/devplugin", `{"action":"dev_refuse","reason":"不合作"}`, ptok)
	if p := list(); fmt.Sprint(p["status"]) != "3" {
		t.Fatalf("after dev_refuse: %v", p)
	}
	e.fails(89240, "POST", "/wxa/devplugin", `{"action":"dev_refuse","reason":"again"}`, ptok)
	e.ok("POST", "/wxa/devplugin", `{"action":"dev_delete"}`, ptok)
	if p := list(); p != nil {
		t.Fatalf("after dev_delete: %v", p)
	}

	// The reviewer decides for plugins whose developer is not on miniship.
	e.ok("POST", "/wxa/plugin", `{"action":"apply","plugin_appid":"`+plugin+`"}`, tok)
	if code, m := e.admin("POST", "/miniship/v1/authorizers/"+mp.AppID+"/plugins/"+plugin+"/decision", map[string]string{"result": "approve"}); code != 200 {
		t.Fatalf("reviewer: HTTP %d %v", code, m)
	}
	e.ok("POST", "/wxa/commit", strings.Replace(commit, "1.0.0\"}", "1.0.1\"}", 1), tok)
}
