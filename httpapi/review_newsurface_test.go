package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
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
)

// newSurface lists the endpoints around the core pipeline (domains,
// testers, utilities, codes, privacy, categories, plugins).
var newSurface = []string{
	"/wxa/modify_domain", "/wxa/modify_domain_directly", "/wxa/get_effective_domain",
	"/wxa/get_effective_webviewdomain", "/wxa/setwebviewdomain", "/wxa/setwebviewdomain_directly",
	"/wxa/get_webviewdomain_confirmfile", "/wxa/bind_tester", "/wxa/unbind_tester", "/wxa/memberauth",
	"/cgi-bin/component/modify_wxa_server_domain", "/cgi-bin/component/modify_wxa_jump_domain",
	"/cgi-bin/component/get_domain_confirmfile",
	"/cgi-bin/component/api_start_push_ticket", "/cgi-bin/component/api_get_authorizer_list",
	"/cgi-bin/component/api_get_authorizer_option", "/cgi-bin/component/api_set_authorizer_option",
	"/cgi-bin/component/get_authorizer_option", "/cgi-bin/component/set_authorizer_option",
	"/cgi-bin/clear_quota", "/cgi-bin/clear_quota/v2", "/cgi-bin/component/clear_quota/v2",
	"/cgi-bin/component/clear_quota", "/cgi-bin/openapi/quota/get", "/cgi-bin/account/getaccountbasicinfo",
	"/wxa/getwxacode", "/wxa/getwxacodeunlimit", "/cgi-bin/wxaapp/createwxaqrcode",
	"/cgi-bin/component/setprivacysetting", "/cgi-bin/component/getprivacysetting",
	"/cgi-bin/component/uploadprivacyextfile", "/wxa/security/get_privacy_interface",
	"/wxa/security/apply_privacy_interface",
	"/cgi-bin/wxopen/getallcategories", "/cgi-bin/wxopen/getcategory", "/cgi-bin/wxopen/addcategory",
	"/cgi-bin/wxopen/deletecategory", "/cgi-bin/wxopen/modifycategory",
	"/wxa/plugin", "/wxa/devplugin",
}

// TestNewSurfaceOddBodies: every new endpoint, with either token kind and
// bodies of every JSON shape, answers HTTP 200 JSON with an errcode other
// than -1 (a -1 is an internal error or a recovered panic).
func TestNewSurfaceOddBodies(t *testing.T) {
	f := newFixture(t, mstest.Options{}, nil)
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	bodies := []string{"", "{}", "[]", "null", "0", `"x"`, "true", "{", deep,
		`{"action":1,"wechatid":[],"userstr":{},"plugin_appid":2,"appid":[],"categories":{},"first":"x","setting_list":{},"owner_setting":[],"path":1,"scene":[],"width":"abc","line_color":"red","component_appid":1,"authorizer_appid":[],"option_name":{},"cgi_path":1,"requestdomain":"x","webviewdomain":"x","api_name":1,"url_list":"x","page":"x","num":{}}`,
		`{"action":"add","requestdomain":[null],"webviewdomain":[null],"categories":[null],"setting_list":[null],"sdk_privacy_info_list":[null],"certicates":[null]}`,
		`{"width":-99999999999,"line_color":{"r":-1e300,"g":"1e300","b":null},"page":-1,"num":9223372036854775807,"offset":-1,"count":9223372036854775807}`,
	}
	for _, path := range newSurface {
		for tn, token := range map[string]string{"authorizer": f.atoken, "component": f.ctoken} {
			for _, method := range []string{"GET", "POST"} {
				for _, b := range bodies {
					res := rawCall(t, f.s, method, path, tok(token), b)
					var m map[string]any
					ct := res.Header.Get("Content-Type")
					err := json.NewDecoder(res.Body).Decode(&m)
					res.Body.Close()
					if strings.HasPrefix(ct, "image/") {
						continue
					}
					if res.StatusCode != 200 || err != nil {
						t.Errorf("%s %s (%s token) body %.40q: HTTP %d %q, %v", method, path, tn, b, res.StatusCode, ct, err)
						continue
					}
					if code, _ := m["errcode"].(float64); code == -1 {
						t.Errorf("%s %s (%s token) body %.40q: %v", method, path, tn, b, m)
					}
				}
			}
		}
	}
}

var errRollback = errors.New("rollback")

