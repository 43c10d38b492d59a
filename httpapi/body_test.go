package httpapi_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

// TestRequestBody: a JSON body is read the same whether it says its length
// or comes chunked, and one past the 2 MiB cap is 47001 either way.
func TestRequestBody(t *testing.T) {
	e := arSetup(t, mstest.Options{}, &miniship.Platform{})
	e.commit("1.0.0", "")
	e.scanned()
	status := fmt.Sprintf(`{"auditid":%d}`, e.submit())
	large := `{"auditid":1,"pad":"` + strings.Repeat("x", 2<<20) + `"}`
	// chunked hides the length from net/http, which then sends the body chunked.
	chunked := func(s string) io.Reader { return struct{ io.Reader }{strings.NewReader(s)} }
	for _, c := range []struct {
		name string
		body io.Reader
		want wxerr.Code
	}{
		{"with length", strings.NewReader(status), 0},
		{"chunked", chunked(status), 0},
		{"too large, with length", strings.NewReader(large), wxerr.DataFormatError},
		{"too large, chunked", chunked(large), wxerr.DataFormatError},
		{"empty", strings.NewReader(""), wxerr.EmptyPostData},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", e.s.URL+"/wxa/get_auditstatus?"+url.Values{"access_token": {e.tok}}.Encode(), c.body)
			if err != nil {
				t.Fatal(err)
			}
			if _, isChunked := c.body.(interface{ Len() int }); !isChunked && req.ContentLength != 0 {
				t.Fatalf("ContentLength %d: the body would not go chunked", req.ContentLength)
			}
			arWant(t, e.do(req), int(c.want))
		})
	}
}

// TestTooManyQueryParams: a query of more parameters than net/url parses
// is 47001, on the plain path (read in place) and the parsed one alike,
// not 41001 as if it had no token; one under the bound is served.
func TestTooManyQueryParams(t *testing.T) {
	e := arSetup(t, mstest.Options{}, &miniship.Platform{})
	q := func(n int, extra string) url.Values {
		v := tok(e.tok)
		for i := range n - 1 {
			v.Set(fmt.Sprint("p", i), extra)
		}
		return v
	}
	arWant(t, wx(t, e.s, "GET", "/wxa/get_category", q(10001, "x"), ""), int(wxerr.DataFormatError))
	arWant(t, wx(t, e.s, "GET", "/wxa/get_category", q(10001, "a b"), ""), int(wxerr.DataFormatError)) // escaped: parsed
	arWant(t, wx(t, e.s, "GET", "/wxa/get_category", q(10000, "a b"), ""), 0)
}

// TestUploadBody: an upload is read the same whether the request says its
// length or comes chunked (then into a buffer of the largest upload), and
// a video of exactly 10 MB is taken while one byte more is 40006.
func TestUploadBody(t *testing.T) {
	e := arSetup(t, mstest.Options{}, &miniship.Platform{})
	chunked := func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }
	withLength := func(b []byte) io.Reader { return bytes.NewReader(b) }
	video := func(n int) []byte { return append(bytes.Clone(arMP4), make([]byte, n-len(arMP4))...) }
	for _, c := range []struct {
		name string
		data []byte
		want wxerr.Code
	}{
		{"image", arPNG, 0},
		{"video of 10 MB", video(service.MaxVideoSize), 0},
		{"video a byte over", video(service.MaxVideoSize + 1), wxerr.InvalidMediaSize},
	} {
		for name, body := range map[string]func([]byte) io.Reader{"with length": withLength, "chunked": chunked} {
			t.Run(c.name+", "+name, func(t *testing.T) {
				var buf bytes.Buffer
				mw := multipart.NewWriter(&buf)
				fw, _ := mw.CreateFormFile("media", "upload.bin")
				fw.Write(c.data)
				mw.Close()
				req, _ := http.NewRequest("POST", e.s.URL+"/wxa/uploadmedia?access_token="+url.QueryEscape(e.tok), body(buf.Bytes()))
				req.Header.Set("Content-Type", mw.FormDataContentType())
				m := e.do(req)
				arWant(t, m, int(c.want))
				if c.want == 0 && arStr(m, "mediaid") == "" {
					t.Fatalf("no mediaid: %v", m)
				}
			})
		}
	}
}

