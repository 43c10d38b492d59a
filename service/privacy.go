package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/template"
	"github.com/miniship/miniship/wxerr"
)

// The user-privacy guide (setprivacysetting, getprivacysetting,
// uploadprivacyextfile) and the privacy (location) APIs a mini program
// applies for (get_privacy_interface, apply_privacy_interface).

// Privacy guide versions. PrivacyAudited is not the API's: it is the
// development guide as the mini program's latest audit carried it, copied
// at submit_audit with that audit's id (auditedCopy). The reviewer checks
// it and release makes it live, so that a guide edited after the
// submission goes live only with the next audit (the spec: release
// promotes the dev guide "if the audited version carried it").
const (
	PrivacyLive    = 1
	PrivacyDev     = 2
	PrivacyAudited = 3
)

// PrivacyItem is one entry of setting_list (and of an SDK's sdk_list).
type PrivacyItem struct {
	Key  string `json:"privacy_key"`
	Text string `json:"privacy_text"`
}

// OwnerSetting is the guide's owner_setting.
type OwnerSetting struct {
	ContactPhone         string `json:"contact_phone"`
	ContactEmail         string `json:"contact_email"`
	ContactQQ            string `json:"contact_qq"`
	ContactWeixin        string `json:"contact_weixin"`
	ExtFileMediaID       string `json:"ext_file_media_id"`
	NoticeMethod         string `json:"notice_method"`
	StoreExpireTimestamp string `json:"store_expire_timestamp"`
	StoreRegion          int64  `json:"store_region,omitempty"`
}

// SDKPrivacyInfo is an entry of sdk_privacy_info_list.
type SDKPrivacyInfo struct {
	SDKName    string        `json:"sdk_name"`
	SDKBizName string        `json:"sdk_biz_name"`
	SDKList    []PrivacyItem `json:"sdk_list"`
}

// PrivacyDoc is a privacy guide as stored: what setprivacysetting set.
type PrivacyDoc struct {
	SettingList        []PrivacyItem    `json:"setting_list"`
	OwnerSetting       OwnerSetting     `json:"owner_setting"`
	SDKPrivacyInfoList []SDKPrivacyInfo `json:"sdk_privacy_info_list"`
}

// SetPrivacyRequest is the body of setprivacysetting. A nil SettingList or
// OwnerSetting was absent.
type SetPrivacyRequest struct {
	Ver                int
	SettingList        []PrivacyItem
	OwnerSetting       *OwnerSetting
	SDKPrivacyInfoList []SDKPrivacyInfo
}

// privacyLabels are the official privacy keys and the labels WeChat shows
// for them (privacy_label, privacy_desc).
var privacyLabels = map[string]string{
	"UserInfo": "用户信息（微信昵称、头像）", "Location": "位置信息", "Address": "地址", "Invoice": "发票信息",
	"RunData": "微信运动步数", "Record": "麦克风", "Album": "选中的照片或视频信息", "Camera": "摄像头",
	"PhoneNumber": "手机号码", "Contact": "通讯录（仅写入）权限", "DeviceInfo": "设备信息",
	"EXIDNumber": "身份证号码", "EXOrderInfo": "订单信息", "EXUserPublishContent": "发布内容",
	"EXUserFollowAcct": "所关注账号", "EXUserOpLog": "操作日志", "AlbumWriteOnly": "相册（仅写入）权限",
	"LicensePlate": "车牌号", "BlueTooth": "蓝牙", "CalendarWriteOnly": "日历（仅写入）权限",
	"Email": "邮箱", "MessageFile": "选中的文件",
}

// privacyAPIInfo describes an API of get_privacy_interface: every location
// API the code scanner finds, with the privacy key its use falls under.
type privacyAPIInfo struct {
	chName, desc, group, key, link string
}