// countCounters counts the counters whose name starts with prefix (by
// deleting them in a transaction that is rolled back).
func countCounters(t *testing.T, s *mstest.Server, prefix string) int64 {
	t.Helper()
	var n int64
	err := s.Store.Update(context.Background(), func(tx miniship.Tx) error {
		var err error
		if n, err = tx.DeleteCounters(prefix); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	return n
}

// TestCodeRateCounterBounded: getwxacodeunlimit's per-minute limit keeps
// the same few counter rows however many minutes a mini program calls in.
// It used to add a row per minute, forever.
func TestCodeRateCounterBounded(t *testing.T) { mstest.Backends(t, testCodeRateCounterBounded) }

func testCodeRateCounterBounded(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	for i := range 12 {
		res := codeCall(t, e, "/wxa/getwxacodeunlimit", `{"scene":"a=1","env_version":"develop","check_path":false}`, "application/json")
		fetchImage(t, res)
		if i == 0 {
			fetchImage(t, codeCall(t, e, "/wxa/getwxacodeunlimit", `{"scene":"a=2","env_version":"develop"}`, "application/json"))
		}
		e.s.Advance(time.Minute)
	}
	if n := countCounters(t, e.s, "wxacodeunlimit:"+e.mp.AppID); n > 2 {
		t.Fatalf("%d counter rows after calls in 12 minutes, want at most 2", n)
	}
}

// TestPrivacyExtFilesBounded: uploadprivacyextfile keeps a mini program's
// newest files and the ones its guides use; older ones go, so uploads in a
// loop cannot grow the media table. Every upload used to stay forever.
func TestPrivacyExtFilesBounded(t *testing.T) { mstest.Backends(t, testPrivacyExtFilesBounded) }

func testPrivacyExtFilesBounded(t *testing.T, database string) {
	e, _, _, tok := grSetup(t, database)
	guide := func(id string) string {
		return `{"privacy_ver":2,"setting_list":[{"privacy_key":"UserInfo","privacy_text":"登录"}],"owner_setting":{"contact_email":"a@b.cn","notice_method":"弹窗","ext_file_media_id":"` + id + `"}}`
	}
	var ids []string
	for i := range service.MaxPrivacyExtFiles + 5 {
		m := grUpload(e, tok, "p.txt", []byte(fmt.Sprint("file ", i)))
		arWant(t, m, 0)
		ids = append(ids, fmt.Sprint(m["ext_file_media_id"]))
		if i == 0 { // the development guide uses the first file
			e.ok("POST", "/cgi-bin/component/setprivacysetting", guide(ids[0]), tok)
		}
	}
	e.ok("POST", "/cgi-bin/component/setprivacysetting", guide(ids[0]), tok) // still there: in use
	for _, id := range ids[1:5] {
		e.fails(86073, "POST", "/cgi-bin/component/setprivacysetting", guide(id), tok) // pruned
	}
	for _, id := range ids[5:] {
		e.ok("POST", "/cgi-bin/component/setprivacysetting", guide(id), tok) // the newest
	}
}

// TestNewSurfaceCrossTenant: platform A's credentials on platform B's
// mini program, or on B itself, are refused by every utility that names
// an account in its body, and nothing changes for B.
func TestNewSurfaceCrossTenant(t *testing.T) {
	f := newFixture(t, mstest.Options{}, nil)
	s, A, C := f.s, tok(f.atoken), tok(f.ctoken)
	other := s.Platform(t, nil)
	otherApp, refresh := s.MiniProgram(t, other.AppID, nil)
	bc := componentToken(t, s, other.AppID, other.Secret)
	// B's mini program applies for plugin X: only X may decide, not A's.
	const plugin = "wx0123456789abcdef"
	arWant(t, wx(t, s, "POST", "/wxa/plugin", tok(authorizerToken(t, s, bc, other.AppID, otherApp.AppID, refresh)),
		`{"action":"apply","plugin_appid":"`+plugin+`"}`), 0)
	cases := []struct {
		name, path string
		q          url.Values
		body       string
		code       int
	}{
		{"old option read", "/cgi-bin/component/api_get_authorizer_option", C,
			`{"component_appid":"` + f.p.AppID + `","authorizer_appid":"` + otherApp.AppID + `","option_name":"voice_recognize"}`, 61003},
		{"old option write", "/cgi-bin/component/api_set_authorizer_option", C,
			`{"component_appid":"` + f.p.AppID + `","authorizer_appid":"` + otherApp.AppID + `","option_name":"voice_recognize","option_value":"1"}`, 61003},
		{"old option, other component_appid", "/cgi-bin/component/api_set_authorizer_option", C,
			`{"component_appid":"` + other.AppID + `","authorizer_appid":"` + otherApp.AppID + `","option_name":"voice_recognize","option_value":"1"}`, 40013},
		{"new option write", "/cgi-bin/component/set_authorizer_option", C,
			`{"authorizer_appid":"` + otherApp.AppID + `","option_name":"voice_recognize","option_value":"1"}`, 61003},
		{"new option, other component_appid", "/cgi-bin/component/set_authorizer_option", C,
			`{"component_appid":"` + other.AppID + `","authorizer_appid":"` + otherApp.AppID + `","option_name":"voice_recognize","option_value":"1"}`, 40013},
		{"authorizer list of another platform", "/cgi-bin/component/api_get_authorizer_list", C,
			`{"component_appid":"` + other.AppID + `","offset":0,"count":10}`, 40013},
		{"clear_quota of another mini program", "/cgi-bin/clear_quota", A, `{"appid":"` + otherApp.AppID + `"}`, 40013},
		{"clear_quota of another platform", "/cgi-bin/clear_quota", C, `{"appid":"` + other.AppID + `"}`, 40013},
		{"component clear_quota/v2 of another's mini program", "/cgi-bin/component/clear_quota/v2", nil,
			`{"component_appid":"` + f.p.AppID + `","appsecret":"` + f.p.Secret + `","appid":"` + otherApp.AppID + `"}`, 61003},
		{"component clear_quota/v2 with the wrong secret", "/cgi-bin/component/clear_quota/v2", nil,
			`{"component_appid":"` + other.AppID + `","appsecret":"` + f.p.Secret + `"}`, 40125},
		{"clear_quota/v2 with the wrong secret", "/cgi-bin/clear_quota/v2", nil,
			`{"appid":"` + other.AppID + `","appsecret":"` + f.p.Secret + `"}`, 40125},
		{"start_push_ticket of another platform", "/cgi-bin/component/api_start_push_ticket", C,
			`{"component_appid":"` + other.AppID + `","component_secret":"` + f.p.Secret + `"}`, 40013},
		{"dev_agree of another plugin's application", "/wxa/devplugin", A,
			`{"action":"dev_agree","appid":"` + otherApp.AppID + `"}`, 89242},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { arWant(t, wx(t, s, "POST", c.path, c.q, c.body), c.code) })
	}
	// Nothing changed for B's mini program.
	m := wx(t, s, "POST", "/cgi-bin/component/get_authorizer_option", tok(bc),
		`{"authorizer_appid":"`+otherApp.AppID+`","option_name":"voice_recognize"}`)
	if arWant(t, m, 0); m["option_value"] != "0" {
		t.Fatalf("B's option changed: %v", m)
	}
	var st int
	if err := s.Store.View(context.Background(), func(tx miniship.Tx) error {
		p, err := tx.GetPluginApplication(otherApp.AppID, plugin)
		if p != nil {
			st = p.Status
		}
		return err
	}); err != nil || st != miniship.ApplyPending {
		t.Fatalf("B's plugin application: status %d, %v", st, err)
	}
}

// TestCallQuotaCountersBounded: the optional per-call limits keep two
// counter rows per caller, path and limit however many minutes and days
// the caller calls in (they used to add a row per minute and per day),
// and openapi/quota/get still counts today's calls only.
func TestCallQuotaCountersBounded(t *testing.T) { mstest.Backends(t, testCallQuotaCountersBounded) }

func testCallQuotaCountersBounded(t *testing.T, database string) {
	const path = "/wxa/get_effective_domain"
	e := arSetup(t, mstest.Options{Database: database, Config: service.Config{TokenTTL: arLongTTL},
		Limits: httpapi.Limits{Daily: map[string]int{path: 100}, PerMinute: map[string]int{path: 100}}}, nil)
	for range 3 { // days
		for range 4 { // minutes
			e.ok("POST", path, "")
			e.s.Advance(time.Minute)
		}
		e.s.Advance(24 * time.Hour)
	}
	e.ok("POST", path, "")
	e.ok("POST", path, "")
	for _, prefix := range []string{"call:" + e.mp.AppID + ":", "min:" + e.mp.AppID + ":"} {
		if n := countCounters(t, e.s, prefix); n > 2 {
			t.Errorf("%d counters %s*, want at most 2", n, prefix)
		}
	}
	q := e.ok("POST", "/cgi-bin/openapi/quota/get", `{"cgi_path":"`+path+`"}`)
	if used := fmt.Sprint(q["quota"].(map[string]any)["used"]); used != "2" {
		t.Fatalf("quota/get used %s, want 2 (today's calls): %v", used, q)
	}
}

// bigDomainList is a modify_domain list of n distinct hosts (~1.7 MB at
// 60,000, under the 2 MB body limit).
func bigDomainList(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"https://a%d.example.com"`, i)
	}
	return b.String()
}

// BenchmarkHugeDomainList is one modify_domain_directly, setwebviewdomain_directly and
// modify_wxa_server_domain call with ~60,000 entries each. The lists
// were deduplicated by a linear search per entry inside the write
// transaction: about 10 s per call (SQLite's only writer held throughout);
// with sets, about 0.2 s.
func BenchmarkHugeDomainList(b *testing.B) {
	e := arSetup(b, mstest.Options{}, nil)
	list := bigDomainList(60000)
	hosts := strings.NewReplacer(`"https://`, "", `",`, ";", `"`, "").Replace(list)
	ctoken := componentTokenB(b, e.s, e.p.AppID, e.p.Secret)
	for b.Loop() {
		arWant(b, e.call("POST", "/wxa/modify_domain_directly", `{"action":"add","requestdomain":[`+list+`]}`), 85016)
		arWant(b, e.call("POST", "/wxa/setwebviewdomain_directly", `{"action":"add","webviewdomain":[`+list+`]}`), 89029)
		arWant(b, e.call("POST", "/cgi-bin/component/modify_wxa_server_domain", `{"action":"add","wxa_server_domain":"`+hosts+`"}`, ctoken), 45104)
	}
}

// TestDomainListsDeduplicate: duplicates within a request and entries
// already present are kept once, in first-seen order; delete removes each
// listed entry.
func TestDomainListsDeduplicate(t *testing.T) {
	e := arSetup(t, mstest.Options{}, nil)
	e.ok("POST", "/wxa/modify_domain_directly", `{"action":"add","requestdomain":["https://b.example.com","https://a.example.com","https://B.example.com"]}`)
	m := e.ok("POST", "/wxa/modify_domain_directly", `{"action":"add","requestdomain":["https://c.example.com","https://a.example.com","https://c.example.com"]}`)
	if got := fmt.Sprint(m["requestdomain"]); got != "[https://b.example.com https://a.example.com https://c.example.com]" {
		t.Fatalf("after add: %s", got)
	}
	m = e.ok("POST", "/wxa/modify_domain_directly", `{"action":"delete","requestdomain":["https://a.example.com","https://a.example.com","https://x.example.com"]}`)
	if got := fmt.Sprint(m["requestdomain"]); got != "[https://b.example.com https://c.example.com]" {
		t.Fatalf("after delete: %s", got)
	}
}

// TestPrivacyApplyCounterBounded: apply_privacy_interface's per-minute
// limit keeps two counter rows per mini program however many minutes it
// applies in (a rejection lets it apply again).
func TestPrivacyApplyCounterBounded(t *testing.T) {
	e, _, mp, tok := grSetup(t, "")
	apply := `{"api_name":"wx.getLocation","content":"门店导航","url_list":["https://shop.example/scene"]}`
	for range 4 {
		id := arInt(t, e.ok("POST", "/wxa/security/apply_privacy_interface", apply, tok), "audit_id")
		if code, _ := e.admin("POST", fmt.Sprintf("/miniship/v1/privacy-applications/%d/decision", id), map[string]string{"result": "reject", "reason": "x"}); code != 200 {
			t.Fatalf("reject: %d", code)
		}
		e.s.Advance(time.Minute)
	}
	if n := countCounters(t, e.s, "privacyapply:"+mp.AppID); n > 2 {
		t.Fatalf("%d counter rows after applying in 4 minutes, want at most 2", n)
	}
}

// TestNewSurfaceNeedsPermissionSets: a mini program that granted none of
// sets 17, 18, 30 and 40 gets 61007 from every new endpoint that takes
// an authorizer token and acts on the mini program.
func TestNewSurfaceNeedsPermissionSets(t *testing.T) {
	f := newFixture(t, mstest.Options{}, nil)
	if _, err := f.s.Service.Authorize(context.Background(), f.p.AppID, f.app.AppID, []int{19}); err != nil {
		t.Fatal(err)
	}
	// Endpoints taking either token act on the token's own account, or
	// need a component token (40001 with an authorizer token).
	free := map[string]bool{"/cgi-bin/component/get_authorizer_option": true, "/cgi-bin/component/set_authorizer_option": true,
		"/cgi-bin/clear_quota": true, "/cgi-bin/clear_quota/v2": true, "/cgi-bin/component/clear_quota/v2": true,
		"/cgi-bin/openapi/quota/get": true, "/cgi-bin/component/api_start_push_ticket": true}
	for _, path := range newSurface {
		if free[path] {
			continue
		}
		res := rawCall(t, f.s, "POST", path, tok(f.atoken), "{}")
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		res.Body.Close()
		code, _ := m["errcode"].(float64)
		if strings.Contains(path, "/component/") && !strings.Contains(path, "privacy") {
			if code != 40001 && code != 61014 {
				t.Errorf("%s with an authorizer token: %v", path, m)
			}
			continue
		}
		if code != 61007 {
			t.Errorf("%s without the set: %v", path, m)
		}
	}
}

// TestConcurrentDuplicateGrants: the same plugin application, category
// addition and privacy application sent ten times at once are taken once;
// the others get the duplicate's errcode, never -1.
func TestConcurrentDuplicateGrants(t *testing.T) { mstest.Backends(t, testConcurrentDuplicateGrants) }

func testConcurrentDuplicateGrants(t *testing.T, database string) {
	e, _, _, atok := grSetup(t, database)
	for _, c := range []struct {
		path, body string
		dup        int
	}{
		{"/wxa/plugin", `{"action":"apply","plugin_appid":"wx0123456789abcdef"}`, 89237},
		{"/cgi-bin/wxopen/addcategory", `{"categories":[{"first":287,"second":613}]}`, 53304},
		{"/wxa/security/apply_privacy_interface", `{"api_name":"wx.chooseLocation","content":"x","url_list":["https://a.example/x"]}`, 61031},
	} {
		codes := make([]int, 10)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Go(func() { codes[i] = arCode(wx(t, e.s, "POST", c.path, tok(atok), c.body)) })
		}
		wg.Wait()
		ok := 0
		for _, code := range codes {
			switch code {
			case 0:
				ok++
			case c.dup:
			default:
				t.Errorf("%s: errcode %d", c.path, code)
			}
		}
		if ok != 1 {
			t.Errorf("%s: %d of 10 taken, want 1 (%v)", c.path, ok, codes)
		}
	}
}

