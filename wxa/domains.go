package wxa

import (
	"context"
	"fmt"
	"strings"
)

// Domains, testers, component utilities and mini program codes: the calls
// around the code pipeline.

// Domains are the six server-domain lists, entries with their scheme
// ("https://api.example.com", "wss://…", "udp://…", "tcp://…").
type Domains struct {
	RequestDomain   []string `json:"requestdomain"`
	WsRequestDomain []string `json:"wsrequestdomain"`
	UploadDomain    []string `json:"uploaddomain"`
	DownloadDomain  []string `json:"downloaddomain"`
	UDPDomain       []string `json:"udpdomain"`
	TCPDomain       []string `json:"tcpdomain"`
}

// DomainResult is the answer of modify_domain: the lists after the call and
// the entries that were filtered out (errcode 0 as long as one applied).
type DomainResult struct {
	Domains
	InvalidRequestDomain   []string `json:"invalid_requestdomain"`
	InvalidWsRequestDomain []string `json:"invalid_wsrequestdomain"`
	InvalidUploadDomain    []string `json:"invalid_uploaddomain"`
	InvalidDownloadDomain  []string `json:"invalid_downloaddomain"`
	InvalidUDPDomain       []string `json:"invalid_udpdomain"`
	InvalidTCPDomain       []string `json:"invalid_tcpdomain"`
	NoICPDomain            []string `json:"no_icp_domain"`
}

// Domain actions of modify_domain and setwebviewdomain.
const (
	DomainAdd    = "add"
	DomainDelete = "delete"
	DomainSet    = "set"
	DomainGet    = "get"
)

type domainBody struct {
	Action string `json:"action"`
	Domains
}

// ModifyDomain calls modify_domain: the platform sets the server domains
// (hosts registered with ModifyServerDomain); they go live at release.
func (a *App) ModifyDomain(ctx context.Context, action string, d Domains) (*DomainResult, error) {
	var res DomainResult
	return &res, a.call(ctx, "POST", "/wxa/modify_domain", domainBody{action, d}, &res)
}

// ModifyDomainDirectly calls modify_domain_directly (no platform list).
func (a *App) ModifyDomainDirectly(ctx context.Context, action string, d Domains) (*DomainResult, error) {
	var res DomainResult
	return &res, a.call(ctx, "POST", "/wxa/modify_domain_directly", domainBody{action, d}, &res)
}

// EffectiveDomains is the answer of get_effective_domain.
type EffectiveDomains struct {
	MPDomain        Domains `json:"mp_domain"`
	ThirdDomain     Domains `json:"third_domain"`
	DirectDomain    Domains `json:"direct_domain"`
	EffectiveDomain Domains `json:"effective_domain"`
}

// EffectiveDomain calls get_effective_domain.
func (a *App) EffectiveDomain(ctx context.Context) (*EffectiveDomains, error) {
	var res EffectiveDomains
	return &res, a.call(ctx, "POST", "/wxa/get_effective_domain", empty, &res)
}

// EffectiveWebviewDomains is the answer of get_effective_webviewdomain.
type EffectiveWebviewDomains struct {
	MP        []string `json:"mp_webviewdomain"`
	Third     []string `json:"third_webviewdomain"`
	Direct    []string `json:"direct_webviewdomain"`
	Effective []string `json:"effective_webviewdomain"`
}

// EffectiveWebviewDomain calls get_effective_webviewdomain.
func (a *App) EffectiveWebviewDomain(ctx context.Context) (*EffectiveWebviewDomains, error) {
	var res EffectiveWebviewDomains
	return &res, a.call(ctx, "POST", "/wxa/get_effective_webviewdomain", empty, &res)
}

// SetWebviewDomain calls setwebviewdomain and returns the business domains
// after the call. An empty action adds every business domain registered on
// the platform.
func (a *App) SetWebviewDomain(ctx context.Context, action string, domains []string) ([]string, error) {
	return a.webview(ctx, "/wxa/setwebviewdomain", action, domains)
}

