package console_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/silenceper/wechat/v2/util"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

// The console driven by headless Chromium (Debian's chromium package).

// browser starts a fresh headless Chromium for the test. Without chromium
// the test skips, except in CI (CI=true), where that is a failure.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; CI must have it (.ci/run installs it with apt-get)")
		}
		t.Skip("chromium not installed (apt-get install -y chromium): skipping the browser tests")
	}
	// Not t.TempDir: Chromium's helpers may still write there for a moment
	// after the browser is told to quit, which would fail the test.
	dir, err := os.MkdirTemp("", "miniship-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1366, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA(); os.RemoveAll(dir) })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// shot saves a screenshot when MINISHIP_SCREENSHOTS names a directory, so
// a person can look at every page.
func shot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("MINISHIP_SCREENSHOTS")
	if dir == "" {
		return
	}
	var b []byte
	run(t, ctx, chromedp.FullScreenshot(&b, 100))
	os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644)
}

// receiver is the platform's message URL, decrypting each push with an
// independent WXBizMsgCrypt implementation.
type receiver struct {
	mu     sync.Mutex
	p      *miniship.Platform
	fail   bool
	got    []map[string]string
	server *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		var env struct{ Encrypt string }
		body, _ := io.ReadAll(req.Body)
		xml.Unmarshal(body, &env)
		q := req.URL.Query()
		if util.Signature(r.p.Token, q.Get("timestamp"), q.Get("nonce"), env.Encrypt) != q.Get("msg_signature") {
			t.Errorf("push with a bad signature")
			return
		}
		_, plain, err := util.DecryptMsg(r.p.AppID, env.Encrypt, r.p.EncodingAESKey)
		if err != nil {
			t.Errorf("decrypt push: %v", err)
			return
		}
		var inner struct {
			Fields []struct {
				XMLName xml.Name
				Value   string `xml:",chardata"`
			} `xml:",any"`
		}
		xml.Unmarshal(plain, &inner)
		m := map[string]string{}
		for _, f := range inner.Fields {
			m[f.XMLName.Local] = f.Value
		}
		r.got = append(r.got, m)
		io.WriteString(w, "success")
	}))
	t.Cleanup(r.server.Close)
	return r
}

func (r *receiver) setFail(v bool) { r.mu.Lock(); r.fail = v; r.mu.Unlock() }

// wait returns the first push whose Event is ev.
func (r *receiver) wait(t *testing.T, ev string) map[string]string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		r.mu.Lock()
		for _, m := range r.got {
			if m["Event"] == ev {
				r.mu.Unlock()
				return m
			}
		}
		r.mu.Unlock()
	}
	t.Fatalf("no %s push arrived", ev)
	return nil
}

// env is a server with a platform, a mini program and its token.
type env struct {
	t   *testing.T
	s   *mstest.Server
	p   *miniship.Platform
	app *miniship.Authorizer
	tok string
	tpl int64
	rcv *receiver
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, rcv: newReceiver(t)}
	e.s = mstest.New(t, mstest.Options{})
	e.p = e.s.Platform(t, &miniship.Platform{MessageURL: e.rcv.server.URL + "/msg"})
	e.rcv.p = e.p
	e.tpl = e.s.Template(t, e.p.AppID, nil, 0)
	var refresh string
	e.app, refresh = e.s.MiniProgram(t, e.p.AppID, &miniship.Authorizer{Nickname: "Coffee Corner", ProfileComplete: true,
		Categories:  []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 287, SecondID: 612}},
		PrivacyAPIs: []string{"getLocation"}})
	e.s.PrivacyGuide(t, e.app.AppID) // the template reads the location: the reviewer wants the guide
	ct := e.wx("/cgi-bin/component/api_component_token", "", fmt.Sprintf(`{"component_appid":%q,"component_appsecret":%q,"component_verify_ticket":%q}`,
		e.p.AppID, e.p.Secret, e.s.Ticket(t, e.p.AppID)))["component_access_token"].(string)
	e.tok = e.wx("/cgi-bin/component/api_authorizer_token?component_access_token="+url.QueryEscape(ct), "", fmt.Sprintf(
		`{"component_appid":%q,"authorizer_appid":%q,"authorizer_refresh_token":%q}`, e.p.AppID, e.app.AppID, refresh))["authorizer_access_token"].(string)
	return e
}

