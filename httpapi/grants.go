package httpapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

// Privacy (set 18), categories (set 30) and plugins (set 40): the
// endpoints around the core whose grants commit and submit_audit check.

func (s *Server) grantRoutes(m map[string]route) {
	auth := func(perm, methods int, body bool, h func(*call) (any, error)) route {
		return route{methods: methods, token: miniship.AuthorizerToken, perms: []int{perm}, body: body, h: h}
	}
	// These three sit under /cgi-bin/component/ yet take the authorizer token.
	m["/cgi-bin/component/setprivacysetting"] = auth(service.PermCodeManagement, post, true, s.setPrivacySetting)
	m["/cgi-bin/component/getprivacysetting"] = auth(service.PermCodeManagement, both, false, s.getPrivacySetting)
	m["/cgi-bin/component/uploadprivacyextfile"] = upload(auth(service.PermCodeManagement, post, false, s.uploadPrivacyExtFile), maxPrivacyExtBody)
	m["/wxa/security/get_privacy_interface"] = auth(service.PermCodeManagement, both, false, s.getPrivacyInterface)
	m["/wxa/security/apply_privacy_interface"] = auth(service.PermCodeManagement, post, true, s.applyPrivacyInterface)

	m["/cgi-bin/wxopen/getallcategories"] = auth(service.PermCategory, both, false, s.getAllCategories)
	m["/cgi-bin/wxopen/getcategoriesbytype"] = auth(service.PermCategory, post, false, s.getCategoriesByType)
	m["/cgi-bin/wxopen/getcategory"] = auth(service.PermCategory, both, false, s.getCategories)
	m["/cgi-bin/wxopen/addcategory"] = auth(service.PermCategory, post, true, s.addCategory)
	m["/cgi-bin/wxopen/deletecategory"] = auth(service.PermCategory, post, true, s.deleteCategory)
	m["/cgi-bin/wxopen/modifycategory"] = auth(service.PermCategory, post, true, s.modifyCategory)

	m["/wxa/plugin"] = queryAction(auth(service.PermPlugin, post, true, s.plugin))
	m["/wxa/devplugin"] = queryAction(auth(service.PermPlugin, post, true, s.devPlugin))
}

// decodeLoose is decode for readers documented with no body: {}, [],
// null and nothing all mean "no fields" (PHP clients send [], Go ones null).
func (c *call) decodeLoose(v any) error {
	switch string(bytes.TrimSpace(c.body)) {
	case "", "[]", "null":
		return nil
	}
	return c.decode(v)
}

// --- privacy ------------------------------------------------------------------

func (s *Server) setPrivacySetting(c *call) (any, error) {
	var req struct {
		PrivacyVer   Int64                 `json:"privacy_ver"`
		SettingList  []service.PrivacyItem `json:"setting_list"`
		OwnerSetting *struct {
			service.OwnerSetting
			// store_region is a number, but clients that send every
			// owner_setting field as a string (as getprivacysetting's
			// other fields are) send "1017": take both.
			StoreRegion Int64 `json:"store_region"`
		} `json:"owner_setting"`
		SDKPrivacyInfoList []service.SDKPrivacyInfo `json:"sdk_privacy_info_list"`
	}
	if err := c.decode(&req); err != nil {
		// WeChat answers a body it cannot read here with 86072 (spec §4.1).
		return nil, wxerr.New(wxerr.PrivacyStoreExpire, wxerr.From(err).Msg)
	}
	var owner *service.OwnerSetting
	if o := req.OwnerSetting; o != nil {
		owner = &o.OwnerSetting
		owner.StoreRegion = int64(o.StoreRegion)
	}
	return nil, s.svc.SetPrivacySetting(c.ctx, c.caller, service.SetPrivacyRequest{
		Ver: int(req.PrivacyVer), SettingList: req.SettingList, OwnerSetting: owner, SDKPrivacyInfoList: req.SDKPrivacyInfoList,
	})
}

