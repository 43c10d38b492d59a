package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// servedProcess is one in-process `miniship serve` run.
type servedProcess struct {
	t      *testing.T
	base   string
	stdout *syncBuffer
	stop   func()
}

// startServe runs serve with args until stop (or the test's end).
func startServe(t *testing.T, args ...string) *servedProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	cmd := newServeCmd()
	cmd.SetArgs(append([]string{"--addr", "127.0.0.1:0", "--admin-key", "k"}, args...))
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(stop)
	p := &servedProcess{t: t, stdout: &stdout, stop: stop}
	for deadline := time.Now().Add(10 * time.Second); p.base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`url=(http://\S+)`).FindStringSubmatch(stderr.String()); m != nil {
			p.base = m[1]
		}
	}
	if p.base == "" {
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	return p
}

// call answers the status and the JSON body of a request.
func (p *servedProcess) call(method, path, body string) (int, map[string]any) {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.base+path, strings.NewReader(body))
	if strings.HasPrefix(path, "/miniship/") {
		req.Header.Set("Authorization", "Bearer k")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		p.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode, m
}

func (p *servedProcess) wx(method, path, body string) map[string]any {
	p.t.Helper()
	_, m := p.call(method, path, body)
	if code, _ := m["errcode"].(float64); code != 0 {
		p.t.Fatalf("%s %s: %v", method, path, m)
	}
	return m
}

func (p *servedProcess) field(label string) string {
	p.t.Helper()
	m := regexp.MustCompile(label + `\s+(\S+)`).FindStringSubmatch(p.stdout.String())
	if m == nil {
		p.t.Fatalf("no %q in the demo output: %s", label, p.stdout.String())
	}
	return m[1]
}

func (p *servedProcess) clock() string {
	p.t.Helper()
	_, m := p.call("GET", "/miniship/v1/clock", "")
	return m["now"].(string)
}

// TestServeManualClockSurvivesRestart: the manual clock resumes where it
// stood. A component token that had expired stays expired (42001) after a
// restart, and an audit due for automatic approval at the stored time is
// approved at start instead of waiting for the clock to be moved again.
func TestServeManualClockSurvivesRestart(t *testing.T) {
	data := t.TempDir()
	run := startServe(t, "--data", data, "--demo", "--clock", "manual", "--auto-approve", "3h")
	secret := run.field("platform secret")
	refresh := regexp.MustCompile(`wxdemoshop0000001 \(.*\), AppSecret \S+, refresh token (\S+)`).FindStringSubmatch(run.stdout.String())[1]
	ctoken, atoken := run.tokens(secret, refresh)
	run.wx("POST", "/wxa/commit?access_token="+atoken, `{"template_id":`+run.field("template_id")+`,"ext_json":"{}","user_version":"1.0","user_desc":"d"}`)
	run.wx("POST", "/miniship/v1/clock/advance", `{"seconds":3}`) // the privacy scan
	audit := fmt.Sprintf(`{"auditid":%d}`, int(run.wx("POST", "/wxa/submit_audit?access_token="+atoken, `{}`)["auditid"].(float64)))
	run.wx("POST", "/miniship/v1/clock/advance", `{"seconds":7200}`) // the tokens' TTL; not yet the review's 3 hours
	preauth := `{"component_appid":"wxdemocomponent01"}`
	if _, m := run.call("POST", "/cgi-bin/component/api_create_preauthcode?component_access_token="+ctoken, preauth); m["errcode"] != 42001.0 {
		t.Fatalf("component token after its TTL: %v", m)
	}
	_, atoken = run.tokens(secret, refresh)
	if st := run.wx("POST", "/wxa/get_auditstatus?access_token="+atoken, audit)["status"]; st != 2.0 {
		t.Fatalf("audit status %v before the restart, want 2", st)
	}
	stoppedAt := run.clock()
	run.stop()

	// Restarted with a shorter review: the audit is due on the stored clock
	// and decided before the first request is answered.
	again := startServe(t, "--data", data, "--clock", "manual", "--auto-approve", "1h")
	if now := again.clock(); now != stoppedAt {
		t.Fatalf("clock after restart %s, want %s", now, stoppedAt)
	}
	if _, m := again.call("POST", "/cgi-bin/component/api_create_preauthcode?component_access_token="+ctoken, preauth); m["errcode"] != 42001.0 {
		t.Fatalf("expired component token after restart: %v", m)
	}
	_, atoken = again.tokens(secret, refresh)
	if st := again.wx("POST", "/wxa/get_auditstatus?access_token="+atoken, audit)["status"]; st != 0.0 {
		t.Fatalf("audit status %v after restart, want 0 (approved when due)", st)
	}
}

// tokens gets a component token and the demo shop's authorizer token.
func (p *servedProcess) tokens(secret, refresh string) (ctoken, atoken string) {
	p.t.Helper()
	ticket := p.wx("GET", "/miniship/v1/platforms/wxdemocomponent01/ticket", "")["component_verify_ticket"].(string)
	ctoken = p.wx("POST", "/cgi-bin/component/api_component_token", fmt.Sprintf(`{"component_appid":"wxdemocomponent01","component_appsecret":%q,"component_verify_ticket":%q}`,
		secret, ticket))["component_access_token"].(string)
	atoken = p.wx("POST", "/cgi-bin/component/api_authorizer_token?component_access_token="+ctoken,
		`{"component_appid":"wxdemocomponent01","authorizer_appid":"wxdemoshop0000001","authorizer_refresh_token":"`+refresh+`"}`)["authorizer_access_token"].(string)
	return ctoken, atoken
}
