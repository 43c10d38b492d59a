package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

// Audit, release, gray release and rollback: /wxa/* and the base-library
// endpoints under /cgi-bin/wxopen/, all with an authorizer token and
// permission set 18.
//
// Methods. WeChat's docs name one method per endpoint; SDKs in production
// sometimes use the other, and the calls work against WeChat. miniship
// accepts what the popular SDKs send (WxJava, EasyWeChat 5, PowerWeChat,
// wechatpy, SKIT, Senparc); the other method gets 43001/43002:
//
//	endpoint                                 docs  accepted   why the extra one
//	/wxa/submit_audit                        POST  POST
//	/wxa/get_auditstatus                     POST  POST
//	/wxa/get_latest_auditstatus              GET   GET, POST  Senparc (async) POSTs {}
//	/wxa/undocodeaudit                       GET   GET, POST  clients that POST every call
//	/wxa/speedupaudit                        POST  POST
//	/wxa/queryquota                          GET   GET, POST  clients that POST every call
//	/wxa/uploadmedia                         POST  POST       multipart field "media"
//	/wxa/release                             POST  POST       body {} required
//	/wxa/change_visitstatus                  POST  POST
//	/wxa/getvisitstatus                      POST  POST       body {} required
//	/wxa/revertcoderelease                   GET   GET, POST  parameters stay in the URL
//	/wxa/grayrelease                         POST  POST
//	/wxa/revertgrayrelease                   GET   GET, POST  clients that POST every call
//	/wxa/getgrayreleaseplan                  GET   GET, POST  clients that POST every call
//	/cgi-bin/wxopen/getweappsupportversion   POST  POST       body {} required
//	/cgi-bin/wxopen/setweappsupportversion   POST  POST
//
// GET bodies (SKIT sends JSON with GET) are ignored; endpoints whose input
// is in the body are POST only. "Body {} required": an empty body is 44002,
// and a body that is not a JSON object ([], null, 5) 47001, as on WeChat.

// releaseRoutes adds audit, release, gray release and rollback endpoints.
func (s *Server) releaseRoutes(m map[string]route, code func(int, bool, func(*call) (any, error)) route) {
	m["/wxa/submit_audit"] = code(post, true, s.submitAudit)
	m["/wxa/get_auditstatus"] = code(post, true, s.auditStatus)
	m["/wxa/get_latest_auditstatus"] = code(both, false, s.latestAuditStatus)
	m["/wxa/undocodeaudit"] = code(both, false, s.undoAudit)
	m["/wxa/speedupaudit"] = code(post, true, s.speedupAudit)
	m["/wxa/queryquota"] = code(both, false, s.queryQuota)
	m["/wxa/uploadmedia"] = upload(code(post, false, s.uploadMedia), maxMediaBody)
	m["/wxa/release"] = code(post, true, s.release)
	m["/wxa/change_visitstatus"] = code(post, true, s.changeVisitStatus)
	m["/wxa/getvisitstatus"] = code(post, true, s.getVisitStatus)
	m["/wxa/revertcoderelease"] = code(both, false, s.revertCodeRelease)
	m["/wxa/grayrelease"] = code(post, true, s.grayRelease)
	m["/wxa/revertgrayrelease"] = code(both, false, s.revertGrayRelease)
	m["/wxa/getgrayreleaseplan"] = code(both, false, s.grayReleasePlan)
	m["/cgi-bin/wxopen/getweappsupportversion"] = code(post, true, s.getSupportVersion)
	m["/cgi-bin/wxopen/setweappsupportversion"] = code(post, true, s.setSupportVersion)
}

// decodeNothing accepts any well-formed JSON body, for readers documented
// with no body: PHP clients send [] and Go ones null.
func (c *call) decodeNothing() error {
	if b := bytes.TrimSpace(c.body); len(b) > 0 && !json.Valid(b) {
		return wxerr.New(wxerr.DataFormatError, "invalid JSON")
	}
	return nil
}

// decodeObject is decode for a body that must be a JSON object: WeChat
// answers 47001 to [], 5, "x" and null, and the SDKs in use (EasyWeChat
// 4-6, WxJava, wechatpy) all send objects. v may be nil to check only.
func (c *call) decodeObject(v any) error {
	b := bytes.TrimSpace(c.body)
	if len(b) == 0 {
		return nil // the route's body flag answers 44002 before this
	}
	if b[0] != '{' || !json.Valid(b) {
		return wxerr.New(wxerr.DataFormatError, "the body must be a JSON object")
	}
	if v == nil {
		return nil
	}
	return c.decode(v)
}

// Bool is a flag that clients send as true/false, 1/0 or "true"/"1".
type Bool bool

