package httpapi

import (
	"bytes"
	"image/jpeg"
	"net/http"
	"strconv"

	"github.com/skip2/go-qrcode"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

// Template library (component token) and code management (authorizer token).

func (s *Server) draftList(c *call) (any, error) {
	ds, err := s.svc.ListDrafts(c.ctx, c.caller)
	return map[string]any{"draft_list": ds}, err
}

func (s *Server) addToTemplate(c *call) (any, error) {
	var req struct {
		DraftID      Int64 `json:"draft_id"`
		TemplateType Int64 `json:"template_type"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return nil, s.svc.AddToTemplate(c.ctx, c.caller, int64(req.DraftID), int(req.TemplateType))
}

func (s *Server) templateList(c *call) (any, error) {
	typ := -1
	if v := c.param("template_type"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || (n != miniship.TemplateNormal && n != miniship.TemplateStandard) {
			return nil, wxerr.Errorf(wxerr.InvalidArgs, "template_type must be 0 or 1")
		}
		typ = n
	}
	ts, err := s.svc.ListTemplates(c.ctx, c.caller, typ)
	return map[string]any{"template_list": ts}, err
}

func (s *Server) deleteTemplate(c *call) (any, error) {
	var req struct {
		TemplateID Int64 `json:"template_id"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return nil, s.svc.DeleteTemplate(c.ctx, c.caller, int64(req.TemplateID))
}

func (s *Server) commit(c *call) (any, error) {
	var req struct {
		TemplateID  Int64  `json:"template_id"`
		ExtJSON     string `json:"ext_json"`
		UserVersion string `json:"user_version"`
		UserDesc    string `json:"user_desc"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	// The ext_json is all the commit keeps of its body: a commit waiting
	// for the writer should not hold the body too (1.9 MB for an ext_json
	// of 1 MB in escaped quotes).
	c.body = nil
	return nil, s.svc.Commit(c.ctx, c.caller, service.CommitRequest{
		TemplateID: int64(req.TemplateID), ExtJSON: req.ExtJSON, UserVersion: req.UserVersion, UserDesc: req.UserDesc,
	})
}

func (s *Server) getPage(c *call) (any, error) {
	pages, err := s.svc.GetPage(c.ctx, c.caller)
	return map[string]any{"page_list": pages}, err
}

func (s *Server) getCategory(c *call) (any, error) {
	cats, err := s.svc.GetCategory(c.ctx, c.caller)
	return struct { // a struct, not a map: encoding/json sorts a map's keys
		List []miniship.Category `json:"category_list"`
	}{cats}, err
}

func (s *Server) codePrivacyInfo(c *call) (any, error) {
	return s.svc.CodePrivacyInfo(c.ctx, c.caller)
}

func (s *Server) versionInfo(c *call) (any, error) {
	if err := c.decodeObject(nil); err != nil {
		return nil, err
	}
	return s.svc.GetVersionInfo(c.ctx, c.caller)
}

// qrcodeSide is the experience version's QR code's side in pixels.
const qrcodeSide = 430

// qrcode answers the experience version's QR code as a JPEG; errors stay
// JSON, which is how clients tell the two apart.
func (s *Server) qrcode(c *call) (any, error) {
	link, err := s.svc.ExperienceLink(c.ctx, c.caller, c.param("path"))
	if err != nil {
		return nil, err
	}
	q, err := qrcode.New(link, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	if err := s.takeTurn(c, imageCost(qrcodeSide)); err != nil { // after the checks: nothing is counted
		return nil, err
	}
	var buf bytes.Buffer
	// JPEG blurs edges; quality 90 at 430 px keeps every module sharp enough to scan.
	if err := jpeg.Encode(&buf, q.Image(qrcodeSide), &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	c.endTurn() // the work is done; a slow reader must not hold the turn
	h := c.w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-disposition", `attachment; filename="QRCode.jpg"`)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	c.w.WriteHeader(http.StatusOK)
	c.w.Write(buf.Bytes())
	c.raw = true
	return nil, nil
}

// routes is the WeChat endpoint table.
func (s *Server) routes() map[string]route {
	m := map[string]route{}
	s.componentRoutes(m)
	tpl := func(methods int, body bool, h func(*call) (any, error)) route {
		return route{methods: methods, token: miniship.ComponentToken, body: body, h: h}
	}
	m["/wxa/gettemplatedraftlist"] = tpl(get, false, s.draftList)
	m["/wxa/addtotemplate"] = tpl(post, true, s.addToTemplate)
	m["/wxa/gettemplatelist"] = tpl(get, false, s.templateList)
	m["/wxa/deletetemplate"] = tpl(post, true, s.deleteTemplate)

	code := func(methods int, body bool, h func(*call) (any, error)) route {
		return route{methods: methods, token: miniship.AuthorizerToken, perms: []int{service.PermCodeManagement}, body: body, h: h}
	}
	m["/wxa/commit"] = inTx(code(post, true, s.commit))
	m["/wxa/get_page"] = code(get, false, s.getPage)
	m["/wxa/get_category"] = inTx(code(get, false, s.getCategory))
	qr := code(get, false, s.qrcode)
	qr.perms = []int{service.PermCodeManagement, service.PermQRCode}
	m["/wxa/get_qrcode"] = qr
	m["/wxa/security/get_code_privacy_info"] = code(get, false, s.codePrivacyInfo)
	m["/wxa/getversioninfo"] = code(post, true, s.versionInfo)
	s.releaseRoutes(m, code)
	s.pipelineRoutes(m)
	s.grantRoutes(m) // privacy, categories, plugins (grants.go)
	m["/wxa/get_auditstatus"] = inTx(m["/wxa/get_auditstatus"])
	return m
}

// inTx marks a route whose service method checks the token's grant in its
// own transaction (service.AuthenticateInTx): commit, get_category and
// get_auditstatus, the calls a rollout makes most.
func inTx(r route) route {
	r.grantInTx = true
	return r
}

// upload marks a route whose handler reads a multipart body of up to
// limit bytes, which the body budget counts.
func upload(r route, limit int64) route {
	r.upload = limit
	return r
}

// queryAction marks a route whose handler takes its action from the body,
// else the query (call.action): with one in the query it needs no body.
func queryAction(r route) route {
	r.queryAction = true
	return r
}
