package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miniship/miniship/demo"
)

// TestKill9KeepsAcknowledgedWrites runs the real binary, commits from
// several clients, kills the server with SIGKILL mid-stream, restarts it on
// the same data directory and checks that every acknowledged commit is
// there. It also checks that SIGTERM shuts down cleanly.
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "github.com/miniship/miniship")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	addr := freeAddr(t)
	srv := startServer(t, bin, data, addr)
	base := "http://" + addr

	// Set up a platform, mini programs and a template through the APIs.
	c := &client{t: t, base: base}
	p := c.admin("POST", "/miniship/v1/platforms", `{"appid":"wxkillplatform01"}`)
	secret := p["secret"].(string)
	ticket := c.admin("GET", "/miniship/v1/platforms/wxkillplatform01/ticket", "")["component_verify_ticket"].(string)
	const apps = 6
	var refresh []string
	for i := range apps {
		appid := fmt.Sprintf("wxkillapp%08d", i)
		c.admin("POST", "/miniship/v1/authorizers", `{"appid":"`+appid+`","privacy_apis":["getLocation"]}`)
		refresh = append(refresh, c.admin("POST", "/miniship/v1/platforms/wxkillplatform01/authorizations", `{"authorizer_appid":"`+appid+`"}`)["authorizer_refresh_token"].(string))
	}
	draft := c.upload("/miniship/v1/platforms/wxkillplatform01/drafts", demo.TemplateZip())
	ctoken := c.wx("POST", "/cgi-bin/component/api_component_token", "", `{"component_appid":"wxkillplatform01","component_appsecret":"`+secret+`","component_verify_ticket":"`+ticket+`"}`)["component_access_token"].(string)
	c.wx("POST", "/wxa/addtotemplate", ctoken, fmt.Sprintf(`{"draft_id":%v}`, draft))
	tpl := c.wx("GET", "/wxa/gettemplatelist", ctoken, "")["template_list"].([]any)[0].(map[string]any)["template_id"]
	var tokens []string
	for i := range apps {
		tokens = append(tokens, c.wx("POST", "/cgi-bin/component/api_authorizer_token?component_appid=x", ctoken,
			fmt.Sprintf(`{"component_appid":"wxkillplatform01","authorizer_appid":"wxkillapp%08d","authorizer_refresh_token":"%s"}`, i, refresh[i]))["authorizer_access_token"].(string))
	}

	// Commit continuously; remember the last acknowledged version per app.
	acked := make([]int, apps)
	var nacked atomic.Int64 // acknowledgements so far, for the kill to wait on
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Timeout: 5 * time.Second}
			for v := 1; ; v++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"template_id":%v,"ext_json":"{}","user_version":"%d","user_desc":"k"}`, tpl, v)
				res, err := hc.Post(base+"/wxa/commit?access_token="+tokens[i], "application/json", strings.NewReader(body))
				if err != nil {
					return // the server is gone
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if !bytes.Contains(b, []byte(`"errcode":0`)) {
					return
				}
				acked[i] = v
				nacked.Add(1)
			}
		}()
	}
	// Kill once there are as many acknowledged commits as the check below
	// needs, and a little more (a loaded machine gets there later; a fixed
	// sleep could kill before), or once the clients have stopped.
	clients := make(chan struct{})
	go func() { wg.Wait(); close(clients) }()
	for deadline := time.Now().Add(time.Minute); nacked.Load() < 2*apps && time.Now().Before(deadline); {
		select {
		case <-clients:
			deadline = time.Time{}
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	close(stop)
	wg.Wait()

	srv = startServer(t, bin, data, addr)
	total := 0
	for i := range apps {
		total += acked[i]
		info := c.wx("POST", "/wxa/getversioninfo", tokens[i], "{}")
		got, _ := strconv.Atoi(info["exp_info"].(map[string]any)["exp_version"].(string))
		// The commit in flight at the kill may or may not have landed;
		// every acknowledged one must have.
		if got != acked[i] && got != acked[i]+1 {
			t.Errorf("app %d: experience version %d after restart, last acknowledged %d", i, got, acked[i])
		}
	}
	if total < apps {
		t.Fatalf("only %d commits were acknowledged before the kill: the test proved nothing", total)
	}
	t.Logf("%d acknowledged commits survived kill -9", total)

	// SIGTERM: a graceful shutdown, exit status 0.
	srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServer(t *testing.T, bin, data, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr, "--admin-key", "killkey", "--log-level", "error")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	for range 100 {
		if res, err := http.Get("http://" + addr + "/miniship/healthz"); err == nil {
			res.Body.Close()
			return cmd
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server did not come up")
	return nil
}

type client struct {
	t    *testing.T
	base string
}

func (c *client) do(req *http.Request) map[string]any {
	c.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &m); err != nil || res.StatusCode >= 300 {
		c.t.Fatalf("%s %s: %d %s", req.Method, req.URL.Path, res.StatusCode, b)
	}
	if code, ok := m["errcode"].(float64); ok && code != 0 {
		c.t.Fatalf("%s %s: %s", req.Method, req.URL.Path, b)
	}
	return m
}

func (c *client) admin(method, path, body string) map[string]any {
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer killkey")
	return c.do(req)
}

func (c *client) wx(method, path, token, body string) map[string]any {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.base+path+sep+"access_token="+token, r)
	return c.do(req)
}

func (c *client) upload(path string, zip []byte) any {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("package", "t.zip")
	fw.Write(zip)
	mw.WriteField("user_version", "1.0")
	mw.Close()
	req, _ := http.NewRequest("POST", c.base+path, &buf)
	req.Header.Set("Authorization", "Bearer killkey")
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)["draft_id"]
}
