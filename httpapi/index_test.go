package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/miniship/miniship/mstest"
)

// TestIndex: / points a browser at the console and the docs, a JSON client
// at the same links; an API-looking POST there still gets WeChat's -1.
func TestIndex(t *testing.T) {
	s := mstest.New(t, mstest.Options{})
	get := func(accept string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", s.URL+"/", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := get("text/html,application/xhtml+xml,*/*;q=0.8")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, `href="/console/"`) || !strings.Contains(body, "#readme") {
		t.Errorf("browser: %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	res, body = get("")
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("JSON client: %v %q", err, body)
	}
	if m["console"] != "/console/" || m["admin_api"] != "/miniship/v1/" || m["errcode"] != nil {
		t.Errorf("JSON: %v", m)
	}
	if m := wx(t, s, "POST", "/", nil, "{}"); m["errcode"].(interface{ String() string }).String() != "-1" {
		t.Errorf("POST /: %v", m)
	}
}

// TestAdminErrorOneLine: joined errors read as one line, not with a
// literal \n in the JSON.
func TestAdminErrorOneLine(t *testing.T) {
	s := mstest.New(t, mstest.Options{})
	req, _ := http.NewRequest("POST", s.URL+"/miniship/v1/platforms", strings.NewReader(`{"bogus":1}`))
	req.Header.Set("Authorization", "Bearer "+s.AdminKey)
	status, m := doAdmin(t, req)
	msg, _ := m["error"].(string)
	if status != 400 || strings.Contains(msg, "\n") || !strings.Contains(msg, "invalid input: ") || !strings.Contains(msg, "bogus") {
		t.Errorf("%d %q", status, msg)
	}
}
