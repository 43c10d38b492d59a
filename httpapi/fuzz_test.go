package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/clock"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/sqlstore"
	"time"
)

func FuzzInt64(f *testing.F) {
	for _, s := range []string{`12`, `"12"`, `null`, `""`, `12.0`, `"x"`, `1e3`, `-0`, `"9223372036854775808"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var n Int64
		if err := n.UnmarshalJSON([]byte(s)); err == nil {
			// Whatever parsed must survive a round trip as a plain number.
			b, _ := json.Marshal(int64(n))
			var m Int64
			if err := m.UnmarshalJSON(b); err != nil || m != n {
				t.Fatalf("%q parsed to %d, which does not round-trip", s, n)
			}
		}
	})
}

func FuzzParseFaultRule(f *testing.F) {
	f.Add("path=/wxa/commit,rate=0.1,errcode=-1,delay=200ms")
	f.Add("rate=1,delay=1s")
	f.Add("rate=2")
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := ParseFaultRule(s); err == nil {
			if r.validate(jsonRule) != nil {
				t.Fatalf("%q accepted but invalid: %+v", s, r)
			}
		}
	})
}

// demoServer is a server on a fresh SQLite database seeded with the demo,
// with a component token of the demo platform and an authorizer token of
// its first shop.
func demoServer(tb testing.TB) (srv *Server, componentToken, authorizerToken string) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(tb.TempDir(), "demo.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	svc := service.New(service.Options{Store: store, Clock: clock.NewManual(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))})
	if srv, err = New(Options{Service: svc, AdminKey: "k"}); err != nil {
		tb.Fatal(err)
	}
	seeded, err := demo.Seed(ctx, svc)
	if err != nil {
		tb.Fatal(err)
	}
	ticket, _ := svc.CurrentTicket(ctx, demo.PlatformAppID)
	ct, err := svc.ComponentToken(ctx, demo.PlatformAppID, seeded.Platform.Secret, ticket)
	if err != nil {
		tb.Fatal(err)
	}
	caller := &service.Caller{Kind: miniship.ComponentToken, PlatformAppID: demo.PlatformAppID}
	at, err := svc.AuthorizerToken(ctx, caller, demo.PlatformAppID, demo.ShopA, seeded.Refresh[demo.ShopA])
	if err != nil {
		tb.Fatal(err)
	}
	return srv, ct.Token, at.AccessToken
}

// FuzzWeChatBody sends arbitrary bodies to the POST endpoints with a valid
// token: every answer must be HTTP 200 JSON with an errcode (or, from a code
// endpoint, an image framed as one), never a panic, a 500 or HTML.
func FuzzWeChatBody(f *testing.F) {
	srv, ct, at := demoServer(f)
	var paths []string
	for p, rt := range srv.wechat {
		if rt.methods&post != 0 {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths) // which names the same path from run to run
	for _, b := range []string{`{}`, `{"template_id":"1","ext_json":"{}","user_version":"1"}`, `{"draft_id":1}`, `[`, `null`, `{"item_list":[{}]}`, "\x00", `{"user_desc":"\u0000","item_list":[{"title":"a\u0000"}],"ext":{"k":["\u0000"]}}`} {
		f.Add(uint8(0), b)
	}
	// The code endpoints answer images: a code needing no published
	// version (a develop code, or check_path false) is one.
	unlimit := uint8(slices.Index(paths, "/wxa/getwxacodeunlimit"))
	f.Add(unlimit, `{"scene":"a","env_version":"develop"}`)
	f.Add(unlimit, `{"scene":"a","check_path":false}`)
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		path := paths[int(which)%len(paths)]
		token := at
		if srv.wechat[path].token == miniship.ComponentToken {
			token = ct
		}
		req := httptest.NewRequest("POST", path+"?access_token="+token, strings.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s %q: HTTP %d", path, body, rec.Code)
		}
		// The code endpoints answer a success with an image, framed as one.
		if h := rec.Header(); strings.HasPrefix(h.Get("Content-Type"), "image/") {
			cfg, format, err := image.DecodeConfig(bytes.NewReader(rec.Body.Bytes()))
			if err != nil || "image/"+format != h.Get("Content-Type") || cfg.Width == 0 || !strings.Contains(h.Get("Content-disposition"), "attachment") {
				t.Fatalf("%s %q: a broken image answer (%v, %s, %v)", path, body, h, format, err)
			}
			return
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s %q: not JSON: %q", path, body, rec.Body.String())
		}
		if code, ok := m["errcode"].(float64); ok && code == -1 {
			t.Fatalf("%s %q: system error %v", path, body, m)
		}
	})
}

func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"/wxa/commit=10", "*=1", "x=1", "/a=-1", "=", "/a="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if path, n, err := ParseLimit(s); err == nil {
			l := Limits{Daily: map[string]int{path: n}}
			if l.validate() != nil {
				t.Fatalf("%q parsed but does not validate", s)
			}
		}
	})
}

// FuzzPlainQuery holds the token's fast path to url.ParseQuery: on a query
// plainQuery accepts, rawGet finds what Get finds and no value is one
// badValues refuses.
func FuzzPlainQuery(f *testing.F) {
	for _, s := range []string{"access_token=abc", "a=1&access_token=x&access_token=y", "access_token", "=x&access_token=",
		"access_token=a%00b", "access_token=a+b", "a=1;access_token=z", "access_token=\xff", "&&access_token==x&", "component_access_token=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if !plainQuery(raw) {
			return
		}
		q, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatalf("%q is plain but ParseQuery refuses it: %v", raw, err)
		}
		if badValues(q) {
			t.Fatalf("%q is plain but holds a bad value", raw)
		}
		keys := []string{"access_token", "component_access_token", "action", ""}
		for k := range q {
			if len(keys) == 12 { // a few of its own: all of them would make a long query quadratic
				break
			}
			keys = append(keys, k)
		}
		for _, k := range keys {
			if got, want := rawGet(raw, k), q.Get(k); got != want {
				t.Fatalf("%q: rawGet(%q) = %q, Get = %q", raw, k, got, want)
			}
		}
	})
}
