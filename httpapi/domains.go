package httpapi

import (
	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

// Domains and testers (authorizer token, permission set 18), and the
// platform's own domain lists (component token). Readers take GET or POST
// and any empty body ({}, [], null or nothing), as SDKs differ.

// pipelineRoutes adds the endpoints around the core pipeline: domains,
// testers, component utilities and mini program codes.
func (s *Server) pipelineRoutes(m map[string]route) {
	s.domainRoutes(m)
	s.utilityRoutes(m)
	s.wxacodeRoutes(m)
}

// domainRoutes adds the domain and tester endpoints.
func (s *Server) domainRoutes(m map[string]route) {
	set18 := func(methods int, body bool, h func(*call) (any, error)) route {
		return route{methods: methods, token: miniship.AuthorizerToken, perms: []int{service.PermCodeManagement}, body: body, h: h}
	}
	m["/wxa/modify_domain"] = set18(post, true, s.modifyDomain(false))
	m["/wxa/modify_domain_directly"] = set18(post, true, s.modifyDomain(true))
	m["/wxa/get_effective_domain"] = set18(both, false, s.effectiveDomain)
	m["/wxa/get_effective_webviewdomain"] = set18(both, false, s.effectiveWebviewDomain)
	m["/wxa/setwebviewdomain"] = set18(post, false, s.setWebviewDomain(false))
	m["/wxa/setwebviewdomain_directly"] = set18(post, true, s.setWebviewDomain(true))
	// An empty body is 44002 here, unlike the other readers (DT's table).
	m["/wxa/get_webviewdomain_confirmfile"] = set18(post, true, s.webviewConfirmFile)
	m["/wxa/bind_tester"] = set18(post, true, s.bindTester)
	m["/wxa/unbind_tester"] = set18(post, true, s.unbindTester)
	m["/wxa/memberauth"] = queryAction(set18(post, true, s.memberAuth))

	comp := func(h func(*call) (any, error)) route {
		return route{methods: post, token: miniship.ComponentToken, body: true, h: h}
	}
	m["/cgi-bin/component/modify_wxa_server_domain"] = comp(s.platformDomains(false))
	m["/cgi-bin/component/modify_wxa_jump_domain"] = comp(s.platformDomains(true))
	m["/cgi-bin/component/get_domain_confirmfile"] = route{methods: both, token: miniship.ComponentToken, h: s.platformConfirmFile}
}

type domainsWire struct {
	Action string `json:"action"`
	miniship.ServerDomains
}

func (s *Server) modifyDomain(direct bool) func(*call) (any, error) {
	return func(c *call) (any, error) {
		var req domainsWire
		if err := c.decode(&req); err != nil {
			return nil, err
		}
		return s.svc.ModifyDomain(c.ctx, c.caller, req.Action, req.ServerDomains, direct)
	}
}

func (s *Server) effectiveDomain(c *call) (any, error) {
	if err := c.decodeNothing(); err != nil {
		return nil, err
	}
	d, err := s.svc.EffectiveDomains(c.ctx, c.caller)
	if err != nil {
		return nil, err
	}
	return map[string]any{"mp_domain": d.MP, "third_domain": d.Third, "direct_domain": d.Direct, "effective_domain": d.Effective}, nil
}

func (s *Server) effectiveWebviewDomain(c *call) (any, error) {
	if err := c.decodeNothing(); err != nil {
		return nil, err
	}
	d, err := s.svc.EffectiveDomains(c.ctx, c.caller)
	if err != nil {
		return nil, err
	}
	return map[string]any{"mp_webviewdomain": d.MPWebview, "third_webviewdomain": d.ThirdWebview,
		"direct_webviewdomain": d.DirectWebview, "effective_webviewdomain": d.EffectiveWebview}, nil
}

func (s *Server) setWebviewDomain(direct bool) func(*call) (any, error) {
	return func(c *call) (any, error) {
		var req struct {
			Action  string   `json:"action"`
			Domains []string `json:"webviewdomain"`
		}
		if err := c.decode(&req); err != nil {
			return nil, err
		}
		out, err := s.svc.SetWebviewDomain(c.ctx, c.caller, req.Action, req.Domains, direct)
		if err != nil {
			return nil, err
		}
		return map[string]any{"webviewdomain": out}, nil
	}
}

func (s *Server) webviewConfirmFile(c *call) (any, error) {
	if err := c.decodeNothing(); err != nil {
		return nil, err
	}
	name, content := service.ConfirmFile(c.caller.AuthorizerAppID)
	return map[string]string{"file_name": name, "file_content": content}, nil
}

func (s *Server) platformConfirmFile(c *call) (any, error) {
	if err := c.decodeNothing(); err != nil {
		return nil, err
	}
	name, content := service.ConfirmFile(c.caller.PlatformAppID)
	return map[string]string{"file_name": name, "file_content": content}, nil
}

// platformDomains serves modify_wxa_server_domain and modify_wxa_jump_domain:
// ";"-joined bare hosts in, the same out; the published value is absent for
// a platform that never published one, the invalid one when none was.
func (s *Server) platformDomains(jump bool) func(*call) (any, error) {
	return func(c *call) (any, error) {
		var req struct {
			Action        string `json:"action"`
			Server        string `json:"wxa_server_domain"`
			Jump          string `json:"wxa_jump_h5_domain"`
			AlsoPublished Bool   `json:"is_modify_published_together"`
		}
		if err := c.decode(&req); err != nil {
			return nil, err
		}
		hosts, key := req.Server, "wxa_server_domain"
		if jump {
			hosts, key = req.Jump, "wxa_jump_h5_domain"
		}
		res, err := s.svc.ModifyPlatformDomains(c.ctx, c.caller, req.Action, hosts, bool(req.AlsoPublished), jump)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"testing_" + key: joinHosts(res.Testing)}
		if res.Published != nil {
			out["published_"+key] = joinHosts(res.Published)
		}
		if len(res.Invalid) > 0 {
			out["invalid_"+key] = joinHosts(res.Invalid)
		}
		return out, nil
	}
}

func joinHosts(hs []string) string {
	out := ""
	for i, h := range hs {
		if i > 0 {
			out += ";"
		}
		out += h
	}
	return out
}

func (s *Server) bindTester(c *call) (any, error) {
	var req struct {
		WechatID string `json:"wechatid"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	us, err := s.svc.BindTester(c.ctx, c.caller, req.WechatID)
	if err != nil {
		return nil, err
	}
	return map[string]string{"userstr": us}, nil
}

func (s *Server) unbindTester(c *call) (any, error) {
	var req struct {
		WechatID string `json:"wechatid"`
		UserStr  string `json:"userstr"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return nil, s.svc.UnbindTester(c.ctx, c.caller, req.WechatID, req.UserStr)
}

// memberAuth reads action from the body, then the query (SKIT's comments).
func (s *Server) memberAuth(c *call) (any, error) {
	var req struct {
		Action string `json:"action"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.Action == "" {
		req.Action = c.param("action")
	}
	if req.Action != "get_experiencer" {
		// WeChat documents only -1 here; 40097 says the same without
		// inviting the retry clients give -1.
		return nil, wxerr.Errorf(wxerr.InvalidArgs, "action must be get_experiencer, not %q", req.Action)
	}
	us, err := s.svc.Testers(c.ctx, c.caller)
	if err != nil {
		return nil, err
	}
	members := make([]map[string]string, len(us))
	for i, u := range us {
		members[i] = map[string]string{"userstr": u}
	}
	return map[string]any{"members": members}, nil
}
