package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"sync"

	"github.com/miniship/miniship/demo"
)

// fixture is what a run creates on the server: its own platform, template
// and mini programs, so a run never touches anyone else's data.
type fixture struct {
	platform   string
	ctoken     string
	templateID int64
	apps       []string // mini program appids
	tokens     []string // their authorizer_access_tokens, by index
}

// benchCategory is the category every bench mini program has; submit_audit
// items name it.
const benchItem = `{"address":"pages/index/index","tag":"工具 效率","first_class":"工具","second_class":"效率","first_id":287,"second_id":612,"title":"首页"}`

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// setup creates the platform, uploads the demo template and authorizes
// apps mini programs, setupParallel at a time.
func setup(ctx context.Context, c *client, apps int) (*fixture, error) {
	f := &fixture{platform: "wxbench" + randomHex(5)}
	var p struct {
		Secret string `json:"secret"`
	}
	// A quota no run can spend: submit_audit is measured, not rationed.
	if err := c.admin(ctx, "POST", "/miniship/v1/platforms", map[string]any{"appid": f.platform, "audit_quota": 1 << 30}, &p); err != nil {
		return nil, fmt.Errorf("create platform: %w", err)
	}
	var ticket struct {
		Ticket string `json:"component_verify_ticket"`
	}
	if err := c.admin(ctx, "GET", "/miniship/v1/platforms/"+f.platform+"/ticket", nil, &ticket); err != nil {
		return nil, fmt.Errorf("ticket: %w", err)
	}
	var ct struct {
		Token string `json:"component_access_token"`
	}
	if err := c.wechat(ctx, "POST", "/cgi-bin/component/api_component_token", "", map[string]string{
		"component_appid": f.platform, "component_appsecret": p.Secret, "component_verify_ticket": ticket.Ticket,
	}, &ct); err != nil {
		return nil, fmt.Errorf("component token: %w", err)
	}
	f.ctoken = ct.Token
	draft, err := c.uploadDraft(ctx, f.platform, demo.TemplateZip())
	if err != nil {
		return nil, fmt.Errorf("upload draft: %w", err)
	}
	cq := "component_access_token=" + url.QueryEscape(f.ctoken)
	if err := c.wechat(ctx, "POST", "/wxa/addtotemplate", cq, map[string]any{"draft_id": draft, "template_type": 0}, nil); err != nil {
		return nil, fmt.Errorf("addtotemplate: %w", err)
	}
	var tl struct {
		List []struct {
			TemplateID int64 `json:"template_id"`
			DraftID    int64 `json:"draft_id"`
		} `json:"template_list"`
	}
	if err := c.wechat(ctx, "GET", "/wxa/gettemplatelist", cq, nil, &tl); err != nil {
		return nil, fmt.Errorf("gettemplatelist: %w", err)
	}
	for _, t := range tl.List {
		if t.DraftID == draft {
			f.templateID = t.TemplateID
		}
	}
	if f.templateID == 0 {
		return nil, fmt.Errorf("template of draft %d not in the library", draft)
	}
	f.apps = make([]string, apps)
	f.tokens = make([]string, apps)
	errs := make(chan error, setupParallel)
	sem := make(chan struct{}, setupParallel)
	var wg sync.WaitGroup
	for i := range apps {
		f.apps[i] = fmt.Sprintf("%s%07d", f.platform, i)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			tok, err := f.miniProgram(ctx, c, f.apps[i], p.Secret)
			if err != nil {
				select {
				case errs <- fmt.Errorf("mini program %s: %w", f.apps[i], err):
				default:
				}
				return
			}
			f.tokens[i] = tok
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return f, nil
}

const setupParallel = 8

// miniProgram creates one mini program, authorizes it to the platform with
// the default permission sets and returns its access token.
func (f *fixture) miniProgram(ctx context.Context, c *client, appid, _ string) (string, error) {
	if err := c.admin(ctx, "POST", "/miniship/v1/authorizers", map[string]any{
		"appid": appid, "nickname": "bench " + appid, "profile_complete": true, "privacy_apis": []string{"getLocation"},
		"categories": []map[string]any{{"first_class": "工具", "second_class": "效率", "first_id": 287, "second_id": 612}},
	}, nil); err != nil {
		return "", err
	}
	var auth struct {
		Refresh string `json:"authorizer_refresh_token"`
	}
	if err := c.admin(ctx, "POST", "/miniship/v1/platforms/"+f.platform+"/authorizations", map[string]any{"authorizer_appid": appid}, &auth); err != nil {
		return "", err
	}
	var at struct {
		Token string `json:"authorizer_access_token"`
	}
	err := c.wechat(ctx, "POST", "/cgi-bin/component/api_authorizer_token", "component_access_token="+url.QueryEscape(f.ctoken), map[string]string{
		"component_appid": f.platform, "authorizer_appid": appid, "authorizer_refresh_token": auth.Refresh,
	}, &at)
	if err != nil {
		return "", err
	}
	// The template reads the location: without a privacy guide saying why,
	// the reviewer rejects the audit, as WeChat does.
	err = c.wechat(ctx, "POST", "/cgi-bin/component/setprivacysetting", "access_token="+url.QueryEscape(at.Token), map[string]any{
		"privacy_ver":   2,
		"owner_setting": map[string]string{"contact_email": "bench@example.com", "notice_method": "弹窗提示"},
		"setting_list":  []map[string]string{{"privacy_key": "Location", "privacy_text": "展示附近的门店"}},
	}, nil)
	return at.Token, err
}