var privacyAPIs = map[string]privacyAPIInfo{
	template.GetFuzzyLocation:              {"获取模糊地理位置", "获取用户模糊地理位置", "地理位置", "Location", "location/wx.getFuzzyLocation.html"},
	template.GetLocation:                   {"获取当前的地理位置、速度", "获取当前的地理位置、速度", "地理位置", "Location", "location/wx.getLocation.html"},
	template.OnLocationChange:              {"监听实时地理位置变化事件", "监听实时地理位置变化事件", "地理位置", "Location", "location/wx.onLocationChange.html"},
	template.StartLocationUpdate:           {"开启小程序进入前台时接收位置消息", "开启小程序进入前台时接收位置消息", "地理位置", "Location", "location/wx.startLocationUpdate.html"},
	template.StartLocationUpdateBackground: {"开启小程序进入前后台时均接收位置消息", "开启小程序进入前后台时均接收位置消息", "地理位置", "Location", "location/wx.startLocationUpdateBackground.html"},
	template.ChooseLocation:                {"打开地图选择位置", "打开地图选择位置", "地理位置", "Location", "location/wx.chooseLocation.html"},
	template.ChoosePoi:                     {"打开POI列表选择位置", "打开POI列表选择位置", "地理位置", "Location", "location/wx.choosePoi.html"},
	template.ChooseAddress:                 {"获取用户收货地址", "获取用户收货地址", "地址", "Address", "open-api/address/wx.chooseAddress.html"},
}

// privacyKeys are the guide keys the code's API uses fall under, in first-use order.
func privacyKeys(apis []string) []string {
	var keys []string
	for _, api := range apis {
		if info, ok := privacyAPIs[api]; ok {
			keys = addUnique(keys, info.key)
		}
	}
	return keys
}

func checkPrivacyVer(ver int) (int, error) {
	switch ver {
	case 0:
		return PrivacyDev, nil
	case PrivacyLive, PrivacyDev:
		return ver, nil
	}
	return 0, wxerr.Errorf(wxerr.PrivacyVerInvalid, "privacy_ver %d, want 1 (live) or 2 (development)", ver)
}

// validOwner checks owner_setting (86069, 86070, 86072).
func validOwner(o *OwnerSetting) error {
	if o == nil {
		return wxerr.New(wxerr.PrivacyOwnerSettingFields, "owner_setting is required")
	}
	if o.ContactPhone == "" && o.ContactEmail == "" && o.ContactQQ == "" && o.ContactWeixin == "" {
		return wxerr.New(wxerr.PrivacyOwnerSettingFields, "owner_setting needs one of contact_phone, contact_email, contact_qq, contact_weixin")
	}
	if strings.TrimSpace(o.NoticeMethod) == "" {
		return wxerr.New(wxerr.PrivacyNoticeMethod, "owner_setting.notice_method is required")
	}
	if s := o.StoreExpireTimestamp; s != "" && (strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > 64) {
		return wxerr.Errorf(wxerr.PrivacyStoreExpire, "store_expire_timestamp %q", s)
	}
	return nil
}

func validItems(field string, items []PrivacyItem) error {
	seen := map[string]bool{}
	for i, it := range items {
		switch {
		case strings.TrimSpace(it.Key) == "":
			return wxerr.Errorf(wxerr.InvalidArgs, "%s[%d].privacy_key is empty", field, i)
		case seen[it.Key]:
			return wxerr.Errorf(wxerr.InvalidArgs, "%s[%d].privacy_key %q repeats", field, i, it.Key)
		case utf8.RuneCountInString(it.Text) > 500:
			return wxerr.Errorf(wxerr.InvalidArgs, "%s[%d].privacy_text is longer than 500 characters", field, i)
		}
		seen[it.Key] = true
	}
	return nil
}

