package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/miniship/miniship/mstest"
)

// TestAuditReleaseLife walks one mini program through its whole life over
// the real listener: commit, privacy scan, submit, reject, undo, delay,
// approve, release, gray release 10% → 50%, revert gray, a second release,
// rollback and the history, checking every state read on the way.
func TestAuditReleaseLife(t *testing.T) { mstest.Backends(t, testAuditReleaseLife) }

func testAuditReleaseLife(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)

	// Commit; the privacy scan runs for ScanDuration on the server clock.
	e.commit("1.0.0", "")
	e.fails(61039, "GET", "/wxa/security/get_code_privacy_info", "")
	e.fails(61039, "POST", "/wxa/submit_audit", `{"item_list":[`+arItem+`]}`)
	e.fails(85012, "GET", "/wxa/get_latest_auditstatus", "") // the refused submit stored nothing
	e.scanned()
	priv := e.ok("GET", "/wxa/security/get_code_privacy_info", "")
	if fmt.Sprint(priv["without_auth_list"], priv["without_conf_list"]) != "[] []" {
		t.Fatalf("privacy info: %v", priv)
	}

	// Submit, then the reviewer rejects with a reason and screenshots.
	a1 := e.submit()
	m := e.wantStatus(a1, 2)
	if arStr(m, "reason") != "" {
		t.Fatalf("in review with a reason: %v", m)
	}
	e.fails(85009, "POST", "/wxa/submit_audit", `{"item_list":[`+arItem+`]}`)
	st, q := e.admin("GET", "/miniship/v1/audits?status=2", nil)
	if st != 200 || !slices.ContainsFunc(q["audits"].([]any), func(x any) bool { return arInt(t, x.(map[string]any), "auditid") == a1 }) {
		t.Fatalf("queue: %d %v", st, q)
	}
	e.decide(a1, "reject", "1:页面空白<br>", "mediaA|mediaB")
	m = e.wantStatus(a1, 1)
	if arStr(m, "reason") != "1:页面空白<br>" || arStr(m, "screenshot") != "mediaA|mediaB" || arStr(m, "ScreenShot") != "mediaA|mediaB" {
		t.Fatalf("rejected: %v", m)
	}
	e.fails(85020, "POST", "/wxa/release", `{}`)

	// A fixed commit; submit and withdraw it.
	e.commit("1.0.1", "")
	e.scanned()
	a2 := e.submit()
	e.ok("GET", "/wxa/undocodeaudit", "")
	e.wantStatus(a2, 3)
	e.fails(87012, "GET", "/wxa/undocodeaudit", "") // nothing left to withdraw
	e.fails(85019, "POST", "/wxa/release", `{}`)

	// Submit again; the reviewer delays, then approves.
	a3 := e.submit()
	e.decide(a3, "delay", "需要更多时间", "")
	m = e.wantStatus(a3, 4)
	if arStr(m, "reason") != "需要更多时间" {
		t.Fatalf("delayed: %v", m)
	}
	e.fails(85009, "POST", "/wxa/submit_audit", `{"item_list":[`+arItem+`]}`) // delayed is still in review
	e.fails(85020, "POST", "/wxa/release", `{}`)
	e.decide(a3, "approve", "", "")
	e.wantStatus(a3, 0)
	latest := e.ok("GET", "/wxa/get_latest_auditstatus", "")
	if arInt(t, latest, "auditid") != a3 || arInt(t, latest, "status") != 0 || arStr(latest, "user_version") != "1.0.1" ||
		arInt(t, latest, "submit_audit_time") != e.s.Clock.Now().Unix() {
		t.Fatalf("latest: %v", latest)
	}
	if _, ok := latest["ScreenShot"]; !ok {
		t.Fatalf("latest lacks ScreenShot: %v", latest)
	}

	// Release: the approved 1.0.1 goes online, once.
	if e.online() != "" {
		t.Fatal("online before any release")
	}
	e.fails(85079, "POST", "/wxa/grayrelease", `{"gray_percentage":10}`) // gray needs an online version
	e.ok("POST", "/wxa/release", `{}`)
	if v := e.online(); v != "1.0.1" {
		t.Fatalf("online %q after release", v)
	}
	e.fails(85052, "POST", "/wxa/release", `{}`)
	if s := arInt(t, e.ok("POST", "/wxa/getvisitstatus", `{}`), "status"); s != 1 {
		t.Fatalf("visit status %d after release", s)
	}
	e.ok("POST", "/wxa/change_visitstatus", `{"action":"close"}`)
	if s := arInt(t, e.ok("POST", "/wxa/getvisitstatus", `{}`), "status"); s != 0 {
		t.Fatalf("visit status %d after close", s)
	}
	e.ok("POST", "/wxa/change_visitstatus", `{"action":"open"}`)

	// 1.1.0: approved, then phased in: 10%, 50%; percentages only grow and
	// a gray release forbids rollback.
	e.commit("1.1.0", "")
	e.scanned()
	a4 := e.submit()
	e.fails(85080, "POST", "/wxa/grayrelease", `{"gray_percentage":10}`) // still in review
	e.decide(a4, "approve", "", "")
	e.ok("POST", "/wxa/grayrelease", `{"gray_percentage":10}`)
	plan := e.ok("GET", "/wxa/getgrayreleaseplan", "")["gray_release_plan"].(map[string]any)
	if arInt(t, plan, "status") != 1 || arInt(t, plan, "gray_percentage") != 10 || arInt(t, plan, "create_timestamp") != e.s.Clock.Now().Unix() {
		t.Fatalf("plan at 10%%: %v", plan)
	}
	e.fails(85082, "POST", "/wxa/grayrelease", `{"gray_percentage":10}`)
	e.ok("POST", "/wxa/grayrelease", `{"gray_percentage":50,"support_experiencer_first":true}`)
	e.fails(85082, "POST", "/wxa/grayrelease", `{"gray_percentage":30}`)
	plan = e.ok("GET", "/wxa/getgrayreleaseplan", "")["gray_release_plan"].(map[string]any)
	if arInt(t, plan, "gray_percentage") != 50 || plan["support_experiencer_first"] != true {
		t.Fatalf("plan at 50%%: %v", plan)
	}
	e.fails(87011, "GET", "/wxa/revertcoderelease", "")
	if v := e.online(); v != "1.0.1" {
		t.Fatalf("online %q during gray, want the released 1.0.1", v)
	}

	// Revert the gray release: the plan is deleted (4) and may start over.
	e.ok("GET", "/wxa/revertgrayrelease", "")
	plan = e.ok("GET", "/wxa/getgrayreleaseplan", "")["gray_release_plan"].(map[string]any)
	if arInt(t, plan, "status") != 4 {
		t.Fatalf("plan after revert: %v", plan)
	}
	e.ok("POST", "/wxa/grayrelease", `{"gray_percentage":5}`) // a new plan starts from any percentage

	// The second release finishes the gray plan.
	e.ok("POST", "/wxa/release", `{}`)
	if v := e.online(); v != "1.1.0" {
		t.Fatalf("online %q after the second release", v)
	}
	plan = e.ok("GET", "/wxa/getgrayreleaseplan", "")["gray_release_plan"].(map[string]any)
	if arInt(t, plan, "status") != 3 || arInt(t, plan, "gray_percentage") != 5 {
		t.Fatalf("plan after release: %v", plan)
	}

	// History and rollback: back to 1.0.1; 1.1.0 can never be a target.
	hist := e.ok("GET", "/wxa/revertcoderelease?action=get_history_version", "")["version_list"].([]any)
	if len(hist) != 1 || arStr(hist[0].(map[string]any), "user_version") != "1.0.1" {
		t.Fatalf("history before rollback: %v", hist)
	}
	h0 := hist[0].(map[string]any)
	if arStr(h0, "user_desc") != "desc 1.0.1" || arInt(t, h0, "commit_time") == 0 || arInt(t, h0, "app_version") == 0 {
		t.Fatalf("history entry: %v", h0)
	}
	e.ok("GET", "/wxa/revertcoderelease", "")
	if v := e.online(); v != "1.0.1" {
		t.Fatalf("online %q after rollback", v)
	}
	hist = e.ok("GET", "/wxa/revertcoderelease?action=get_history_version", "")["version_list"].([]any)
	if len(hist) != 0 {
		t.Fatalf("history after rollback: %v", hist)
	}
	e.fails(87012, "GET", "/wxa/revertcoderelease", "")
	e.fails(85052, "POST", "/wxa/release", `{}`) // the rolled-back audit stays released

	// The experience version is still the newest commit.
	vi := e.ok("POST", "/wxa/getversioninfo", `{}`)
	if exp := vi["exp_info"].(map[string]any); arStr(exp, "exp_version") != "1.1.0" {
		t.Fatalf("exp_info: %v", vi)
	}
}