// TestBodyBudgetHTTP: a platform whose upload holds its whole share of the
// body budget (its body not yet sent) gets -1 for its next request once the
// wait runs out, while another platform's commit goes through; once the
// upload ends, the first platform's requests go through again. The
// endpoints read before any token take at most 64 KiB.
func TestBodyBudgetHTTP(t *testing.T) {
	s := mstest.New(t, mstest.Options{BodyMemory: 4 * httpapi.MinBodyMemory})
	type tenant struct {
		tok string
		tpl int64
	}
	newTenant := func() tenant {
		p := s.Platform(t, nil)
		tpl := s.Template(t, p.AppID, nil, 0)
		app, refresh := s.MiniProgram(t, p.AppID, nil)
		return tenant{authorizerToken(t, s, componentToken(t, s, p.AppID, p.Secret), p.AppID, app.AppID, refresh), tpl}
	}
	a, v := newTenant(), newTenant()
	// A commit whose body is past SmallBody, and so takes its bytes.
	commit := func(who tenant) map[string]any {
		ext := `{"ext":{"pad":"` + strings.Repeat("p", httpapi.SmallBody) + `"},"requiredPrivateInfos":[]}`
		return wx(t, s, "POST", "/wxa/commit", tok(who.tok), fmt.Sprintf(`{"template_id":%d,"ext_json":%s,"user_version":"1.0","user_desc":"budget"}`, who.tpl, extJSON(ext)))
	}

	// An upload that says it is as large as an upload may be, and sends
	// only its first 8 KiB (past the client's buffer) until the pipe is
	// closed.
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() }) // should the test fail before it closes it
	go pw.Write(append([]byte("--x\r\nContent-Disposition: form-data; name=\"media\"; filename=\"v.mp4\"\r\n\r\n"), make([]byte, 8<<10)...))
	req, _ := http.NewRequest("POST", s.URL+"/wxa/uploadmedia?"+tok(a.tok).Encode(), pr)
	req.ContentLength = httpapi.MinBodyMemory
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	uploaded := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		uploaded <- err
	}()
	for httpapi.BodyBytesHeld(s.API) != httpapi.MinBodyMemory {
		time.Sleep(time.Millisecond)
	}

	httpapi.SetBodyWait(s.API, 20*time.Millisecond)
	arWant(t, commit(a), int(wxerr.SystemError))
	arWant(t, commit(v), 0)
	// A small body takes nothing, and goes through all the same.
	arWant(t, wx(t, s, "POST", "/wxa/commit", tok(a.tok), fmt.Sprintf(`{"template_id":%d,"ext_json":%s,"user_version":"1.0","user_desc":"small"}`, a.tpl, extJSON(`{"requiredPrivateInfos":[]}`))), 0)

	pw.CloseWithError(errors.New("the client gave up"))
	<-uploaded
	for httpapi.BodyBytesHeld(s.API) != 0 {
		time.Sleep(time.Millisecond)
	}
	arWant(t, commit(a), 0)

	p := s.Platform(t, nil)
	anonymous := `{"component_appid":"` + p.AppID + `","component_appsecret":"` + p.Secret + `","component_verify_ticket":"` + s.Ticket(t, p.AppID) + `","pad":"`
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_component_token", nil, anonymous+strings.Repeat("x", 64<<10)+`"}`), int(wxerr.DataFormatError))
	if m := wx(t, s, "POST", "/cgi-bin/component/api_component_token", nil, anonymous+`"}`); arStr(m, "component_access_token") == "" {
		t.Fatalf("api_component_token: %v", m)
	}

	// Slow clients holding all of the share of the endpoints read before
	// any token keep nobody from a component token: its body is small.
	release := httpapi.HoldBodyShare(s.API, "")
	defer release()
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_component_token", nil, anonymous+strings.Repeat("x", httpapi.SmallBody)+`"}`), int(wxerr.SystemError))
	if m := wx(t, s, "POST", "/cgi-bin/component/api_component_token", nil, anonymous+`"}`); arStr(m, "component_access_token") == "" {
		t.Fatalf("api_component_token while the share is held: %v", m)
	}
}

