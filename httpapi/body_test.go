package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
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
