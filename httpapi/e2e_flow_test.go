package httpapi_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/internal/qrread"
	"github.com/miniship/miniship/mstest"
)

// TestWholeFlow walks a platform from creation to a downloadable experience
// version, through the admin API, the consent page and the WeChat API.
func TestWholeFlow(t *testing.T) { mstest.Backends(t, testWholeFlow) }

func testWholeFlow(t *testing.T, database string) {
	s := mstest.New(t, mstest.Options{Database: database})

	// The platform and a mini program, through the admin API.
	st, p := admin(t, s, "POST", "/miniship/v1/platforms", map[string]any{"appid": "wxflowplatform001"})
	if st != http.StatusCreated || len(arStr(p, "encoding_aes_key")) != 43 || arStr(p, "secret") == "" || arStr(p, "token") == "" {
		t.Fatalf("create platform: %d %v", st, p)
	}
	st, mp := admin(t, s, "POST", "/miniship/v1/authorizers", map[string]any{
		"appid": "wxflowshop0000001", "nickname": "Flow Shop", "profile_complete": true,
		"categories":   []map[string]any{{"first_class": "工具", "second_class": "效率", "first_id": 287, "second_id": 612}},
		"privacy_apis": []string{"getLocation"},
	})
	if st != http.StatusCreated {
		t.Fatalf("create authorizer: %d", st)
	}
	st, tk := admin(t, s, "GET", "/miniship/v1/platforms/wxflowplatform001/ticket", nil)
	if st != http.StatusOK || !strings.HasPrefix(arStr(tk, "component_verify_ticket"), "ticket@@@") {
		t.Fatalf("ticket: %d %v", st, tk)
	}

	// The component token, a pre-auth code, and the consent page.
	ctoken := componentToken(t, s, "wxflowplatform001", arStr(p, "secret"))
	pre := wx(t, s, "POST", "/cgi-bin/component/api_create_preauthcode", url.Values{"component_access_token": {ctoken}}, `{"component_appid":"wxflowplatform001"}`)
	code := arStr(pre, "pre_auth_code")
	if code == "" || pre["expires_in"].(json.Number).String() != "600" {
		t.Fatalf("preauthcode: %v", pre)
	}
	page := url.Values{"component_appid": {"wxflowplatform001"}, "pre_auth_code": {code}, "redirect_uri": {"https://platform.example/callback?x=1"}}
	res := rawCall(t, s, "GET", "/cgi-bin/componentloginpage", page, "")
	html, _ := io.ReadAll(res.Body)
	res.Body.Close()
	// The page lists no mini program: the merchant signs in.
	if res.StatusCode != 200 || strings.Contains(string(html), "wxflowshop0000001") || !strings.Contains(string(html), `name="authorizer_secret"`) ||
		!strings.Contains(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("consent page: %d %s", res.StatusCode, html)
	}
	form := url.Values{"authorizer_appid": {"wxflowshop0000001"}, "authorizer_secret": {arStr(mp, "secret")}, "permission_set": {"18", "30", "86"}}
	for k, v := range page {
		form[k] = v
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(s.URL+"/cgi-bin/componentloginpage", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || loc.Host != "platform.example" || loc.Query().Get("x") != "1" || loc.Query().Get("expires_in") != "600" {
		t.Fatalf("consent redirect: %d %v", res.StatusCode, loc)
	}
	// A pre-auth code is single use.
	res, _ = noRedirect.PostForm(s.URL+"/cgi-bin/componentloginpage", form)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("second consent with the same code: %d", res.StatusCode)
	}

	// query_auth gives the first authorizer token and the refresh token.
	qa := wx(t, s, "POST", "/cgi-bin/component/api_query_auth", url.Values{"component_access_token": {ctoken}},
		`{"component_appid":"wxflowplatform001","authorization_code":"`+loc.Query().Get("auth_code")+`"}`)
	info, _ := qa["authorization_info"].(map[string]any)
	if info["authorizer_appid"] != "wxflowshop0000001" || arStr(info, "authorizer_refresh_token") == "" || len(info["func_info"].([]any)) != 3 {
		t.Fatalf("query_auth: %v", qa)
	}
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_query_auth", url.Values{"component_access_token": {ctoken}},
		`{"component_appid":"wxflowplatform001","authorization_code":"`+loc.Query().Get("auth_code")+`"}`), 40097)
	atoken := authorizerToken(t, s, ctoken, "wxflowplatform001", "wxflowshop0000001", arStr(info, "authorizer_refresh_token"))
	ai := wx(t, s, "POST", "/cgi-bin/component/api_get_authorizer_info", url.Values{"component_access_token": {ctoken}},
		`{"component_appid":"wxflowplatform001","authorizer_appid":"wxflowshop0000001"}`)
	if ai["authorizer_info"].(map[string]any)["nick_name"] != "Flow Shop" {
		t.Fatalf("authorizer info: %v", ai)
	}

	// The template library: upload a draft, add it (draft_id as a string,
	// as some SDKs send it), list it.
	st, d := uploadDraft(t, s, "wxflowplatform001", demo.TemplateZip(), "2.0.0")
	if st != http.StatusCreated {
		t.Fatalf("draft: %d %v", st, d)
	}
	drafts := wx(t, s, "GET", "/wxa/gettemplatedraftlist", tok(ctoken), "")
	if dl := drafts["draft_list"].([]any); len(dl) != 1 || dl[0].(map[string]any)["user_version"] != "2.0.0" {
		t.Fatalf("drafts: %v", drafts)
	}
	draftID := d["draft_id"].(float64)
	arWant(t, wx(t, s, "POST", "/wxa/addtotemplate", tok(ctoken), `{"draft_id":"`+jsonNum(draftID)+`","template_type":0}`), 0)
	tl := wx(t, s, "GET", "/wxa/gettemplatelist", tok(ctoken), "")["template_list"].([]any)
	if len(tl) != 1 {
		t.Fatalf("templates: %v", tl)
	}
	tplID := tl[0].(map[string]any)["template_id"].(json.Number).String()

	// Commit with ext_json; the experience version follows.
	ext := `{"extAppid":"wxflowshop0000001","ext":{"shopName":"Flow"},"window":{"navigationBarTitleText":"Flow Shop"},"extPages":{"pages/index/index":{"navigationBarTitleText":"Welcome"}}}`
	arWant(t, wx(t, s, "POST", "/wxa/commit", tok(atoken), `{"template_id":"`+tplID+`","ext_json":`+extJSON(ext)+`,"user_version":"2.0.0","user_desc":"flow"}`), 0)
	pages := wx(t, s, "GET", "/wxa/get_page", tok(atoken), "")["page_list"].([]any)
	if want := []any{"pages/index/index", "pages/store/store", "shop/cart/cart"}; !slices.Equal(pages, want) {
		t.Fatalf("page_list = %v, want %v", pages, want)
	}
	cats := wx(t, s, "GET", "/wxa/get_category", tok(atoken), "")["category_list"].([]any)
	if len(cats) != 1 || cats[0].(map[string]any)["first_class"] != "工具" {
		t.Fatalf("categories: %v", cats)
	}
	vi := wx(t, s, "POST", "/wxa/getversioninfo", tok(atoken), "{}")
	if exp := vi["exp_info"].(map[string]any); exp["exp_version"] != "2.0.0" || vi["release_info"] != nil {
		t.Fatalf("versioninfo: %v", vi)
	}

	// The privacy scan runs for its configured time on the server clock.
	arWant(t, wx(t, s, "GET", "/wxa/security/get_code_privacy_info", tok(atoken), ""), 61039)
	s.Advance(3 * time.Second)
	pi := wx(t, s, "GET", "/wxa/security/get_code_privacy_info", tok(atoken), "")
	arWant(t, pi, 0)
	if fmtJSON(pi["without_auth_list"]) != `[]` || fmtJSON(pi["without_conf_list"]) != `[]` {
		t.Fatalf("privacy info: %v", pi)
	}

	// The QR code is a real JPEG that encodes the experience link and path.
	res = rawCall(t, s, "GET", "/wxa/get_qrcode", url.Values{"access_token": {atoken}, "path": {"pages/store/store?id=7"}}, "")
	img, err := jpeg.Decode(res.Body)
	res.Body.Close()
	if err != nil || res.Header.Get("Content-Type") != "image/jpeg" || !strings.Contains(res.Header.Get("Content-disposition"), "QRCode.jpg") {
		t.Fatalf("qrcode: %v %v", err, res.Header)
	}
	text, err := qrread.Read(img)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	link, _ := url.Parse(text)
	if link.Query().Get("appid") != "wxflowshop0000001" || link.Query().Get("path") != "pages/store/store?id=7" {
		t.Fatalf("QR encodes %q", text)
	}

	// The built package carries the merged configuration.
	req, _ := http.NewRequest("GET", s.URL+"/miniship/v1/authorizers/wxflowshop0000001/experience/package", nil)
	req.Header.Set("Authorization", "Bearer "+s.AdminKey)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	zb, _ := io.ReadAll(res.Body)
	res.Body.Close()
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if err != nil {
		t.Fatalf("package is not a zip: %v", err)
	}
	files := map[string]map[string]any{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, ".json") {
			rc, _ := f.Open()
			var m map[string]any
			json.NewDecoder(rc).Decode(&m)
			rc.Close()
			files[f.Name] = m
		}
	}
	if w := files["app.json"]["window"].(map[string]any); w["navigationBarTitleText"] != "Flow Shop" || w["navigationBarTextStyle"] != "black" {
		t.Fatalf("app.json window not merged: %v", w)
	}
	if files["pages/index/index.json"]["navigationBarTitleText"] != "Welcome" {
		t.Fatalf("extPages not applied: %v", files["pages/index/index.json"])
	}
	if files["ext.json"]["ext"].(map[string]any)["shopName"] != "Flow" || files["ext.json"]["extAppid"] != "wxflowshop0000001" {
		t.Fatalf("ext.json: %v", files["ext.json"])
	}
}

func jsonNum(f float64) string { b, _ := json.Marshal(f); return string(b) }

func fmtJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