// SetPrivacySetting writes the development guide (ver 2), or edits the
// live guide's owner_setting (ver 1), which takes effect at once; the live
// ext_file_media_id cannot change there (86075).
func (s *Service) SetPrivacySetting(ctx context.Context, c *Caller, req SetPrivacyRequest) error {
	ver, err := checkPrivacyVer(req.Ver)
	if err != nil {
		return err
	}
	if ver == PrivacyLive && (req.SettingList != nil || req.SDKPrivacyInfoList != nil) {
		return wxerr.New(wxerr.PrivacyVerInvalid, "privacy_ver 1 edits owner_setting only: leave out setting_list and sdk_privacy_info_list")
	}
	if ver == PrivacyDev && req.SettingList == nil {
		return wxerr.New(wxerr.InvalidArgs, "setting_list is required for the development guide")
	}
	if err := validOwner(req.OwnerSetting); err != nil {
		return err
	}
	if err := validItems("setting_list", req.SettingList); err != nil {
		return err
	}
	for i, sdk := range req.SDKPrivacyInfoList {
		if sdk.SDKName == "" {
			return wxerr.Errorf(wxerr.InvalidArgs, "sdk_privacy_info_list[%d].sdk_name is empty", i)
		}
		if err := validItems(fmt.Sprintf("sdk_privacy_info_list[%d].sdk_list", i), sdk.SDKList); err != nil {
			return err
		}
	}
	return s.update(ctx, func(tx miniship.Tx) error {
		if _, err := tx.LockAuthorizer(c.AuthorizerAppID); err != nil {
			return err
		}
		if id := req.OwnerSetting.ExtFileMediaID; id != "" {
			if m, err := tx.GetMedia(id); err != nil || m.AuthorizerAppID != c.AuthorizerAppID || m.Type != miniship.MediaPrivacyExt {
				if err != nil && !errors.Is(err, miniship.ErrNotFound) {
					return err
				}
				return wxerr.Errorf(wxerr.PrivacyExtFileInvalid, "%q is not an uploadprivacyextfile media id of this mini program", id)
			}
		}
		doc := PrivacyDoc{SettingList: req.SettingList, OwnerSetting: *req.OwnerSetting, SDKPrivacyInfoList: req.SDKPrivacyInfoList}
		if ver == PrivacyLive {
			live, err := loadPrivacy(tx, c.AuthorizerAppID, PrivacyLive)
			if err != nil {
				return notFound(err, wxerr.PrivacyNoLiveGuide, "no guide has gone live yet: set the development guide (privacy_ver 2) and release")
			}
			if req.OwnerSetting.ExtFileMediaID != "" && req.OwnerSetting.ExtFileMediaID != live.OwnerSetting.ExtFileMediaID {
				return wxerr.New(wxerr.PrivacyExtFileFixed, "")
			}
			doc = *live
			ext := live.OwnerSetting.ExtFileMediaID
			doc.OwnerSetting = *req.OwnerSetting
			doc.OwnerSetting.ExtFileMediaID = ext
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		return tx.PutPrivacySetting(&miniship.PrivacySetting{AuthorizerAppID: c.AuthorizerAppID, Ver: ver, Doc: raw, UpdatedAt: s.Now()})
	})
}

func loadPrivacy(tx miniship.Tx, appid string, ver int) (*PrivacyDoc, error) {
	return loadGuide[PrivacyDoc](tx, appid, ver)
}

// loadGuide reads the mini program's guide row of ver, decoded as T.
func loadGuide[T any](tx miniship.Tx, appid string, ver int) (*T, error) {
	p, err := tx.GetPrivacySetting(appid, ver)
	if err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(p.Doc, &v); err != nil {
		return nil, fmt.Errorf("privacy guide %d of %s: %w", ver, appid, err)
	}
	return &v, nil
}

// PrivacySettingItem is a setting_list entry as getprivacysetting answers it.
type PrivacySettingItem struct {
	Key   string `json:"privacy_key"`
	Text  string `json:"privacy_text"`
	Label string `json:"privacy_label"`
}

// PrivacyDesc is an entry of privacy_desc_list.
type PrivacyDesc struct {
	Key  string `json:"privacy_key"`
	Desc string `json:"privacy_desc"`
}

// PrivacySettingResult is the answer of getprivacysetting.
type PrivacySettingResult struct {
	CodeExist    int                  `json:"code_exist"`
	PrivacyList  []string             `json:"privacy_list"`
	SettingList  []PrivacySettingItem `json:"setting_list"`
	UpdateTime   int64                `json:"update_time"`
	OwnerSetting OwnerSetting         `json:"owner_setting"`
	PrivacyDesc  struct {
		List []PrivacyDesc `json:"privacy_desc_list"`
	} `json:"privacy_desc"`
	SDKPrivacyInfoList []SDKPrivacyInfo `json:"sdk_privacy_info_list"`
}

// GetPrivacySetting reads a guide. setting_list also lists, with an empty
// privacy_text, the keys the last commit uses that the guide lacks: what
// WeChat calls "not configured".
func (s *Service) GetPrivacySetting(ctx context.Context, c *Caller, ver int) (*PrivacySettingResult, error) {
	ver, err := checkPrivacyVer(ver)
	if err != nil {
		return nil, err
	}
	res := &PrivacySettingResult{PrivacyList: []string{}, SettingList: []PrivacySettingItem{}, SDKPrivacyInfoList: []SDKPrivacyInfo{}}
	err = s.view(ctx, func(tx miniship.Tx) error {
		switch v, err := tx.LatestVersion(c.AuthorizerAppID); {
		case err == nil:
			if err := s.derive(tx, v); err != nil {
				return err
			}
			res.CodeExist = 1
			res.PrivacyList = append(res.PrivacyList, privacyKeys(v.UsedPrivacyAPIs)...)
		case !errors.Is(err, miniship.ErrNotFound):
			return err
		}
		p, err := tx.GetPrivacySetting(c.AuthorizerAppID, ver)
		if err != nil && !errors.Is(err, miniship.ErrNotFound) {
			return err
		}
		var doc PrivacyDoc
		if err == nil {
			res.UpdateTime = p.UpdatedAt.Unix()
			if err := json.Unmarshal(p.Doc, &doc); err != nil {
				return err
			}
		}
		for _, it := range doc.SettingList {
			res.SettingList = append(res.SettingList, PrivacySettingItem{it.Key, it.Text, labelOf(it.Key)})
		}
		for _, key := range res.PrivacyList {
			if !slices.ContainsFunc(doc.SettingList, func(it PrivacyItem) bool { return it.Key == key }) {
				res.SettingList = append(res.SettingList, PrivacySettingItem{Key: key, Label: labelOf(key)})
			}
		}
		res.OwnerSetting = doc.OwnerSetting
		if doc.SDKPrivacyInfoList != nil {
			res.SDKPrivacyInfoList = doc.SDKPrivacyInfoList
		}
		return nil
	})
	for _, k := range slices.Sorted(maps.Keys(privacyLabels)) {
		res.PrivacyDesc.List = append(res.PrivacyDesc.List, PrivacyDesc{k, privacyLabels[k]})
	}
	return res, err
}

func labelOf(key string) string {
	if l, ok := privacyLabels[key]; ok {
		return l
	}
	return key // a custom key is its own label
}

// MaxPrivacyExtFile is uploadprivacyextfile's size limit: 100 KB.
const MaxPrivacyExtFile = 100 << 10

// MaxPrivacyExtFiles is how many uploaded files a mini program keeps
// besides those its guides use: an upload deletes older ones, so the
// files stay bounded however often a client uploads.
const MaxPrivacyExtFiles = 20

// CheckPrivacyExtFile answers as UploadPrivacyExtFile does to a file it
// refuses, and nil to one it takes, storing nothing (see CheckMedia).
func CheckPrivacyExtFile(name string, data []byte) error {
	switch {
	case len(data) == 0:
		return wxerr.New(wxerr.MediaDataMissing, "multipart field file is empty or missing")
	case len(data) > MaxPrivacyExtFile:
		return wxerr.Errorf(wxerr.InvalidTextSize, "%d bytes, at most %d", len(data), MaxPrivacyExtFile)
	case !strings.HasSuffix(strings.ToLower(name), ".txt") || !utf8.Valid(data):
		return wxerr.Errorf(wxerr.InvalidMediaSize, "want a UTF-8 .txt file, got %q", name)
	}
	return nil
}

// UploadPrivacyExtFile stores a supplementary privacy text (.txt, UTF-8, at
// most 100 KB) and returns its ext_file_media_id. Oversize is 40126;
// another file type is 40006, the code the old page gives for it.
func (s *Service) UploadPrivacyExtFile(ctx context.Context, c *Caller, name string, data []byte) (string, error) {
	if err := CheckPrivacyExtFile(name, data); err != nil {
		return "", err
	}
	// WeChat's ids are 19-digit numbers. Here the mini program's upload
	// count, then 9 random digits: equal-length ids sort by upload, which
	// tells the newest apart when the clock stood still (PruneMedia).
	n, err := randInt(s, 1e9)
	if err != nil {
		return "", err
	}
	m := &miniship.Media{AuthorizerAppID: c.AuthorizerAppID, Type: miniship.MediaPrivacyExt, Data: data, CreatedAt: s.Now()}
	err = s.update(ctx, func(tx miniship.Tx) error {
		if _, err := tx.LockAuthorizer(c.AuthorizerAppID); err != nil {
			return err
		}
		seq, err := tx.AddCounter("privacyext:"+c.AuthorizerAppID, 1)
		if err != nil {
			return err
		}
		m.ID = fmt.Sprint(int64(1e18) + int64(seq%8e9)*1e9 + n)
		if err := tx.PutMedia(m); err != nil {
			return err
		}
		var inUse []string
		for _, ver := range []int{PrivacyLive, PrivacyDev} {
			switch doc, err := loadPrivacy(tx, c.AuthorizerAppID, ver); {
			case err == nil && doc.OwnerSetting.ExtFileMediaID != "":
				inUse = append(inUse, doc.OwnerSetting.ExtFileMediaID)
			case err != nil && !errors.Is(err, miniship.ErrNotFound):
				return err
			}
		}
		// And the file of the guide the latest audit carried, which its
		// release will make live.
		switch ac, err := loadAuditedCopy(tx, c.AuthorizerAppID); {
		case err != nil:
			return err
		case ac != nil:
			doc, err := guideDoc(c.AuthorizerAppID, ac.Guide)
			if err != nil {
				return err
			}
			if doc != nil && doc.OwnerSetting.ExtFileMediaID != "" {
				inUse = append(inUse, doc.OwnerSetting.ExtFileMediaID)
			}
		}
		_, err = tx.PruneMedia(c.AuthorizerAppID, miniship.MediaPrivacyExt, MaxPrivacyExtFiles, inUse...)
		return err
	})
	if err != nil {
		return "", err
	}
	return m.ID, nil
}

func randInt(s *Service, max int64) (int64, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return 0, err
	}
	return new(big.Int).Mod(new(big.Int).SetBytes(b), big.NewInt(max)).Int64(), nil
}