// UnmarshalJSON accepts booleans, numbers, numeric or boolean strings and null.
func (b *Bool) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(data)), `"`)
	switch s {
	case "true", "1":
		*b = true
	case "false", "0", "", "null":
		*b = false
	default:
		return errors.New("not a boolean: " + s)
	}
	return nil
}

type auditItemWire struct {
	Address     string `json:"address"`
	Tag         string `json:"tag"`
	FirstClass  string `json:"first_class"`
	SecondClass string `json:"second_class"`
	ThirdClass  string `json:"third_class"`
	FirstID     Int64  `json:"first_id"`
	SecondID    Int64  `json:"second_id"`
	ThirdID     Int64  `json:"third_id"`
	Title       string `json:"title"`
}

func (s *Server) submitAudit(c *call) (any, error) {
	var req struct {
		// A pointer tells an absent item_list (allowed) from an empty one (85023).
		ItemList      *[]auditItemWire     `json:"item_list"`
		FeedbackInfo  string               `json:"feedback_info"`
		FeedbackStuff string               `json:"feedback_stuff"`
		VersionDesc   string               `json:"version_desc"`
		PreviewInfo   *service.PreviewInfo `json:"preview_info"`
		UGCDeclare    *struct {
			Scene          []Int64 `json:"scene"`
			OtherSceneDesc string  `json:"other_scene_desc"`
			Method         []Int64 `json:"method"`
			HasAuditTeam   Int64   `json:"has_audit_team"`
			AuditDesc      string  `json:"audit_desc"`
		} `json:"ugc_declare"`
		PrivacyAPINotUse Bool   `json:"privacy_api_not_use"`
		OrderPath        string `json:"order_path"`
	}
	if err := c.decodeObject(&req); err != nil {
		return nil, err
	}
	sr := service.SubmitAuditRequest{
		FeedbackInfo: req.FeedbackInfo, FeedbackStuff: req.FeedbackStuff, VersionDesc: req.VersionDesc,
		PreviewInfo: req.PreviewInfo, PrivacyAPINotUse: bool(req.PrivacyAPINotUse), OrderPath: req.OrderPath,
		Raw: c.body,
	}
	if req.ItemList != nil {
		sr.ItemList = make([]service.AuditItem, 0, len(*req.ItemList))
		for _, it := range *req.ItemList {
			sr.ItemList = append(sr.ItemList, service.AuditItem{
				Address: it.Address, Tag: it.Tag, Title: it.Title,
				FirstClass: it.FirstClass, SecondClass: it.SecondClass, ThirdClass: it.ThirdClass,
				FirstID: int64(it.FirstID), SecondID: int64(it.SecondID), ThirdID: int64(it.ThirdID),
			})
		}
	}
	if u := req.UGCDeclare; u != nil {
		ints := func(ns []Int64) []int {
			out := make([]int, len(ns))
			for i, n := range ns {
				out[i] = int(n)
			}
			return out
		}
		sr.UGCDeclare = &service.UGCDeclare{Scene: ints(u.Scene), OtherSceneDesc: u.OtherSceneDesc,
			Method: ints(u.Method), HasAuditTeam: int(u.HasAuditTeam), AuditDesc: u.AuditDesc}
	}
	id, err := s.svc.SubmitAudit(c.ctx, c.caller, sr)
	if err != nil {
		return nil, err
	}
	return map[string]int64{"auditid": id}, nil
}