// TestRollbackHistory checks the five-release window, rolling back to a
// named app_version, and that everything newer than the target is marked
// rolled back.
func TestRollbackHistory(t *testing.T) { mstest.Backends(t, testRollbackHistory) }

func testRollbackHistory(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	release := func(v string) {
		e.commit(v, "")
		e.scanned()
		id := e.submit()
		e.decide(id, "approve", "", "")
		e.ok("POST", "/wxa/release", `{}`)
	}
	e.fails(87012, "GET", "/wxa/revertcoderelease", "") // nothing online
	for i := 1; i <= 7; i++ {
		release(fmt.Sprintf("1.0.%d", i))
	}
	versions := func() []string {
		var out []string
		for _, h := range e.ok("GET", "/wxa/revertcoderelease?action=get_history_version", "")["version_list"].([]any) {
			out = append(out, arStr(h.(map[string]any), "user_version"))
		}
		return out
	}
	// The last 5 releases are 1.0.3 to 1.0.7; 1.0.7 is online.
	if got := strings.Join(versions(), " "); got != "1.0.6 1.0.5 1.0.4 1.0.3" {
		t.Fatalf("history = %q", got)
	}
	var appVersion int64
	for _, h := range e.ok("GET", "/wxa/revertcoderelease?action=get_history_version&app_version=1", "")["version_list"].([]any) {
		if arStr(h.(map[string]any), "user_version") == "1.0.4" {
			appVersion = arInt(t, h.(map[string]any), "app_version")
		}
	}
	e.fails(40097, "GET", "/wxa/revertcoderelease?app_version=abc", "")
	e.fails(40097, "GET", "/wxa/revertcoderelease?action=list", "")
	e.fails(87012, "GET", "/wxa/revertcoderelease?app_version=999999", "")
	if e.online() != "1.0.7" {
		t.Fatal("a refused rollback changed the online version")
	}
	e.ok("GET", fmt.Sprintf("/wxa/revertcoderelease?app_version=%d", appVersion), "")
	if v := e.online(); v != "1.0.4" {
		t.Fatalf("online %q after rollback to 1.0.4", v)
	}
	if got := strings.Join(versions(), " "); got != "1.0.3" {
		t.Fatalf("history after rollback = %q (1.0.5 to 1.0.7 are rolled back)", got)
	}
	e.ok("POST", "/wxa/revertcoderelease", "") // POST works too: back to 1.0.3
	if v := e.online(); v != "1.0.3" {
		t.Fatalf("online %q", v)
	}
	// 1.0.1 and 1.0.2 fell out of the window.
	e.fails(87012, "GET", "/wxa/revertcoderelease", "")
	release("1.0.8")
	if got := strings.Join(versions(), " "); got != "" {
		t.Fatalf("history after a new release = %q: every other release in the window is rolled back", got)
	}
}

