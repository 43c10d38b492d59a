package wxa_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxerr"
)

// fake is a scripted WeChat: token endpoints succeed, every other call is
// recorded and answered with the next scripted body (default ok).
type fake struct {
	mu      sync.Mutex
	reqs    []recorded
	answers map[string][]string
}

type recorded struct {
	method, path, query, ctype string
	body                       []byte
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/cgi-bin/component/api_component_token":
		io.WriteString(w, `{"component_access_token":"CTOKEN","expires_in":7200}`)
		return
	case "/cgi-bin/component/api_authorizer_token":
		io.WriteString(w, `{"authorizer_access_token":"ATOKEN","expires_in":7200,"authorizer_refresh_token":"R2"}`)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), body})
	var ans string
	if q := f.answers[r.URL.Path]; len(q) > 0 {
		ans, f.answers[r.URL.Path] = q[0], q[1:]
	}
	f.mu.Unlock()
	if ans == "" {
		ans = `{"errcode":0,"errmsg":"ok"}`
	}
	if ans == "HTTP502" {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	if strings.HasPrefix(ans, "IMAGE:") {
		w.Header().Set("Content-Type", "image/jpeg")
		ans = strings.TrimPrefix(ans, "IMAGE:")
	}
	io.WriteString(w, ans)
}

func (f *fake) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("no request")
	}
	return f.reqs[len(f.reqs)-1]
}

