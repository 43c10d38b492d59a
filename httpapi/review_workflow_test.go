package httpapi_test

// Findings of an outside review of the calls around the core, each fixed
// and kept here as the behaviour it asked for.

import (
	"bytes"
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

// TestPrivacyExtFileOutlivesMediaSweep: a privacy guide's supplementary
// file does not expire as uploadmedia's do. The sweep of expired uploads
// deleted it after 3 days, and the guide re-sent unchanged (what a
// platform does before each submit) was 86073. An expired uploadmedia
// file, swept in the same pass, still goes (TestExpiredMediaDeleted).
func TestPrivacyExtFileOutlivesMediaSweep(t *testing.T) {
	mstest.Backends(t, func(t *testing.T, db string) {
		e, _, _, tok := grSetupWith(t, mstest.Options{Database: db, Config: service.Config{TokenTTL: arLongTTL}})
		m := grUpload(e, tok, "privacy.txt", []byte("补充说明"))
		arWant(t, m, 0)
		id := fmt.Sprint(m["ext_file_media_id"])
		guide := `{"privacy_ver":2,"setting_list":[{"privacy_key":"Location","privacy_text":"定位"}],` +
			`"owner_setting":{"contact_email":"a@b.cn","notice_method":"弹窗","ext_file_media_id":"` + id + `"}}`
		e.ok("POST", "/cgi-bin/component/setprivacysetting", guide, tok)
		media := arStr(e.upload("media", arPNG), "mediaid")
		e.s.Advance(4 * 24 * time.Hour) // past MediaTTL; the sweep runs on the clock's tick
		e.ok("POST", "/cgi-bin/component/setprivacysetting", guide, tok)
		err := e.s.Store.View(t.Context(), func(tx miniship.Tx) error {
			if _, err := tx.GetMedia(media); err != miniship.ErrNotFound {
				t.Errorf("expired uploadmedia file: %v, want it deleted", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestPlatformDomainsOnlyChangesCount: of the 50 changes a month to a
// platform's domain lists, only calls that change a list count. A
// pipeline that adds its hosts before each release (an add of hosts
// already there) was locked out with 45104 after 50 runs; a real change
// still counts, and the 51st is 45104.
func TestPlatformDomainsOnlyChangesCount(t *testing.T) {
	e := arSetup(t, mstest.Options{}, nil)
	C := url.Values{"component_access_token": {componentToken(t, e.s, e.p.AppID, e.p.Secret)}}
	modify := func(body string) map[string]any {
		return wx(t, e.s, "POST", "/cgi-bin/component/modify_wxa_server_domain", C, body)
	}
	arWant(t, modify(`{"action":"add","wxa_server_domain":"api.example.com"}`), 0)
	for i := range 60 {
		m := modify(`{"action":"add","wxa_server_domain":"api.example.com"}`)
		if arCode(m) != 0 {
			t.Fatalf("unchanging add #%d: %v", i+2, m)
		}
		arWant(t, modify(`{"action":"delete","wxa_server_domain":"gone.example.com"}`), 0)
	}
	for i := range 49 { // 1 change made above: 49 more reach the limit
		arWant(t, modify(fmt.Sprintf(`{"action":"add","wxa_server_domain":"h%d.example.com"}`, i)), 0)
	}
	arWant(t, modify(`{"action":"add","wxa_server_domain":"one-more.example.com"}`), 45104)
	// The list shows what was changed, and no refused change.
	m := modify(`{"action":"get"}`)
	if list, _ := m["testing_wxa_server_domain"].(string); strings.Contains(list, "one-more") || !strings.Contains(list, "h48.example.com") {
		t.Fatalf("testing list after the limit: %v", m)
	}
}

// TestMultipartBodyToJSONEndpoint: only upload routes read a multipart
// body as one; any other reads the body whatever its Content-Type says.
// A form sent as multipart/form-data (PHP curl with an array body) was
// never read and answered 44002 "empty post data"; now it is what any
// body that is not JSON is, 47001, on the code endpoints as on the
// others. A JSON body behind a wrong multipart header is read as JSON.
func TestMultipartBodyToJSONEndpoint(t *testing.T) {
	e := arSetup(t, mstest.Options{}, nil)
	e.s.Publish(t, e.p.AppID, e.mp.AppID, e.tpl, `{"ext":{"shopName":"S"}}`, "1.0.0")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("path", "pages/index/index")
	mw.Close()
	codeErr(t, codeCall(t, e, "/wxa/getwxacode", buf.String(), mw.FormDataContentType()), jsonErrType, 47001)

	post := func(path, body string) map[string]any {
		req, _ := http.NewRequest("POST", e.s.URL+path+"?access_token="+url.QueryEscape(e.tok), strings.NewReader(body))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return e.do(req)
	}
	arWant(t, post("/wxa/get_auditstatus", buf.String()), 47001)
	arWant(t, post("/wxa/modify_domain", `{"action":"get"}`), 0)
}

// TestQuotaGetOfEitherTokenPath: openapi/quota/get answers for a path the
// token's kind calls, which for the endpoints that take either token is
// both kinds. An authorizer token that had just called clear_quota was
// refused its quota (76022); a component token still is for a path only
// authorizer tokens call.
func TestQuotaGetOfEitherTokenPath(t *testing.T) {
	e := arSetup(t, mstest.Options{}, nil)
	e.ok("POST", "/cgi-bin/clear_quota", `{"appid":"`+e.mp.AppID+`"}`)
	m := e.ok("POST", "/cgi-bin/openapi/quota/get", `{"cgi_path":"/cgi-bin/clear_quota"}`)
	if q, _ := m["quota"].(map[string]any); q == nil {
		t.Fatalf("no quota: %v", m)
	}
	C := url.Values{"component_access_token": {componentToken(t, e.s, e.p.AppID, e.p.Secret)}}
	arWant(t, wx(t, e.s, "POST", "/cgi-bin/openapi/quota/get", C, `{"cgi_path":"/cgi-bin/clear_quota"}`), 0)
	arWant(t, wx(t, e.s, "POST", "/cgi-bin/openapi/quota/get", C, `{"cgi_path":"/cgi-bin/component/api_start_push_ticket"}`), 0)
	arWant(t, wx(t, e.s, "POST", "/cgi-bin/openapi/quota/get", C, `{"cgi_path":"/wxa/commit"}`), 76022)
	e.fails(76022, "POST", "/cgi-bin/openapi/quota/get", `{"cgi_path":"/cgi-bin/component/api_start_push_ticket"}`)
}

// TestDevApplyListCategoriesIsArray: dev_apply_list's categories are a
// list, [] for an applicant without categories (was null).
func TestDevApplyListCategoriesIsArray(t *testing.T) {
	e := arSetup(t, mstest.Options{}, nil)
	_, ptok := e.addMiniProgram(&miniship.Authorizer{AppID: "wx00112233445566aa", Categories: []miniship.Category{}})
	_, ntok := e.addMiniProgram(&miniship.Authorizer{Categories: []miniship.Category{}})
	e.ok("POST", "/wxa/plugin", `{"action":"apply","plugin_appid":"wx00112233445566aa","reason":"r"}`, ntok)
	m := e.ok("POST", "/wxa/devplugin", `{"action":"dev_apply_list","page":1,"num":10}`, ptok)
	list := grList(t, m, "apply_list")
	if len(list) != 1 {
		t.Fatalf("apply_list: %v", m)
	}
	if cats, ok := list[0]["categories"].([]any); !ok || len(cats) != 0 {
		t.Fatalf("categories is %#v, want []", list[0]["categories"])
	}
}

// TestActionInQueryNeedsNoBody: memberauth, plugin and devplugin take the
// action from the body, else the query; with it in the query the body may
// be missing (it was 44002), and with neither it is still 44002.
func TestActionInQueryNeedsNoBody(t *testing.T) {
	e := arSetup(t, mstest.Options{}, nil)
	m := e.ok("POST", "/wxa/memberauth?action=get_experiencer", "")
	if _, ok := m["members"].([]any); !ok {
		t.Fatalf("memberauth: %v", m)
	}
	m = e.ok("POST", "/wxa/plugin?action=list", "")
	if _, ok := m["plugin_list"].([]any); !ok {
		t.Fatalf("plugin list: %v", m)
	}
	e.fails(44002, "POST", "/wxa/memberauth", "")
	e.fails(44002, "POST", "/wxa/plugin", "")
}

// TestReleasePromotesAuditedPrivacyGuide: release makes live the guide the
// audit carried, not whatever the development guide became since. A guide
// edited after approval (here one that no longer describes Location, which
// the released code uses and the reviewer checked) went live unreviewed;
// it now waits for the next audit, which carries and releases it.
func TestReleasePromotesAuditedPrivacyGuide(t *testing.T) {
	mstest.Backends(t, func(t *testing.T, db string) {
		e := arSetup(t, mstest.Options{Database: db}, nil)
		location := func() bool {
			m := e.ok("POST", "/cgi-bin/component/getprivacysetting", `{"privacy_ver":1}`)
			for _, it := range grList(t, m, "setting_list") {
				if it["privacy_key"] == "Location" && it["privacy_text"] != "" {
					return true
				}
			}
			return false
		}
		e.commit("1.0.0", "")
		e.scanned()
		id := e.submit()
		edited := `{"privacy_ver":2,"setting_list":[{"privacy_key":"UserInfo","privacy_text":"登录"}],` +
			`"owner_setting":{"contact_email":"a@b.cn","notice_method":"弹窗"}}`
		e.ok("POST", "/cgi-bin/component/setprivacysetting", edited) // during the review: the reviewer sees what was submitted
		e.decide(id, "approve", "", "")
		e.wantStatus(id, 0)
		e.ok("POST", "/wxa/release", `{}`)
		if !location() {
			t.Fatal("the live guide after release is not the one the audit carried")
		}
		// The edited guide goes with the next audit, which the reviewer
		// rejects: the code uses Location, which it no longer describes.
		e.commit("1.0.1", "")
		e.scanned()
		id = e.submit()
		e.decide(id, "approve", "", "")
		if m := e.ok("POST", "/wxa/get_auditstatus", fmt.Sprintf(`{"auditid":%d}`, id)); arCode(m) != 0 || fmt.Sprint(m["status"]) != "1" {
			t.Fatalf("an audit carrying a guide without Location: %v, want rejected (status 1)", m)
		}
	})
}

// TestAuditedGuideIsTheAuditsOwn: the copy of the guide an audit carried
// names that audit. An audit created without one (by a server of an
// earlier release sharing the database during a rolling deploy, or after
// a rollback) is reviewed and released with the development guide, as
// that release did, never with the copy an earlier, released audit
// carried (found by a review of the change that made the copy).
func TestAuditedGuideIsTheAuditsOwn(t *testing.T) {
	mstest.Backends(t, func(t *testing.T, db string) {
		e := arSetup(t, mstest.Options{Database: db}, nil)
		liveText := func() string {
			m := e.ok("POST", "/cgi-bin/component/getprivacysetting", `{"privacy_ver":1}`)
			for _, it := range grList(t, m, "setting_list") {
				if it["privacy_key"] == "Location" {
					s, _ := it["privacy_text"].(string)
					return s
				}
			}
			return ""
		}
		// 1. This release: submit, approve, release. The copy (ver 3) is G1.
		e.commit("1.0.0", "")
		e.scanned()
		id := e.submit()
		e.decide(id, "approve", "", "")
		e.ok("POST", "/wxa/release", `{}`)
		g1 := liveText()

		// 2. A new development guide G2.
		g2 := `{"privacy_ver":2,"setting_list":[{"privacy_key":"Location","privacy_text":"G2 定位"}],` +
			`"owner_setting":{"contact_email":"a@b.cn","notice_method":"弹窗"}}`
		e.ok("POST", "/cgi-bin/component/setprivacysetting", g2)

		// 3. The next audit is submitted by a server of the previous
		// release: it creates the audit and no copy (as SubmitAudit did
		// before 66f1917).
		e.commit("1.0.1", "")
		e.scanned()
		var id2 int64
		err := e.s.Store.Update(t.Context(), func(tx miniship.Tx) error {
			v, err := tx.LatestVersion(e.mp.AppID)
			if err != nil {
				return err
			}
			au := &miniship.Audit{AuthorizerAppID: e.mp.AppID, PlatformAppID: e.p.AppID, VersionID: v.ID,
				Status: miniship.AuditPending, SubmittedAt: e.s.Service.Now()}
			if err := tx.CreateAudit(au); err != nil {
				return err
			}
			id2 = au.ID
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		e.decide(id2, "approve", "", "")
		e.wantStatus(id2, 0)
		e.ok("POST", "/wxa/release", `{}`)
		if got := liveText(); got != "G2 定位" {
			t.Fatalf("live guide after releasing audit %d: Location %q (the copy of audit %d: %q), want G2's", id2, got, id, g1)
		}
	})
}
