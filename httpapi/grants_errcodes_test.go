package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// grUpload posts a file to uploadprivacyextfile in field "file".
func grUpload(e *arEnv, tok, name string, data []byte) map[string]any {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", e.s.URL+"/cgi-bin/component/uploadprivacyextfile?access_token="+url.QueryEscape(tok), &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return e.do(req)
}

// TestGrantErrcodes is the errcode table of the privacy, category and
// plugin endpoints: bad input, the wrong token kind, a missing permission
// set; and none of the refusals changes what the readers answer.
func TestGrantErrcodes(t *testing.T) { mstest.Backends(t, testGrantErrcodes) }

func testGrantErrcodes(t *testing.T, database string) {
	e, _, mp, tok := grSetup(t, database)
	m := e.raw("POST", "/cgi-bin/component/api_component_token", nil, fmt.Sprintf(
		`{"component_appid":%q,"component_appsecret":%q,"component_verify_ticket":%q}`, e.p.AppID, e.p.Secret, e.s.Ticket(t, e.p.AppID)))
	ctok := arStr(m, "component_access_token")
	// A mini program that granted the platform only set 17.
	narrow, ntok := e.addMiniProgram(&miniship.Authorizer{ProfileComplete: true, Categories: []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 287, SecondID: 612}}})
	if _, err := e.s.Service.Authorize(context.Background(), e.p.AppID, narrow.AppID, []int{17}); err != nil {
		t.Fatal(err)
	}

	// Some state first, so "nothing changed" has something to compare.
	e.ok("POST", "/cgi-bin/component/setprivacysetting", `{"setting_list":[{"privacy_key":"Location","privacy_text":"导航"}],"owner_setting":{"contact_email":"a@b.cn","notice_method":"弹窗"}}`, tok)
	e.ok("POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":36,"second":37,"certicates":[{"key":"k","value":"v"}]}]}`, tok)
	e.ok("POST", "/wxa/plugin", `{"action":"apply","plugin_appid":"wx0123456789abcdef"}`, tok)
	readers := func() string {
		var b strings.Builder
		for _, r := range []struct{ method, path, body string }{
			{"POST", "/cgi-bin/component/getprivacysetting", `{"privacy_ver":2}`},
			{"GET", "/wxa/security/get_privacy_interface", ``},
			{"GET", "/cgi-bin/wxopen/getcategory", ``},
			{"POST", "/wxa/plugin", `{"action":"list"}`},
		} {
			fmt.Fprintln(&b, e.ok(r.method, r.path, r.body, tok))
		}
		return b.String()
	}
	before := readers()

	owner := `"owner_setting":{"contact_email":"a@b.cn","notice_method":"弹窗"}`
	list := `"setting_list":[{"privacy_key":"Location","privacy_text":"x"}]`
	long := strings.Repeat("长", 301)
	cases := []struct {
		name, method, path, body string
		code                     int
	}{
		{"set: empty body", "POST", "/cgi-bin/component/setprivacysetting", ``, 44002},
		{"set: malformed", "POST", "/cgi-bin/component/setprivacysetting", `{"setting_list":`, 86072},
		{"set: ver 3", "POST", "/cgi-bin/component/setprivacysetting", `{"privacy_ver":3,` + list + `,` + owner + `}`, 86071},
		{"set: ver 1 with setting_list", "POST", "/cgi-bin/component/setprivacysetting", `{"privacy_ver":1,` + list + `,` + owner + `}`, 86071},
		{"set: no setting_list", "POST", "/cgi-bin/component/setprivacysetting", `{` + owner + `}`, 40097},
		{"set: no owner_setting", "POST", "/cgi-bin/component/setprivacysetting", `{` + list + `}`, 86069},
		{"set: no contact", "POST", "/cgi-bin/component/setprivacysetting", `{` + list + `,"owner_setting":{"notice_method":"弹窗"}}`, 86069},
		{"set: no notice_method", "POST", "/cgi-bin/component/setprivacysetting", `{` + list + `,"owner_setting":{"contact_qq":"1"}}`, 86070},
		{"set: blank store_expire", "POST", "/cgi-bin/component/setprivacysetting", `{` + list + `,"owner_setting":{"contact_qq":"1","notice_method":"x","store_expire_timestamp":"  "}}`, 86072},
		{"set: store_region not a number", "POST", "/cgi-bin/component/setprivacysetting", `{` + list + `,"owner_setting":{"contact_qq":"1","notice_method":"x","store_region":"cn"}}`, 86072},
		{"set: unknown ext file", "POST", "/cgi-bin/component/setprivacysetting", `{` + list + `,"owner_setting":{"contact_qq":"1","notice_method":"x","ext_file_media_id":"123"}}`, 86073},
		{"set: repeated key", "POST", "/cgi-bin/component/setprivacysetting", `{"setting_list":[{"privacy_key":"A","privacy_text":"x"},{"privacy_key":"A","privacy_text":"y"}],` + owner + `}`, 40097},
		{"get: ver 5", "POST", "/cgi-bin/component/getprivacysetting", `{"privacy_ver":5}`, 86071},
		{"apply: empty", "POST", "/wxa/security/apply_privacy_interface", `{}`, 61034},
		{"apply: not listed", "POST", "/wxa/security/apply_privacy_interface", `{"api_name":"wx.getUserInfo","content":"x","url_list":["https://a.cn"]}`, 61035},
		{"apply: no wx. prefix", "POST", "/wxa/security/apply_privacy_interface", `{"api_name":"getLocation","content":"x","url_list":["https://a.cn"]}`, 61035},
		{"apply: wrong case", "POST", "/wxa/security/apply_privacy_interface", `{"api_name":"wx.GetLocation","content":"x","url_list":["https://a.cn"]}`, 61035},
		{"apply: no material", "POST", "/wxa/security/apply_privacy_interface", `{"api_name":"wx.getLocation","content":"x"}`, 61034},
		{"apply: content 301", "POST", "/wxa/security/apply_privacy_interface", `{"api_name":"wx.getLocation","content":"` + long + `","url_list":["https://a.cn"]}`, 40097},
		{"apply: video not mp4", "POST", "/wxa/security/apply_privacy_interface", `{"api_name":"wx.getLocation","content":"x","video_list":["https://a.cn/v.avi"]}`, 61032},
		{"apply: 11 pictures", "POST", "/wxa/security/apply_privacy_interface", `{"api_name":"wx.getLocation","content":"x","pic_list":[` + strings.TrimSuffix(strings.Repeat(`"https://a.cn/p.png",`, 11), ",") + `]}`, 40097},
		{"apply: 11 URLs", "POST", "/wxa/security/apply_privacy_interface", `{"api_name":"wx.getLocation","content":"x","url_list":[` + strings.TrimSuffix(strings.Repeat(`"https://a.cn/",`, 11), ",") + `]}`, 40097},
		{"apply: not a URL", "POST", "/wxa/security/apply_privacy_interface", `{"api_name":"wx.getLocation","content":"x","url_list":["ftp://a.cn"]}`, 40097},
		{"get_privacy_interface: not JSON", "POST", "/wxa/security/get_privacy_interface", `xx`, 47001},
		{"getallcategories: not JSON", "POST", "/cgi-bin/wxopen/getallcategories", `xx`, 47001},
		{"getaccountbasicinfo: not JSON", "POST", "/cgi-bin/account/getaccountbasicinfo", `{"a":`, 47001},
		{"apply: GET", "GET", "/wxa/security/apply_privacy_interface", ``, 43002},
		{"add: empty", "POST", "/cgi-bin/wxopen/addcategory", `{"categories":[]}`, 53303},
		{"add: wrong type", "POST", "/cgi-bin/wxopen/addcategory", `{"categories":"x"}`, 53303},
		{"add: unknown ids", "POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":9999,"second":9998}]}`, 53303},
		{"add: second not under first", "POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":37}]}`, 53303},
		{"add: repeated", "POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":613},{"first":287,"second":613}]}`, 53304},
		{"add: already there", "POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":612}]}`, 53304},
		{"add: blank certificate", "POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":36,"second":38,"certicates":[{"key":"k","value":""}]}]}`, 53303},
		{"add: no certificate", "POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":36,"second":38}]}`, 53311},
		{"delete: not a category", "POST", "/cgi-bin/wxopen/deletecategory", `{"first":287,"second":616}`, 53303},
		{"delete: in review", "POST", "/cgi-bin/wxopen/deletecategory", `{"first":36,"second":37}`, 53308},
		{"modify: no certificates", "POST", "/cgi-bin/wxopen/modifycategory", `{"first":36,"second":37}`, 53311},
		{"modify: in review", "POST", "/cgi-bin/wxopen/modifycategory", `{"first":36,"second":37,"certicates":[{"key":"k","value":"v"}]}`, 53307},
		{"plugin: empty body", "POST", "/wxa/plugin", ``, 44002},
		{"plugin: no action", "POST", "/wxa/plugin", `{}`, 40097},
		{"plugin: apply without appid", "POST", "/wxa/plugin", `{"action":"apply"}`, 89239},
		{"plugin: apply bad appid", "POST", "/wxa/plugin", `{"action":"apply","plugin_appid":"plugin!"}`, 89239},
		{"plugin: apply again", "POST", "/wxa/plugin", `{"action":"apply","plugin_appid":"wx0123456789abcdef"}`, 89237},
		{"plugin: update pending", "POST", "/wxa/plugin", `{"action":"update","plugin_appid":"wx0123456789abcdef","user_version":"1.0.0"}`, 89244},
		{"plugin: unbind unknown", "POST", "/wxa/plugin", `{"action":"unbind","plugin_appid":"wxffffffffffffffff"}`, 89244},
		{"devplugin: bad action", "POST", "/wxa/devplugin", `{"action":"agree"}`, 40097},
		{"devplugin: num 200", "POST", "/wxa/devplugin", `{"action":"dev_apply_list","page":1,"num":200}`, 40097},
		{"devplugin: huge page", "POST", "/wxa/devplugin", `{"action":"dev_apply_list","page":"9223372036854775807","num":10}`, 0},
		{"devplugin: agree without appid", "POST", "/wxa/devplugin", `{"action":"dev_agree"}`, 89242},
		{"devplugin: refuse none waiting", "POST", "/wxa/devplugin", `{"action":"dev_refuse","reason":"x"}`, 89240},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.fails(c.code, c.method, c.path, c.body, tok)
		})
	}
	e.t = t

	// Uploads: a .txt of at most 100 KB.
	arWant(t, grUpload(e, tok, "guide.pdf", []byte("text")), 40006)
	arWant(t, grUpload(e, tok, "guide.txt", bytes.Repeat([]byte("a"), 100<<10+1)), 40126)
	arWant(t, grUpload(e, tok, "guide.txt", nil), 41005)
	e.fails(41005, "POST", "/cgi-bin/component/uploadprivacyextfile", `{}`, tok)

	// Token kind and permission sets, for one endpoint of each area.
	for _, p := range []struct{ method, path, body string }{
		{"POST", "/cgi-bin/component/setprivacysetting", `{` + list + `,` + owner + `}`},
		{"POST", "/cgi-bin/component/getprivacysetting", `{}`},
		{"GET", "/wxa/security/get_privacy_interface", ``},
		{"POST", "/wxa/security/apply_privacy_interface", `{"api_name":"wx.getLocation","content":"x","url_list":["https://a.cn"]}`},
		{"GET", "/cgi-bin/wxopen/getcategory", ``},
		{"POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":613}]}`},
		{"POST", "/wxa/plugin", `{"action":"list"}`},
		{"POST", "/wxa/devplugin", `{"action":"dev_apply_list","num":10}`},
	} {
		e.fails(40001, p.method, p.path, p.body, ctok)
		e.fails(61007, p.method, p.path, p.body, ntok)
		e.fails(41001, p.method, p.path, p.body, "")
	}

	if after := readers(); after != before {
		t.Fatalf("refused calls changed the state:\nbefore %s\nafter  %s", before, after)
	}
	// The other mini program of the platform sees none of it.
	if got := e.ok("GET", "/cgi-bin/wxopen/getcategory", "", e.tok); strings.Contains(fmt.Sprint(got), "公立医疗机构") {
		t.Fatalf("another mini program's category leaked: %v", got)
	}
	_ = mp
}

