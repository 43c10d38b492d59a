package httpapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/internal/bigtemplate"
	"github.com/miniship/miniship/mstest"
)

// TestVersionAnswersGolden replays the life of a mini program on the demo
// template and on a 200-page template and pins every answer that shows
// version data: commit, get_page, get_code_privacy_info, getprivacysetting,
// submit_audit (85085 for a page the code lacks, 61040 for an undeclared
// privacy API), get_auditstatus, the reviewer's view, release, rollback,
// getversioninfo, the QR codes, the experience and runtime packages and
// the console's view of each version. What a version stores may change;
// these answers may not (run with -update only for a deliberate change of
// an answer).
func TestVersionAnswersGolden(t *testing.T) { mstest.Backends(t, testVersionAnswersGolden) }

func testVersionAnswersGolden(t *testing.T, database string) {
	s := mstest.New(t, mstest.Options{Database: database})
	e := &arEnv{t: t, s: s, hc: &http.Client{}}
	e.p = s.Platform(t, &miniship.Platform{AppID: "wxgoldenplatform1"})
	var out strings.Builder
	for _, tc := range []struct {
		name, appid, page string
		zip               []byte
		ext               func(extra string) string
	}{
		{"demo", "wxgoldendemo00001", "pages/index/index", demo.TemplateZip(), func(extra string) string {
			return `{"extAppid":"wxgoldendemo00001","ext":{"shopName":"Golden"},"window":{"navigationBarTitleText":"Golden"}` + extra + `}`
		}},
		{"big", "wxgoldenbig000001", "pages/p003/index", bigtemplate.Zip(), func(extra string) string {
			return bigtemplate.ExtJSON("wxgoldenbig000001", strings.TrimPrefix(extra, ","))
		}},
	} {
		g := &goldenLife{e: e, out: &out, name: tc.name, page: tc.page}
		e.tpl = s.Template(t, e.p.AppID, tc.zip, 0)
		a := arMiniProgram()
		a.AppID = tc.appid
		a.PrivacyAPIs = []string{"getLocation"}
		e.mp, e.tok = e.addMiniProgram(a)
		g.run(tc.ext)
	}
	golden(t, "version_answers.golden", out.String())
}

type goldenLife struct {
	e          *arEnv
	out        *strings.Builder
	name, page string
}

var ridPattern = regexp.MustCompile(` rid: \S+`)

// rec writes one answer, without its rid (random) and tokens.
func (g *goldenLife) rec(step string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		g.e.t.Fatal(err)
	}
	fmt.Fprintf(g.out, "%s %s: %s\n", g.name, step, ridPattern.ReplaceAll(b, nil))
}

// call records the answer's bytes as served and returns it decoded.
func (g *goldenLife) call(step, method, path, body string) map[string]any {
	e := g.e
	_, b := g.fetch(method, path, body)
	fmt.Fprintf(g.out, "%s %s: %s\n", g.name, step, bytes.TrimSpace(ridPattern.ReplaceAll(b, nil)))
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		e.t.Fatalf("%s: %v: %s", step, err, b)
	}
	return m
}

// adminGet GETs from the admin API and returns the answer with its body
// read.
func (g *goldenLife) adminGet(path string) (*http.Response, []byte) {
	return g.e.adminRaw("GET", path, nil, nil)
}

// adminRaw records an admin API answer's bytes as served.
func (g *goldenLife) adminRaw(step, path string) {
	res, b := g.adminGet(path)
	fmt.Fprintf(g.out, "%s %s: %d %s\n", g.name, step, res.StatusCode, bytes.TrimSpace(b))
}

func (g *goldenLife) commit(version, ext string) {
	g.call("commit "+version, "POST", "/wxa/commit", g.commitBody(version, ext))
}

func (g *goldenLife) commitBody(version, ext string) string {
	extStr, _ := json.Marshal(ext)
	return fmt.Sprintf(`{"template_id":%d,"ext_json":%s,"user_version":%q,"user_desc":"desc %s"}`, g.e.tpl, extStr, version, version)
}

// grant sets the mini program's privacy-API grants through the admin API.
func (g *goldenLife) grant(apis ...string) {
	if apis == nil {
		apis = []string{}
	}
	if st, m := g.e.admin("PATCH", "/miniship/v1/authorizers/"+g.e.mp.AppID, map[string]any{"privacy_apis": apis}); st != http.StatusOK {
		g.e.t.Fatalf("grant %v: HTTP %d %v", apis, st, m)
	}
}

func (g *goldenLife) item(page string) string {
	return `{"item_list":[{"address":"` + page + `","tag":"工具","first_class":"工具","second_class":"效率","first_id":287,"second_id":612,"title":"首页"}]}`
}

