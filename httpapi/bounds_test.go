package httpapi_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// uploadmedia has a daily quota per mini program by default: the 1001st
// call of a day is 45009, another mini program and the next day are not
// affected, and the admin API can change it.
func TestUploadMediaDailyQuota(t *testing.T) {
	mstest.Backends(t, func(t *testing.T, db string) {
		e := arSetup(t, mstest.Options{Database: db, Config: service.Config{TokenTTL: arLongTTL}}, nil)
		_, other := e.addMiniProgram(arMiniProgram())
		for i := range httpapi.DefaultDaily["/wxa/uploadmedia"] {
			// An empty upload is refused (41005) but is a call all the same.
			if m := e.upload("other", nil); arCode(m) != 41005 {
				t.Fatalf("call %d: %v", i+1, m)
			}
		}
		arWant(t, e.upload("media", arPNG), 45009)
		tok := e.tok
		e.tok = other
		arWant(t, e.upload("media", arPNG), 0)
		e.tok = tok
		e.s.Advance(24 * time.Hour)
		arWant(t, e.upload("media", arPNG), 0)

		if code, m := e.admin("PUT", "/miniship/v1/limits", map[string]any{"daily": map[string]int{"/wxa/uploadmedia": 2}}); code != 200 {
			t.Fatalf("PUT limits: %d %v", code, m)
		}
		arWant(t, e.upload("media", arPNG), 0)
		arWant(t, e.upload("media", arPNG), 45009)
	})
}

// An upload is deleted, bytes and all, once its 3 days have passed; a
// younger one stays.
func TestExpiredMediaDeleted(t *testing.T) {
	mstest.Backends(t, func(t *testing.T, db string) {
		e := arSetup(t, mstest.Options{Database: db, Config: service.Config{TokenTTL: arLongTTL}}, nil)
		old := arStr(e.upload("media", arPNG), "mediaid")
		e.s.Advance(2 * 24 * time.Hour)
		young := arStr(e.upload("media", arPNG), "mediaid")
		e.s.Advance(24*time.Hour + time.Minute)
		err := e.s.Store.View(t.Context(), func(tx miniship.Tx) error {
			if _, err := tx.GetMedia(old); err != miniship.ErrNotFound {
				t.Errorf("expired media: %v, want it deleted", err)
			}
			if m, err := tx.GetMedia(young); err != nil || len(m.Data) != len(arPNG) {
				t.Errorf("live media: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// get_qrcode with a path too long for a QR code is an argument error
// (40097), not -1, which SDKs retry for ever; the longest path that fits
// still gives an image.
func TestQRCodePathTooLong(t *testing.T) {
	e := arSetup(t, mstest.Options{Config: service.Config{TokenTTL: arLongTTL}}, nil)
	e.commit("1.0.0", "")
	for _, tc := range []struct {
		path string
		code int
	}{
		{strings.Repeat("a", 2000), 0},
		{strings.Repeat("a", 2400), 40097},
		{strings.Repeat("é", 800), 40097}, // 1,600 bytes, 4,800 once escaped
	} {
		res := rawCall(t, e.s, "GET", "/wxa/get_qrcode", url.Values{"access_token": {e.tok}, "path": {tc.path}}, "")
		if tc.code == 0 {
			res.Body.Close()
			if res.Header.Get("Content-Type") != "image/jpeg" {
				t.Fatalf("path of %d bytes: %v", len(tc.path), res.Header)
			}
			continue
		}
		// get_qrcode's errors are JSON sent as text/plain, the only type
		// weixin-java-open's executor reads as an error (docs/domains.md).
		if ct := res.Header.Get("Content-Type"); ct != "text/plain" {
			t.Fatalf("path of %d bytes: error Content-Type %q", len(tc.path), ct)
		}
		res.Header.Set("Content-Type", "application/json")
		m := readWeChat(t, res)
		arWant(t, m, tc.code)
		if !strings.Contains(arStr(m, "errmsg"), "path too long") {
			t.Errorf("errmsg %q", arStr(m, "errmsg"))
		}
	}
}

// GET /miniship/v1/storage counts rows; the tick prunes history past its
// retention (30 days by default) and keeps what the API still returns.
func TestStorageRetention(t *testing.T) {
	mstest.Backends(t, func(t *testing.T, db string) {
		e := arSetup(t, mstest.Options{Database: db}, nil)
		for _, v := range []string{"1.0.0", "1.0.1", "1.0.2"} {
			e.commit(v, "")
		}
		versions := func() string {
			code, m := e.admin("GET", "/miniship/v1/storage", nil)
			tables, _ := m["tables"].(map[string]any)
			if code != 200 || tables["versions"] == nil {
				t.Fatalf("GET storage: %d %v", code, m)
			}
			return fmt.Sprint(tables["versions"])
		}
		if n := versions(); n != "3" {
			t.Fatalf("%v versions, want 3", n)
		}
		e.s.Advance(29 * 24 * time.Hour)
		if n := versions(); n != "3" {
			t.Fatalf("%v versions after 29 days, want 3", n)
		}
		e.s.Advance(2 * 24 * time.Hour)
		if n := versions(); n != "1" {
			t.Fatalf("%v versions after 31 days, want the latest only", n)
		}
	})
}