// privacyGuideGap is the reviewer's check of the privacy guide: an audited
// version whose code collects personal data (the keys its APIs fall under)
// needs each key described in the development guide. WeChat reports a gap
// as an audit rejection with this reason, not as an errcode.
func privacyGuideGap(tx miniship.Tx, derive func(*miniship.Version) error, au *miniship.Audit) (string, error) {
	v, err := tx.GetVersion(au.VersionID)
	if err == nil {
		err = derive(v)
	}
	if err != nil {
		return "", err
	}
	keys := privacyKeys(v.UsedPrivacyAPIs)
	if len(keys) == 0 {
		return "", nil
	}
	raw, err := auditedGuide(tx, au)
	if err != nil {
		return "", err
	}
	doc, err := guideDoc(au.AuthorizerAppID, raw)
	if err != nil {
		return "", err
	}
	var missing []string
	for _, k := range keys {
		if doc == nil || !slices.ContainsFunc(doc.SettingList, func(it PrivacyItem) bool { return it.Key == k && strings.TrimSpace(it.Text) != "" }) {
			missing = append(missing, labelOf(k))
		}
	}
	if len(missing) == 0 {
		return "", nil
	}
	return fmt.Sprintf(`1:小程序内涉及收集"%s"相关接口或组件,请通过接口完善【用户隐私保护指引】后再重新提审。<br>`, strings.Join(missing, "/")), nil
}

