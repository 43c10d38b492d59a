package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
)

// The reviewer's admin API for privacy-API applications, category reviews
// and plugin applications:
//
//	GET  /miniship/v1/privacy-applications?status=1&authorizer=wx…&limit=100
//	POST /miniship/v1/privacy-applications/{id}/decision                           {"result":"approve"|"reject","reason":"…"}
//	GET  /miniship/v1/category-applications?status=1&authorizer=wx…
//	POST /miniship/v1/authorizers/{appid}/categories/{first}/{second}/decision     {"result":…,"reason":…}
//	GET  /miniship/v1/plugin-applications?status=1&authorizer=wx…&plugin=wx…
//	POST /miniship/v1/authorizers/{appid}/plugins/{plugin}/decision                {"result":…,"reason":…}
//
// status is 1 pending (the default), 2 rejected, 3 approved, or "all". A
// decision on an application that is not pending is 409.

func (s *Server) grantAdminRoutes(h func(string, func(*http.Request) (int, any, error))) {
	h("GET /miniship/v1/privacy-applications", s.adminListPrivacyApps)
	h("POST /miniship/v1/privacy-applications/{id}/decision", s.adminDecidePrivacyApp)
	h("GET /miniship/v1/category-applications", s.adminListCategoryApps)
	h("POST /miniship/v1/authorizers/{appid}/categories/{first}/{second}/decision", s.adminDecideCategory)
	h("GET /miniship/v1/plugin-applications", s.adminListPluginApps)
	h("POST /miniship/v1/authorizers/{appid}/plugins/{plugin}/decision", s.adminDecidePlugin)
}

type privacyAppView struct {
	AuditID         int64     `json:"audit_id"`
	AuthorizerAppID string    `json:"authorizer_appid"`
	PlatformAppID   string    `json:"component_appid"`
	APIName         string    `json:"api_name"`
	Status          int       `json:"status"`
	Content         string    `json:"content"`
	URLList         []string  `json:"url_list"`
	PicList         []string  `json:"pic_list"`
	VideoList       []string  `json:"video_list"`
	Reason          string    `json:"reason,omitempty"`
	AppliedAt       time.Time `json:"applied_at"`
	DecidedAt       time.Time `json:"decided_at,omitzero"`
}

func newPrivacyAppView(p *miniship.PrivacyApplication) privacyAppView {
	return privacyAppView{p.ID, p.AuthorizerAppID, p.PlatformAppID, "wx." + p.APIName, p.Status, p.Content,
		p.URLList, p.PicList, p.VideoList, p.Reason, p.AppliedAt.UTC(), p.DecidedAt.UTC()}
}

type categoryAppView struct {
	AuthorizerAppID string                 `json:"authorizer_appid"`
	PlatformAppID   string                 `json:"component_appid"`
	First           int64                  `json:"first"`
	Second          int64                  `json:"second"`
	Status          int                    `json:"status"`
	Reason          string                 `json:"reason,omitempty"`
	Certificates    []miniship.Certificate `json:"certicates"`
	AppliedAt       time.Time              `json:"applied_at"`
	DecidedAt       time.Time              `json:"decided_at,omitzero"`
}

func newCategoryAppView(c *miniship.CategoryApplication) categoryAppView {
	return categoryAppView{c.AuthorizerAppID, c.PlatformAppID, c.First, c.Second, c.Status, c.Reason,
		c.Certificates, c.AppliedAt.UTC(), c.DecidedAt.UTC()}
}

type pluginAppView struct {
	AuthorizerAppID string    `json:"authorizer_appid"`
	PluginAppID     string    `json:"plugin_appid"`
	PlatformAppID   string    `json:"component_appid"`
	Status          int       `json:"status"`
	ApplyReason     string    `json:"apply_reason"`
	RefuseReason    string    `json:"refuse_reason,omitempty"`
	UserVersion     string    `json:"user_version,omitempty"`
	AppliedAt       time.Time `json:"applied_at"`
	DecidedAt       time.Time `json:"decided_at,omitzero"`
}