// wx calls a WeChat endpoint; tok is appended as access_token when set.
func (e *env) wx(path, tok, body string) map[string]any {
	e.t.Helper()
	u := e.s.URL + path
	if tok != "" {
		u += "?access_token=" + url.QueryEscape(tok)
	}
	res, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) ok(path, body string) map[string]any {
	e.t.Helper()
	m := e.wx(path, e.tok, body)
	if c, _ := m["errcode"].(float64); c != 0 {
		e.t.Fatalf("%s: %v", path, m)
	}
	return m
}

// commit commits the template with a window title, so the effective
// app.json differs between versions.
func (e *env) commit(version, title string) {
	e.t.Helper()
	ext, _ := json.Marshal(fmt.Sprintf(`{"extAppid":%q,"ext":{"shopName":"Shop"},"window":{"navigationBarTitleText":%q}}`, e.app.AppID, title))
	e.ok("/wxa/commit", fmt.Sprintf(`{"template_id":%d,"ext_json":%s,"user_version":%q,"user_desc":"release %s"}`, e.tpl, ext, version, version))
	e.s.Advance(e.s.Service.Config().ScanDuration)
}

func (e *env) submit() int64 {
	e.t.Helper()
	m := e.ok("/wxa/submit_audit", `{"item_list":[{"address":"pages/index/index","tag":"工具 效率","first_class":"工具","second_class":"效率","first_id":287,"second_id":612,"title":"首页"}],"version_desc":"New menu"}`)
	return int64(m["auditid"].(float64))
}

