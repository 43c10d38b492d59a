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

	"miniship/mstest"
)

// wx calls a WeChat endpoint over the real listener and decodes the JSON
// answer into a generic map, so tests see exactly what a client would.
func wx(t *testing.T, s *mstest.Server, method, path string, query url.Values, body string) map[string]any {
	t.Helper()
	res := rawCall(t, s, method, path, query, body)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d %s", method, path, res.StatusCode, b)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q, body %q", method, path, ct, b)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s %s: not JSON: %q", method, path, b)
	}
	return m
}

func rawCall(t *testing.T, s *mstest.Server, method, path string, query url.Values, body string) *http.Response {
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

// errcode returns the answer's errcode; 0 when absent (token endpoints).
func errcode(m map[string]any) int {
	n, _ := m["errcode"].(json.Number)
	v, _ := n.Int64()
	return int(v)
}

func wantCode(t *testing.T, m map[string]any, code int) {
	t.Helper()
	if got := errcode(m); got != code {
		t.Fatalf("errcode = %d, want %d (answer %v)", got, code, m)
	}
	if code != 0 {
		msg, _ := m["errmsg"].(string)
		if !strings.Contains(msg, " rid: ") {
			t.Fatalf("errmsg %q carries no rid", msg)
		}
	}
}

func str(m map[string]any, key string) string {
	v, _ := m[key].(string)
	return v
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
	wantCode(t, m, 0)
	if _, has := m["errcode"]; has {
		t.Fatalf("api_component_token success carries errcode: %v", m)
	}
	return str(m, "component_access_token")
}

// authorizerToken exchanges a refresh token for an authorizer token.
func authorizerToken(t *testing.T, s *mstest.Server, ctoken, platform, appid, refresh string) string {
	t.Helper()
	m := wx(t, s, "POST", "/cgi-bin/component/api_authorizer_token", url.Values{"component_access_token": {ctoken}},
		`{"component_appid":"`+platform+`","authorizer_appid":"`+appid+`","authorizer_refresh_token":"`+refresh+`"}`)
	wantCode(t, m, 0)
	return str(m, "authorizer_access_token")
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
	return str(res, "component_access_token")
}

func authorizerTokenB(b *testing.B, s *mstest.Server, ctoken, platform, appid, refresh string) string {
	res := rawCallB(b, s, "POST", "/cgi-bin/component/api_authorizer_token", url.Values{"component_access_token": {ctoken}},
		`{"component_appid":"`+platform+`","authorizer_appid":"`+appid+`","authorizer_refresh_token":"`+refresh+`"}`)
	return str(res, "authorizer_access_token")
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
