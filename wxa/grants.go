package wxa

import (
	"context"
	"strconv"
)

// The calls around the core whose grants commit and submit_audit check:
// the user-privacy guide and privacy APIs (set 18), categories (set 30)
// and plugins (set 40). All take the mini program's authorizer token,
// including the three under /cgi-bin/component/.

// Privacy guide versions for SetPrivacySetting and PrivacySetting.
const (
	PrivacyLive = 1
	PrivacyDev  = 2
)

// PrivacyItem is a setting_list entry: a privacy key ("Location",
// "UserInfo", … or a custom one) and the purpose, shown as "为了<text>".
type PrivacyItem struct {
	Key  string `json:"privacy_key"`
	Text string `json:"privacy_text"`
}

// OwnerSetting is the guide's owner: one contact at least, and the notice
// method.
type OwnerSetting struct {
	ContactPhone         string `json:"contact_phone,omitempty"`
	ContactEmail         string `json:"contact_email,omitempty"`
	ContactQQ            string `json:"contact_qq,omitempty"`
	ContactWeixin        string `json:"contact_weixin,omitempty"`
	ExtFileMediaID       string `json:"ext_file_media_id,omitempty"`
	NoticeMethod         string `json:"notice_method"`
	StoreExpireTimestamp string `json:"store_expire_timestamp,omitempty"`
	StoreRegion          int64  `json:"store_region,omitempty"`
}

// SDKPrivacyInfo declares what a third-party SDK in the code collects.
type SDKPrivacyInfo struct {
	SDKName    string        `json:"sdk_name"`
	SDKBizName string        `json:"sdk_biz_name"`
	SDKList    []PrivacyItem `json:"sdk_list"`
}

// PrivacySetting is the body of setprivacysetting. Ver 2 (the default)
// writes the development guide, which goes live with the next release;
// ver 1 edits the live guide's OwnerSetting only (leave the lists nil).
type PrivacySetting struct {
	Ver                int              `json:"privacy_ver,omitempty"`
	SettingList        []PrivacyItem    `json:"setting_list,omitempty"`
	OwnerSetting       OwnerSetting     `json:"owner_setting"`
	SDKPrivacyInfoList []SDKPrivacyInfo `json:"sdk_privacy_info_list,omitempty"`
}

// SetPrivacySetting calls setprivacysetting.
func (a *App) SetPrivacySetting(ctx context.Context, s PrivacySetting) error {
	if s.Ver != PrivacyLive && s.SettingList == nil {
		s.SettingList = []PrivacyItem{} // required for ver 2, even empty
	}
	return a.call(ctx, "POST", "/cgi-bin/component/setprivacysetting", s, nil)
}

// PrivacySettingResult is the answer of getprivacysetting.
type PrivacySettingResult struct {
	CodeExist   int      `json:"code_exist"`
	PrivacyList []string `json:"privacy_list"` // keys the last commit uses
	SettingList []struct {
		Key   string `json:"privacy_key"`
		Text  string `json:"privacy_text"` // "" for a used key not yet described
		Label string `json:"privacy_label"`
	} `json:"setting_list"`
	UpdateTime   int64        `json:"update_time"`
	OwnerSetting OwnerSetting `json:"owner_setting"`
	PrivacyDesc  struct {
		List []struct {
			Key  string `json:"privacy_key"`
			Desc string `json:"privacy_desc"`
		} `json:"privacy_desc_list"`
	} `json:"privacy_desc"`
	SDKPrivacyInfoList []SDKPrivacyInfo `json:"sdk_privacy_info_list"`
}

