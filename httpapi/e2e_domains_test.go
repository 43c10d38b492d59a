package httpapi_test

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/internal/qrread"
	"github.com/miniship/miniship/mstest"
)

// listOf reads a JSON string array out of an answer.
func listOf(t testing.TB, m map[string]any, key string) []string {
	t.Helper()
	raw, ok := m[key].([]any)
	if !ok {
		t.Fatalf("%s is %T, want an array: %v", key, m[key], m)
	}
	out := []string{}
	for _, v := range raw {
		out = append(out, v.(string))
	}
	return out
}

func wantList(t testing.TB, m map[string]any, key string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := listOf(t, m, key); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %q, want %q (%v)", key, got, want, m)
	}
}

// fetchImage GETs an image and decodes it; it fails unless the answer is
// an image by Content-Type and by content.
func fetchImage(t testing.TB, res *http.Response) (image.Image, http.Header) {
	t.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	ct := res.Header.Get("Content-Type")
	if res.StatusCode != 200 || !strings.HasPrefix(ct, "image/") {
		t.Fatalf("%s: HTTP %d %q %q", res.Request.URL.Path, res.StatusCode, ct, b)
	}
	img, format, err := image.Decode(bytes.NewReader(b))
	if err != nil || "image/"+format != ct {
		t.Fatalf("%s: %q does not decode as its type: %v (%s)", res.Request.URL.Path, ct, err, format)
	}
	return img, res.Header
}

// decodeQR reads the QR code in an image.
func decodeQR(t testing.TB, img image.Image) string {
	t.Helper()
	text, err := qrread.Read(img)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return text
}

// TestDomainPipeline walks a mini program's domains through the platform's
// lists, modify_domain, setwebviewdomain and release, over a real listener.
func TestDomainPipeline(t *testing.T) { mstest.Backends(t, testDomainPipeline) }