// auditedCopy is what PrivacyAudited holds: the development guide an
// audit carried (Guide null when there was none), and that audit's id, so
// that an audit submitted without a copy (by a server of an earlier
// release sharing the database) is never judged by another audit's.
type auditedCopy struct {
	AuditID int64           `json:"audit_id"`
	Guide   json.RawMessage `json:"guide"`
}

// keepAuditedGuide copies the development guide into the audit's slot.
func (s *Service) keepAuditedGuide(tx miniship.Tx, au *miniship.Audit, now time.Time) error {
	c := auditedCopy{AuditID: au.ID, Guide: json.RawMessage("null")}
	switch dev, err := tx.GetPrivacySetting(au.AuthorizerAppID, PrivacyDev); {
	case err == nil:
		c.Guide = dev.Doc
	case !errors.Is(err, miniship.ErrNotFound):
		return err
	}
	doc, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return tx.PutPrivacySetting(&miniship.PrivacySetting{AuthorizerAppID: au.AuthorizerAppID, Ver: PrivacyAudited, Doc: doc, UpdatedAt: now})
}

// promotePrivacyGuide makes live the guide audit au carried, at its
// release, as WeChat does once the audited version goes online.
func (s *Service) promotePrivacyGuide(tx miniship.Tx, au *miniship.Audit) error {
	doc, err := auditedGuide(tx, au)
	if err != nil || doc == nil {
		return err // nil: the audit carried no guide, and the live one stays
	}
	return tx.PutPrivacySetting(&miniship.PrivacySetting{AuthorizerAppID: au.AuthorizerAppID, Ver: PrivacyLive, Doc: doc, UpdatedAt: s.Now()})
}