// TestCategoryCaps checks the configurable caps: the total (53301) and
// the month's quota (53300), which comes back the next month.
func TestCategoryCaps(t *testing.T) {
	e, _, _, tok := grSetupWith(t, mstest.Options{Config: service.Config{CategoryMax: 3, CategoryPerMonth: 2, TokenTTL: arLongTTL}})
	e.fails(53301, "POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":613},{"first":287,"second":614},{"first":287,"second":615}]}`, tok)
	e.ok("POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":613}]}`, tok)
	e.ok("POST", "/cgi-bin/wxopen/deletecategory", `{"first":287,"second":613}`, tok)
	e.ok("POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":614}]}`, tok)
	e.fails(53300, "POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":615}]}`, tok)
	e.s.Advance(32 * 24 * time.Hour)
	e.ok("POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":615}]}`, tok)
	e.fails(53301, "POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":616}]}`, tok)
}

func grSetupWith(t *testing.T, o mstest.Options) (*arEnv, *arReceiver, *miniship.Authorizer, string) {
	rcv := newArReceiver(t)
	e := arSetup(t, o, &miniship.Platform{MessageURL: rcv.srv.URL + "/msg"})
	rcv.p = e.p
	mp, tok := e.addMiniProgram(&miniship.Authorizer{ProfileComplete: true,
		Categories: []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 287, SecondID: 612}}})
	return e, rcv, mp, tok
}

