package wxa

import (
	"context"
	"net/url"
	"strconv"
)

// The component (third-party platform) token flow.

// PreAuthCode is the answer of api_create_preauthcode: a single-use code
// for the consent page.
type PreAuthCode struct {
	Code      string `json:"pre_auth_code"`
	ExpiresIn int64  `json:"expires_in"`
}

// CreatePreAuthCode calls api_create_preauthcode.
func (c *Client) CreatePreAuthCode(ctx context.Context) (*PreAuthCode, error) {
	var res PreAuthCode
	err := c.call(ctx, c.component("/cgi-bin/component/api_create_preauthcode", map[string]string{"component_appid": c.o.ComponentAppID}), &res)
	return &res, err
}

// Authorization types of the consent page (auth_type).
const (
	AuthOfficialAccount = 1
	AuthMiniProgram     = 2
	AuthBoth            = 3
)

// AuthorizationURL is the consent page link a merchant opens to authorize
// the platform; WeChat then redirects to redirectURI with auth_code, which
// goes to QueryAuth. bizAppID may be empty.
func (c *Client) AuthorizationURL(preAuthCode, redirectURI string, authType int, bizAppID string) string {
	q := url.Values{
		"component_appid": {c.o.ComponentAppID},
		"pre_auth_code":   {preAuthCode},
		"redirect_uri":    {redirectURI},
		"auth_type":       {strconv.Itoa(authType)},
	}
	if bizAppID != "" {
		q.Set("biz_appid", bizAppID)
	}
	return c.o.LoginPageURL + "?" + q.Encode()
}

// FuncInfo is one permission set (权限集) granted to the platform.
type FuncInfo struct {
	FuncscopeCategory struct {
		ID int `json:"id"`
	} `json:"funcscope_category"`
}

// AuthorizationInfo is the authorization_info of api_query_auth.
type AuthorizationInfo struct {
	AuthorizerAppID string     `json:"authorizer_appid"`
	AccessToken     string     `json:"authorizer_access_token"`
	ExpiresIn       int64      `json:"expires_in"`
	RefreshToken    string     `json:"authorizer_refresh_token"`
	FuncInfo        []FuncInfo `json:"func_info"`
}

// PermissionSets lists the granted permission set ids.
func (a *AuthorizationInfo) PermissionSets() []int {
	ids := make([]int, len(a.FuncInfo))
	for i, f := range a.FuncInfo {
		ids[i] = f.FuncscopeCategory.ID
	}
	return ids
}

// QueryAuth exchanges an authorization code (from the consent redirect or
// the authorized push) for the mini program's tokens, and stores both.
func (c *Client) QueryAuth(ctx context.Context, authorizationCode string) (*AuthorizationInfo, error) {
	var res struct {
		Info AuthorizationInfo `json:"authorization_info"`
	}
	err := c.call(ctx, c.component("/cgi-bin/component/api_query_auth", map[string]string{
		"component_appid":    c.o.ComponentAppID,
		"authorization_code": authorizationCode,
	}), &res)
	if err != nil {
		return nil, err
	}
	info := &res.Info
	if err := c.keep(ctx, info.AuthorizerAppID, info.AccessToken, info.RefreshToken, info.ExpiresIn); err != nil {
		return nil, err
	}
	return info, nil
}

// AuthorizerToken is the answer of api_authorizer_token.
type AuthorizerToken struct {
	AccessToken  string `json:"authorizer_access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"authorizer_refresh_token"`
}

// RefreshAuthorizerToken calls api_authorizer_token with the stored refresh
// token and stores the new access token and refresh token. Calls on an App
// do this by themselves when needed.
func (c *Client) RefreshAuthorizerToken(ctx context.Context, authorizer string) (*AuthorizerToken, error) {
	refresh, err := c.RefreshToken(ctx, authorizer)
	if err != nil {
		return nil, err
	}
	var res AuthorizerToken
	err = c.call(ctx, c.component("/cgi-bin/component/api_authorizer_token", map[string]string{
		"component_appid":          c.o.ComponentAppID,
		"authorizer_appid":         authorizer,
		"authorizer_refresh_token": refresh,
	}), &res)
	if err != nil {
		return nil, err
	}
	c.log.Debug("wxa: refreshed authorizer_access_token", "appid", authorizer, "expires_in", res.ExpiresIn)
	if err := c.keep(ctx, authorizer, res.AccessToken, res.RefreshToken, res.ExpiresIn); err != nil {
		return nil, err
	}
	return &res, nil
}

// keep stores what a token answer carried; WeChat may rotate the refresh
// token, so the latest one always wins.
func (c *Client) keep(ctx context.Context, authorizer, access, refresh string, expiresIn int64) error {
	if refresh != "" {
		if err := c.SetRefreshToken(ctx, authorizer, refresh); err != nil {
			return err
		}
	}
	if access != "" {
		return c.store.Set(ctx, c.authorizerKey(authorizer), c.expiring(access, expiresIn))
	}
	return nil
}

