package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

// FuzzWxaCode posts arbitrary bodies under a choice of Content-Types to the
// three code endpoints of a published mini program. Every answer is an
// image framed as one or a JSON errcode under the code error type, never
// -1. A counted kind spends exactly one code when it answers an image (its
// Num-Used says which) and none when it answers an error. A JSON object
// gets the same answer whatever Content-Type it is sent under.
//
// Each input is an HTTP call that may draw an image, so minimising a new
// input takes the default minute of no progress; -fuzzminimizetime 5s
// keeps a run moving.
func FuzzWxaCode(f *testing.F) {
	e := arSetup(f, mstest.Options{}, nil)
	e.releaseVersion("1.0.0")
	paths := []string{"/wxa/getwxacode", "/wxa/getwxacodeunlimit", "/cgi-bin/wxaapp/createwxaqrcode"}
	// Not multipart/: the server leaves such a body to the one endpoint
	// that takes files (uploadmedia), so JSON sent as one is 44002 anywhere.
	ctypes := []string{"application/json", "application/x-www-form-urlencoded", "text/plain", "",
		"application/x-www-form-urlencoded; charset=UTF-8", "application/octet-stream"}
	pick := func(path, ctype int) uint8 { return uint8(path + len(paths)*ctype) }
	for _, s := range []struct {
		path, ctype int
		body        string
	}{
		{0, 0, `{"path":"pages/index/index?id=1","width":"300","line_color":{"r":"10","g":20,"b":200}}`},
		{0, 1, `{"path":"pages/index/index"}`},
		{0, 0, `path=pages/index/index`},
		{0, 1, `{"path":`},
		{0, 0, `{"path":"p?` + strings.Repeat("&", 1022) + `"}`},
		{0, 0, `{"path":"` + strings.Repeat("中", 1024) + `"}`},
		{0, 3, `{"path":"` + strings.Repeat("/a/", 300) + `","is_hyaline":true,"auto_color":1}`},
		{0, 0, `{"path":"a","env_version":"trial"}`},
		{1, 1, `{"scene":"id=7&from=qr","page":"pages/store/store"}`},
		{1, 0, `{"scene":"a","page":"` + strings.Repeat("p", 3000) + `","check_path":false}`},
		{1, 0, `{"scene":"a","page":"` + strings.Repeat("p", 3000) + `","env_version":"develop"}`},
		{1, 2, `{"scene":"a","page":"pages/nowhere","check_path":"false","env_version":"trial"}`},
		{1, 0, `scene=a&page=pages/index/index`},
		{2, 0, `{"path":"pages/index/index","env_version":"trial"}`},
		{2, 4, `{"path":"` + strings.Repeat("中", 128) + `","width":99999}`},
		{2, 5, `null`},
	} {
		f.Add(pick(s.path, s.ctype), s.body)
	}
	counted := func(t *testing.T) int {
		var n int
		err := e.s.Store.View(t.Context(), func(tx miniship.Tx) (err error) {
			n, err = tx.GetCounter("wxacode:" + e.mp.AppID)
			if errors.Is(err, miniship.ErrNotFound) { // no code yet
				return nil
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		path := paths[int(which)%len(paths)]
		ctype := ctypes[int(which)/len(paths)%len(ctypes)]
		counts := path != "/wxa/getwxacodeunlimit"
		before := counted(t)
		got := codeOutcome(t, codeCall(t, e, path, body, ctype))
		after := counted(t)
		switch {
		case got.code != 0 && after != before:
			t.Fatalf("%s %q (%s): errcode %d, yet %d codes counted", path, body, ctype, got.code, after-before)
		case got.code == 0 && counts && (after != before+1 || got.numUsed != strconv.Itoa(after)):
			t.Fatalf("%s %q (%s): an image with Num-Used %q, counter %d → %d", path, body, ctype, got.numUsed, before, after)
		case got.code == 0 && !counts && (after != before || got.numUsed != ""):
			t.Fatalf("%s %q (%s): an uncounted code moved the counter or said Num-Used %q", path, body, ctype, got.numUsed)
		}
		// The body decides, not the header: a JSON object answers as it does
		// under application/json (but for a quota it may just have used up).
		if b := bytes.TrimSpace([]byte(body)); ctype != "application/json" && len(b) > 0 && b[0] == '{' && json.Valid(b) {
			want := codeOutcome(t, codeCall(t, e, path, body, "application/json"))
			quota := func(c int) bool { return c == 45009 || c == 45029 }
			if got.code != want.code && !quota(got.code) && !quota(want.code) {
				t.Fatalf("%s %q: errcode %d under %q, %d as application/json", path, body, got.code, ctype, want.code)
			}
		}
	})
}

// outcome is what a code call answered: errcode 0 for an image.
type outcome struct {
	code    int
	numUsed string
}

// codeOutcome checks a code answer's framing and says what it was: an
// image that decodes as its type with an attachment disposition, or a JSON
// errcode other than -1 under the code error type.
func codeOutcome(t *testing.T, res *http.Response) outcome {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	ct := res.Header.Get("Content-Type")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d %q", res.StatusCode, b)
	}
	if strings.HasPrefix(ct, "image/") {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
		if err != nil || "image/"+format != ct || cfg.Width < 280 || !strings.Contains(res.Header.Get("Content-disposition"), "attachment") {
			t.Fatalf("a broken image answer: %v, %s, %v", res.Header, format, err)
		}
		return outcome{numUsed: res.Header.Get("Num-Used")}
	}
	var m struct {
		Code *int `json:"errcode"`
	}
	if ct != jsonErrType || json.Unmarshal(b, &m) != nil || m.Code == nil || *m.Code == 0 {
		t.Fatalf("neither an image nor a code error: %q %q", ct, b)
	}
	if *m.Code == -1 {
		t.Fatalf("system error: %s", b)
	}
	return outcome{code: *m.Code}
}
