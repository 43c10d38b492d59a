// Package compat drives miniship with third-party WeChat SDKs, unchanged
// but for the API host.
package compat

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/openplatform"
	"github.com/silenceper/wechat/v2/openplatform/config"
	"github.com/silenceper/wechat/v2/util"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

const (
	platformAppID = "wxsilenceper00001"
	secret        = "0123456789abcdef0123456789abcdef"
	token         = "silenceperToken"
	aesKey        = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// TestSilenceperOpenPlatform runs github.com/silenceper/wechat/v2's open
// platform against miniship as its README shows it: its push server
// decrypts the ticket, authorization and audit pushes, and its component
// and authorizer token flow runs end to end. The only change is the host:
// silenceper builds URLs from "https://api.weixin.qq.com" constants and
// offers util.SetURIModifier for exactly this; it rewrites every request.
func TestSilenceperOpenPlatform(t *testing.T) {
	t.Cleanup(func() { util.SetURIModifier(nil) }) // registered first, runs after the servers stop
	s := mstest.New(t, mstest.Options{})
	util.SetURIModifier(func(uri string) string {
		return strings.Replace(uri, "https://api.weixin.qq.com", s.URL, 1)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	op := openplatform.NewOpenPlatform(&config.Config{
		AppID: platformAppID, AppSecret: secret, Token: token, EncodingAESKey: aesKey, Cache: cache.NewMemory(),
	})
	notices := make(chan *message.MixMessage, 32)
	failures := make(chan error, 32)
	push := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv := op.GetServer(r, w)
		srv.SetMessageHandler(func(msg *message.MixMessage) *message.Reply {
			if msg.InfoType == message.InfoTypeVerifyTicket {
				if _, err := op.SetComponentAccessToken(r.Context(), msg.ComponentVerifyTicket); err != nil {
					failures <- err
					return nil
				}
			}
			w.Write([]byte("success"))
			notices <- msg
			return nil
		})
		if err := srv.Serve(); err != nil {
			failures <- err
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// No srv.Send(): with encrypted pushes it appends an encrypted empty
		// reply after "success", which WeChat's rule (and miniship's outbox)
		// counts as a failed delivery.
	}))
	defer push.Close()
	next := func(what string, ok func(*message.MixMessage) bool) *message.MixMessage {
		t.Helper()
		for {
			select {
			case m := <-notices:
				if ok(m) {
					return m
				}
			case err := <-failures:
				t.Fatalf("waiting for %s: silenceper: %v", what, err)
			case <-time.After(10 * time.Second):
				t.Fatalf("no %s push reached silenceper", what)
			}
		}
	}

	// The platform's first ticket is pushed at once; silenceper verifies
	// msg_signature, decrypts and fetches a component token with it.
	s.Platform(t, &miniship.Platform{AppID: platformAppID, Secret: secret, Token: token, EncodingAESKey: aesKey,
		AuthEventURL: push.URL + "/auth", MessageURL: push.URL + "/msg/$APPID$"})
	tk := next("ticket", func(m *message.MixMessage) bool { return m.InfoType == message.InfoTypeVerifyTicket })
	if tk.ComponentVerifyTicket != s.Ticket(t, platformAppID) || tk.AppID != platformAppID {
		t.Fatalf("ticket push decrypted as %+v", tk)
	}
	ctoken, err := op.GetComponentAccessTokenContext(ctx)
	if err != nil || ctoken == "" {
		t.Fatalf("component token: %q %v", ctoken, err)
	}

	// Pre-auth code, the consent page (a browser's part), the authorized push.
	pre, err := op.GetPreCodeContext(ctx)
	if err != nil || pre == "" {
		t.Fatalf("GetPreCode: %q %v", pre, err)
	}
	mp, err := s.Service.CreateAuthorizer(ctx, &miniship.Authorizer{AppID: "wxsilenceshop0001", Nickname: "Silence Shop", ProfileComplete: true,
		Categories: []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 287, SecondID: 612}}})
	if err != nil {
		t.Fatal(err)
	}
	authCode := consent(t, s.URL, pre, mp.AppID, mp.Secret)
	au := next("authorized", func(m *message.MixMessage) bool { return m.InfoType == message.InfoTypeAuthorized })
	if au.AuthorizerAppid != mp.AppID || au.AuthorizationCode != authCode || au.PreAuthCode != pre {
		t.Fatalf("authorized push decrypted as %+v", au)
	}

	// query_auth, the authorizer token refresh, authorizer info.
	info, err := op.QueryAuthCodeContext(ctx, authCode)
	if err != nil || info.Appid != mp.AppID || info.AccessToken == "" || info.RefreshToken == "" || len(info.FuncInfo) != 3 {
		t.Fatalf("QueryAuthCode = %+v, %v", info, err)
	}
	refreshed, err := op.RefreshAuthrTokenContext(ctx, mp.AppID, info.RefreshToken)
	if err != nil || refreshed.AccessToken == "" || refreshed.AccessToken == info.AccessToken || refreshed.RefreshToken != info.RefreshToken {
		t.Fatalf("RefreshAuthrToken = %+v, %v", refreshed, err)
	}
	atoken, err := op.GetAuthrAccessTokenContext(ctx, mp.AppID)
	if err != nil || atoken != refreshed.AccessToken {
		t.Fatalf("GetAuthrAccessToken = %q, %v; want the cached one", atoken, err)
	}
	ai, base, err := op.GetAuthrInfoContext(ctx, mp.AppID)
	if err != nil || ai.NickName != "Silence Shop" || base.Appid != mp.AppID {
		t.Fatalf("GetAuthrInfo = %+v %+v, %v", ai, base, err)
	}

	// silenceper has no code-management wrappers; its generic HTTP helper
	// commits and submits with the token it manages, and its push server
	// decrypts the audit result sent to the message URL.
	tpl := s.Template(t, platformAppID, nil, 0)
	wx := func(path string, body any) map[string]any {
		t.Helper()
		raw, err := util.PostJSONContext(ctx, "https://api.weixin.qq.com"+path+"?access_token="+atoken, body)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil || m["errcode"] != float64(0) {
			t.Fatalf("%s: %s", path, raw)
		}
		return m
	}
	wx("/wxa/commit", map[string]any{"template_id": tpl, "ext_json": `{"requiredPrivateInfos":[]}`, "user_version": "1.0.0", "user_desc": "silenceper"})
	s.Advance(time.Minute) // the privacy scan ends
	sub := wx("/wxa/submit_audit", map[string]any{"privacy_api_not_use": true, "item_list": []map[string]any{
		{"address": "pages/index/index", "title": "Home", "first_class": "工具", "second_class": "效率", "first_id": 287, "second_id": 612},
	}})
	if _, err := s.Service.DecideAudit(ctx, int64(sub["auditid"].(float64)), service.Decision{Result: service.DecisionReject, Reason: "icon<br>unclear"}); err != nil {
		t.Fatal(err)
	}
	ev := next("audit", func(m *message.MixMessage) bool { return m.MsgType == message.MsgTypeEvent })
	if ev.Event != "weapp_audit_fail" || ev.Reason != "icon<br>unclear" || ev.FailTime == 0 || string(ev.ToUserName) != mp.OriginalID {
		t.Fatalf("audit push decrypted as %+v", ev)
	}
	allDelivered(t, s, platformAppID)
}