// AuthorizerInfo is the answer of api_get_authorizer_info.
type AuthorizerInfo struct {
	AuthorizerInfo struct {
		NickName        string `json:"nick_name"`
		HeadImg         string `json:"head_img"`
		ServiceTypeInfo struct {
			ID int `json:"id"`
		} `json:"service_type_info"`
		VerifyTypeInfo struct {
			ID int `json:"id"`
		} `json:"verify_type_info"`
		UserName        string `json:"user_name"` // original id, gh_…
		PrincipalName   string `json:"principal_name"`
		Signature       string `json:"signature"`
		QRCodeURL       string `json:"qrcode_url"`
		MiniProgramInfo *struct {
			Network    map[string][]string `json:"network"`
			Categories []struct {
				First  string `json:"first"`
				Second string `json:"second"`
			} `json:"categories"`
			VisitStatus int `json:"visit_status"`
		} `json:"MiniProgramInfo,omitempty"`
	} `json:"authorizer_info"`
	AuthorizationInfo struct {
		AuthorizerAppID string     `json:"authorizer_appid"`
		RefreshToken    string     `json:"authorizer_refresh_token"`
		FuncInfo        []FuncInfo `json:"func_info"`
	} `json:"authorization_info"`
}

// AuthorizerInfo calls api_get_authorizer_info.
func (c *Client) AuthorizerInfo(ctx context.Context, authorizer string) (*AuthorizerInfo, error) {
	var res AuthorizerInfo
	err := c.call(ctx, c.component("/cgi-bin/component/api_get_authorizer_info", map[string]string{
		"component_appid":  c.o.ComponentAppID,
		"authorizer_appid": authorizer,
	}), &res)
	if err != nil {
		return nil, err
	}
	return &res, nil
}

func (c *Client) component(path string, body any) *request {
	return &request{method: "POST", path: path, body: body, token: componentToken}
}

// The template library (component_access_token).

// Draft is an entry of the draft box (gettemplatedraftlist).
type Draft struct {
	CreateTime             int64  `json:"create_time"`
	UserVersion            string `json:"user_version"`
	UserDesc               string `json:"user_desc"`
	DraftID                int64  `json:"draft_id"`
	SourceMiniprogramAppID string `json:"source_miniprogram_appid"`
	SourceMiniprogram      string `json:"source_miniprogram"`
	Developer              string `json:"developer"`
}

// TemplateType is 0 for a normal template, 1 for a standard one.
type TemplateType int

const (
	TemplateNormal   TemplateType = 0
	TemplateStandard TemplateType = 1
	// AllTemplates lists both kinds in TemplateList.
	AllTemplates TemplateType = -1
)

// Template is an entry of the template library (gettemplatelist).
type Template struct {
	CreateTime             int64        `json:"create_time"`
	UserVersion            string       `json:"user_version"`
	UserDesc               string       `json:"user_desc"`
	TemplateID             int64        `json:"template_id"`
	DraftID                int64        `json:"draft_id"`
	SourceMiniprogramAppID string       `json:"source_miniprogram_appid"`
	SourceMiniprogram      string       `json:"source_miniprogram"`
	Developer              string       `json:"developer,omitempty"`
	TemplateType           TemplateType `json:"template_type"`
	// CategoryList, AuditScene, AuditStatus and Reason concern standard
	// templates only.
	CategoryList []Category `json:"category_list"`
	AuditScene   int        `json:"audit_scene"`
	AuditStatus  int        `json:"audit_status"`
	Reason       string     `json:"reason"`
}

// TemplateDrafts calls gettemplatedraftlist.
func (c *Client) TemplateDrafts(ctx context.Context) ([]Draft, error) {
	var res struct {
		List []Draft `json:"draft_list"`
	}
	err := c.call(ctx, &request{method: "GET", path: "/wxa/gettemplatedraftlist", token: componentToken, idempotent: true}, &res)
	return res.List, err
}

// AddToTemplate calls addtotemplate: the draft becomes a template.
func (c *Client) AddToTemplate(ctx context.Context, draftID int64, typ TemplateType) error {
	body := struct {
		DraftID      int64        `json:"draft_id"`
		TemplateType TemplateType `json:"template_type"`
	}{draftID, typ}
	return c.call(ctx, &request{method: "POST", path: "/wxa/addtotemplate", body: body, token: componentToken}, nil)
}

// TemplateList calls gettemplatelist; typ AllTemplates lists both kinds.
func (c *Client) TemplateList(ctx context.Context, typ TemplateType) ([]Template, error) {
	r := &request{method: "GET", path: "/wxa/gettemplatelist", token: componentToken, idempotent: true}
	if typ >= 0 {
		// A query parameter, as every SDK sends it, though the page lists
		// it under the request body.
		r.query = url.Values{"template_type": {strconv.Itoa(int(typ))}}
	}
	var res struct {
		List []Template `json:"template_list"`
	}
	err := c.call(ctx, r, &res)
	return res.List, err
}

// DeleteTemplate calls deletetemplate.
func (c *Client) DeleteTemplate(ctx context.Context, templateID int64) error {
	body := struct {
		TemplateID int64 `json:"template_id"`
	}{templateID}
	return c.call(ctx, &request{method: "POST", path: "/wxa/deletetemplate", body: body, token: componentToken}, nil)
}