func (s *Server) getPrivacySetting(c *call) (any, error) {
	var req struct {
		PrivacyVer Int64 `json:"privacy_ver"`
	}
	if err := c.decodeLoose(&req); err != nil {
		return nil, err
	}
	if v := c.param("privacy_ver"); req.PrivacyVer == 0 && v != "" { // GET callers
		if err := req.PrivacyVer.UnmarshalJSON([]byte(v)); err != nil {
			return nil, wxerr.Errorf(wxerr.PrivacyVerInvalid, "privacy_ver %q", v)
		}
	}
	return s.svc.GetPrivacySetting(c.ctx, c.caller, int(req.PrivacyVer))
}

// maxPrivacyExtBody bounds an uploadprivacyextfile request: the 100 KB
// file plus room for the multipart framing.
const maxPrivacyExtBody = service.MaxPrivacyExtFile + 64<<10

func (s *Server) uploadPrivacyExtFile(c *call) (any, error) {
	ct, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		return nil, wxerr.New(wxerr.MediaDataMissing, "send multipart/form-data with the .txt file in field file")
	}
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, maxPrivacyExtBody)
	mr, err := c.r.MultipartReader()
	if err != nil {
		return nil, wxerr.New(wxerr.MediaDataMissing, "")
	}
	for {
		part, err := mr.NextPart()
		var tooBig *http.MaxBytesError
		switch {
		case err == io.EOF:
			return nil, wxerr.New(wxerr.MediaDataMissing, "no multipart field file")
		case errors.As(err, &tooBig):
			return nil, wxerr.Errorf(wxerr.InvalidTextSize, "request over %d bytes", maxPrivacyExtBody)
		case err != nil:
			return nil, wxerr.New(wxerr.DataFormatError, "malformed multipart body")
		}
		if part.FormName() != "file" {
			continue
		}
		data, err := readPart(part, service.MaxPrivacyExtFile, c.r)
		if errors.As(err, &tooBig) || len(data) > service.MaxPrivacyExtFile {
			return nil, wxerr.Errorf(wxerr.InvalidTextSize, "file over %d bytes", service.MaxPrivacyExtFile)
		}
		if err != nil {
			return nil, wxerr.New(wxerr.DataFormatError, "malformed multipart body")
		}
		if err := service.CheckPrivacyExtFile(part.FileName(), data); err != nil {
			return nil, err
		}
		if err := s.takeTurn(c, int64(len(data))); err != nil {
			return nil, err
		}
		id, err := s.svc.UploadPrivacyExtFile(c.ctx, c.caller, part.FileName(), data)
		return map[string]any{"ext_file_media_id": id}, err
	}
}

func (s *Server) getPrivacyInterface(c *call) (any, error) {
	if err := c.decodeNothing(); err != nil {
		return nil, err
	}
	list, err := s.svc.GetPrivacyInterface(c.ctx, c.caller)
	return map[string]any{"interface_list": list}, err
}

func (s *Server) applyPrivacyInterface(c *call) (any, error) {
	var req service.ApplyPrivacyRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	id, err := s.svc.ApplyPrivacyInterface(c.ctx, c.caller, req)
	return map[string]any{"audit_id": id}, err
}

// --- categories ---------------------------------------------------------------

func (s *Server) getAllCategories(c *call) (any, error) {
	if err := c.decodeNothing(); err != nil {
		return nil, err
	}
	return service.AllCategories(), nil
}

// getCategoriesByType takes {"verify_type":N}; no body means 0 (personal).
func (s *Server) getCategoriesByType(c *call) (any, error) {
	var req struct {
		VerifyType Int64 `json:"verify_type"`
	}
	if err := c.decodeLoose(&req); err != nil {
		return nil, err
	}
	return service.CategoriesByType(int64(req.VerifyType))
}

func (s *Server) getCategories(c *call) (any, error) {
	if err := c.decodeNothing(); err != nil {
		return nil, err
	}
	return s.svc.GetCategories(c.ctx, c.caller)
}

