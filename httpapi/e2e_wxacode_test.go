package httpapi_test

import (
	"image"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

// codeCall posts a code request and returns the raw answer.
func codeCall(t testing.TB, e *arEnv, path, body, ctype string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", e.s.URL+path+"?access_token="+url.QueryEscape(e.tok), strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// codeErr checks an error answer of a binary endpoint: JSON with the
// errcode, under the error Content-Type clients tell it apart by.
func codeErr(t testing.TB, res *http.Response, wantType string, code int) {
	t.Helper()
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != wantType {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("%s: Content-Type %q, want %q (%s)", res.Request.URL.Path, ct, wantType, b)
	}
	res.Header.Set("Content-Type", "application/json") // readWeChat checks JSON framing
	arWant(t, readWeChat(t, res), code)
}

const jsonErrType = "application/json; encoding=utf-8"

// TestMiniProgramCodes generates each kind of code over the wire, decodes
// the QR code inside, and checks the limits and the error framing.
func TestMiniProgramCodes(t *testing.T) { mstest.Backends(t, testMiniProgramCodes) }

func testMiniProgramCodes(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	const J = "application/json"

	// get_qrcode errors are text/plain for weixin-java-open, JSON inside.
	res := rawCall(t, e.s, "GET", "/wxa/get_qrcode", tok(e.tok), "")
	codeErr(t, res, "text/plain", 86001)

	// Not published yet: release codes are 41030; a trial code needs a commit.
	codeErr(t, codeCall(t, e, "/wxa/getwxacode", `{"path":"pages/index/index"}`, J), jsonErrType, 41030)
	codeErr(t, codeCall(t, e, "/wxa/getwxacodeunlimit", `{"scene":"a=1","env_version":"trial"}`, J), jsonErrType, 41030)
	e.commit("1.0.0", "")
	img, _ := fetchImage(t, codeCall(t, e, "/wxa/getwxacodeunlimit", `{"scene":"a=1","page":"pages/index/index","env_version":"trial"}`, J))
	q := decodeCode(t, img, "miniship:wxacode?")
	if q.Get("env_version") != "trial" || q.Get("scene") != "a=1" || q.Get("page") != "pages/index/index" || q.Get("appid") != e.mp.AppID {
		t.Fatalf("trial code encodes %v", q)
	}
	e.scanned()
	e.approve(e.submit())
	e.ok("POST", "/wxa/release", `{}`)

	// getwxacode: a round code carrying the path, Num-Used counting.
	img, h := fetchImage(t, codeCall(t, e, "/wxa/getwxacode", `{"path":"pages/index/index?id=7","width":"300","line_color":{"r":"10","g":20,"b":200}}`, J))
	if q := decodeCode(t, img, "miniship:wxacode?"); q.Get("path") != "pages/index/index?id=7" || q.Get("env_version") != "release" {
		t.Fatalf("getwxacode encodes %v", q)
	}
	if h.Get("Num-Used") != "1" || !strings.Contains(h.Get("Content-disposition"), "attachment") || img.Bounds().Dx() != 300 {
		t.Fatalf("getwxacode framing: %v, %v", h, img.Bounds())
	}
	// Hyaline: PNG, transparent outside the badge.
	img, _ = fetchImage(t, codeCall(t, e, "/wxa/getwxacode", `{"path":"pages/index/index","is_hyaline":true,"auto_color":true}`, J))
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Fatal("a hyaline code has an opaque corner")
	}
	decodeCode(t, img, "miniship:wxacode?")
	// A long path still decodes: the image grows past the width asked.
	long := "pages/index/index?q=" + strings.Repeat("x", 900)
	img, _ = fetchImage(t, codeCall(t, e, "/wxa/getwxacode", `{"path":"`+long+`"}`, J))
	if q := decodeCode(t, img, "miniship:wxacode?"); q.Get("path") != long {
		t.Fatal("a long path did not round-trip")
	}

	// getwxacodeunlimit: scene and page, check_path against the live pages.
	img, h = fetchImage(t, codeCall(t, e, "/wxa/getwxacodeunlimit", `{"scene":"id=7&from=qr","page":"pages/store/store"}`, J))
	if q := decodeCode(t, img, "miniship:wxacode?"); q.Get("scene") != "id=7&from=qr" || q.Get("page") != "pages/store/store" {
		t.Fatalf("unlimit encodes %v", q)
	}
	if h.Get("Num-Used") != "" {
		t.Fatal("getwxacodeunlimit is not counted, yet answered Num-Used")
	}
	fetchImage(t, codeCall(t, e, "/wxa/getwxacodeunlimit", `{"scene":"x","page":"pages/future/page","check_path":false}`, J))

	// createwxaqrcode: a square QR code.
	img, h = fetchImage(t, codeCall(t, e, "/cgi-bin/wxaapp/createwxaqrcode", `{"path":"pages/index/index","width":280}`, J))
	if q := decodeCode(t, img, "miniship:wxaqrcode?"); q.Get("path") != "pages/index/index" {
		t.Fatalf("createwxaqrcode encodes %v", q)
	}
	if h.Get("Num-Used") != "4" {
		t.Fatalf("Num-Used %q after four counted codes", h.Get("Num-Used"))
	}

	for _, c := range []struct {
		name, path, body, ctype string
		code                    int
	}{
		{"no path", "/wxa/getwxacode", `{}`, J, 40159},
		{"path too long", "/wxa/getwxacode", `{"path":"` + strings.Repeat("p", 1025) + `"}`, J, 40159},
		{"form body", "/wxa/getwxacode", `path=pages/index/index`, "application/x-www-form-urlencoded", 40159},
		{"not json", "/wxa/getwxacode", `{"path":`, J, 47001},
		{"bad env", "/wxa/getwxacode", `{"path":"a","env_version":"beta"}`, J, 40097},
		{"empty body", "/wxa/getwxacode", ``, J, 44002},
		{"no scene", "/wxa/getwxacodeunlimit", `{"page":"pages/index/index"}`, J, 40169},
		{"scene too long", "/wxa/getwxacodeunlimit", `{"scene":"` + strings.Repeat("s", 33) + `"}`, J, 40169},
		{"scene percent", "/wxa/getwxacodeunlimit", `{"scene":"a%20b"}`, J, 40129},
		{"scene unicode", "/wxa/getwxacodeunlimit", `{"scene":"商品"}`, J, 40129},
		{"unlimit form", "/wxa/getwxacodeunlimit", `scene=a`, "application/x-www-form-urlencoded", 40169},
		{"page leading slash", "/wxa/getwxacodeunlimit", `{"scene":"a","page":"/pages/index/index"}`, J, 41030},
		{"page with query", "/wxa/getwxacodeunlimit", `{"scene":"a","page":"pages/index/index?x=1"}`, J, 41030},
		{"page not live", "/wxa/getwxacodeunlimit", `{"scene":"a","page":"pages/future/page"}`, J, 41030},
		{"square path too long", "/cgi-bin/wxaapp/createwxaqrcode", `{"path":"` + strings.Repeat("p", 129) + `"}`, J, 40159},
	} {
		t.Run(c.name, func(t *testing.T) {
			codeErr(t, codeCall(t, e, c.path, c.body, c.ctype), jsonErrType, c.code)
		})
	}

	// The 100,000 codes ever of getwxacode and createwxaqrcode together.
	if err := e.s.Store.Update(t.Context(), func(tx miniship.Tx) error {
		_, err := tx.AddCounter("wxacode:"+e.mp.AppID, 100000-4)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	codeErr(t, codeCall(t, e, "/cgi-bin/wxaapp/createwxaqrcode", `{"path":"a"}`, J), jsonErrType, 45029)
	codeErr(t, codeCall(t, e, "/wxa/getwxacode", `{"path":"a"}`, J), jsonErrType, 45029)
	// Unlimited codes are not capped.
	fetchImage(t, codeCall(t, e, "/wxa/getwxacodeunlimit", `{"scene":"still"}`, J))

	// Without permission set 17: 61007, framed as a code error.
	bare, btok := e.addMiniProgram(&miniship.Authorizer{})
	if _, err := e.s.Service.Authorize(t.Context(), e.p.AppID, bare.AppID, []int{18}); err != nil {
		t.Fatal(err)
	}
	e.tok = btok
	codeErr(t, codeCall(t, e, "/wxa/getwxacode", `{"path":"a"}`, J), jsonErrType, 61007)
}

// decodeCode reads a code's QR text, checks its scheme and returns its query.
func decodeCode(t testing.TB, img image.Image, prefix string) url.Values {
	t.Helper()
	text := decodeQR(t, img)
	rest, ok := strings.CutPrefix(text, prefix)
	if !ok {
		t.Fatalf("code encodes %q, want the prefix %q", text, prefix)
	}
	q, err := url.ParseQuery(rest)
	if err != nil {
		t.Fatalf("code encodes %q: %v", text, err)
	}
	return q
}

// codeUsed generates a getwxacode code and returns its Num-Used header:
// how many codes the mini program has spent.
func codeUsed(t testing.TB, e *arEnv) string {
	t.Helper()
	_, h := fetchImage(t, codeCall(t, e, "/wxa/getwxacode", `{"path":"pages/index/index"}`, "application/json"))
	return h.Get("Num-Used")
}

// TestCodeContentTooLong holds every path the API accepts to a code that
// decodes, and a path no QR code can carry to its documented errcode
// (never -1) without spending one of the 100,000 codes.
func TestCodeContentTooLong(t *testing.T) { mstest.Backends(t, testCodeContentTooLong) }

func testCodeContentTooLong(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	e.releaseVersion("1.0.0")
	const J = "application/json"
	if n := codeUsed(t, e); n != "1" {
		t.Fatalf("Num-Used %q after one code", n)
	}

	// 1024 characters whose link needs the lowest error correction: the
	// code still decodes.
	long := "pages/x?p=" + strings.Repeat("/a/", 338)
	img, h := fetchImage(t, codeCall(t, e, "/wxa/getwxacode", `{"path":"`+long+`"}`, J))
	if q := decodeCode(t, img, "miniship:wxacode?"); q.Get("path") != long {
		t.Fatalf("a %d-character path did not round-trip", len(long))
	}
	if h.Get("Num-Used") != "2" {
		t.Fatalf("Num-Used %q after two codes", h.Get("Num-Used"))
	}

	for _, c := range []struct{ name, body string }{
		{"1022 ampersands", `{"path":"p?` + strings.Repeat("&", 1022) + `"}`},
		{"1024 han characters", `{"path":"` + strings.Repeat("中", 1024) + `"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			codeErr(t, codeCall(t, e, "/wxa/getwxacode", c.body, J), jsonErrType, 40159)
		})
	}
	if n := codeUsed(t, e); n != "3" {
		t.Fatalf("Num-Used %q: a refused code was counted", n)
	}

	// getwxacodeunlimit has no documented length for page: one its code
	// cannot carry is an invalid page, whether or not it is checked.
	page := strings.Repeat("p", 3000)
	for _, c := range []struct{ name, body string }{
		{"unchecked", `{"scene":"a","page":"` + page + `","check_path":false}`},
		{"develop", `{"scene":"a","page":"` + page + `","env_version":"develop"}`},
		{"checked", `{"scene":"a","page":"` + page + `"}`},
		{"han", `{"scene":"a","page":"` + strings.Repeat("中", 400) + `","check_path":false}`},
	} {
		t.Run("page "+c.name, func(t *testing.T) {
			codeErr(t, codeCall(t, e, "/wxa/getwxacodeunlimit", c.body, J), jsonErrType, 41030)
		})
	}
	// The longest page that fits still makes a code.
	page = strings.Repeat("p", 2800)
	img, _ = fetchImage(t, codeCall(t, e, "/wxa/getwxacodeunlimit", `{"scene":"a","page":"`+page+`","check_path":false}`, J))
	if q := decodeCode(t, img, "miniship:wxacode?"); q.Get("page") != page {
		t.Fatal("a long page did not round-trip")
	}
}

// TestCodeBodyNotHeader reads a code request by its body, whatever its
// Content-Type says, as WeChat and every other endpoint do: curl -d and
// PHP's curl send JSON as application/x-www-form-urlencoded. A real form
// body keeps its documented errcode under any header.
func TestCodeBodyNotHeader(t *testing.T) { mstest.Backends(t, testCodeBodyNotHeader) }

func testCodeBodyNotHeader(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	e.releaseVersion("1.0.0")
	const (
		J    = "application/json"
		Form = "application/x-www-form-urlencoded"
	)
	for _, c := range []struct {
		name, path, body, ctype, prefix, key, want string
	}{
		{"form header", "/wxa/getwxacode", `{"path":"pages/index/index"}`, Form, "miniship:wxacode?", "path", "pages/index/index"},
		{"form header with charset", "/wxa/getwxacode", ` {"path":"a?b=1"}`, Form + "; charset=UTF-8", "miniship:wxacode?", "path", "a?b=1"},
		{"text header", "/wxa/getwxacode", `{"path":"pages/index/index"}`, "text/plain", "miniship:wxacode?", "path", "pages/index/index"},
		{"no header", "/wxa/getwxacode", `{"path":"pages/index/index"}`, "", "miniship:wxacode?", "path", "pages/index/index"},
		{"unlimit form header", "/wxa/getwxacodeunlimit", `{"scene":"id=7"}`, Form, "miniship:wxacode?", "scene", "id=7"},
		{"square form header", "/cgi-bin/wxaapp/createwxaqrcode", `{"path":"pages/index/index"}`, Form, "miniship:wxaqrcode?", "path", "pages/index/index"},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, _ := fetchImage(t, codeCall(t, e, c.path, c.body, c.ctype))
			if q := decodeCode(t, img, c.prefix); q.Get(c.key) != c.want {
				t.Fatalf("code encodes %v, want %s=%q", q, c.key, c.want)
			}
		})
	}
	used := codeUsed(t, e)
	for _, c := range []struct {
		name, path, body, ctype string
		code                    int
	}{
		{"form", "/wxa/getwxacode", `path=pages/index/index`, Form, 40159},
		{"form as json", "/wxa/getwxacode", `path=pages/index/index`, J, 40159},
		{"form without header", "/wxa/getwxacode", `path=pages%2Findex&width=430`, "", 40159},
		{"unlimit form as json", "/wxa/getwxacodeunlimit", `scene=a&page=pages/index/index`, J, 40169},
		{"square form as json", "/cgi-bin/wxaapp/createwxaqrcode", `path=a`, J, 40159},
		{"broken json as form", "/wxa/getwxacode", `{"path":`, Form, 47001},
		{"broken json with =", "/wxa/getwxacode", `{"path":"a=b"`, Form, 47001},
		{"neither", "/wxa/getwxacode", `pages/index/index`, Form, 47001},
	} {
		t.Run(c.name, func(t *testing.T) {
			codeErr(t, codeCall(t, e, c.path, c.body, c.ctype), jsonErrType, c.code)
		})
	}
	if n, _ := strconv.Atoi(used); codeUsed(t, e) != strconv.Itoa(n+1) {
		t.Fatal("a refused code was counted")
	}
}

// TestCodeUncheckedUnpublished: getwxacodeunlimit with check_path false
// needs no published version (spec: unpublished or non-existent pages are
// allowed; WeChat: 允许小程序未发布), under any env_version. Checked codes
// and the path codes still need one.
func TestCodeUncheckedUnpublished(t *testing.T) { mstest.Backends(t, testCodeUncheckedUnpublished) }

func testCodeUncheckedUnpublished(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	const J = "application/json"
	for _, c := range []struct{ name, body, env string }{
		{"release", `{"scene":"a=1","page":"pages/index/index","check_path":false}`, "release"},
		{"home page", `{"scene":"a=1","check_path":false}`, "release"},
		{"false as a string", `{"scene":"a=1","page":"pages/new/new","check_path":"false"}`, "release"},
		{"false as 0", `{"scene":"a=1","page":"pages/new/new","check_path":0}`, "release"},
		{"trial without a commit", `{"scene":"a=1","page":"pages/new/new","check_path":false,"env_version":"trial"}`, "trial"},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, _ := fetchImage(t, codeCall(t, e, "/wxa/getwxacodeunlimit", c.body, J))
			if q := decodeCode(t, img, "miniship:wxacode?"); q.Get("scene") != "a=1" || q.Get("env_version") != c.env {
				t.Fatalf("code encodes %v", q)
			}
		})
	}
	for _, c := range []struct{ name, path, body string }{
		{"checked", "/wxa/getwxacodeunlimit", `{"scene":"a","page":"pages/index/index"}`},
		{"checked home page", "/wxa/getwxacodeunlimit", `{"scene":"a","check_path":true}`},
		{"getwxacode", "/wxa/getwxacode", `{"path":"pages/index/index"}`},
		{"createwxaqrcode", "/cgi-bin/wxaapp/createwxaqrcode", `{"path":"pages/index/index"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			codeErr(t, codeCall(t, e, c.path, c.body, J), jsonErrType, 41030)
		})
	}
}

// TestCodeEnvVersionMessage: a refused env_version says why in terms that
// hold for the endpoint. createwxaqrcode documents no env_version and makes
// release codes only, so "trial" must not read as one of the values it takes.
func TestCodeEnvVersionMessage(t *testing.T) { mstest.Backends(t, testCodeEnvVersionMessage) }

func testCodeEnvVersionMessage(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	for _, c := range []struct{ name, path, body, says, never string }{
		{"square trial", "/cgi-bin/wxaapp/createwxaqrcode", `{"path":"a","env_version":"trial"}`, `release codes only`, "trial or develop"},
		{"square develop", "/cgi-bin/wxaapp/createwxaqrcode", `{"path":"a","env_version":"develop"}`, `release codes only`, "trial or develop"},
		{"square beta", "/cgi-bin/wxaapp/createwxaqrcode", `{"path":"a","env_version":"beta"}`, `release codes only`, "trial or develop"},
		{"path beta", "/wxa/getwxacode", `{"path":"a","env_version":"beta"}`, `release, trial or develop, not "beta"`, "only"},
		{"unlimit beta", "/wxa/getwxacodeunlimit", `{"scene":"a","env_version":"beta"}`, `release, trial or develop, not "beta"`, "only"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := codeCall(t, e, c.path, c.body, "application/json")
			res.Header.Set("Content-Type", "application/json") // readWeChat checks JSON framing
			m := readWeChat(t, res)
			arWant(t, m, 40097)
			if msg := arStr(m, "errmsg"); !strings.Contains(msg, c.says) || strings.Contains(msg, c.never) {
				t.Fatalf("errmsg %q: want %q in it and not %q", msg, c.says, c.never)
			}
		})
	}
}
