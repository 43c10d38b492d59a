package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
)

// The reviewer's admin API: the queue of audits and the decision on one.
//
//	GET  /miniship/v1/audits?status=2&authorizer=wx…&limit=100
//	GET  /miniship/v1/audits/{auditid}
//	POST /miniship/v1/audits/{auditid}/decision  {"result":"approve"|"reject"|"delay","reason":"…","screenshot":"…"}
//
// status is 0 approved, 1 rejected, 2 in review (the default), 3 withdrawn,
// 4 delayed, or "all". A decision on an audit that is not in review is 409.

// auditView is an audit as the reviewer sees it: the submit_audit body and
// the version under review.
type auditView struct {
	AuditID         int64           `json:"auditid"`
	AuthorizerAppID string          `json:"authorizer_appid"`
	PlatformAppID   string          `json:"component_appid"`
	VersionID       int64           `json:"version_id"`
	Status          int             `json:"status"`
	Reason          string          `json:"reason"`
	ScreenShot      string          `json:"screenshot"`
	SpedUp          bool            `json:"sped_up"`
	Released        bool            `json:"released"`
	SubmittedAt     time.Time       `json:"submitted_at"`
	DecidedAt       time.Time       `json:"decided_at,omitzero"`
	Request         json.RawMessage `json:"request,omitempty"`
	Version         *versionView    `json:"version,omitempty"`
}

type versionView struct {
	UserVersion string          `json:"user_version"`
	UserDesc    string          `json:"user_desc"`
	TemplateID  int64           `json:"template_id"`
	Pages       []string        `json:"page_list"`
	Ext         json.RawMessage `json:"ext,omitempty"`
	CommittedAt time.Time       `json:"committed_at"`
}

func newAuditView(a *miniship.Audit, v *miniship.Version) auditView {
	av := auditView{
		AuditID: a.ID, AuthorizerAppID: a.AuthorizerAppID, PlatformAppID: a.PlatformAppID, VersionID: a.VersionID,
		Status: int(a.Status), Reason: a.Reason, ScreenShot: a.ScreenShot, SpedUp: a.SpedUp, Released: a.Released,
		SubmittedAt: a.SubmittedAt.UTC(), DecidedAt: a.DecidedAt.UTC(), Request: a.Request,
	}
	if v != nil {
		av.Version = &versionView{v.UserVersion, v.UserDesc, v.TemplateID, v.PageList, v.Ext, v.CreatedAt.UTC()}
	}
	return av
}

func auditIDParam(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("auditid"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errors.Join(service.ErrInvalid, errors.New("auditid must be a positive number"))
	}
	return id, nil
}

func (s *Server) adminListAudits(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	status := int(miniship.AuditPending)
	switch v := q.Get("status"); v {
	case "":
	case "all":
		status = -1
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 4 {
			return 0, nil, errors.Join(service.ErrInvalid, errors.New("status must be 0 to 4 or all"))
		}
		status = n
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	as, err := s.svc.ListAudits(r.Context(), status, q.Get("authorizer"), limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]auditView, 0, len(as))
	for _, a := range as {
		out = append(out, newAuditView(a, nil))
	}
	return http.StatusOK, map[string]any{"audits": out}, nil
}

func (s *Server) adminGetAudit(r *http.Request) (int, any, error) {
	id, err := auditIDParam(r)
	if err != nil {
		return 0, nil, err
	}
	a, v, err := s.svc.GetAudit(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newAuditView(a, v), nil
}

func (s *Server) adminDecideAudit(r *http.Request) (int, any, error) {
	id, err := auditIDParam(r)
	if err != nil {
		return 0, nil, err
	}
	var d service.Decision
	if err := decodeAdmin(r, &d); err != nil {
		return 0, nil, err
	}
	a, err := s.svc.DecideAudit(r.Context(), id, d)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newAuditView(a, nil), nil
}
