package httpapi

import (
	"github.com/miniship/miniship"
)

// The component token flow: /cgi-bin/component/*.

func (s *Server) componentToken(c *call) (any, error) {
	var req struct {
		AppID  string `json:"component_appid"`
		Secret string `json:"component_appsecret"`
		Ticket string `json:"component_verify_ticket"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := s.countBySecret(c, req.AppID, req.Secret); err != nil {
		return nil, err
	}
	return s.svc.ComponentToken(c.ctx, req.AppID, req.Secret, req.Ticket)
}

func (s *Server) createPreAuthCode(c *call) (any, error) {
	var req struct {
		AppID string `json:"component_appid"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return s.svc.CreatePreAuthCode(c.ctx, c.caller, req.AppID)
}

func (s *Server) queryAuth(c *call) (any, error) {
	var req struct {
		AppID string `json:"component_appid"`
		Code  string `json:"authorization_code"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	info, err := s.svc.QueryAuth(c.ctx, c.caller, req.AppID, req.Code)
	if err != nil {
		return nil, err
	}
	return map[string]any{"authorization_info": info}, nil
}

func (s *Server) authorizerToken(c *call) (any, error) {
	var req struct {
		AppID        string `json:"component_appid"`
		Authorizer   string `json:"authorizer_appid"`
		RefreshToken string `json:"authorizer_refresh_token"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return s.svc.AuthorizerToken(c.ctx, c.caller, req.AppID, req.Authorizer, req.RefreshToken)
}

func (s *Server) authorizerInfo(c *call) (any, error) {
	var req struct {
		AppID      string `json:"component_appid"`
		Authorizer string `json:"authorizer_appid"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	info, err := s.svc.GetAuthorizerInfo(c.ctx, c.caller, req.AppID, req.Authorizer)
	if err != nil {
		return nil, err
	}
	info.AuthorizerInfo.HeadImg = headImageURL(c.r, req.Authorizer)
	info.AuthorizerInfo.QRCodeURL = qrcodeURL(c.r, req.Authorizer)
	return info, nil
}

// componentRoutes are the token endpoints. Success answers carry no errcode,
// as WeChat's do.
func (s *Server) componentRoutes(m map[string]route) {
	m["/cgi-bin/component/api_component_token"] = route{methods: post, body: true, bare: true, h: s.componentToken}
	m["/cgi-bin/component/api_create_preauthcode"] = route{methods: post, body: true, bare: true, token: miniship.ComponentToken, h: s.createPreAuthCode}
	m["/cgi-bin/component/api_query_auth"] = route{methods: post, body: true, bare: true, token: miniship.ComponentToken, h: s.queryAuth}
	m["/cgi-bin/component/api_authorizer_token"] = route{methods: post, body: true, bare: true, token: miniship.ComponentToken, h: s.authorizerToken}
	m["/cgi-bin/component/api_get_authorizer_info"] = route{methods: post, body: true, bare: true, token: miniship.ComponentToken, h: s.authorizerInfo}
}