func (g *goldenLife) run(ext func(extra string) string) {
	e := g.e
	// Not declaring getLocation, which the code calls: 61040 at submit.
	g.commit("0.9", ext(`,"requiredPrivateInfos":[]`))
	g.call("privacy info while scanning", "GET", "/wxa/security/get_code_privacy_info", "")
	e.scanned()
	g.call("privacy info undeclared", "GET", "/wxa/security/get_code_privacy_info", "")
	g.call("submit undeclared", "POST", "/wxa/submit_audit", g.item(g.page))
	g.grant() // and not granted either
	g.call("privacy info ungranted", "GET", "/wxa/security/get_code_privacy_info", "")
	g.call("submit ungranted", "POST", "/wxa/submit_audit", g.item(g.page))
	g.call("commit ungranted", "POST", "/wxa/commit", g.commitBody("0.95", ext(`,"requiredPrivateInfos":["getLocation"]`)))
	g.grant("getLocation")

	g.commit("1.0", ext(`,"requiredPrivateInfos":["getLocation"]`))
	g.call("get_page", "GET", "/wxa/get_page", "")
	e.scanned()
	g.call("privacy info", "GET", "/wxa/security/get_code_privacy_info", "")
	g.call("getprivacysetting", "POST", "/cgi-bin/component/getprivacysetting", `{"privacy_ver":2}`)
	g.call("getversioninfo exp", "POST", "/wxa/getversioninfo", `{}`)
	g.call("submit bad page", "POST", "/wxa/submit_audit", g.item("pages/nosuch/index"))
	m := g.call("submit", "POST", "/wxa/submit_audit", g.item(g.page))
	id := arInt(e.t, m, "auditid")
	g.call("status pending", "POST", "/wxa/get_auditstatus", fmt.Sprintf(`{"auditid":%d}`, id))
	g.adminRaw("reviewer view", fmt.Sprintf("/miniship/v1/audits/%d", id))
	e.decide(id, "approve", "", "")
	g.call("status approved", "POST", "/wxa/get_auditstatus", fmt.Sprintf(`{"auditid":%d}`, id))
	g.call("release", "POST", "/wxa/release", `{}`)
	g.call("getversioninfo released", "POST", "/wxa/getversioninfo", `{}`)
	g.image("experience qr", "GET", "/wxa/get_qrcode?path="+g.page, "")
	g.image("unlimited code", "POST", "/wxa/getwxacodeunlimit", `{"scene":"a=1","page":"`+g.page+`","check_path":true,"env_version":"release"}`)
	g.image("unlimited code bad page", "POST", "/wxa/getwxacodeunlimit", `{"scene":"a=1","page":"pages/nosuch/index","check_path":true,"env_version":"release"}`)

	g.commit("2.0", ext(`,"requiredPrivateInfos":["getLocation"],"window":{"navigationBarTitleText":"Second"}`))
	e.scanned()
	m = g.call("submit 2", "POST", "/wxa/submit_audit", g.item(g.page))
	id = arInt(e.t, m, "auditid")
	e.decide(id, "approve", "", "")
	g.call("release 2", "POST", "/wxa/release", `{}`)
	g.call("revertcoderelease", "GET", "/wxa/revertcoderelease", "")
	g.call("getversioninfo reverted", "POST", "/wxa/getversioninfo", `{}`)
	g.call("get_page reverted", "GET", "/wxa/get_page", "")

	g.zip("experience package", "/miniship/v1/authorizers/"+e.mp.AppID+"/experience/package")
	g.zip("runtime package", "/miniship/v1/runtime/"+e.mp.AppID+"/package?user=golden")
	vs, err := e.s.Service.ListVersions(context.Background(), e.mp.AppID, 0, 10)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, lv := range vs {
		v, err := e.s.Service.Version(context.Background(), e.mp.AppID, lv.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		g.rec("console version "+v.UserVersion, map[string]any{
			"id": v.ID, "template_id": v.TemplateID, "user_version": v.UserVersion, "user_desc": v.UserDesc,
			"created_at": v.CreatedAt.UTC(), "app": digest(v.App), "pages": digest(v.Pages),
		})
	}
}

// fetch calls with the mini program's token (path may carry one query
// parameter) and returns the answer with its body read.
func (g *goldenLife) fetch(method, path, body string) (*http.Response, []byte) {
	e := g.e
	p, query, _ := strings.Cut(path, "?")
	q := tok(e.tok)
	if k, v, ok := strings.Cut(query, "="); ok {
		q.Set(k, v)
	}
	res := rawCall(e.t, e.s, method, p, q, body)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// image records a code's answer: the PNG's digest, or the error.
func (g *goldenLife) image(step, method, path, body string) {
	res, b := g.fetch(method, path, body)
	if strings.HasPrefix(res.Header.Get("Content-Type"), "image/") {
		g.rec(step, map[string]string{"image": digest(b)})
		return
	}
	g.rec(step, map[string]string{"type": res.Header.Get("Content-Type"), "body": string(ridPattern.ReplaceAll(b, nil))})
}

// zip records a package: each file's name and digest, in name order.
func (g *goldenLife) zip(step, path string) {
	e := g.e
	res, b := g.adminGet(path)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		e.t.Fatalf("%s: HTTP %d, not a zip: %v", step, res.StatusCode, err)
	}
	var files []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			e.t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		files = append(files, f.Name+" "+digest(body))
	}
	slices.Sort(files)
	g.rec(step, map[string]any{"status": res.StatusCode, "version": res.Header.Get("X-Miniship-Version"), "files": files})
}

func digest(b []byte) string {
	if b == nil {
		return "nil"
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}