func signIn(t *testing.T, ctx context.Context, e *env) {
	t.Helper()
	run(t, ctx,
		chromedp.Navigate(e.s.URL+"/console/"),
		chromedp.WaitVisible(`#admin_key`, chromedp.ByID),
		chromedp.SendKeys(`#admin_key`, e.s.AdminKey, chromedp.ByID),
		chromedp.Click(`form[action="/console/signin"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`select#status`, chromedp.ByQuery),
	)
}

// waitJS waits until the expression is true in the page: the page after a
// click has loaded, not the one before it.
func waitJS(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var ok bool
		if err := chromedp.Run(ctx, chromedp.Evaluate(expr, &ok)); err == nil && ok {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", expr)
}

func TestConsoleSignIn(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t)
	var msg, title string
	run(t, ctx,
		chromedp.Navigate(e.s.URL+"/console/apps"),
		chromedp.WaitVisible(`#admin_key`, chromedp.ByID),
		chromedp.SendKeys(`#admin_key`, "wrong key", chromedp.ByID),
		chromedp.Click(`form[action="/console/signin"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`.error`, chromedp.ByQuery),
		chromedp.Text(`.error`, &msg, chromedp.ByQuery),
	)
	shot(t, ctx, "signin-wrong")
	if !strings.Contains(msg, "admin key is not right") {
		t.Fatalf("wrong key: message %q", msg)
	}
	run(t, ctx,
		chromedp.SendKeys(`#admin_key`, e.s.AdminKey, chromedp.ByID),
		chromedp.Click(`form[action="/console/signin"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#q`, chromedp.ByID), // back on the page asked for
		chromedp.Title(&title),
	)
	if !strings.HasPrefix(title, "Mini programs") {
		t.Fatalf("after sign-in: title %q", title)
	}
	run(t, ctx, chromedp.Click(`.signout button`, chromedp.ByQuery), chromedp.WaitVisible(`#admin_key`, chromedp.ByID))
	// Signed out: the cookie is gone and pages send to the sign-in form.
	run(t, ctx, chromedp.Navigate(e.s.URL+"/console/audits"), chromedp.WaitVisible(`#admin_key`, chromedp.ByID))
}

func TestConsoleApproveAndReject(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t)
	e.commit("1.0.0", "Coffee")
	id := e.submit()
	signIn(t, ctx, e)
	shot(t, ctx, "audits")
	var row string
	run(t, ctx, chromedp.Text(`tbody`, &row, chromedp.ByQuery))
	if !strings.Contains(row, "Coffee Corner") || !strings.Contains(row, "首页") || !strings.Contains(row, "New menu") {
		t.Fatalf("queue row: %q", row)
	}
	run(t, ctx,
		chromedp.Click(fmt.Sprintf(`a[href="/console/audits/%d"]`, id), chromedp.ByQuery),
		chromedp.WaitVisible(`button.ok`, chromedp.ByQuery),
	)
	shot(t, ctx, "audit")
	var flash string
	run(t, ctx,
		chromedp.Click(`button.ok`, chromedp.ByQuery),
		chromedp.WaitVisible(`.flash`, chromedp.ByQuery),
		chromedp.Text(`.flash`, &flash, chromedp.ByQuery),
	)
	if !strings.Contains(flash, "approved") {
		t.Fatalf("after Approve: %q", flash)
	}
	st := e.ok("/wxa/get_auditstatus", fmt.Sprintf(`{"auditid":%d}`, id))
	if st["status"].(float64) != 0 {
		t.Fatalf("get_auditstatus after Approve: %v", st)
	}
	e.rcv.wait(t, "weapp_audit_success")

	// A second version, rejected with a reason through the form.
	e.ok("/wxa/release", `{}`)
	e.commit("1.0.1", "Coffee 2")
	id2 := e.submit()
	run(t, ctx,
		chromedp.Navigate(fmt.Sprintf("%s/console/audits/%d", e.s.URL, id2)),
		chromedp.WaitVisible(`#reject_reason`, chromedp.ByID),
		chromedp.SendKeys(`#reject_reason`, "1:页面空白<br>", chromedp.ByID),
		chromedp.SendKeys(`#reject_screenshot`, "mediaA mediaB", chromedp.ByID),
		chromedp.Click(`button.bad`, chromedp.ByQuery),
		chromedp.WaitVisible(`.flash`, chromedp.ByQuery),
	)
	shot(t, ctx, "audit-rejected")
	push := e.rcv.wait(t, "weapp_audit_fail")
	if push["Reason"] != "1:页面空白<br>" || push["ScreenShot"] != "mediaA|mediaB" {
		t.Fatalf("reject push: %v", push)
	}
}

func TestConsoleResendAndDiff(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t)
	e.rcv.setFail(true)
	e.commit("1.0.0", "Coffee")
	e.commit("1.1.0", "Coffee & Tea")
	id := e.submit()
	if _, err := e.s.Service.DecideAudit(context.Background(), id, decision("delay")); err != nil {
		t.Fatal(err)
	}
	// Fail the push for good: the outbox gives up after its 12th attempt.
	var ev *miniship.Event
	for deadline := time.Now().Add(20 * time.Second); ; {
		e.s.Advance(10 * time.Minute)
		evs, err := e.s.Service.ListEvents(context.Background(), e.p.AppID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) > 0 && evs[0].Kind == "weapp_audit_delay" && evs[0].Status == miniship.EventFailed {
			ev = evs[0].Event
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the push did not fail: %+v", evs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.rcv.setFail(false)
	signIn(t, ctx, e)
	var flash string
	run(t, ctx,
		chromedp.Navigate(e.s.URL+"/console/pushes"),
		chromedp.WaitVisible(fmt.Sprintf(`#push-%d`, ev.ID), chromedp.ByQuery),
	)
	shot(t, ctx, "pushes")
	run(t, ctx,
		chromedp.Click(fmt.Sprintf(`#push-%d button`, ev.ID), chromedp.ByQuery),
		chromedp.WaitVisible(`.flash`, chromedp.ByQuery),
		chromedp.Text(`.flash`, &flash, chromedp.ByQuery),
	)
	if !strings.Contains(flash, "queued again") {
		t.Fatalf("after Resend: %q", flash)
	}
	if push := e.rcv.wait(t, "weapp_audit_delay"); push["Reason"] == "" {
		t.Fatalf("resent push: %v", push)
	}

	// The diff of the effective app.json between the two versions.
	var diff string
	run(t, ctx,
		chromedp.Navigate(e.s.URL+"/console/apps/"+e.app.AppID),
		chromedp.WaitVisible(`#diff`, chromedp.ByID),
	)
	shot(t, ctx, "app")
	run(t, ctx,
		chromedp.Click(`#diff`, chromedp.ByID),
		chromedp.WaitVisible(`pre.diff`, chromedp.ByQuery),
		chromedp.Text(`pre.diff`, &diff, chromedp.ByQuery),
	)
	shot(t, ctx, "diff")
	if !regexp.MustCompile(`(?m)^- +"navigationBarTitleText": "Coffee"$`).MatchString(diff) ||
		!regexp.MustCompile(`(?m)^\+ +"navigationBarTitleText": "Coffee & Tea"$`).MatchString(diff) ||
		regexp.MustCompile(`(?m)^[-+] +"pages"`).MatchString(diff) {
		t.Fatalf("diff:\n%s", diff)
	}
	run(t, ctx, chromedp.Navigate(e.s.URL+"/console/templates"), chromedp.WaitVisible(`#package`, chromedp.ByID))
	shot(t, ctx, "templates")
	run(t, ctx, chromedp.Navigate(e.s.URL+"/console/server"), chromedp.WaitVisible(`#faults`, chromedp.ByID))
	shot(t, ctx, "server")
}

func TestConsolePaging(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t)
	const n = 10000
	err := e.s.Store.Update(context.Background(), func(tx miniship.Tx) error {
		for i := range n {
			if err := tx.CreateAuthorizer(&miniship.Authorizer{AppID: fmt.Sprintf("wxpage%08d", i), Nickname: fmt.Sprintf("Shop %d", i), CreatedAt: e.s.Service.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	signIn(t, ctx, e)
	run(t, ctx, chromedp.Navigate(e.s.URL+"/console/apps?q=wxpage"), chromedp.WaitVisible(`tbody`, chromedp.ByQuery))
	shot(t, ctx, "apps")
	// 500 a page, chosen in the form: 20 pages rather than 200.
	run(t, ctx, chromedp.SetValue(`#n`, "500", chromedp.ByID), chromedp.Click(`form[role=search] button`, chromedp.ByQuery))
	waitJS(t, ctx, `location.search.includes("n=500") && document.readyState == "complete"`)
	seen := map[string]bool{}
	prev := ""
	for pages := 0; ; pages++ {
		var ids []string
		var next int
		run(t, ctx,
			chromedp.Evaluate(`[...document.querySelectorAll("tbody td.mono a")].map(a => a.textContent)`, &ids),
			chromedp.Evaluate(`document.querySelectorAll('a[rel=next]').length`, &next),
		)
		if len(ids) == 0 || ids[0] <= prev || (next == 1 && len(ids) != 500) {
			t.Fatalf("page %d: %d rows starting %v after %q", pages, len(ids), ids[:min(1, len(ids))], prev)
		}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("%s shown twice", id)
			}
			seen[id] = true
		}
		prev = ids[len(ids)-1]
		if next == 0 {
			break
		}
		run(t, ctx, chromedp.Click(`a[rel=next]`, chromedp.ByQuery))
		waitJS(t, ctx, fmt.Sprintf(`document.readyState == "complete" && (document.querySelector("tbody td.mono a")?.textContent ?? "") > %q`, prev))
	}
	if len(seen) != n {
		t.Fatalf("paged through %d mini programs, want %d", len(seen), n)
	}
}