// TestAutoGrant checks the automatic rule: applications of the three
// kinds are approved once they have waited AutoGrant on the server clock,
// not before.
func TestAutoGrant(t *testing.T) {
	e, rcv, mp, tok := grSetupWith(t, mstest.Options{Config: service.Config{AutoGrant: time.Hour}})
	e.ok("POST", "/wxa/security/apply_privacy_interface", `{"api_name":"wx.getLocation","content":"导航","url_list":["https://a.cn"]}`, tok)
	e.ok("POST", "/cgi-bin/wxopen/addcategory", `{"categories":[{"first":36,"second":37,"certicates":[{"key":"k","value":"v"}]}]}`, tok)
	e.ok("POST", "/wxa/plugin", `{"action":"apply","plugin_appid":"wx0123456789abcdef"}`, tok)
	e.s.Advance(59 * time.Minute)
	if code, q := e.admin("GET", "/miniship/v1/category-applications?authorizer="+mp.AppID, nil); code != 200 || len(grList(t, q, "applications")) != 1 {
		t.Fatalf("decided too early: %v", q)
	}
	e.s.Advance(time.Minute)
	for _, path := range []string{"privacy-applications", "category-applications", "plugin-applications"} {
		if _, q := e.admin("GET", "/miniship/v1/"+path+"?authorizer="+mp.AppID, nil); len(grList(t, q, "applications")) != 0 {
			t.Fatalf("%s still pending: %v", path, q)
		}
		if _, q := e.admin("GET", "/miniship/v1/"+path+"?status=3&authorizer="+mp.AppID, nil); len(grList(t, q, "applications")) != 1 {
			t.Fatalf("%s not approved: %v", path, q)
		}
	}
	events := map[string]bool{rcv.wait(1).Fields["Event"]: true, rcv.wait(2).Fields["Event"]: true}
	if !events["wxa_privacy_apply"] || !events["wxa_category_audit"] {
		t.Fatalf("pushes %v", events)
	}
	e.commit("1.0.0", `{"plugins":{"m":{"provider":"wx0123456789abcdef","version":"1.0.0"}}}`, tok)
}