// allDelivered waits for the platform's pushes to be acknowledged, each at
// its first attempt.
func allDelivered(t *testing.T, s *mstest.Server, platform string) {
	t.Helper()
	var evs []*miniship.Event
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		err := s.Store.View(context.Background(), func(tx miniship.Tx) (err error) {
			evs, err = tx.ListEvents(platform, 100)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(evs, func(e *miniship.Event) bool { return e.Status == miniship.EventPending && e.Attempts == 0 }) {
			break
		}
	}
	for _, e := range evs {
		if e.Status != miniship.EventDelivered || e.Attempts != 1 {
			t.Errorf("push %s: %s after %d attempts", e.Kind, e.Status, e.Attempts)
		}
	}
	if len(evs) < 3 {
		t.Errorf("%d pushes recorded, want ticket, authorized and audit", len(evs))
	}
}

// consent approves the platform for appid on miniship's consent page, as a
// merchant's browser would, and returns the auth_code of the redirect.
func consent(t *testing.T, base, preAuthCode, appid, secret string) string {
	t.Helper()
	form := url.Values{"component_appid": {platformAppID}, "pre_auth_code": {preAuthCode}, "redirect_uri": {"https://platform.example/cb"},
		"authorizer_appid": {appid}, "authorizer_secret": {secret}, "permission_set": {"18", "30", "86"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(base+"/cgi-bin/componentloginpage", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || loc.Query().Get("auth_code") == "" {
		t.Fatalf("consent: %d %v", res.StatusCode, loc)
	}
	return loc.Query().Get("auth_code")
}
