package httpapi_test

// Helpers of the audit and release tests (audit_*_test.go, release_*_test.go).
// They are prefixed "ar" to stay clear of the other e2e helpers of this
// package, which other work changes at the same time.

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/miniship/miniship/service"
)

// arEnv is a server with one platform and one mini program, and the
// mini program's authorizer token, obtained over the wire.
type arEnv struct {
	t   testing.TB
	s   *mstest.Server
	p   *miniship.Platform
	mp  *miniship.Authorizer
	tok string
	tpl int64
	hc  *http.Client
}

// arLongTTL keeps tokens alive in tests that move the clock by days: they
// test quotas, not token expiry.
const arLongTTL = 200 * 24 * time.Hour

// arMiniProgram is a mini program that can pass an audit of the demo
// template: complete profile, one category, and the getLocation grant the
// template's store page needs.
func arMiniProgram() *miniship.Authorizer {
	return &miniship.Authorizer{
		ProfileComplete: true,
		Categories:      []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 287, SecondID: 612}},
		PrivacyAPIs:     []string{"getLocation"},
	}
}

func arSetup(t testing.TB, o mstest.Options, p *miniship.Platform) *arEnv {
	t.Helper()
	s := mstest.New(t, o)
	e := &arEnv{t: t, s: s, hc: &http.Client{Timeout: 30 * time.Second}}
	e.p = s.Platform(t, p)
	e.tpl = s.Template(t, e.p.AppID, nil, 0)
	e.mp, e.tok = e.addMiniProgram(arMiniProgram())
	return e
}

// addMiniProgram registers and authorizes a mini program on the platform
// and returns it with an authorizer token got through api_authorizer_token.
func (e *arEnv) addMiniProgram(a *miniship.Authorizer) (*miniship.Authorizer, string) {
	e.t.Helper()
	a, refresh := e.s.MiniProgram(e.t, e.p.AppID, a)
	e.s.PrivacyGuide(e.t, a.AppID) // the demo template uses getLocation: audits check the guide
	m := e.raw("POST", "/cgi-bin/component/api_component_token", nil, fmt.Sprintf(
		`{"component_appid":%q,"component_appsecret":%q,"component_verify_ticket":%q}`, e.p.AppID, e.p.Secret, e.s.Ticket(e.t, e.p.AppID)))
	ctoken, _ := m["component_access_token"].(string)
	m = e.raw("POST", "/cgi-bin/component/api_authorizer_token", url.Values{"component_access_token": {ctoken}}, fmt.Sprintf(
		`{"component_appid":%q,"authorizer_appid":%q,"authorizer_refresh_token":%q}`, e.p.AppID, a.AppID, refresh))
	tok, _ := m["authorizer_access_token"].(string)
	if tok == "" {
		e.t.Fatalf("no authorizer token: %v", m)
	}
	return a, tok
}

// raw calls a WeChat endpoint and decodes the answer, which must be HTTP
// 200 JSON as every WeChat answer is.
func (e *arEnv) raw(method, path string, q url.Values, body string) map[string]any {
	e.t.Helper()
	u := e.s.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return e.do(req)
}

func (e *arEnv) do(req *http.Request) map[string]any {
	e.t.Helper()
	res, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return readWeChat(e.t, res)
}

// call calls an endpoint with the mini program's token (or tok[0]).
func (e *arEnv) call(method, path, body string, tok ...string) map[string]any {
	e.t.Helper()
	token := e.tok
	if len(tok) > 0 {
		token = tok[0]
	}
	q := url.Values{"access_token": {token}}
	if p, query, ok := strings.Cut(path, "?"); ok {
		extra, _ := url.ParseQuery(query)
		for k, v := range extra {
			q[k] = v
		}
		path = p
	}
	return e.raw(method, path, q, body)
}

// ok calls and wants errcode 0.
func (e *arEnv) ok(method, path, body string, tok ...string) map[string]any {
	e.t.Helper()
	m := e.call(method, path, body, tok...)
	arWant(e.t, m, 0)
	return m
}

// fails calls and wants the errcode.
func (e *arEnv) fails(code int, method, path, body string, tok ...string) map[string]any {
	e.t.Helper()
	m := e.call(method, path, body, tok...)
	arWant(e.t, m, code)
	return m
}

func arCode(m map[string]any) int {
	n, _ := m["errcode"].(json.Number)
	v, _ := n.Int64()
	return int(v)
}