// TestReleaseErrcodes covers the release family's refusals, each of which
// must leave the state as it was.
func TestReleaseErrcodes(t *testing.T) { mstest.Backends(t, testReleaseErrcodes) }

func testReleaseErrcodes(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	e.fails(85019, "POST", "/wxa/release", `{}`)
	e.fails(44002, "POST", "/wxa/release", ``)
	e.fails(47001, "POST", "/wxa/release", `{`)
	// WeChat answers 47001 for a body that is not a JSON object; the SDKs
	// in use (EasyWeChat 4-6, WxJava, wechatpy) all send {}.
	for _, path := range []string{"/wxa/release", "/wxa/getvisitstatus", "/cgi-bin/wxopen/getweappsupportversion", "/wxa/getversioninfo"} {
		for _, body := range []string{`[]`, `null`, `5`, `"x"`, `{`, `{}x`} {
			e.fails(47001, "POST", path, body)
		}
		e.fails(44002, "POST", path, ``)
	}
	e.fails(43002, "GET", "/wxa/release", ``)
	e.fails(85021, "POST", "/wxa/change_visitstatus", `{"action":"close"}`)
	e.fails(85022, "POST", "/wxa/change_visitstatus", `{"action":"hide"}`)
	e.fails(44002, "POST", "/wxa/getvisitstatus", ``)
	e.fails(85079, "POST", "/wxa/grayrelease", `{"gray_percentage":10}`)
	for _, body := range []string{`{"gray_percentage":101}`, `{"gray_percentage":-1}`, `{"gray_percentage":0}`, `{}`, `{"gray_percentage":99999999999}`} {
		e.fails(85081, "POST", "/wxa/grayrelease", body)
	}
	// The message names the percentage the caller sent.
	for _, pct := range []string{"101", "-7", "99999999999"} {
		m := e.fails(85081, "POST", "/wxa/grayrelease", `{"gray_percentage":`+pct+`}`)
		if msg, _ := m["errmsg"].(string); !strings.Contains(msg, "gray_percentage "+pct+":") {
			t.Errorf("grayrelease %s: errmsg %q does not name it", pct, msg)
		}
	}
	e.fails(47001, "POST", "/wxa/grayrelease", `{"gray_percentage":"ten"}`)

	// Online 1.0.0, then an approved 1.0.1 waiting.
	e.commit("1.0.0", "")
	e.scanned()
	e.decide(e.submit(), "approve", "", "")
	e.ok("POST", "/wxa/release", ` {} `)
	e.fails(85080, "POST", "/wxa/grayrelease", `{"gray_percentage":10}`) // the slot is released
	e.commit("1.0.1", "")
	e.scanned()
	a := e.submit()
	e.fails(85080, "POST", "/wxa/grayrelease", `{"gray_percentage":10}`)
	e.decide(a, "approve", "", "")
	e.ok("POST", "/wxa/grayrelease", `{"gray_percentage":0,"support_debuger_first":true}`) // 0% to debuggers
	e.ok("POST", "/wxa/grayrelease", `{"gray_percentage":"1","support_debuger_first":1}`)  // lenient number and flag
	plan := e.ok("POST", "/wxa/getgrayreleaseplan", "")["gray_release_plan"].(map[string]any)
	if arInt(t, plan, "gray_percentage") != 1 || plan["support_debuger_first"] != true {
		t.Fatalf("plan: %v", plan)
	}
	e.ok("POST", "/wxa/revertgrayrelease", "")
	e.ok("GET", "/wxa/revertgrayrelease", "") // nothing running: a no-op

	// Base library.
	sv := e.ok("POST", "/cgi-bin/wxopen/getweappsupportversion", `{}`)
	items := sv["uv_info"].(map[string]any)["items"].([]any)
	if arStr(sv, "now_version") != "1.0.0" || len(items) < 5 {
		t.Fatalf("support version: %v", sv)
	}
	e.fails(44002, "POST", "/cgi-bin/wxopen/getweappsupportversion", ``)
	e.fails(85015, "POST", "/cgi-bin/wxopen/setweappsupportversion", `{"version":"latest"}`)
	e.fails(85015, "POST", "/cgi-bin/wxopen/setweappsupportversion", `{}`)
	e.fails(89014, "POST", "/cgi-bin/wxopen/setweappsupportversion", `{"version":"2.99.0"}`)
	e.ok("POST", "/cgi-bin/wxopen/setweappsupportversion", `{"version":"2.21.0"}`)
	if v := arStr(e.ok("POST", "/cgi-bin/wxopen/getweappsupportversion", `{"ignored":1}`), "now_version"); v != "2.21.0" {
		t.Fatalf("now_version %q after set", v)
	}

	// Profile incomplete: 86002 for gray release too.
	inc := arMiniProgram()
	inc.ProfileComplete = false
	_, tok := e.addMiniProgram(inc)
	e.fails(86002, "POST", "/wxa/grayrelease", `{"gray_percentage":10}`, tok)
}