func newPluginAppView(p *miniship.PluginApplication) pluginAppView {
	return pluginAppView{p.AuthorizerAppID, p.PluginAppID, p.PlatformAppID, p.Status, p.ApplyReason,
		p.RefuseReason, p.UserVersion, p.AppliedAt.UTC(), p.DecidedAt.UTC()}
}

// grantFilter reads status, authorizer, plugin and limit.
func grantFilter(r *http.Request) (service.GrantFilter, error) {
	q := r.URL.Query()
	f := service.GrantFilter{Authorizer: q.Get("authorizer"), Plugin: q.Get("plugin"), Status: miniship.ApplyPending}
	switch v := q.Get("status"); v {
	case "":
	case "all":
		f.Status = 0
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3 {
			return f, errors.Join(service.ErrInvalid, errors.New("status must be 1 (pending), 2 (rejected), 3 (approved) or all"))
		}
		f.Status = n
	}
	f.Limit, _ = strconv.Atoi(q.Get("limit"))
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	return f, nil
}

func (s *Server) adminListPrivacyApps(r *http.Request) (int, any, error) {
	f, err := grantFilter(r)
	if err != nil {
		return 0, nil, err
	}
	ps, err := s.svc.ListPrivacyApplications(r.Context(), f)
	out := make([]privacyAppView, 0, len(ps))
	for _, p := range ps {
		out = append(out, newPrivacyAppView(p))
	}
	return http.StatusOK, map[string]any{"applications": out}, err
}

func (s *Server) adminDecidePrivacyApp(r *http.Request) (int, any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, nil, errors.Join(service.ErrInvalid, errors.New("id must be a positive number (the audit_id)"))
	}
	var d service.GrantDecision
	if err := decodeAdmin(r, &d); err != nil {
		return 0, nil, err
	}
	p, err := s.svc.DecidePrivacyApplication(r.Context(), id, d)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newPrivacyAppView(p), nil
}

func (s *Server) adminListCategoryApps(r *http.Request) (int, any, error) {
	f, err := grantFilter(r)
	if err != nil {
		return 0, nil, err
	}
	cs, err := s.svc.ListCategoryApplications(r.Context(), f)
	out := make([]categoryAppView, 0, len(cs))
	for _, c := range cs {
		out = append(out, newCategoryAppView(c))
	}
	return http.StatusOK, map[string]any{"applications": out}, err
}

func (s *Server) adminDecideCategory(r *http.Request) (int, any, error) {
	first, err1 := strconv.ParseInt(r.PathValue("first"), 10, 64)
	second, err2 := strconv.ParseInt(r.PathValue("second"), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, nil, errors.Join(service.ErrInvalid, errors.New("first and second must be category ids"))
	}
	var d service.GrantDecision
	if err := decodeAdmin(r, &d); err != nil {
		return 0, nil, err
	}
	c, err := s.svc.DecideCategory(r.Context(), r.PathValue("appid"), first, second, d)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newCategoryAppView(c), nil
}

func (s *Server) adminListPluginApps(r *http.Request) (int, any, error) {
	f, err := grantFilter(r)
	if err != nil {
		return 0, nil, err
	}
	ps, err := s.svc.ListPluginApplications(r.Context(), f)
	out := make([]pluginAppView, 0, len(ps))
	for _, p := range ps {
		out = append(out, newPluginAppView(p))
	}
	return http.StatusOK, map[string]any{"applications": out}, err
}

func (s *Server) adminDecidePlugin(r *http.Request) (int, any, error) {
	var d service.GrantDecision
	if err := decodeAdmin(r, &d); err != nil {
		return 0, nil, err
	}
	p, err := s.svc.DecidePlugin(r.Context(), r.PathValue("appid"), r.PathValue("plugin"), d)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newPluginAppView(p), nil
}