func (s *Server) auditStatus(c *call) (any, error) {
	var req struct {
		AuditID Int64 `json:"auditid"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return s.svc.AuditStatus(c.ctx, c.caller, int64(req.AuditID))
}

func (s *Server) latestAuditStatus(c *call) (any, error) {
	return s.svc.LatestAuditStatus(c.ctx, c.caller)
}

func (s *Server) undoAudit(c *call) (any, error) {
	return nil, s.svc.UndoAudit(c.ctx, c.caller)
}

func (s *Server) speedupAudit(c *call) (any, error) {
	var req struct {
		AuditID Int64 `json:"auditid"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return nil, s.svc.SpeedupAudit(c.ctx, c.caller, int64(req.AuditID))
}

func (s *Server) queryQuota(c *call) (any, error) {
	return s.svc.QueryQuota(c.ctx, c.caller)
}

// maxMediaBody bounds an uploadmedia request: the 10 MB video limit plus
// room for the multipart framing. Anything larger is 40006 without reading
// it all.
const maxMediaBody = service.MaxVideoSize + 1<<20

func (s *Server) uploadMedia(c *call) (any, error) {
	ct, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		return nil, wxerr.New(wxerr.MediaDataMissing, "send multipart/form-data with the file in field media")
	}
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, maxMediaBody)
	mr, err := c.r.MultipartReader()
	if err != nil {
		return nil, wxerr.New(wxerr.MediaDataMissing, "")
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, wxerr.New(wxerr.MediaDataMissing, "no multipart field media")
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, wxerr.Errorf(wxerr.InvalidMediaSize, "request over %d bytes", maxMediaBody)
		}
		if err != nil {
			return nil, wxerr.New(wxerr.DataFormatError, "malformed multipart body")
		}
		if part.FormName() != "media" {
			continue
		}
		data, err := readPart(part, service.MaxVideoSize, c.r)
		if errors.As(err, &tooBig) || len(data) > service.MaxVideoSize {
			return nil, wxerr.Errorf(wxerr.InvalidMediaSize, "media over %d bytes", service.MaxVideoSize)
		}
		if err != nil {
			return nil, wxerr.New(wxerr.DataFormatError, "malformed multipart body")
		}
		// Read first (a slow client holds no turn) and checked (a refused
		// file gets its errcode, never -1).
		if err := service.CheckMedia(data); err != nil {
			return nil, err
		}
		if err := s.takeTurn(c, int64(len(data))); err != nil {
			return nil, err
		}
		return s.svc.UploadMedia(c.ctx, c.caller, data)
	}
}

func (s *Server) release(c *call) (any, error) {
	if err := c.decodeObject(nil); err != nil {
		return nil, err
	}
	return nil, s.svc.Release(c.ctx, c.caller)
}

func (s *Server) changeVisitStatus(c *call) (any, error) {
	var req struct {
		Action string `json:"action"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return nil, s.svc.ChangeVisitStatus(c.ctx, c.caller, req.Action)
}

func (s *Server) getVisitStatus(c *call) (any, error) {
	if err := c.decodeObject(nil); err != nil {
		return nil, err
	}
	st, err := s.svc.GetVisitStatus(c.ctx, c.caller)
	return map[string]int{"status": st}, err
}

// revertCodeRelease rolls back, or with action=get_history_version lists
// the versions to roll back to (app_version is then ignored). The
// parameters are in the URL for both methods.
func (s *Server) revertCodeRelease(c *call) (any, error) {
	q := c.query()
	switch action := q.Get("action"); action {
	case "get_history_version":
		vs, err := s.svc.HistoryVersions(c.ctx, c.caller)
		return map[string]any{"version_list": vs}, err
	case "":
	default:
		return nil, wxerr.Errorf(wxerr.InvalidArgs, "action must be get_history_version, not %q", action)
	}
	var v int64
	if raw := q.Get("app_version"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n <= 0 {
			return nil, wxerr.Errorf(wxerr.InvalidArgs, "app_version %q is not a version number", raw)
		}
		v = n
	}
	return nil, s.svc.RevertCodeRelease(c.ctx, c.caller, v)
}

func (s *Server) grayRelease(c *call) (any, error) {
	var req struct {
		Percentage       *Int64 `json:"gray_percentage"`
		DebugerFirst     Bool   `json:"support_debuger_first"`
		ExperiencerFirst Bool   `json:"support_experiencer_first"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.Percentage == nil {
		return nil, wxerr.New(wxerr.InvalidGrayPercentage, "gray_percentage is required")
	}
	return nil, s.svc.GrayRelease(c.ctx, c.caller, int64(*req.Percentage), bool(req.DebugerFirst), bool(req.ExperiencerFirst))
}

func (s *Server) revertGrayRelease(c *call) (any, error) {
	return nil, s.svc.RevertGrayRelease(c.ctx, c.caller)
}

func (s *Server) grayReleasePlan(c *call) (any, error) {
	g, err := s.svc.GetGrayReleasePlan(c.ctx, c.caller)
	return map[string]any{"gray_release_plan": g}, err
}

func (s *Server) getSupportVersion(c *call) (any, error) {
	if err := c.decodeObject(nil); err != nil {
		return nil, err
	}
	return s.svc.GetSupportVersion(c.ctx, c.caller)
}

func (s *Server) setSupportVersion(c *call) (any, error) {
	var req struct {
		Version string `json:"version"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return nil, s.svc.SetSupportVersion(c.ctx, c.caller, req.Version)
}

// auditAdminRoutes adds the reviewer's admin endpoints (audit_admin.go).
func (s *Server) auditAdminRoutes(h func(string, func(*http.Request) (int, any, error))) {
	h("GET /miniship/v1/audits", s.adminListAudits)
	h("GET /miniship/v1/audits/{auditid}", s.adminGetAudit)
	h("POST /miniship/v1/audits/{auditid}/decision", s.adminDecideAudit)
}