// TestMethodTolerance pins the methods each endpoint accepts (the table in
// httpapi/release.go): the documented one, plus the one SDKs send.
func TestMethodTolerance(t *testing.T) {
	e := arSetup(t, mstest.Options{}, nil)
	e.commit("1.0.0", "")
	e.scanned()
	cases := []struct {
		path     string
		get      int // errcode answered to GET with no body
		post     int // errcode answered to POST {}
		postBody string
	}{
		{"/wxa/submit_audit", 43002, 0, `{"item_list":[` + arItem + `]}`},
		{"/wxa/get_auditstatus", 43002, 85012, `{"auditid":1234}`},
		{"/wxa/get_latest_auditstatus", 0, 0, `{}`},
		{"/wxa/speedupaudit", 43002, 85012, `{"auditid":1234}`},
		{"/wxa/queryquota", 0, 0, `{}`},
		{"/wxa/uploadmedia", 43002, 41005, `{}`},
		{"/wxa/release", 43002, 85020, `{}`},
		{"/wxa/change_visitstatus", 43002, 85021, `{"action":"open"}`},
		{"/wxa/getvisitstatus", 43002, 0, `{}`},
		{"/wxa/grayrelease", 43002, 85079, `{"gray_percentage":10}`},
		{"/wxa/revertgrayrelease", 0, 0, `{}`},
		{"/wxa/getgrayreleaseplan", 0, 0, `{}`},
		{"/wxa/revertcoderelease", 87012, 87012, `{}`},
		{"/cgi-bin/wxopen/getweappsupportversion", 43002, 0, `{}`},
		{"/cgi-bin/wxopen/setweappsupportversion", 43002, 0, `{"version":"2.0.0"}`},
		{"/wxa/undocodeaudit", 87012, 0, `{}`}, // last: POST withdraws the audit submitted above
	}
	for _, c := range cases {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			e.t = t
			arWant(t, e.call("POST", c.path, c.postBody), c.post)
			arWant(t, e.call("GET", c.path, ""), c.get)
			arWant(t, e.call(http.MethodPut, c.path, c.postBody), map[bool]int{true: 43002, false: 43001}[c.get == 43002])
		})
	}
}