// TestLargeRequestTurns: while every slot for large requests is taken, a
// commit past HeavyBody waits for its turn (and is answered -1 when the
// wait runs out), a small commit of the same platform goes through at
// once, and a waiting large commit is handled once a slot is free.
func TestLargeRequestTurns(t *testing.T) {
	s := mstest.New(t, mstest.Options{})
	p := s.Platform(t, nil)
	tpl := s.Template(t, p.AppID, nil, 0)
	app, refresh := s.MiniProgram(t, p.AppID, nil)
	token := authorizerToken(t, s, componentToken(t, s, p.AppID, p.Secret), p.AppID, app.AppID, refresh)
	commit := func(pad int) map[string]any {
		ext := `{"ext":{"pad":"` + strings.Repeat("p", pad) + `"},"requiredPrivateInfos":[]}`
		return wx(t, s, "POST", "/wxa/commit", tok(token), fmt.Sprintf(`{"template_id":%d,"ext_json":%s,"user_version":"1.0","user_desc":"turns"}`, tpl, extJSON(ext)))
	}

	release := httpapi.HoldTurns(s.API)
	httpapi.SetTurnWait(s.API, 20*time.Millisecond)
	m := commit(httpapi.HeavyBody)
	arWant(t, m, int(wxerr.SystemError))
	if msg, _ := m["errmsg"].(string); !strings.Contains(msg, "large requests") {
		t.Fatalf("errmsg %q: want it to say why", msg)
	}
	arWant(t, commit(httpapi.HeavyBody/2), 0) // under HeavyBody: takes no turn

	httpapi.SetTurnWait(s.API, time.Hour)
	done := make(chan map[string]any, 1)
	go func() { done <- commit(httpapi.HeavyBody) }()
	for httpapi.LargeRequestsWaiting(s.API) != 1 {
		time.Sleep(time.Millisecond)
	}
	select {
	case m := <-done:
		t.Fatalf("answered while every slot was taken: %v", m)
	default:
	}
	release()
	arWant(t, <-done, 0)
	if err := httpapi.TurnsIdle(s.API); err != nil {
		t.Fatal(err)
	}
}

// TestBuildGivesTurnBack: a modelled build time (--commit-latency) is a
// wait, not work, and a commit gives its turn back for it: while one
// platform's commit as large as all the turns builds, another platform's
// large commit goes through at once.
func TestBuildGivesTurnBack(t *testing.T) {
	gate := &mstest.BuildGate{}
	s := mstest.New(t, mstest.Options{Config: service.Config{CommitBuild: gate.Build}})
	commit := func(pad int) func() map[string]any {
		p := s.Platform(t, nil)
		tpl := s.Template(t, p.AppID, nil, 0)
		app, refresh := s.MiniProgram(t, p.AppID, nil)
		token := authorizerToken(t, s, componentToken(t, s, p.AppID, p.Secret), p.AppID, app.AppID, refresh)
		ext := `{"ext":{"pad":"` + strings.Repeat("p", pad) + `"},"requiredPrivateInfos":[]}`
		body := fmt.Sprintf(`{"template_id":%d,"ext_json":%s,"user_version":"1.0","user_desc":"build"}`, tpl, extJSON(ext))
		return func() map[string]any { return wx(t, s, "POST", "/wxa/commit", tok(token), body) }
	}
	big, other := commit(300<<10), commit(2*httpapi.HeavyBody)
	gate.Hold()
	done := make(chan map[string]any, 2)
	go func() { done <- big() }()
	<-gate.Waiting()
	httpapi.SetTurnWait(s.API, 20*time.Millisecond)
	go func() { done <- other() }()
	select {
	case <-gate.Waiting(): // the other commit had its turn, and builds too
	case m := <-done:
		gate.Release()
		t.Fatalf("the other platform's commit, while the large one builds: %v", m)
	}
	gate.Release()
	arWant(t, <-done, 0)
	arWant(t, <-done, 0)
	if err := httpapi.TurnsIdle(s.API); err != nil {
		t.Fatal(err)
	}
}