// categoryBody is a category as addcategory, deletecategory and
// modifycategory send it; "certicates" is WeChat's spelling.
type categoryBody struct {
	First        Int64                  `json:"first"`
	Second       Int64                  `json:"second"`
	Certificates []miniship.Certificate `json:"certicates"`
}

func (b categoryBody) add() service.AddCategory {
	return service.AddCategory{First: int64(b.First), Second: int64(b.Second), Certificates: b.Certificates}
}

// decodeCategory maps a body of the wrong shape to 53303, the code the
// category pages give for invalid parameters.
func (c *call) decodeCategory(v any) error {
	if err := c.decode(v); err != nil {
		return wxerr.New(wxerr.CategoryInvalidParams, wxerr.From(err).Msg)
	}
	return nil
}

func (s *Server) addCategory(c *call) (any, error) {
	var req struct {
		Categories []categoryBody `json:"categories"`
	}
	if err := c.decodeCategory(&req); err != nil {
		return nil, err
	}
	cats := make([]service.AddCategory, len(req.Categories))
	for i, b := range req.Categories {
		cats[i] = b.add()
	}
	return nil, s.svc.AddCategories(c.ctx, c.caller, cats)
}

func (s *Server) deleteCategory(c *call) (any, error) {
	var req categoryBody
	if err := c.decodeCategory(&req); err != nil {
		return nil, err
	}
	return nil, s.svc.DeleteCategory(c.ctx, c.caller, int64(req.First), int64(req.Second))
}

func (s *Server) modifyCategory(c *call) (any, error) {
	var req categoryBody
	if err := c.decodeCategory(&req); err != nil {
		return nil, err
	}
	return nil, s.svc.ModifyCategory(c.ctx, c.caller, req.add())
}

// --- plugins ------------------------------------------------------------------

// action reads "action" from the body, as every SDK sends it, falling back
// to the query, where some SDK comments put it.
func (c *call) action(body string) string {
	if body != "" {
		return body
	}
	return c.param("action")
}

func (s *Server) plugin(c *call) (any, error) {
	var req struct {
		Action      string `json:"action"`
		PluginAppID string `json:"plugin_appid"`
		Reason      string `json:"reason"`
		UserVersion string `json:"user_version"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	switch a := c.action(req.Action); a {
	case "apply":
		return nil, s.svc.PluginApply(c.ctx, c.caller, req.PluginAppID, req.Reason)
	case "list":
		list, err := s.svc.PluginList(c.ctx, c.caller)
		return map[string]any{"plugin_list": list}, err
	case "unbind":
		return nil, s.svc.PluginUnbind(c.ctx, c.caller, req.PluginAppID)
	case "update":
		return nil, s.svc.PluginUpdate(c.ctx, c.caller, req.PluginAppID, req.UserVersion)
	default:
		return nil, wxerr.Errorf(wxerr.InvalidArgs, "action %q, want apply, list, unbind or update", a)
	}
}

func (s *Server) devPlugin(c *call) (any, error) {
	var req struct {
		Action string `json:"action"`
		AppID  string `json:"appid"`
		Reason string `json:"reason"`
		Page   Int64  `json:"page"`
		Num    Int64  `json:"num"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	switch a := c.action(req.Action); a {
	case "dev_apply_list":
		num := int(req.Num)
		if num == 0 {
			num = 10
		}
		list, err := s.svc.DevApplyList(c.ctx, c.caller, int(req.Page), num)
		return map[string]any{"apply_list": list}, err
	case "dev_agree":
		return nil, s.svc.DevAgree(c.ctx, c.caller, req.AppID)
	case "dev_refuse":
		return nil, s.svc.DevRefuse(c.ctx, c.caller, req.AppID, req.Reason)
	case "dev_delete":
		return nil, s.svc.DevDelete(c.ctx, c.caller, req.AppID)
	default:
		return nil, wxerr.Errorf(wxerr.InvalidArgs, "action %q, want dev_apply_list, dev_agree, dev_refuse or dev_delete", a)
	}
}