// SetWebviewDomainDirectly calls setwebviewdomain_directly.
func (a *App) SetWebviewDomainDirectly(ctx context.Context, action string, domains []string) ([]string, error) {
	return a.webview(ctx, "/wxa/setwebviewdomain_directly", action, domains)
}

func (a *App) webview(ctx context.Context, path, action string, domains []string) ([]string, error) {
	body := struct {
		Action  string   `json:"action,omitempty"`
		Domains []string `json:"webviewdomain,omitempty"`
	}{action, domains}
	var res struct {
		Domains []string `json:"webviewdomain"`
	}
	err := a.call(ctx, "POST", path, body, &res)
	return res.Domains, err
}

// ConfirmFile is a domain verification file to serve at the domain root.
type ConfirmFile struct {
	FileName    string `json:"file_name"`
	FileContent string `json:"file_content"`
}

// WebviewDomainConfirmFile calls get_webviewdomain_confirmfile.
func (a *App) WebviewDomainConfirmFile(ctx context.Context) (*ConfirmFile, error) {
	var res ConfirmFile
	return &res, a.call(ctx, "POST", "/wxa/get_webviewdomain_confirmfile", empty, &res)
}

// PlatformDomains is the answer of modify_wxa_server_domain and
// modify_wxa_jump_domain: the platform's testing and published host lists
// (Published nil when never published) and the hosts refused.
type PlatformDomains struct {
	Testing, Published, Invalid []string
}

// ModifyServerDomain calls modify_wxa_server_domain with bare hosts;
// published also changes the published list.
func (c *Client) ModifyServerDomain(ctx context.Context, action string, hosts []string, published bool) (*PlatformDomains, error) {
	return c.platformDomains(ctx, "/cgi-bin/component/modify_wxa_server_domain", "wxa_server_domain", action, hosts, published)
}

// ModifyJumpDomain calls modify_wxa_jump_domain (business domains).
func (c *Client) ModifyJumpDomain(ctx context.Context, action string, hosts []string, published bool) (*PlatformDomains, error) {
	return c.platformDomains(ctx, "/cgi-bin/component/modify_wxa_jump_domain", "wxa_jump_h5_domain", action, hosts, published)
}

func (c *Client) platformDomains(ctx context.Context, path, key, action string, hosts []string, published bool) (*PlatformDomains, error) {
	body := map[string]any{"action": action, key: strings.Join(hosts, ";"), "is_modify_published_together": published}
	var res map[string]any
	if err := c.call(ctx, c.component(path, body), &res); err != nil {
		return nil, err
	}
	split := func(k string) []string {
		s, ok := res[k].(string)
		if !ok {
			return nil
		}
		if s == "" {
			return []string{}
		}
		return strings.Split(s, ";")
	}
	return &PlatformDomains{Testing: split("testing_" + key), Published: split("published_" + key), Invalid: split("invalid_" + key)}, nil
}

// DomainConfirmFile calls get_domain_confirmfile: the platform's file.
func (c *Client) DomainConfirmFile(ctx context.Context) (*ConfirmFile, error) {
	var res ConfirmFile
	return &res, c.call(ctx, c.component("/cgi-bin/component/get_domain_confirmfile", empty), &res)
}

// BindTester calls bind_tester and returns the tester's userstr.
func (a *App) BindTester(ctx context.Context, wechatID string) (string, error) {
	var res struct {
		UserStr string `json:"userstr"`
	}
	err := a.call(ctx, "POST", "/wxa/bind_tester", map[string]string{"wechatid": wechatID}, &res)
	return res.UserStr, err
}

// UnbindTester calls unbind_tester with a WeChat ID.
func (a *App) UnbindTester(ctx context.Context, wechatID string) error {
	return a.call(ctx, "POST", "/wxa/unbind_tester", map[string]string{"wechatid": wechatID}, nil)
}

// UnbindTesterByUserStr calls unbind_tester with a userstr.
func (a *App) UnbindTesterByUserStr(ctx context.Context, userStr string) error {
	return a.call(ctx, "POST", "/wxa/unbind_tester", map[string]string{"userstr": userStr}, nil)
}

