package httpapi_test

// Findings of an outside review of the calls around the core, each fixed
// and kept here as the behaviour it asked for.

import (
	"fmt"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// TestPrivacyExtFileOutlivesMediaSweep: a privacy guide's supplementary
// file does not expire as uploadmedia's do. The sweep of expired uploads
// deleted it after 3 days, and the guide re-sent unchanged (what a
// platform does before each submit) was 86073. An expired uploadmedia
// file, swept in the same pass, still goes (TestExpiredMediaDeleted).
func TestPrivacyExtFileOutlivesMediaSweep(t *testing.T) {
	mstest.Backends(t, func(t *testing.T, db string) {
		e, _, _, tok := grSetupWith(t, mstest.Options{Database: db, Config: service.Config{TokenTTL: arLongTTL}})
		m := grUpload(e, tok, "privacy.txt", []byte("补充说明"))
		arWant(t, m, 0)
		id := fmt.Sprint(m["ext_file_media_id"])
		guide := `{"privacy_ver":2,"setting_list":[{"privacy_key":"Location","privacy_text":"定位"}],` +
			`"owner_setting":{"contact_email":"a@b.cn","notice_method":"弹窗","ext_file_media_id":"` + id + `"}}`
		e.ok("POST", "/cgi-bin/component/setprivacysetting", guide, tok)
		media := arStr(e.upload("media", arPNG), "mediaid")
		e.s.Advance(4 * 24 * time.Hour) // past MediaTTL; the sweep runs on the clock's tick
		e.ok("POST", "/cgi-bin/component/setprivacysetting", guide, tok)
		err := e.s.Store.View(t.Context(), func(tx miniship.Tx) error {
			if _, err := tx.GetMedia(media); err != miniship.ErrNotFound {
				t.Errorf("expired uploadmedia file: %v, want it deleted", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