// TestHandlerTurns: work whose cost is not its JSON body takes turns too:
// code images by their pixels, the images served without a token, and
// uploads by their file's size once it is read and checked. While all the
// room is held: a refused request still gets its own errcode (every check
// comes before the turn); the token-less images and a large upload wait
// and, when the wait runs out, are answered -1 with nothing stored; a
// code, counted once its checks pass, waits as long as its client does
// and is drawn once a turn is free, never -1. Once the room is free every
// one is served, a request with a large body and a large image included
// (it gives its body's turn back before it waits for the larger one).
func TestHandlerTurns(t *testing.T) {
	e := arSetup(t, mstest.Options{}, nil)
	const J = "application/json"
	unlimit := `{"scene":"a=1","check_path":false,"width":1280}`
	padded := `{"scene":"a=1","check_path":false,"width":1280,"pad":"` + strings.Repeat("p", httpapi.HeavyBody) + `"}`
	anonymous := func(path string) *http.Response {
		res, err := http.Get(e.s.URL + path + "?appid=" + e.mp.AppID)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	media := append(bytes.Clone(arPNG), make([]byte, httpapi.HeavyBody)...)
	limited := `{"path":"pages/index/index","env_version":"develop","width":430}` // counted
	used := func() string {
		_, h := fetchImage(t, codeCall(t, e, "/wxa/getwxacode", limited, J))
		return h.Get("Num-Used")
	}
	if n := used(); n != "1" {
		t.Fatalf("Num-Used %q, want 1", n)
	}

	release := httpapi.HoldTurns(e.s.API)
	httpapi.SetTurnWait(e.s.API, 20*time.Millisecond)
	codeErr(t, codeCall(t, e, "/wxa/getwxacodeunlimit", `{"scene":"a=1","check_path":false,"env_version":"nope","width":1280}`, J), jsonErrType, int(wxerr.InvalidArgs))
	arWant(t, e.upload("media", make([]byte, 2*httpapi.HeavyBody)), int(wxerr.InvalidMediaType))
	codeErr(t, anonymous("/miniship/img/qrcode"), "application/json; charset=UTF-8", int(wxerr.SystemError))
	codeErr(t, anonymous("/miniship/img/head"), "application/json; charset=UTF-8", int(wxerr.SystemError))
	arWant(t, e.upload("media", media), int(wxerr.SystemError))
	arWant(t, e.upload("media", arPNG), 0) // a small file takes no turn
	drawn := make(chan http.Header, 1)
	go func() {
		_, h := fetchImage(t, codeCall(t, e, "/wxa/getwxacode", limited, J))
		drawn <- h
	}()
	for httpapi.LargeRequestsWaiting(e.s.API) != 1 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // past the 20 ms a bounded wait would end in
	select {
	case h := <-drawn:
		t.Fatalf("a counted code was answered while every turn was held: %v", h)
	default:
	}
	release()
	if n := (<-drawn).Get("Num-Used"); n != "2" {
		t.Fatalf("Num-Used %q of the code that waited, want 2", n)
	}

	fetchImage(t, codeCall(t, e, "/wxa/getwxacodeunlimit", unlimit, J))
	fetchImage(t, codeCall(t, e, "/wxa/getwxacodeunlimit", padded, J))
	fetchImage(t, anonymous("/miniship/img/qrcode"))
	fetchImage(t, anonymous("/miniship/img/head"))
	if m := e.upload("media", media); arStr(m, "mediaid") == "" {
		t.Fatalf("upload: %v", m)
	}
	if n := used(); n != "3" {
		t.Fatalf("Num-Used %q, want 3", n)
	}
	if err := httpapi.TurnsIdle(e.s.API); err != nil {
		t.Fatal(err)
	}
}

// idleWhenWritten checks, as the answer starts, that the request holds no
// turn: a slow reader must not hold one.
type idleWhenWritten struct {
	*httptest.ResponseRecorder
	t       *testing.T
	s       *httpapi.Server
	checked bool
}

func (w *idleWhenWritten) WriteHeader(code int) {
	if err := httpapi.TurnsIdle(w.s); err != nil {
		w.t.Errorf("a turn is held as the answer is written: %v", err)
	}
	w.checked = true
	w.ResponseRecorder.WriteHeader(code)
}

// TestImageWrittenWithoutTurn: an image's handler gives its turn back
// before it writes the image, which a slow client may take long to read.
func TestImageWrittenWithoutTurn(t *testing.T) {
	e := arSetup(t, mstest.Options{}, nil)
	for _, req := range []*http.Request{
		httptest.NewRequest("GET", "/miniship/img/head?appid="+e.mp.AppID, nil),
		httptest.NewRequest("GET", "/miniship/img/qrcode?appid="+e.mp.AppID, nil),
		httptest.NewRequest("POST", "/wxa/getwxacodeunlimit?access_token="+e.tok, strings.NewReader(`{"scene":"a=1","check_path":false,"width":1280}`)),
	} {
		w := &idleWhenWritten{ResponseRecorder: httptest.NewRecorder(), t: t, s: e.s.API}
		e.s.API.ServeHTTP(w, req)
		if !w.checked || !strings.HasPrefix(w.Header().Get("Content-Type"), "image/") {
			t.Errorf("%s: %d %q, want an image", req.URL.Path, w.Code, w.Header().Get("Content-Type"))
		}
	}
}