// Testers calls memberauth (get_experiencer): the testers' userstrs.
func (a *App) Testers(ctx context.Context) ([]string, error) {
	var res struct {
		Members []struct {
			UserStr string `json:"userstr"`
		} `json:"members"`
	}
	if err := a.call(ctx, "POST", "/wxa/memberauth", map[string]string{"action": "get_experiencer"}, &res); err != nil {
		return nil, err
	}
	out := make([]string, len(res.Members))
	for i, m := range res.Members {
		out[i] = m.UserStr
	}
	return out, nil
}

// AuthorizerListItem is one authorizer of api_get_authorizer_list.
type AuthorizerListItem struct {
	AuthorizerAppID string `json:"authorizer_appid"`
	RefreshToken    string `json:"refresh_token"`
	AuthTime        int64  `json:"auth_time"`
}

// AuthorizerList is a page of api_get_authorizer_list.
type AuthorizerList struct {
	TotalCount int                  `json:"total_count"`
	List       []AuthorizerListItem `json:"list"`
}

// AuthorizerList calls api_get_authorizer_list: count at most 500, pages in
// authorization order.
func (c *Client) AuthorizerList(ctx context.Context, offset, count int) (*AuthorizerList, error) {
	var res AuthorizerList
	body := map[string]any{"component_appid": c.o.ComponentAppID, "offset": offset, "count": count}
	return &res, c.call(ctx, c.component("/cgi-bin/component/api_get_authorizer_list", body), &res)
}

// AuthorizerOption calls api_get_authorizer_option (location_report,
// voice_recognize or customer_service).
func (c *Client) AuthorizerOption(ctx context.Context, authorizer, name string) (string, error) {
	var res struct {
		Value string `json:"option_value"`
	}
	body := map[string]string{"component_appid": c.o.ComponentAppID, "authorizer_appid": authorizer, "option_name": name}
	err := c.call(ctx, c.component("/cgi-bin/component/api_get_authorizer_option", body), &res)
	return res.Value, err
}

// SetAuthorizerOption calls api_set_authorizer_option.
func (c *Client) SetAuthorizerOption(ctx context.Context, authorizer, name, value string) error {
	body := map[string]string{"component_appid": c.o.ComponentAppID, "authorizer_appid": authorizer, "option_name": name, "option_value": value}
	return c.call(ctx, c.component("/cgi-bin/component/api_set_authorizer_option", body), nil)
}

// StartPushTicket calls api_start_push_ticket: WeChat (and miniship) push
// a component_verify_ticket again.
func (c *Client) StartPushTicket(ctx context.Context) error {
	if c.o.ComponentSecret == "" {
		return fmt.Errorf("wxa: StartPushTicket needs ComponentSecret")
	}
	body := map[string]string{"component_appid": c.o.ComponentAppID, "component_secret": c.o.ComponentSecret}
	return c.call(ctx, &request{method: "POST", path: "/cgi-bin/component/api_start_push_ticket", body: body}, nil)
}

// ClearQuota calls component/clear_quota/v2 with the platform's AppSecret:
// an authorizer's per-call quotas, or the platform's own for appid "".
// Each account has 10 resets a month (48006 after).
func (c *Client) ClearQuota(ctx context.Context, appid string) error {
	body := map[string]string{"component_appid": c.o.ComponentAppID, "appsecret": c.o.ComponentSecret}
	if appid != "" {
		body["appid"] = appid
	}
	return c.call(ctx, &request{method: "POST", path: "/cgi-bin/component/clear_quota/v2", body: body}, nil)
}

// ClearQuota calls clear_quota with the mini program's token.
func (a *App) ClearQuota(ctx context.Context) error {
	return a.call(ctx, "POST", "/cgi-bin/clear_quota", map[string]string{"appid": a.appid}, nil)
}

