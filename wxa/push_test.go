package wxa_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxa/storetest"
	"github.com/miniship/miniship/wxcrypt"
	"github.com/miniship/miniship/wxerr"
)

const (
	pushAppID = "wxpushcomponent01"
	pushToken = "pushtoken"
	pushKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

func TestMemoryStore(t *testing.T) { storetest.Run(t, wxa.NewMemoryStore()) }

func TestPushHandler(t *testing.T) {
	c, err := wxa.NewClient(wxa.Options{ComponentAppID: pushAppID, Token: pushToken, EncodingAESKey: pushKey})
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := wxcrypt.New(pushToken, pushKey, pushAppID)
	var audits []*wxa.AuditEvent
	var auths []*wxa.AuthorizationEvent
	var others []string
	fail := false
	h := c.PushHandler(wxa.PushHandlers{
		Authorization: func(_ *http.Request, e *wxa.AuthorizationEvent) error { auths = append(auths, e); return nil },
		Audit: func(r *http.Request, e *wxa.AuditEvent) error {
			if fail {
				return errors.New("database down")
			}
			audits = append(audits, e)
			return nil
		},
		Other: func(_ *http.Request, m *wxcrypt.Message) error { others = append(others, m.Type()); return nil },
	})
	push := func(inner string, env wxcrypt.Envelope, tamper func(url.Values)) *httptest.ResponseRecorder {
		q, body, err := sealer.SealPush([]byte(inner), env, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if tamper != nil {
			tamper(q)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/push?"+q.Encode(), bytes.NewReader(body)))
		return w
	}
	ok := func(w *httptest.ResponseRecorder) {
		t.Helper()
		if w.Code != 200 || w.Body.String() != "success" {
			t.Fatalf("answer %d %q, want success", w.Code, w.Body)
		}
	}

	ok(push(`<xml><AppId><![CDATA[wxpushcomponent01]]></AppId><CreateTime>1700000000</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@abc]]></ComponentVerifyTicket></xml>`, wxcrypt.PlatformEnvelope(pushAppID), nil))
	if tk, err := c.Ticket(bg); err != nil || tk != "ticket@@@abc" {
		t.Fatalf("ticket = %q, %v", tk, err)
	}

	c.SetRefreshToken(bg, "wxapp1", "R")
	ok(push(`<xml><AppId><![CDATA[wxpushcomponent01]]></AppId><CreateTime>1700000001</CreateTime><InfoType><![CDATA[unauthorized]]></InfoType><AuthorizerAppid><![CDATA[wxapp1]]></AuthorizerAppid></xml>`, wxcrypt.PlatformEnvelope(pushAppID), nil))
	if len(auths) != 1 || auths[0].InfoType != "unauthorized" || auths[0].AuthorizerAppID != "wxapp1" || !auths[0].CreateTime.Equal(time.Unix(1700000001, 0)) {
		t.Fatalf("auth events %+v", auths)
	}
	if _, err := c.RefreshToken(bg, "wxapp1"); !errors.Is(err, wxa.ErrNoRefreshToken) {
		t.Fatalf("refresh token kept after unauthorized: %v", err)
	}

	b, _ := xml.Marshal(wxcrypt.NewAuditFail("gh_abc", "o000", 1700000002, "bad<br>icon", 1700000003, "m1|m2"))
	inner := string(b)
	ok(push(inner, wxcrypt.MessageEnvelope("gh_abc"), nil))
	if len(audits) != 1 || audits[0].Event != wxcrypt.EventWeappAuditFail || audits[0].Reason != "bad<br>icon" || audits[0].ScreenShot != "m1|m2" || audits[0].Time.Unix() != 1700000003 {
		t.Fatalf("audit events %+v", audits[0])
	}

	ok(push(`<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wxa_privacy_apply]]></Event></xml>`, wxcrypt.MessageEnvelope("gh_abc"), nil))
	if len(others) != 1 || others[0] != "wxa_privacy_apply" {
		t.Fatalf("others %v", others)
	}

	// A failing callback is not acknowledged, so WeChat pushes again.
	fail = true
	if w := push(inner, wxcrypt.MessageEnvelope("gh_abc"), nil); w.Code != 500 {
		t.Fatalf("failed callback answered %d %q", w.Code, w.Body)
	}
	// Forged and malformed pushes are refused.
	if w := push(inner, wxcrypt.MessageEnvelope("gh_abc"), func(q url.Values) { q.Set("msg_signature", "00") }); w.Code != 403 {
		t.Fatalf("bad signature answered %d", w.Code)
	}
	if w := push(inner, wxcrypt.MessageEnvelope("gh_abc"), func(q url.Values) { q.Del("msg_signature") }); w.Code != 403 {
		t.Fatalf("no signature answered %d", w.Code)
	}
	other, _ := wxcrypt.New(pushToken, pushKey, "wxsomeoneelse")
	q, body, _ := other.SealPush([]byte(inner), wxcrypt.MessageEnvelope("gh_abc"), "", "")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/push?"+q.Encode(), bytes.NewReader(body)))
	if w.Code != 400 {
		t.Fatalf("another platform's push answered %d", w.Code)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/push", nil))
	if w.Code != 405 {
		t.Fatalf("GET answered %d", w.Code)
	}

	// Without the key nothing can be read: the handler says so.
	bare, _ := wxa.NewClient(wxa.Options{ComponentAppID: pushAppID})
	w = httptest.NewRecorder()
	bare.PushHandler(wxa.PushHandlers{}).ServeHTTP(w, httptest.NewRequest("POST", "/push", nil))
	if w.Code != 500 {
		t.Fatalf("unconfigured handler answered %d", w.Code)
	}
	if _, err := wxa.NewClient(wxa.Options{ComponentAppID: pushAppID, EncodingAESKey: "short"}); err == nil {
		t.Fatal("a bad EncodingAESKey was accepted")
	}
}

func TestBackoff(t *testing.T) {
	p := wxa.RetryPolicy{Base: 100 * time.Millisecond, Max: 3 * time.Second}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 10: 3 * time.Second, 100: 3 * time.Second} {
		for range 50 {
			if d := p.Backoff(attempt, wxerr.SystemError); d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
	if d := p.Backoff(1, wxerr.MinuteQuotaReached); d < 1500*time.Millisecond {
		t.Fatalf("45011 backoff %v, want the long step", d)
	}
	for code, want := range map[wxerr.Code]bool{-1: true, 45011: true, 9402202: true, 40001: false, 61039: false, 85009: false} {
		if got := wxa.Retryable(wxerr.New(code, "")); got != want {
			t.Errorf("Retryable(%d) = %v", code, got)
		}
	}
	if wxa.Retryable(context.Canceled) {
		t.Error("Retryable(context.Canceled)")
	}
}