// TestCallQuotaUnderConcurrency: ten calls at once against a per-minute
// limit of 3 and a daily limit of 4: exactly 3 pass this minute, and one
// more the next minute before the daily limit closes the day.
func TestCallQuotaUnderConcurrency(t *testing.T) { mstest.Backends(t, testCallQuotaUnderConcurrency) }

func testCallQuotaUnderConcurrency(t *testing.T, database string) {
	const path = "/wxa/get_effective_domain"
	e := arSetup(t, mstest.Options{Database: database, Config: service.Config{TokenTTL: arLongTTL},
		Limits: httpapi.Limits{Daily: map[string]int{path: 4}, PerMinute: map[string]int{path: 3}}}, nil)
	burst := func() (ok int) {
		codes := make([]int, 10)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Go(func() { codes[i] = arCode(wx(t, e.s, "POST", path, tok(e.tok), "")) })
		}
		wg.Wait()
		for _, c := range codes {
			switch c {
			case 0:
				ok++
			case 45009, 45011:
			default:
				t.Errorf("errcode %d", c)
			}
		}
		return ok
	}
	if n := burst(); n != 3 {
		t.Fatalf("%d passed in the first minute, want 3", n)
	}
	e.s.Advance(time.Minute)
	if n := burst(); n != 1 {
		t.Fatalf("%d passed in the second minute, want 1 (daily limit 4)", n)
	}
}
