package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	_ "image/jpeg"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/miniprogram/privacy"
	"github.com/silenceper/wechat/v2/miniprogram/qrcode"
	"github.com/silenceper/wechat/v2/openplatform"
	"github.com/silenceper/wechat/v2/openplatform/config"
	"github.com/silenceper/wechat/v2/util"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// TestSilenceperPipeline drives issue 9's endpoints that silenceper wraps
// (the privacy guide and the mini program codes) with its
// typed calls, unchanged but for the host: the wire forms it sends are
// accepted and what it reads back is what miniship stored.
func TestSilenceperPipeline(t *testing.T) {
	t.Cleanup(func() { util.SetURIModifier(nil) })
	s := mstest.New(t, mstest.Options{})
	util.SetURIModifier(func(uri string) string { return strings.Replace(uri, "https://api.weixin.qq.com", s.URL, 1) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	s.Platform(t, &miniship.Platform{AppID: platformAppID, Secret: secret, Token: token, EncodingAESKey: aesKey})
	op := openplatform.NewOpenPlatform(&config.Config{AppID: platformAppID, AppSecret: secret, Token: token, EncodingAESKey: aesKey, Cache: cache.NewMemory()})
	if _, err := op.SetComponentAccessToken(ctx, s.Ticket(t, platformAppID)); err != nil {
		t.Fatal(err)
	}
	// A mini program with no guide: silenceper writes it.
	mp, refresh := s.MiniProgram(t, platformAppID, &miniship.Authorizer{Nickname: "Silence Pipeline", ProfileComplete: true, Categories: []miniship.Category{}})
	if _, err := op.RefreshAuthrTokenContext(ctx, mp.AppID, refresh); err != nil {
		t.Fatal(err)
	}
	app := op.GetMiniProgram(mp.AppID)

	pv := app.GetPrivacy()
	// silenceper v2.1.10 posts the file as JSON ({"file":"<base64>"}), not
	// the documented multipart field: miniship answers as for no file.
	if _, err := pv.UploadPrivacyExtFile([]byte("补充说明")); err == nil || !strings.Contains(err.Error(), "errcode=41005") {
		t.Fatalf("UploadPrivacyExtFile as JSON: %v, want 41005", err)
	}
	if err := pv.SetPrivacySetting(privacy.PrivacyV2, privacy.OwnerSetting{ContactEmail: "p@shop.com", NoticeMethod: "弹窗"},
		[]privacy.SettingItem{{PrivacyKey: "Location", PrivacyText: "门店导航"}}); err != nil {
		t.Fatalf("SetPrivacySetting: %v", err)
	}
	got, err := pv.GetPrivacySetting(privacy.PrivacyV2)
	if err != nil || got.OwnerSetting.ContactEmail != "p@shop.com" || len(got.SettingList) != 1 || got.SettingList[0].PrivacyText != "门店导航" || len(got.PrivacyDesc.PrivacyDescList) == 0 {
		t.Fatalf("GetPrivacySetting = %+v, %v", got, err)
	}
	if _, err := pv.GetPrivacySetting(7); err == nil {
		t.Fatal("privacy_ver 7 was accepted")
	}

	// Release codes need a published version: commit, audit and release
	// through silenceper's generic helper, as in TestSilenceperOpenPlatform.
	s.Category(t, platformAppID, mp.AppID, 287, 612)
	atoken, _ := op.GetAuthrAccessTokenContext(ctx, mp.AppID)
	wx := func(path string, body any) map[string]any {
		t.Helper()
		raw, err := util.PostJSONContext(ctx, "https://api.weixin.qq.com"+path+"?access_token="+atoken, body)
		var m map[string]any
		if err != nil || json.Unmarshal(raw, &m) != nil || m["errcode"] != float64(0) {
			t.Fatalf("%s: %s %v", path, raw, err)
		}
		return m
	}
	wx("/wxa/commit", map[string]any{"template_id": s.Template(t, platformAppID, nil, 0), "ext_json": `{"requiredPrivateInfos":[]}`, "user_version": "1.0.0"})
	s.Advance(time.Minute) // the privacy scan ends
	sub := wx("/wxa/submit_audit", map[string]any{"privacy_api_not_use": true, "item_list": []map[string]any{
		{"address": "pages/index/index", "title": "Home", "first_class": "工具", "second_class": "效率", "first_id": 287, "second_id": 612}}})
	if _, err := s.Service.DecideAudit(ctx, int64(sub["auditid"].(float64)), service.Decision{Result: service.DecisionApprove}); err != nil {
		t.Fatal(err)
	}
	wx("/wxa/release", map[string]any{})

	// Codes: silenceper accepts only image/jpeg, and JSON errors. Its code
	// calls skip the URI modifier, so the host is changed in the transport.
	u, _ := url.Parse(s.URL)
	prev := util.DefaultHTTPClient
	util.DefaultHTTPClient = &http.Client{Transport: toHost{u.Host}}
	defer func() { util.DefaultHTTPClient = prev }()
	qr := app.GetQRCode()
	for name, call := range map[string]func(qrcode.QRCoder) ([]byte, error){
		"GetWXACode": qr.GetWXACode, "GetWXACodeUnlimit": qr.GetWXACodeUnlimit, "CreateWXAQRCode": qr.CreateWXAQRCode,
	} {
		img, err := call(qrcode.QRCoder{Path: "pages/index/index", Page: "pages/index/index", Scene: "id=1", CheckPath: new(bool), Width: 280})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, _, err := image.Decode(bytes.NewReader(img)); err != nil {
			t.Fatalf("%s: not an image: %v", name, err)
		}
	}
	if _, err := qr.GetWXACode(qrcode.QRCoder{}); err == nil || !strings.Contains(err.Error(), "errcode=") {
		t.Fatalf("GetWXACode without a path: %v, want a WeChat errcode", err)
	}

	// Not driven: GetBasic().GetAccountBasicInfo, which in v2.1.10 asks its
	// cache for the platform's appid's authorizer token (basic.AppID, not
	// basic.appID) and so never reaches the server.
}

// toHost sends every request to host over plain HTTP.
type toHost struct{ host string }

func (h toHost) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = "http", h.host, h.host
	return http.DefaultTransport.RoundTrip(r)
}
