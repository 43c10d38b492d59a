package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/miniship/miniship/mstest"
)

// wx calls a WeChat endpoint over the real listener and decodes the JSON
// answer into a generic map, so tests see exactly what a client would.
func wx(t testing.TB, s *mstest.Server, method, path string, query url.Values, body string) map[string]any {
	t.Helper()
	return readWeChat(t, rawCall(t, s, method, path, query, body))
}

// readWeChat decodes an answer that must be what every WeChat answer is:
// HTTP 200 and a JSON object (numbers kept exact).
func readWeChat(t testing.TB, res *http.Response) map[string]any {
	t.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	req := res.Request
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%s %s: HTTP %d %q %q", req.Method, req.URL.Path, res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s %s: not JSON: %q", req.Method, req.URL.Path, b)
	}
	return m
}

func rawCall(t testing.TB, s *mstest.Server, method, path string, query url.Values, body string) *http.Response {
	t.Helper()
	u := s.URL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func tok(token string) url.Values { return url.Values{"access_token": {token}} }

// admin calls the admin API with the server's key.
func admin(t *testing.T, s *mstest.Server, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+s.AdminKey)
	return doAdmin(t, req)
}

func doAdmin(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("admin %s %s: not JSON: %q", req.Method, req.URL.Path, b)
	}
	return res.StatusCode, m
}

// uploadDraft posts a template zip to the admin draft endpoint.
func uploadDraft(t *testing.T, s *mstest.Server, platform string, zip []byte, version string) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("package", "template.zip")
	fw.Write(zip)
	mw.WriteField("user_version", version)
	mw.WriteField("user_desc", "uploaded by the test")
	mw.WriteField("source_miniprogram_appid", "wxdevsource000001")
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/miniship/v1/platforms/"+platform+"/drafts", &buf)
	req.Header.Set("Authorization", "Bearer "+s.AdminKey)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return doAdmin(t, req)
}

// componentToken gets a component token the way a platform does.
func componentToken(t *testing.T, s *mstest.Server, appid, secret string) string {
	t.Helper()
	m := wx(t, s, "POST", "/cgi-bin/component/api_component_token", nil,
		`{"component_appid":"`+appid+`","component_appsecret":"`+secret+`","component_verify_ticket":"`+s.Ticket(t, appid)+`"}`)
	if _, has := m["errcode"]; has || arStr(m, "component_access_token") == "" {
		t.Fatalf("api_component_token: want a bare token answer, got %v", m)
	}
	return arStr(m, "component_access_token")
}

// authorizerToken exchanges a refresh token for an authorizer token.
func authorizerToken(t *testing.T, s *mstest.Server, ctoken, platform, appid, refresh string) string {
	t.Helper()
	m := wx(t, s, "POST", "/cgi-bin/component/api_authorizer_token", url.Values{"component_access_token": {ctoken}},
		`{"component_appid":"`+platform+`","authorizer_appid":"`+appid+`","authorizer_refresh_token":"`+refresh+`"}`)
	if arStr(m, "authorizer_access_token") == "" {
		t.Fatalf("api_authorizer_token: %v", m)
	}
	return arStr(m, "authorizer_access_token")
}

// extJSON quotes an ext_json object as the string the commit body carries.
func extJSON(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// componentTokenB and authorizerTokenB are the benchmark forms of the
// token helpers.
func componentTokenB(b *testing.B, s *mstest.Server, appid, secret string) string {
	res := rawCallB(b, s, "POST", "/cgi-bin/component/api_component_token", nil,
		`{"component_appid":"`+appid+`","component_appsecret":"`+secret+`","component_verify_ticket":"`+s.Ticket(b, appid)+`"}`)
	return arStr(res, "component_access_token")
}

func authorizerTokenB(b *testing.B, s *mstest.Server, ctoken, platform, appid, refresh string) string {
	res := rawCallB(b, s, "POST", "/cgi-bin/component/api_authorizer_token", url.Values{"component_access_token": {ctoken}},
		`{"component_appid":"`+platform+`","authorizer_appid":"`+appid+`","authorizer_refresh_token":"`+refresh+`"}`)
	return arStr(res, "authorizer_access_token")
}

func rawCallB(b *testing.B, s *mstest.Server, method, path string, q url.Values, body string) map[string]any {
	b.Helper()
	u := s.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	res, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		b.Fatal(err)
	}
	return m
}