// PrivacySetting calls getprivacysetting for the live (1) or development
// (2) guide.
func (a *App) PrivacySetting(ctx context.Context, ver int) (*PrivacySettingResult, error) {
	var res PrivacySettingResult
	r := a.req("POST", "/cgi-bin/component/getprivacysetting", struct {
		Ver int `json:"privacy_ver"`
	}{ver})
	r.idempotent = true
	if err := a.c.call(ctx, r, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// UploadPrivacyExtFile uploads a supplementary privacy text (.txt, at most
// 100 KB) and returns the ext_file_media_id for OwnerSetting.
func (a *App) UploadPrivacyExtFile(ctx context.Context, filename string, data []byte) (string, error) {
	r := a.req("POST", "/cgi-bin/component/uploadprivacyextfile", nil)
	r.media = &mediaFile{field: "file", name: filename, data: data}
	var res struct {
		ID string `json:"ext_file_media_id"`
	}
	err := a.c.call(ctx, r, &res)
	return res.ID, err
}

// Privacy API statuses of PrivacyInterface.Status.
const (
	PrivacyAPINotApplied = 1
	PrivacyAPINoRight    = 2
	PrivacyAPIApplying   = 3
	PrivacyAPIRejected   = 4
	PrivacyAPIGranted    = 5
)

// PrivacyInterface is an API that needs an application, and where it stands.
type PrivacyInterface struct {
	APIName    string `json:"api_name"` // with the wx. prefix
	APIChName  string `json:"api_ch_name"`
	APIDesc    string `json:"api_desc"`
	APILink    string `json:"api_link"`
	GroupName  string `json:"group_name"`
	Status     int    `json:"status"`
	ApplyTime  int64  `json:"apply_time"`
	AuditID    int64  `json:"audit_id"`
	FailReason string `json:"fail_reason"`
}

// PrivacyInterfaces calls get_privacy_interface.
func (a *App) PrivacyInterfaces(ctx context.Context) ([]PrivacyInterface, error) {
	var res struct {
		List []PrivacyInterface `json:"interface_list"`
	}
	err := a.call(ctx, "GET", "/wxa/security/get_privacy_interface", nil, &res)
	return res.List, err
}

// PrivacyApplication is the body of apply_privacy_interface: the API
// ("wx.getLocation"), why (≤ 300 characters) and at least one of the lists.
type PrivacyApplication struct {
	APIName   string   `json:"api_name"`
	Content   string   `json:"content"`
	URLList   []string `json:"url_list,omitempty"`
	PicList   []string `json:"pic_list,omitempty"`
	VideoList []string `json:"video_list,omitempty"`
}

// ApplyPrivacyInterface calls apply_privacy_interface and returns the
// audit_id; the decision arrives as a wxa_privacy_apply push.
func (a *App) ApplyPrivacyInterface(ctx context.Context, p PrivacyApplication) (int64, error) {
	var res struct {
		AuditID int64 `json:"audit_id"`
	}
	err := a.call(ctx, "POST", "/wxa/security/apply_privacy_interface", p, &res)
	return res.AuditID, err
}

// CategoryNode is a node of the category tree (getallcategories); id 0 is
// the root, whose Children are the first levels.
type CategoryNode struct {
	ID            int64   `json:"id"`
	Name          string  `json:"name"`
	Level         int     `json:"level"`
	Father        int64   `json:"father"`
	Children      []int64 `json:"children"`
	SensitiveType int     `json:"sensitive_type"` // 1: needs certificates and a review
	Qualify       struct {
		ExterList []struct {
			InnerList []struct {
				Name string `json:"name"`
				URL  string `json:"url"`
			} `json:"inner_list"`
		} `json:"exter_list"`
		Remark string `json:"remark"`
	} `json:"qualify"`
}

// AllCategories calls getallcategories.
func (a *App) AllCategories(ctx context.Context) ([]CategoryNode, error) {
	var res struct {
		List struct {
			Categories []CategoryNode `json:"categories"`
		} `json:"categories_list"`
	}
	err := a.call(ctx, "GET", "/cgi-bin/wxopen/getallcategories", nil, &res)
	return res.List.Categories, err
}

// CategoriesByType calls getcategoriesbytype: the categories a subject
// type (0 personal, 1 enterprise, 2 government, 3 media, 4 other) may use.
func (a *App) CategoriesByType(ctx context.Context, verifyType int) ([]CategoryNode, error) {
	var res struct {
		List struct {
			Categories []CategoryNode `json:"categories"`
		} `json:"categories_list"`
	}
	err := a.call(ctx, "POST", "/cgi-bin/wxopen/getcategoriesbytype", map[string]int{"verify_type": verifyType}, &res)
	return res.List.Categories, err
}

// Category review statuses of SettingCategory.AuditStatus.
const (
	CategoryReviewing = 1
	CategoryRejected  = 2
	CategoryApproved  = 3
)

// SettingCategory is a category of the mini program with its review.
type SettingCategory struct {
	First       int64  `json:"first"`
	FirstName   string `json:"first_name"`
	Second      int64  `json:"second"`
	SecondName  string `json:"second_name"`
	AuditStatus int    `json:"audit_status"`
	AuditReason string `json:"audit_reason"`
}

// CategorySettings is the answer of getcategory.
type CategorySettings struct {
	Categories    []SettingCategory `json:"categories"`
	Limit         int               `json:"limit"`          // additions allowed a month
	Quota         int               `json:"quota"`          // additions left this month
	CategoryLimit int               `json:"category_limit"` // most categories
}

// SettingCategories calls getcategory.
func (a *App) SettingCategories(ctx context.Context) (*CategorySettings, error) {
	var res CategorySettings
	if err := a.call(ctx, "GET", "/cgi-bin/wxopen/getcategory", nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Certificate is a qualification of a category.
type Certificate struct {
	Key         string `json:"key"`   // the qualification's name
	Value       string `json:"value"` // a media_id
	ExpireTime  int64  `json:"expire_time,omitempty"`
	IsPermanent int    `json:"is_permanent,omitempty"`
}

// CategoryRequest names a category by ids, with the certificates it needs.
type CategoryRequest struct {
	First        int64         `json:"first"`
	Second       int64         `json:"second"`
	Certificates []Certificate `json:"certicates,omitempty"` // WeChat's spelling
}

// AddCategories calls addcategory. A category with SensitiveType 1 is
// reviewed (wxa_category_audit push); the others are usable at once.
func (a *App) AddCategories(ctx context.Context, cats ...CategoryRequest) error {
	return a.call(ctx, "POST", "/cgi-bin/wxopen/addcategory", struct {
		Categories []CategoryRequest `json:"categories"`
	}{cats}, nil)
}

// DeleteCategory calls deletecategory.
func (a *App) DeleteCategory(ctx context.Context, first, second int64) error {
	return a.call(ctx, "POST", "/cgi-bin/wxopen/deletecategory", CategoryRequest{First: first, Second: second}, nil)
}

// ModifyCategory calls modifycategory: new certificates for a rejected
// category, which goes back to review.
func (a *App) ModifyCategory(ctx context.Context, c CategoryRequest) error {
	return a.call(ctx, "POST", "/cgi-bin/wxopen/modifycategory", c, nil)
}

// Plugin statuses of Plugin.Status and PluginApplication.Status.
const (
	PluginApplying = 1
	PluginApproved = 2
	PluginRefused  = 3
	PluginTimedOut = 4
)

// Plugin is an entry of /wxa/plugin list.
type Plugin struct {
	AppID      string `json:"appid"`
	Status     int    `json:"status"`
	Nickname   string `json:"nickname"`
	HeadImgURL string `json:"headimgurl"`
}

func (a *App) plugin(ctx context.Context, body map[string]string, out any) error {
	return a.call(ctx, "POST", "/wxa/plugin", body, out)
}

// ApplyPlugin asks the plugin's developer to let the mini program use it.
func (a *App) ApplyPlugin(ctx context.Context, pluginAppID, reason string) error {
	return a.plugin(ctx, map[string]string{"action": "apply", "plugin_appid": pluginAppID, "reason": reason}, nil)
}

// Plugins lists the plugins applied for or in use.
func (a *App) Plugins(ctx context.Context) ([]Plugin, error) {
	var res struct {
		List []Plugin `json:"plugin_list"`
	}
	err := a.plugin(ctx, map[string]string{"action": "list"}, &res)
	return res.List, err
}

// UnbindPlugin stops using a plugin.
func (a *App) UnbindPlugin(ctx context.Context, pluginAppID string) error {
	return a.plugin(ctx, map[string]string{"action": "unbind", "plugin_appid": pluginAppID}, nil)
}

// UpdatePlugin fast-updates the plugin version the mini program uses.
func (a *App) UpdatePlugin(ctx context.Context, pluginAppID, userVersion string) error {
	return a.plugin(ctx, map[string]string{"action": "update", "plugin_appid": pluginAppID, "user_version": userVersion}, nil)
}

// PluginApplication is an application to use this mini program's plugin
// (the plugin developer's side).
type PluginApplication struct {
	AppID      string `json:"appid"`
	Status     int    `json:"status"`
	Nickname   string `json:"nickname"`
	HeadImgURL string `json:"headimgurl"`
	Reason     string `json:"reason"`
	ApplyURL   string `json:"apply_url"`
	CreateTime string `json:"create_time"` // a string on the wire
	Categories []struct {
		First  string `json:"first"`
		Second string `json:"second"`
	} `json:"categories"`
}

func (a *App) devPlugin(ctx context.Context, body map[string]any, out any) error {
	return a.call(ctx, "POST", "/wxa/devplugin", body, out)
}

// PluginApplications lists the applications for the plugin, page from 1.
func (a *App) PluginApplications(ctx context.Context, page, num int) ([]PluginApplication, error) {
	var res struct {
		List []PluginApplication `json:"apply_list"`
	}
	err := a.devPlugin(ctx, map[string]any{"action": "dev_apply_list", "page": page, "num": num}, &res)
	return res.List, err
}

// AgreePlugin approves the application of the mini program appid.
func (a *App) AgreePlugin(ctx context.Context, appid string) error {
	return a.devPlugin(ctx, map[string]any{"action": "dev_agree", "appid": appid}, nil)
}

// RefusePlugin refuses the application of appid; an empty appid refuses
// every waiting application.
func (a *App) RefusePlugin(ctx context.Context, appid, reason string) error {
	body := map[string]any{"action": "dev_refuse", "reason": reason}
	if appid != "" {
		body["appid"] = appid
	}
	return a.devPlugin(ctx, body, nil)
}

// DeletePluginApplications deletes refused applications: appid's, or all
// when appid is empty.
func (a *App) DeletePluginApplications(ctx context.Context, appid string) error {
	body := map[string]any{"action": "dev_delete"}
	if appid != "" {
		body["appid"] = appid
	}
	return a.devPlugin(ctx, body, nil)
}

// CreateTimeUnix parses CreateTime.
func (p PluginApplication) CreateTimeUnix() int64 {
	n, _ := strconv.ParseInt(p.CreateTime, 10, 64)
	return n
}
