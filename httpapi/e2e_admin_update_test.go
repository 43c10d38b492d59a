package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/miniship/miniship/mstest"
)

// TestAdminUpdates: changing a mini program's grants applies to its next
// commit; changing a platform's key and auth-event URL applies to its next
// push, which the receiver decrypts with the new key only.
func TestAdminUpdates(t *testing.T) {
	f := newFixture(t, mstest.Options{}, nil)
	A := tok(f.atoken)
	body := f.commitBody(f.tplID, `{"requiredPrivateInfos":["chooseAddress"]}`, "1")
	arWant(t, wx(t, f.s, "POST", "/wxa/commit", A, body), 85312)
	st, a := admin(t, f.s, "PATCH", "/miniship/v1/authorizers/"+f.app.AppID, map[string]any{"privacy_apis": []string{"chooseAddress", "getLocation"}})
	if st != http.StatusOK || len(a["privacy_apis"].([]any)) != 2 || a["nickname"] != f.app.Nickname {
		t.Fatalf("patch authorizer: %d %v", st, a)
	}
	arWant(t, wx(t, f.s, "POST", "/wxa/commit", A, body), 0)

	for _, bad := range []struct {
		path string
		body map[string]any
		want int
	}{
		{"/miniship/v1/authorizers/" + f.app.AppID, map[string]any{"privacy_apis": []string{"getSecrets"}}, 400},
		{"/miniship/v1/authorizers/wxnobody", map[string]any{"nickname": "x"}, 404},
		{"/miniship/v1/platforms/" + f.p.AppID, map[string]any{"encoding_aes_key": "short"}, 400},
		{"/miniship/v1/platforms/" + f.p.AppID, map[string]any{"unknown_field": 1}, 400},
		// A push URL is empty (no pushes) or an absolute http(s) URL.
		{"/miniship/v1/platforms/" + f.p.AppID, map[string]any{"auth_event_url": "file:///etc/passwd"}, 400},
		{"/miniship/v1/platforms/" + f.p.AppID, map[string]any{"message_url": "/relative/$APPID$"}, 400},
		{"/miniship/v1/platforms/" + f.p.AppID, map[string]any{"message_url": "https://user:pw@example.com/"}, 400},
		{"/miniship/v1/platforms/" + f.p.AppID, map[string]any{"auth_event_url": "gopher://example.com/"}, 400},
	} {
		if st, m := admin(t, f.s, "PATCH", bad.path, bad.body); st != bad.want {
			t.Errorf("PATCH %s %v: %d %v, want %d", bad.path, bad.body, st, m, bad.want)
		}
	}
	for _, bad := range []map[string]any{
		{"appid": "wxbadurl1", "auth_event_url": "ftp://example.com/"},
		{"appid": "wxbadurl2", "message_url": "example.com/$APPID$"},
	} {
		if st, m := admin(t, f.s, "POST", "/miniship/v1/platforms", bad); st != http.StatusBadRequest {
			t.Errorf("POST /platforms %v: %d %v, want 400", bad, st, m)
		}
	}
	for _, good := range []map[string]any{{"message_url": "https://example.com/msg/$APPID$"}, {"message_url": ""}} {
		if st, m := admin(t, f.s, "PATCH", "/miniship/v1/platforms/"+f.p.AppID, good); st != http.StatusOK {
			t.Errorf("PATCH platform %v: %d %v, want 200", good, st, m)
		}
	}

	rc := newArReceiver(t)
	newKey := "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	st, p := admin(t, f.s, "PATCH", "/miniship/v1/platforms/"+f.p.AppID, map[string]any{"encoding_aes_key": newKey, "auth_event_url": rc.srv.URL + "/auth"})
	if st != http.StatusOK || p["encoding_aes_key"] != newKey || p["secret"] != f.p.Secret {
		t.Fatalf("patch platform: %d %v", st, p)
	}
	f.p.EncodingAESKey = newKey
	rc.p = f.p
	f.s.Advance(10 * time.Minute) // the next ticket push
	if got := rc.waitInfo("component_verify_ticket"); got.Fields["ComponentVerifyTicket"] != f.s.Ticket(t, f.p.AppID) {
		t.Fatalf("ticket push after the key change: %+v", got)
	}
}
