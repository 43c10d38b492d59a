package httpapi

import (
	"slices"
	"strings"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

// Component-level utilities: ticket restart, the authorizer list,
// authorizer options (both path generations), quota resets (all forms),
// openapi/quota/get over miniship's per-call counters, and
// getaccountbasicinfo.

func (s *Server) utilityRoutes(m map[string]route) {
	either := []miniship.TokenKind{miniship.AuthorizerToken, miniship.ComponentToken} // eitherToken
	component := []miniship.TokenKind{miniship.ComponentToken}
	comp := func(bare bool, h func(*call) (any, error)) route {
		return route{methods: post, token: miniship.ComponentToken, body: true, bare: bare, h: h}
	}
	// No token on the new page, the component token on the old one: the
	// handler checks one when sent.
	m["/cgi-bin/component/api_start_push_ticket"] = route{methods: post, body: true, kinds: component, h: s.startPushTicket}
	m["/cgi-bin/component/api_get_authorizer_list"] = comp(true, s.authorizerList)
	m["/cgi-bin/component/api_get_authorizer_option"] = comp(true, s.getAuthorizerOption(false))
	m["/cgi-bin/component/api_set_authorizer_option"] = comp(false, s.setAuthorizerOption(false))
	// The new form takes either token (the Chinese page says component,
	// the English page and WxJava authorizer): the handler authenticates.
	m["/cgi-bin/component/get_authorizer_option"] = route{methods: post, body: true, kinds: either, h: s.getAuthorizerOption(true)}
	m["/cgi-bin/component/set_authorizer_option"] = route{methods: post, body: true, kinds: either, h: s.setAuthorizerOption(true)}
	m["/cgi-bin/clear_quota"] = route{methods: post, body: true, kinds: either, h: s.clearQuota}
	m["/cgi-bin/clear_quota/v2"] = route{methods: post, h: s.clearQuotaV2}
	m["/cgi-bin/component/clear_quota/v2"] = route{methods: post, body: true, h: s.componentClearQuotaV2}
	m["/cgi-bin/component/clear_quota"] = comp(false, s.componentClearQuota)
	m["/cgi-bin/openapi/quota/get"] = route{methods: post, body: true, kinds: either, h: s.quotaGet}
	m["/cgi-bin/account/getaccountbasicinfo"] = route{methods: both, token: miniship.AuthorizerToken,
		perms: []int{service.PermCategory}, h: s.accountBasicInfo}
}

// eitherToken authenticates an endpoint that takes an authorizer or a
// component token, then applies the per-call limits as runWeChat does.
func (s *Server) eitherToken(c *call) error {
	tok := c.token()
	var err error
	c.caller, err = s.svc.Authenticate(c.ctx, tok, miniship.AuthorizerToken)
	if wxerr.CodeOf(err) == wxerr.InvalidCredential {
		c.caller, err = s.svc.Authenticate(c.ctx, tok, miniship.ComponentToken)
	}
	if err != nil {
		return err
	}
	return s.limits.check(c.ctx, c.caller, c.r.URL.Path)
}

// countBySecret counts a call that names its platform by appid and
// secret, not by a token, against the path's limits (--daily-limit,
// --minute-limit) as a token's call is counted: only when the secret is
// right, so that nobody else can use up a platform's quota. A call with a
// wrong one counts nothing and goes on to the endpoint, which refuses it
// with its own errcode.
func (s *Server) countBySecret(c *call, appid, secret string) error {
	if !s.limits.limited(c.r.URL.Path) {
		return nil
	}
	if s.svc.CheckPlatformSecret(c.ctx, appid, secret) != nil {
		return nil
	}
	return s.limits.check(c.ctx, &service.Caller{PlatformAppID: appid}, c.r.URL.Path)
}

func (s *Server) startPushTicket(c *call) (any, error) {
	var req struct {
		AppID  string `json:"component_appid"`
		Secret string `json:"component_secret"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if c.token() != "" {
		if err := s.eitherToken(c); err != nil {
			return nil, err
		}
		if c.caller.Kind != miniship.ComponentToken || c.caller.PlatformAppID != req.AppID {
			return nil, wxerr.New(wxerr.InvalidAppID, "component_appid does not match the token")
		}
	} else if err := s.countBySecret(c, req.AppID, req.Secret); err != nil {
		return nil, err
	}
	return nil, s.svc.StartPushTicket(c.ctx, req.AppID, req.Secret)
}

func (s *Server) authorizerList(c *call) (any, error) {
	var req struct {
		AppID  string `json:"component_appid"`
		Offset Int64  `json:"offset"`
		Count  Int64  `json:"count"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return s.svc.ListAuthorizers(c.ctx, c.caller, req.AppID, int(req.Offset), int(req.Count))
}

type optionWire struct {
	AppID       string `json:"component_appid"`
	Authorizer  string `json:"authorizer_appid"`
	OptionName  string `json:"option_name"`
	OptionValue string `json:"option_value"`
}

// optionTarget decodes an option call and names its platform and mini
// program: from the body under a component token (whose platform the
// body's component_appid must be, when sent), from the token otherwise.
func (s *Server) optionTarget(c *call, newForm bool) (*optionWire, string, string, error) {
	if newForm {
		if err := s.eitherToken(c); err != nil {
			return nil, "", "", err
		}
	}
	var req optionWire
	if err := c.decode(&req); err != nil {
		return nil, "", "", err
	}
	if c.caller.Kind == miniship.AuthorizerToken {
		// The token names its mini program; a body naming another one
		// is refused, as clear_quota refuses it, rather than answered
		// with the token's own mini program's option.
		if req.Authorizer != "" && req.Authorizer != c.caller.AuthorizerAppID {
			return nil, "", "", wxerr.Errorf(wxerr.InvalidAppID, "authorizer_appid %q is not the token's mini program", req.Authorizer)
		}
		return &req, c.caller.PlatformAppID, c.caller.AuthorizerAppID, nil
	}
	if (!newForm || req.AppID != "") && req.AppID != c.caller.PlatformAppID {
		return nil, "", "", wxerr.Errorf(wxerr.InvalidAppID, "component_appid %q does not match the token", req.AppID)
	}
	if req.Authorizer == "" {
		return nil, "", "", wxerr.New(wxerr.InvalidArgs, "authorizer_appid is required with a component token")
	}
	return &req, c.caller.PlatformAppID, req.Authorizer, nil
}

func (s *Server) getAuthorizerOption(newForm bool) func(*call) (any, error) {
	return func(c *call) (any, error) {
		req, platform, appid, err := s.optionTarget(c, newForm)
		if err != nil {
			return nil, err
		}
		v, err := s.svc.AuthorizerOption(c.ctx, platform, appid, req.OptionName)
		if err != nil {
			return nil, err
		}
		out := map[string]string{"option_name": req.OptionName, "option_value": v}
		if !newForm {
			out["authorizer_appid"] = appid
		}
		return out, nil
	}
}

func (s *Server) setAuthorizerOption(newForm bool) func(*call) (any, error) {
	return func(c *call) (any, error) {
		req, platform, appid, err := s.optionTarget(c, newForm)
		if err != nil {
			return nil, err
		}
		return nil, s.svc.SetAuthorizerOption(c.ctx, platform, appid, req.OptionName, req.OptionValue)
	}
}

func (s *Server) clearQuota(c *call) (any, error) {
	if err := s.eitherToken(c); err != nil {
		return nil, err
	}
	var req struct {
		AppID string `json:"appid"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return nil, s.svc.ClearQuota(c.ctx, c.caller, req.AppID)
}

// clearQuotaV2 takes appid and appsecret from the body (new page) or the
// query (channels page, WxJava).
func (s *Server) clearQuotaV2(c *call) (any, error) {
	var req struct {
		AppID  string `json:"appid"`
		Secret string `json:"appsecret"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	q := c.query()
	if req.AppID == "" {
		req.AppID = q.Get("appid")
	}
	if req.Secret == "" {
		req.Secret = q.Get("appsecret")
	}
	return nil, s.svc.ClearQuotaBySecret(c.ctx, req.AppID, req.Secret)
}

// componentClearQuotaV2 needs no token; one sent (DT sends it) is ignored.
func (s *Server) componentClearQuotaV2(c *call) (any, error) {
	var req struct {
		Component string `json:"component_appid"`
		Secret    string `json:"appsecret"`
		AppID     string `json:"appid"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return nil, s.svc.ComponentClearQuota(c.ctx, req.Component, req.Secret, req.AppID)
}

// componentClearQuota is the legacy form: the platform's own quota.
func (s *Server) componentClearQuota(c *call) (any, error) {
	var req struct {
		AppID string `json:"component_appid"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return nil, s.svc.ClearQuota(c.ctx, c.caller, req.AppID)
}

// quotaGet reports a path's daily quota as miniship counts it (--limit):
// daily_limit 0 means the path is not limited. The path must be a
// miniship endpoint that the token's kind calls.
func (s *Server) quotaGet(c *call) (any, error) {
	if err := s.eitherToken(c); err != nil {
		return nil, err
	}
	var req struct {
		Path string `json:"cgi_path"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	p := req.Path
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "://") || strings.ContainsAny(p, "?# ") {
		return nil, wxerr.Errorf(wxerr.InvalidCgiPath, "cgi_path must be a path such as /wxa/commit, not %q", p)
	}
	rt, ok := s.wechat[p]
	if !ok {
		return nil, wxerr.New(wxerr.CgiPathNotFound, "")
	}
	if (rt.token != c.caller.Kind && !slices.Contains(rt.kinds, c.caller.Kind)) || strings.HasPrefix(p, "/sns/") {
		return nil, wxerr.New(wxerr.CgiPathNoPermission, "")
	}
	who := c.caller.PlatformAppID
	if c.caller.Kind == miniship.AuthorizerToken {
		who = c.caller.AuthorizerAppID
	}
	lim := s.limits.get()
	daily, minute := lim.of(lim.Daily, p), lim.of(lim.PerMinute, p)
	used, err := s.svc.CallsToday(c.ctx, who, p)
	if err != nil {
		return nil, err
	}
	rate := map[string]int{"call_count": minute, "refresh_second": 60}
	return map[string]any{
		"quota":                map[string]int{"daily_limit": daily, "used": used, "remain": max(daily-used, 0)},
		"rate_limit":           rate,
		"component_rate_limit": rate,
	}, nil
}

func (s *Server) accountBasicInfo(c *call) (any, error) {
	if err := c.decodeNothing(); err != nil {
		return nil, err
	}
	info, err := s.svc.GetAccountBasicInfo(c.ctx, c.caller)
	if err != nil {
		return nil, err
	}
	info.HeadImageInfo.HeadImageURL = headImageURL(c.r, info.AppID)
	return info, nil
}