// APIQuota is the answer of openapi/quota/get.
type APIQuota struct {
	Quota struct {
		DailyLimit int `json:"daily_limit"`
		Used       int `json:"used"`
		Remain     int `json:"remain"`
	} `json:"quota"`
	RateLimit struct {
		CallCount     int `json:"call_count"`
		RefreshSecond int `json:"refresh_second"`
	} `json:"rate_limit"`
}

// APIQuota calls openapi/quota/get for an API path ("/wxa/commit").
func (a *App) APIQuota(ctx context.Context, cgiPath string) (*APIQuota, error) {
	var res APIQuota
	return &res, a.call(ctx, "POST", "/cgi-bin/openapi/quota/get", map[string]string{"cgi_path": cgiPath}, &res)
}

// AccountBasicInfo is the answer of getaccountbasicinfo (abridged to the
// fields a platform uses).
type AccountBasicInfo struct {
	AppID         string `json:"appid"`
	AccountType   int    `json:"account_type"`
	PrincipalType int    `json:"principal_type"`
	PrincipalName string `json:"principal_name"`
	Nickname      string `json:"nickname"`
	HeadImageInfo struct {
		HeadImageURL string `json:"head_image_url"`
	} `json:"head_image_info"`
	RegisteredCountry int `json:"registered_country"`
	CustomerType      int `json:"customer_type"`
}

// AccountBasicInfo calls getaccountbasicinfo.
func (a *App) AccountBasicInfo(ctx context.Context) (*AccountBasicInfo, error) {
	var res AccountBasicInfo
	return &res, a.call(ctx, "POST", "/cgi-bin/account/getaccountbasicinfo", nil, &res)
}

// RGB is a code's line colour.
type RGB struct {
	R int `json:"r"`
	G int `json:"g"`
	B int `json:"b"`
}

// CodeOptions shape getwxacode and getwxacodeunlimit images.
type CodeOptions struct {
	Width      int    `json:"width,omitempty"` // 280–1280, default 430
	AutoColor  bool   `json:"auto_color,omitempty"`
	LineColor  *RGB   `json:"line_color,omitempty"`
	IsHyaline  bool   `json:"is_hyaline,omitempty"`
	EnvVersion string `json:"env_version,omitempty"` // release (default), trial, develop
}

// WxaCode calls getwxacode: a round code for a path (page and query); at
// most 100,000 ever per mini program together with CreateQRCode.
func (a *App) WxaCode(ctx context.Context, path string, o CodeOptions) (*QRCode, error) {
	body := struct {
		Path string `json:"path"`
		CodeOptions
	}{path, o}
	return a.image(ctx, "/wxa/getwxacode", body)
}

// WxaCodeUnlimit calls getwxacodeunlimit: a round code for a page and a
// scene of up to 32 characters. checkPath false allows pages not yet live
// and a mini program never published.
func (a *App) WxaCodeUnlimit(ctx context.Context, scene, page string, checkPath bool, o CodeOptions) (*QRCode, error) {
	body := struct {
		Scene     string `json:"scene"`
		Page      string `json:"page,omitempty"`
		CheckPath bool   `json:"check_path"`
		CodeOptions
	}{scene, page, checkPath, o}
	return a.image(ctx, "/wxa/getwxacodeunlimit", body)
}

// CreateQRCode calls createwxaqrcode: a square QR code for a path.
func (a *App) CreateQRCode(ctx context.Context, path string, width int) (*QRCode, error) {
	body := struct {
		Path  string `json:"path"`
		Width int    `json:"width,omitempty"`
	}{path, width}
	return a.image(ctx, "/cgi-bin/wxaapp/createwxaqrcode", body)
}

func (a *App) image(ctx context.Context, path string, body any) (*QRCode, error) {
	res, err := a.c.send(ctx, a.req("POST", path, body), func(res *response) error {
		if isImage(res) {
			return nil
		}
		if err := decodeResponse(res.body, nil); err != nil {
			return err
		}
		return fmt.Errorf("wxa: %s answered %q without an image", path, snippet(res.body))
	})
	if err != nil {
		return nil, err
	}
	return &QRCode{ContentType: res.header.Get("Content-Type"), Data: res.body}, nil
}
