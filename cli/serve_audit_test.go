package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miniship/miniship/demo"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine to write while
// the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServeAutoReviewer starts `miniship serve` with the manual clock and
// the automatic reviewer's flags, and checks over HTTP that an audit is
// approved after --auto-approve and one whose ext matches
// --auto-reject-pattern is rejected.
func TestServeAutoReviewer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	cmd := newServeCmd()
	cmd.SetArgs([]string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--admin-key", "k", "--demo",
		"--clock", "manual", "--auto-approve", "30s", "--auto-reject-pattern", `casino|赌`})
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})

	var base string
	for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`url=(http://\S+)`).FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	field := func(label string) string {
		m := regexp.MustCompile(label + `\s+(\S+)`).FindStringSubmatch(stdout.String())
		if m == nil {
			t.Fatalf("no %q in the demo output: %s", label, stdout.String())
		}
		return m[1]
	}
	call := func(method, path, body string, admin bool) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if admin {
			req.Header.Set("Authorization", "Bearer k")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %s", method, path, b)
		}
		if code, _ := m["errcode"].(float64); code != 0 {
			t.Fatalf("%s %s: %s", method, path, b)
		}
		return m
	}
	ticket := call("GET", "/miniship/v1/platforms/"+demo.PlatformAppID+"/ticket", "", true)["component_verify_ticket"].(string)
	ctoken := call("POST", "/cgi-bin/component/api_component_token", fmt.Sprintf(`{"component_appid":%q,"component_appsecret":%q,"component_verify_ticket":%q}`,
		demo.PlatformAppID, field("platform secret"), ticket), false)["component_access_token"].(string)
	shop := regexp.MustCompile(demo.ShopA + ` \(.*\), AppSecret ([0-9a-f]{32}), refresh token (\S+)`).FindStringSubmatch(stdout.String())
	if shop == nil {
		t.Fatalf("serve --demo prints no AppSecret for %s:\n%s", demo.ShopA, stdout.String())
	}
	refresh := shop[2]
	atoken := call("POST", "/cgi-bin/component/api_authorizer_token?component_access_token="+ctoken, fmt.Sprintf(
		`{"component_appid":%q,"authorizer_appid":%q,"authorizer_refresh_token":%q}`, demo.PlatformAppID, demo.ShopA, refresh), false)["authorizer_access_token"].(string)
	wx := func(method, path, body string) map[string]any {
		return call(method, path+"?access_token="+atoken, body, false)
	}
	advance := func(s int) { call("POST", "/miniship/v1/clock/advance", fmt.Sprintf(`{"seconds":%d}`, s), true) }
	audit := func(ext string) int64 {
		extJSON, _ := json.Marshal(ext)
		wx("POST", "/wxa/commit", fmt.Sprintf(`{"template_id":%s,"ext_json":%s,"user_version":"1.0","user_desc":"d"}`, field("template_id"), extJSON))
		advance(3) // the privacy scan
		return int64(wx("POST", "/wxa/submit_audit", `{}`)["auditid"].(float64))
	}
	status := func(id int64) int {
		return int(wx("POST", "/wxa/get_auditstatus", fmt.Sprintf(`{"auditid":%d}`, id))["status"].(float64))
	}

	a := audit(`{"ext":{"name":"fine"}}`)
	advance(29)
	if st := status(a); st != 2 {
		t.Fatalf("status %d after 29 s, want 2", st)
	}
	advance(1)
	if st := status(a); st != 0 {
		t.Fatalf("status %d after 30 s, want 0", st)
	}
	b := audit(`{"ext":{"name":"casino"}}`)
	advance(30)
	if st := status(b); st != 1 {
		t.Fatalf("status %d of a matching audit, want 1", st)
	}
}

// TestServeBadRejectPattern: a pattern that does not compile stops serve.
func TestServeBadRejectPattern(t *testing.T) {
	cmd := newServeCmd()
	cmd.SetArgs([]string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--admin-key", "k", "--auto-reject-pattern", "("})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "--auto-reject-pattern") {
		t.Fatalf("serve with a bad pattern: %v", err)
	}
}
