package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/miniship/miniship"
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