func testDomainPipeline(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	ctoken := componentToken(t, e.s, e.p.AppID, e.p.Secret)
	C := url.Values{"component_access_token": {ctoken}}

	// The platform registers its hosts: testing only first, then published.
	m := e.raw("POST", "/cgi-bin/component/modify_wxa_server_domain", C,
		`{"action":"add","wxa_server_domain":"api.shop.com;cdn.shop.com;ws.shop.com;1.2.3.4"}`)
	arWant(t, m, 0)
	if arStr(m, "testing_wxa_server_domain") != "api.shop.com;cdn.shop.com;ws.shop.com" || arStr(m, "invalid_wxa_server_domain") != "1.2.3.4" {
		t.Fatalf("modify_wxa_server_domain: %v", m)
	}
	if _, has := m["published_wxa_server_domain"]; has {
		t.Fatalf("a never-published platform answered a published value: %v", m)
	}
	m = e.raw("POST", "/cgi-bin/component/modify_wxa_server_domain", C,
		`{"action":"set","wxa_server_domain":"api.shop.com;cdn.shop.com;ws.shop.com","is_modify_published_together":true}`)
	if arStr(m, "published_wxa_server_domain") != "api.shop.com;cdn.shop.com;ws.shop.com" {
		t.Fatalf("published value: %v", m)
	}
	m = e.raw("POST", "/cgi-bin/component/modify_wxa_jump_domain", C,
		`{"action":"add","wxa_jump_h5_domain":"shop.com","is_modify_published_together":true}`)
	if arStr(m, "testing_wxa_jump_h5_domain") != "shop.com" || arStr(m, "published_wxa_jump_h5_domain") != "shop.com" {
		t.Fatalf("modify_wxa_jump_domain: %v", m)
	}

	// modify_domain filters: the good entries apply, the rest are listed.
	m = e.ok("POST", "/wxa/modify_domain", `{"action":"add",
		"requestdomain":["https://api.shop.com","https://cdn.shop.com","http://api.shop.com","https://evil.com"],
		"wsrequestdomain":["wss://ws.shop.com","wss://https://ws.shop.com"],
		"downloaddomain":["https://cdn.shop.com"]}`)
	wantList(t, m, "requestdomain", "https://api.shop.com", "https://cdn.shop.com")
	wantList(t, m, "invalid_requestdomain", "http://api.shop.com", "https://evil.com")
	wantList(t, m, "wsrequestdomain", "wss://ws.shop.com")
	wantList(t, m, "invalid_wsrequestdomain", "wss://https://ws.shop.com")
	for _, k := range []string{"uploaddomain", "udpdomain", "tcpdomain", "invalid_uploaddomain", "invalid_downloaddomain", "invalid_udpdomain", "invalid_tcpdomain", "no_icp_domain"} {
		wantList(t, m, k)
	}
	e.ok("POST", "/wxa/modify_domain_directly", `{"action":"add","tcpdomain":["tcp://game.other.com:9000"]}`)
	m = e.ok("POST", "/wxa/setwebviewdomain", `{}`) // no action: every platform business domain
	wantList(t, m, "webviewdomain", "https://shop.com")
	e.ok("POST", "/wxa/setwebviewdomain", `{"action":"add","webviewdomain":["https://m.shop.com"]}`)

	// Nothing is live before release.
	m = e.ok("POST", "/wxa/get_effective_domain", ``)
	third := m["third_domain"].(map[string]any)
	wantList(t, third, "requestdomain", "https://api.shop.com", "https://cdn.shop.com")
	wantList(t, m["effective_domain"].(map[string]any), "requestdomain")
	wantList(t, m["direct_domain"].(map[string]any), "tcpdomain", "tcp://game.other.com:9000")

	// A tester, then the code goes through audit.
	m = e.ok("POST", "/wxa/bind_tester", `{"wechatid":"merchant_qa"}`)
	userstr := arStr(m, "userstr")
	m = e.ok("POST", "/wxa/memberauth", `{"action":"get_experiencer"}`)
	if ms := m["members"].([]any); len(ms) != 1 || ms[0].(map[string]any)["userstr"] != userstr {
		t.Fatalf("memberauth: %v", m)
	}
	e.commit("1.0.0", "")
	e.scanned()
	id := e.submit()
	e.approve(id)

	// Between commit and release the platform drops cdn.shop.com from its
	// published list: release keeps only what the list holds then.
	m = e.raw("POST", "/cgi-bin/component/modify_wxa_server_domain", C,
		`{"action":"delete","wxa_server_domain":"cdn.shop.com","is_modify_published_together":true}`)
	arWant(t, m, 0)
	e.ok("POST", "/wxa/release", `{}`)

	m = e.ok("POST", "/wxa/get_effective_domain", `{}`)
	eff := m["effective_domain"].(map[string]any)
	wantList(t, eff, "requestdomain", "https://api.shop.com")
	wantList(t, eff, "wsrequestdomain", "wss://ws.shop.com")
	wantList(t, eff, "downloaddomain")
	wantList(t, eff, "tcpdomain", "tcp://game.other.com:9000")
	// The platform-set layer itself is untouched.
	wantList(t, m["third_domain"].(map[string]any), "requestdomain", "https://api.shop.com", "https://cdn.shop.com")
	m = e.ok("GET", "/wxa/get_effective_webviewdomain", ``)
	wantList(t, m, "effective_webviewdomain", "https://shop.com", "https://m.shop.com")

	// api_get_authorizer_info mirrors the live domains, and its image URLs
	// resolve to images miniship serves.
	m = e.raw("POST", "/cgi-bin/component/api_get_authorizer_info", C,
		fmt.Sprintf(`{"component_appid":%q,"authorizer_appid":%q}`, e.p.AppID, e.mp.AppID))
	ai := m["authorizer_info"].(map[string]any)
	mpi := ai["MiniProgramInfo"].(map[string]any)
	net := mpi["network"].(map[string]any)
	wantList(t, net, "RequestDomain", "https://api.shop.com")
	wantList(t, net, "WsRequestDomain", "wss://ws.shop.com")
	wantList(t, net, "BizDomain", "https://shop.com", "https://m.shop.com")
	if _, has := net["TCPDomain"]; has {
		t.Fatalf("network has a TCP key, which WeChat's has not: %v", net)
	}
	if arInt(t, mpi, "visit_status") != 1 {
		t.Fatalf("visit_status after release: %v", mpi)
	}
	if _, ok := ai["basic_config"].(map[string]any); !ok {
		t.Fatalf("no basic_config: %v", ai)
	}
	res, err := http.Get(arStr(ai, "head_img"))
	if err != nil {
		t.Fatal(err)
	}
	fetchImage(t, res)
	res, err = http.Get(arStr(ai, "qrcode_url"))
	if err != nil {
		t.Fatal(err)
	}
	img, _ := fetchImage(t, res)
	if got := decodeQR(t, img); !strings.Contains(got, "appid="+e.mp.AppID) {
		t.Fatalf("qrcode_url encodes %q", got)
	}

	// The service answers testers for code that serves them first.
	if ok, err := e.s.Service.IsTester(t.Context(), e.mp.AppID, "Merchant_QA"); err != nil || !ok {
		t.Fatalf("IsTester = %v, %v", ok, err)
	}
	if ok, _ := e.s.Service.IsTester(t.Context(), e.mp.AppID, "someone_else"); ok {
		t.Fatal("IsTester answered true for a stranger")
	}
}

// TestMstestHelpers: a Go user sets up domains and testers in a line each,
// and release makes the domains live.
func TestMstestHelpers(t *testing.T) {
	e := arSetup(t, mstest.Options{}, nil)
	e.s.Domains(t, e.p.AppID, e.mp.AppID, miniship.ServerDomains{Request: []string{"https://api.helper.com"}, TCP: []string{"tcp://t.helper.com:7000"}})
	us := e.s.Testers(t, e.p.AppID, e.mp.AppID, "helper_qa1", "helper_qa2")
	if len(us) != 2 {
		t.Fatalf("Testers = %v", us)
	}
	m := e.ok("POST", "/wxa/memberauth", `{"action":"get_experiencer"}`)
	if len(m["members"].([]any)) != 2 {
		t.Fatalf("memberauth: %v", m)
	}
	e.commit("1.0.0", "")
	e.scanned()
	e.approve(e.submit())
	e.ok("POST", "/wxa/release", `{}`)
	m = e.ok("POST", "/wxa/get_effective_domain", `{}`)
	wantList(t, m["effective_domain"].(map[string]any), "requestdomain", "https://api.helper.com")
	wantList(t, m["effective_domain"].(map[string]any), "tcpdomain", "tcp://t.helper.com:7000")
}