// arWant checks the errcode, and that an error carries the rid WeChat
// appends to every errmsg.
func arWant(t testing.TB, m map[string]any, code int) {
	t.Helper()
	if got := arCode(m); got != code {
		t.Fatalf("errcode = %d, want %d (answer %v)", got, code, m)
	}
	msg, _ := m["errmsg"].(string)
	if code != 0 && !strings.Contains(msg, " rid: ") {
		t.Fatalf("errmsg %q carries no rid", msg)
	}
	if code == 0 && msg != "ok" {
		t.Fatalf("errmsg %q, want ok", msg)
	}
}

func arInt(t testing.TB, m map[string]any, key string) int64 {
	t.Helper()
	n, ok := m[key].(json.Number)
	if !ok {
		t.Fatalf("%s is %T (%v), want a number; answer %v", key, m[key], m[key], m)
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatalf("%s = %v: %v", key, n, err)
	}
	return v
}

func arStr(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// commit commits the demo template for the mini program (tok) with the ext
// object given as JSON, and returns after the call.
func (e *arEnv) commit(version, ext string, tok ...string) {
	e.t.Helper()
	if ext == "" {
		ext = `{"ext":{"shopName":"Shop"}}`
	}
	extStr, _ := json.Marshal(ext)
	e.ok("POST", "/wxa/commit", fmt.Sprintf(`{"template_id":%d,"ext_json":%s,"user_version":%q,"user_desc":"desc %s"}`,
		e.tpl, extStr, version, version), tok...)
}

// scanned moves the clock past the privacy scan of the last commit.
func (e *arEnv) scanned() { e.s.Advance(e.s.Service.Config().ScanDuration) }

// arItem is a valid item_list entry for the default mini program.
const arItem = `{"address":"pages/index/index","tag":"工具 效率","first_class":"工具","second_class":"效率","first_id":287,"second_id":612,"title":"首页"}`

// submit submits with one valid item and returns the auditid.
func (e *arEnv) submit(tok ...string) int64 {
	e.t.Helper()
	m := e.ok("POST", "/wxa/submit_audit", `{"item_list":[`+arItem+`]}`, tok...)
	return arInt(e.t, m, "auditid")
}

// status reads an audit's status through get_auditstatus.
func (e *arEnv) status(id int64, tok ...string) map[string]any {
	e.t.Helper()
	return e.ok("POST", "/wxa/get_auditstatus", fmt.Sprintf(`{"auditid":%d}`, id), tok...)
}

func (e *arEnv) wantStatus(id int64, want int, tok ...string) map[string]any {
	e.t.Helper()
	m := e.status(id, tok...)
	if got := arInt(e.t, m, "status"); got != int64(want) {
		e.t.Fatalf("audit %d: status %d, want %d (%v)", id, got, want, m)
	}
	return m
}

// admin calls the admin API and decodes its JSON answer.
func (e *arEnv) admin(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	res, raw := e.adminRaw(method, path, r, nil)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		e.t.Fatalf("admin %s %s: not JSON: %v", method, path, err)
	}
	return res.StatusCode, m
}

// adminRaw calls the admin API with the extra headers and returns the
// answer with its body read.
func (e *arEnv) adminRaw(method, path string, body io.Reader, header map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.s.URL+path, body)
	req.Header.Set("Authorization", "Bearer "+e.s.AdminKey)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, raw
}

// decide makes the reviewer's decision through the admin API.
func (e *arEnv) decide(id int64, result, reason, screenshot string) {
	e.t.Helper()
	st, m := e.admin("POST", fmt.Sprintf("/miniship/v1/audits/%d/decision", id),
		map[string]string{"result": result, "reason": reason, "screenshot": screenshot})
	if st != http.StatusOK {
		e.t.Fatalf("decision %s on %d: HTTP %d %v", result, id, st, m)
	}
}

// approve approves through the service, as the reviewer would; for the
// benchmark, which times only the WeChat calls.
func (e *arEnv) approve(id int64) {
	if _, err := e.s.Service.DecideAudit(context.Background(), id, service.Decision{Result: service.DecisionApprove}); err != nil {
		e.t.Fatal(err)
	}
}

// upload posts a file to /wxa/uploadmedia in the multipart field.
func (e *arEnv) upload(field string, data []byte) map[string]any {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile(field, "upload.bin")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", e.s.URL+"/wxa/uploadmedia?access_token="+url.QueryEscape(e.tok), &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return e.do(req)
}

// online returns getversioninfo's release_version ("" when none).
func (e *arEnv) online(tok ...string) string {
	e.t.Helper()
	m := e.ok("POST", "/wxa/getversioninfo", `{}`, tok...)
	r, _ := m["release_info"].(map[string]any)
	return arStr(r, "release_version")
}