// auditedGuide is the guide audit au carried, nil when it carried none.
// An audit without its copy (submitted before audits carried one, or by a
// server that does not keep it) carried the development guide, as then.
func auditedGuide(tx miniship.Tx, au *miniship.Audit) (json.RawMessage, error) {
	c, err := loadAuditedCopy(tx, au.AuthorizerAppID)
	if err != nil {
		return nil, err
	}
	if c != nil && c.AuditID == au.ID {
		if isJSONNull(c.Guide) {
			return nil, nil
		}
		return c.Guide, nil
	}
	switch dev, err := tx.GetPrivacySetting(au.AuthorizerAppID, PrivacyDev); {
	case errors.Is(err, miniship.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	default:
		return dev.Doc, nil
	}
}

// loadAuditedCopy reads the mini program's PrivacyAudited; nil when none.
func loadAuditedCopy(tx miniship.Tx, appid string) (*auditedCopy, error) {
	c, err := loadGuide[auditedCopy](tx, appid, PrivacyAudited)
	if errors.Is(err, miniship.ErrNotFound) {
		return nil, nil
	}
	return c, err
}

// guideDoc decodes a guide's JSON; nil for none (JSON null or nothing).
func guideDoc(appid string, raw json.RawMessage) (*PrivacyDoc, error) {
	if isJSONNull(raw) {
		return nil, nil
	}
	var doc PrivacyDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("privacy guide of %s: %w", appid, err)
	}
	return &doc, nil
}

func isJSONNull(doc json.RawMessage) bool {
	return len(doc) == 0 || strings.TrimSpace(string(doc)) == "null"
}

// SeedPrivacyGuide gives a mini program a development guide that describes
// every official key, as a platform that has filled in its guide has: the
// demo and mstest mini programs start so, and their audits pass the guide
// check.
func (s *Service) SeedPrivacyGuide(ctx context.Context, appid string) error {
	req := SetPrivacyRequest{Ver: PrivacyDev, SettingList: []PrivacyItem{},
		OwnerSetting: &OwnerSetting{ContactEmail: "privacy@example.com", NoticeMethod: "弹窗提示", StoreExpireTimestamp: "30天"}}
	for _, k := range slices.Sorted(maps.Keys(privacyLabels)) {
		req.SettingList = append(req.SettingList, PrivacyItem{Key: k, Text: "提供" + privacyLabels[k] + "相关的服务"})
	}
	return s.SetPrivacySetting(ctx, &Caller{AuthorizerAppID: appid}, req)
}