func newFake(t *testing.T) (*fake, *wxa.Client) {
	f := &fake{answers: map[string][]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := wxa.NewClient(wxa.Options{BaseURL: srv.URL, ComponentAppID: "wxcomp", ComponentSecret: "s",
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	c.SetTicket(bg, "TICKET")
	c.SetRefreshToken(bg, "wxapp", "R1")
	return f, c
}

// TestWire checks each call's method, path and exact body: {} where WeChat
// wants one, optional fields left out (never null), ext_json a string.
func TestWire(t *testing.T) {
	f, c := newFake(t)
	app := c.App("wxapp")
	cases := []struct {
		name         string
		call         func() error
		method, path string
		query, body  string
	}{
		{"commit object", func() error {
			return app.Commit(bg, wxa.CommitRequest{TemplateID: 7, ExtJSON: map[string]any{"ext": map[string]string{"t": "<a&b>"}}, UserVersion: "1.0", UserDesc: "d"})
		}, "POST", "/wxa/commit", "", `{"template_id":7,"ext_json":"{\"ext\":{\"t\":\"<a&b>\"}}","user_version":"1.0","user_desc":"d"}`},
		{"commit string", func() error {
			return app.Commit(bg, wxa.CommitRequest{TemplateID: 7, ExtJSON: `{"a":1}`})
		}, "POST", "/wxa/commit", "", `{"template_id":7,"ext_json":"{\"a\":1}","user_version":"","user_desc":""}`},
		{"commit nil", func() error { return app.Commit(bg, wxa.CommitRequest{TemplateID: 7}) },
			"POST", "/wxa/commit", "", `{"template_id":7,"ext_json":"{}","user_version":"","user_desc":""}`},
		{"get_page", func() error { _, err := app.Pages(bg); return err }, "GET", "/wxa/get_page", "", ""},
		{"get_category", func() error { _, err := app.Categories(bg); return err }, "GET", "/wxa/get_category", "", ""},
		{"privacy", func() error { _, err := app.PrivacyInfo(bg); return err }, "GET", "/wxa/security/get_code_privacy_info", "", ""},
		{"getversioninfo", func() error { _, err := app.VersionInfo(bg); return err }, "POST", "/wxa/getversioninfo", "", `{}`},
		{"submit_audit minimal", func() error {
			_, err := app.SubmitAudit(bg, wxa.SubmitAuditRequest{ItemList: []wxa.AuditItem{{FirstClass: "a", SecondClass: "b", FirstID: 1, SecondID: 2}}})
			return err
		}, "POST", "/wxa/submit_audit", "", `{"item_list":[{"first_class":"a","second_class":"b","first_id":1,"second_id":2}]}`},
		{"submit_audit full", func() error {
			_, err := app.SubmitAudit(bg, wxa.SubmitAuditRequest{
				ItemList:    []wxa.AuditItem{{Address: "pages/index/index", Tag: "shop buy", FirstClass: "a", SecondClass: "b", ThirdClass: "c", FirstID: 1, SecondID: 2, ThirdID: 3, Title: "Home"}},
				VersionDesc: "v", PreviewInfo: &wxa.PreviewInfo{PicIDList: []string{"m1"}}, FeedbackInfo: "f", FeedbackStuff: "m2|m3",
				UGCDeclare:       &wxa.UGCDeclare{Scene: []int{2, 4}, Method: []int{1}, HasAuditTeam: 1, AuditDesc: "x"},
				PrivacyAPINotUse: true, OrderPath: "pages/order",
			})
			return err
		}, "POST", "/wxa/submit_audit", "", `{"item_list":[{"address":"pages/index/index","tag":"shop buy","first_class":"a","second_class":"b","third_class":"c","first_id":1,"second_id":2,"third_id":3,"title":"Home"}],"version_desc":"v","preview_info":{"pic_id_list":["m1"]},"feedback_info":"f","feedback_stuff":"m2|m3","ugc_declare":{"scene":[2,4],"method":[1],"has_audit_team":1,"audit_desc":"x"},"privacy_api_not_use":true,"order_path":"pages/order"}`},
		{"get_auditstatus", func() error { _, err := app.AuditStatus(bg, 42); return err }, "POST", "/wxa/get_auditstatus", "", `{"auditid":42}`},
		{"get_latest_auditstatus", func() error { _, err := app.LatestAuditStatus(bg); return err }, "GET", "/wxa/get_latest_auditstatus", "", ""},
		{"undocodeaudit", func() error { return app.UndoAudit(bg) }, "GET", "/wxa/undocodeaudit", "", ""},
		{"speedupaudit", func() error { return app.SpeedupAudit(bg, 42) }, "POST", "/wxa/speedupaudit", "", `{"auditid":42}`},
		{"queryquota", func() error { _, err := app.QueryQuota(bg); return err }, "GET", "/wxa/queryquota", "", ""},
		{"release", func() error { return app.Release(bg) }, "POST", "/wxa/release", "", `{}`},
		{"change_visitstatus", func() error { return app.ChangeVisitStatus(bg, wxa.VisitClose) }, "POST", "/wxa/change_visitstatus", "", `{"action":"close"}`},
		{"getvisitstatus", func() error { _, err := app.VisitStatus(bg); return err }, "POST", "/wxa/getvisitstatus", "", `{}`},
		{"revert previous", func() error { return app.RevertRelease(bg, 0) }, "GET", "/wxa/revertcoderelease", "", ""},
		{"revert to", func() error { return app.RevertRelease(bg, 3) }, "GET", "/wxa/revertcoderelease", "app_version=3", ""},
		{"history", func() error { _, err := app.ReleaseHistory(bg); return err }, "GET", "/wxa/revertcoderelease", "action=get_history_version", ""},
		{"grayrelease 0", func() error { return app.GrayRelease(bg, wxa.GrayReleaseRequest{SupportDebuggerFirst: true}) },
			"POST", "/wxa/grayrelease", "", `{"gray_percentage":0,"support_debuger_first":true}`},
		{"grayrelease", func() error { return app.GrayRelease(bg, wxa.GrayReleaseRequest{GrayPercentage: 10}) }, "POST", "/wxa/grayrelease", "", `{"gray_percentage":10}`},
		{"revertgrayrelease", func() error { return app.RevertGrayRelease(bg) }, "GET", "/wxa/revertgrayrelease", "", ""},
		{"getgrayreleaseplan", func() error { _, err := app.GrayReleasePlan(bg); return err }, "GET", "/wxa/getgrayreleaseplan", "", ""},
		{"getweappsupportversion", func() error { _, err := app.SupportVersion(bg); return err }, "POST", "/cgi-bin/wxopen/getweappsupportversion", "", `{}`},
		{"setweappsupportversion", func() error { return app.SetSupportVersion(bg, "2.30.0") }, "POST", "/cgi-bin/wxopen/setweappsupportversion", "", `{"version":"2.30.0"}`},
		{"gettemplatedraftlist", func() error { _, err := c.TemplateDrafts(bg); return err }, "GET", "/wxa/gettemplatedraftlist", "", ""},
		{"addtotemplate", func() error { return c.AddToTemplate(bg, 5, wxa.TemplateNormal) }, "POST", "/wxa/addtotemplate", "", `{"draft_id":5,"template_type":0}`},
		{"gettemplatelist all", func() error { _, err := c.TemplateList(bg, wxa.AllTemplates); return err }, "GET", "/wxa/gettemplatelist", "", ""},
		{"gettemplatelist std", func() error { _, err := c.TemplateList(bg, wxa.TemplateStandard); return err }, "GET", "/wxa/gettemplatelist", "template_type=1", ""},
		{"deletetemplate", func() error { return c.DeleteTemplate(bg, 9) }, "POST", "/wxa/deletetemplate", "", `{"template_id":9}`},
		{"preauthcode", func() error { _, err := c.CreatePreAuthCode(bg); return err }, "POST", "/cgi-bin/component/api_create_preauthcode", "", `{"component_appid":"wxcomp"}`},
		{"authorizer info", func() error { _, err := c.AuthorizerInfo(bg, "wxapp"); return err }, "POST", "/cgi-bin/component/api_get_authorizer_info", "", `{"authorizer_appid":"wxapp","component_appid":"wxcomp"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			r := f.last(t)
			if r.method != tc.method || r.path != tc.path || string(r.body) != tc.body {
				t.Fatalf("sent %s %s %s\nwant %s %s %s", r.method, r.path, r.body, tc.method, tc.path, tc.body)
			}
			// The token is in the query under the name each endpoint family uses.
			q := strings.Replace(r.query, "access_token=ATOKEN", "", 1)
			q = strings.Replace(q, "component_access_token=CTOKEN", "", 1)
			q = strings.Replace(q, "access_token=CTOKEN", "", 1)
			if strings.Trim(q, "&") != tc.query || q == r.query {
				t.Fatalf("query %q, want the token and %q", r.query, tc.query)
			}
			if tc.body != "" && !strings.HasPrefix(r.ctype, "application/json") {
				t.Fatalf("Content-Type %q", r.ctype)
			}
		})
	}
}

// TestAnswers decodes answers as WeChat writes them, including its
// inconsistencies.
func TestAnswers(t *testing.T) {
	f, c := newFake(t)
	app := c.App("wxapp")
	f.answers["/wxa/get_latest_auditstatus"] = []string{
		`{"errcode":0,"errmsg":"ok","auditid":"1234","status":1,"reason":"bad<br>","ScreenShot":"a|b","user_version":"1.0","user_desc":"d","submit_audit_time":1700000000}`,
		`{"errcode":0,"errmsg":"ok","auditid":1234,"status":1,"screenshot":"c"}`,
		`{"errcode":0,"errmsg":"ok","auditid":1234,"status":1,"screenshot":"d","ScreenShot":"d"}`,
	}
	for _, want := range []string{"a|b", "c", "d"} {
		st, err := app.LatestAuditStatus(bg)
		if err != nil || st.AuditID != 1234 || st.Status != wxa.AuditRejected || st.ScreenShot != want {
			t.Fatalf("LatestAuditStatus = %+v, %v; want screenshot %q", st, err, want)
		}
	}
	f.answers["/wxa/get_qrcode"] = []string{"IMAGE:\xff\xd8jpeg", `{"errcode":-1,"errmsg":"system error rid: r1"}`, `{"errcode":86001,"errmsg":"component experience version not exists rid: r2"}`}
	qr, err := app.QRCode(bg, "pages/a?x=1")
	if err != nil || qr.ContentType != "image/jpeg" || string(qr.Data) != "\xff\xd8jpeg" {
		t.Fatalf("QRCode = %+v, %v", qr, err)
	}
	if q := f.last(t).query; !strings.Contains(q, "path=pages%2Fa%3Fx%3D1") {
		t.Fatalf("path not encoded once: %s", q)
	}
	// Errors come as JSON; -1 is retried.
	if _, err := app.QRCode(bg, ""); !errors.Is(err, wxerr.NoExperienceVersion) {
		t.Fatalf("QRCode: %v, want 86001 after retrying -1", err)
	}
	f.answers["/wxa/release"] = []string{`{"errcode":85019,"errmsg":"no version is under auditing rid: 67b1-aa"}`}
	err = app.Release(bg)
	var we *wxa.Error
	if !errors.As(err, &we) || we.Code != wxerr.NoAuditVersion || we.Msg != "no version is under auditing" || we.RID != "67b1-aa" {
		t.Fatalf("Release = %#v", err)
	}
	// A 40014 answer refreshes the token once and retries.
	f.answers["/wxa/queryquota"] = []string{`{"errcode":40014,"errmsg":"invalid access_token"}`, `{"errcode":0,"errmsg":"ok","rest":9,"limit":20,"speedup_rest":1,"speedup_limit":3}`}
	if q, err := app.QueryQuota(bg); err != nil || q.Rest != 9 || q.SpeedupLimit != 3 {
		t.Fatalf("QueryQuota = %+v, %v", q, err)
	}
	if rt, _ := c.RefreshToken(bg, "wxapp"); rt != "R2" {
		t.Fatalf("refresh token %q, want the latest (R2)", rt)
	}
	// A gateway's 502 is retried for reads, not for writes (the write may
	// have happened).
	f.answers["/wxa/get_page"] = []string{"HTTP502", `{"errcode":0,"errmsg":"ok","page_list":["a"]}`}
	if p, err := app.Pages(bg); err != nil || len(p) != 1 {
		t.Fatalf("Pages = %v, %v", p, err)
	}
	f.answers["/wxa/commit"] = []string{"HTTP502"}
	var he *wxa.HTTPError
	if err := app.Commit(bg, wxa.CommitRequest{}); !errors.As(err, &he) || he.StatusCode != 502 {
		t.Fatalf("Commit = %v, want the 502", err)
	}
}

// TestUploadMedia sends a multipart "media" part with the sniffed type.
func TestUploadMedia(t *testing.T) {
	f, c := newFake(t)
	f.answers["/wxa/uploadmedia"] = []string{`{"errcode":0,"errmsg":"ok","type":"image","mediaid":"M1"}`}
	png := []byte("\x89PNG\r\n\x1a\n0000")
	m, err := c.App("wxapp").UploadMedia(bg, `shot "1".png`, png)
	if err != nil || m.MediaID != "M1" || m.Type != "image" {
		t.Fatalf("UploadMedia = %+v, %v", m, err)
	}
	r := f.last(t)
	req, _ := http.NewRequest("POST", "/", bytes.NewReader(r.body))
	req.Header.Set("Content-Type", r.ctype)
	file, hdr, err := req.FormFile("media")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(file)
	if !bytes.Equal(got, png) || hdr.Filename != `shot "1".png` || hdr.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("part %q %q %q", hdr.Filename, hdr.Header.Get("Content-Type"), got)
	}
}

func TestExtJSONString(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, "{}"},
		{`{"a":1}`, `{"a":1}`},
		{[]byte(`{"b":2}`), `{"b":2}`},
		{json.RawMessage(`{"c":3}`), `{"c":3}`},
		{map[string]any{"x": "<>&"}, `{"x":"<>&"}`},
		{struct {
			A string `json:"extAppid"`
		}{"wx1"}, `{"extAppid":"wx1"}`},
	} {
		if got, err := wxa.ExtJSONString(tc.in); err != nil || got != tc.want {
			t.Errorf("ExtJSONString(%v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := wxa.ExtJSONString(func() {}); err == nil {
		t.Error("a func marshalled")
	}
}

func unzipFile(t *testing.T, b []byte, name string) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v (%q)", err, b)
	}
	f, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, _ := io.ReadAll(f)
	return string(data)
}
