package service

// The privacy-API applications (get_privacy_interface,
// apply_privacy_interface) and the reviewer's decisions on them; the
// user-privacy guide is privacy.go.

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/template"
	"github.com/miniship/miniship/wxcrypt"
	"github.com/miniship/miniship/wxerr"
)

// PrivacyInterface is an item of get_privacy_interface.
type PrivacyInterface struct {
	APIName    string `json:"api_name"`
	APIChName  string `json:"api_ch_name"`
	APIDesc    string `json:"api_desc"`
	APILink    string `json:"api_link"`
	GroupName  string `json:"group_name"`
	Status     int    `json:"status"`
	ApplyTime  int64  `json:"apply_time,omitempty"`
	AuditID    int64  `json:"audit_id,omitempty"`
	FailReason string `json:"fail_reason,omitempty"`
}

// get_privacy_interface statuses.
const (
	privacyNotApplied = 1
	privacyApplying   = 3
	privacyRejected   = 4
	privacyGranted    = 5
)

// GetPrivacyInterface lists the APIs that need an application and where
// each stands. A grant set directly (admin API) is 5 without an audit_id.
func (s *Service) GetPrivacyInterface(ctx context.Context, c *Caller) ([]PrivacyInterface, error) {
	var out []PrivacyInterface
	err := s.view(ctx, func(tx miniship.Tx) error {
		a, err := tx.GetAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		apps, err := tx.ListPrivacyApplications(c.AuthorizerAppID, 0, 0)
		if err != nil {
			return err
		}
		for _, api := range template.LocationAPIs() {
			info := privacyAPIs[api]
			it := PrivacyInterface{APIName: "wx." + api, APIChName: info.chName, APIDesc: info.desc,
				APILink: "https://developers.weixin.qq.com/miniprogram/dev/api/" + info.link, GroupName: info.group, Status: privacyNotApplied}
			if i := slices.IndexFunc(apps, func(p *miniship.PrivacyApplication) bool { return p.APIName == api }); i >= 0 {
				p := apps[i]
				it.ApplyTime, it.AuditID = p.AppliedAt.Unix(), p.ID
				switch p.Status {
				case miniship.ApplyPending:
					it.Status = privacyApplying
				case miniship.ApplyRejected:
					it.Status, it.FailReason = privacyRejected, p.Reason
				}
			}
			if slices.Contains(a.PrivacyAPIs, api) {
				it.Status, it.FailReason = privacyGranted, ""
			}
			out = append(out, it)
		}
		return nil
	})
	return out, err
}

// ApplyPrivacyRequest is the body of apply_privacy_interface.
type ApplyPrivacyRequest struct {
	APIName   string   `json:"api_name"`
	Content   string   `json:"content"`
	URLList   []string `json:"url_list"`
	PicList   []string `json:"pic_list"`
	VideoList []string `json:"video_list"`
}

// privacyApplyPerMinute is apply_privacy_interface's documented rate limit.
const privacyApplyPerMinute = 280

// ApplyPrivacyInterface files an application for a privacy API and returns
// its audit_id. Applying again replaces a rejected application; one in
// review is 61031.
func (s *Service) ApplyPrivacyInterface(ctx context.Context, c *Caller, req ApplyPrivacyRequest) (int64, error) {
	if req.APIName == "" || strings.TrimSpace(req.Content) == "" {
		return 0, wxerr.New(wxerr.PrivacyApplyMissingParam, "api_name and content are required")
	}
	api, ok := strings.CutPrefix(req.APIName, "wx.")
	if _, known := privacyAPIs[api]; !ok || !known {
		return 0, wxerr.Errorf(wxerr.PrivacyAPINoApplyNeeded, "%q (names are case-sensitive and start with wx.)", req.APIName)
	}
	if strings.ContainsRune(req.Content, utf8.RuneError) {
		return 0, wxerr.New(wxerr.PrivacyContentNotUTF8, "")
	}
	if n := utf8.RuneCountInString(req.Content); n > 300 {
		return 0, wxerr.Errorf(wxerr.InvalidArgs, "content has %d characters, at most 300", n)
	}
	if len(req.URLList)+len(req.PicList)+len(req.VideoList) == 0 {
		return 0, wxerr.New(wxerr.PrivacyApplyMissingParam, "give at least one of url_list, pic_list, video_list")
	}
	if len(req.PicList) > 10 || len(req.VideoList) > 1 || len(req.URLList) > 10 {
		return 0, wxerr.New(wxerr.InvalidArgs, "at most 10 url_list, 10 pic_list and 1 video_list entries")
	}
	for _, u := range slices.Concat(req.URLList, req.PicList, req.VideoList) {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return 0, wxerr.Errorf(wxerr.InvalidArgs, "%q is not an http(s) URL", u)
		}
	}
	for _, v := range req.VideoList {
		p, _ := url.Parse(v)
		if !strings.HasSuffix(strings.ToLower(p.Path), ".mp4") {
			return 0, wxerr.Errorf(wxerr.PrivacyVideoNotMP4, "%q", v)
		}
	}
	var id int64
	err := s.update(ctx, func(tx miniship.Tx) error {
		a, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		if slices.Contains(a.PrivacyAPIs, api) {
			return wxerr.Errorf(wxerr.InvalidArgs, "%s is already granted (status 5)", req.APIName)
		}
		apps, err := tx.ListPrivacyApplications(a.AppID, 0, 0)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(apps, func(p *miniship.PrivacyApplication) bool { return p.APIName == api }); i >= 0 {
			if apps[i].Status == miniship.ApplyPending {
				return wxerr.Errorf(wxerr.PrivacyApplyAuditing, "audit_id %d", apps[i].ID)
			}
			if err := tx.DeletePrivacyApplication(apps[i].ID); err != nil {
				return err
			}
		}
		now := s.Now()
		if err := takeWindow(tx, "privacyapply:"+a.AppID, now.Unix()/60, privacyApplyPerMinute,
			wxerr.MinuteQuotaReached, "apply_privacy_interface allows 280 calls a minute"); err != nil {
			return err
		}
		p := &miniship.PrivacyApplication{AuthorizerAppID: a.AppID, PlatformAppID: c.PlatformAppID, APIName: api,
			Status: miniship.ApplyPending, Content: req.Content, URLList: req.URLList, PicList: req.PicList,
			VideoList: req.VideoList, AppliedAt: now}
		if err := tx.CreatePrivacyApplication(p); err != nil {
			return err
		}
		id = p.ID
		return nil
	})
	return id, err
}

// DecidePrivacyApplication applies the reviewer's verdict: approval adds
// the API to the mini program's grants; either way wxa_privacy_apply is
// pushed (status 3 approved, 2 rejected: the push's own codes).
func (s *Service) DecidePrivacyApplication(ctx context.Context, id int64, d GrantDecision) (*miniship.PrivacyApplication, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	var out *miniship.PrivacyApplication
	err := s.update(ctx, func(tx miniship.Tx) error {
		p, err := tx.GetPrivacyApplication(id)
		if err != nil {
			return fmt.Errorf("privacy application %d: %w", id, err)
		}
		m, err := tx.LockAuthorizer(p.AuthorizerAppID)
		if err != nil {
			return err
		}
		if p, err = tx.GetPrivacyApplication(id); err != nil { // reread under the lock
			return err
		}
		if p.Status != miniship.ApplyPending {
			return errNotPending(fmt.Sprintf("privacy application %d", id), p.Status)
		}
		now := s.Now()
		p.DecidedAt = now
		push := wxcrypt.PushApproved
		if d.Result == DecisionApprove {
			p.Status, p.Reason = miniship.ApplyApproved, ""
			m.PrivacyAPIs = addUnique(m.PrivacyAPIs, p.APIName)
			if err := tx.UpdateAuthorizer(m); err != nil {
				return err
			}
		} else {
			p.Status, p.Reason, push = miniship.ApplyRejected, orDefault(d.Reason, "小程序内未含有相应使用场景"), wxcrypt.PushRejected
		}
		if err := tx.UpdatePrivacyApplication(p); err != nil {
			return err
		}
		out = p
		return s.grantPush(tx, p.PlatformAppID, m, wxcrypt.EventPrivacyApply, &wxcrypt.PrivacyApplyEvent{
			ToUserName: wxcrypt.CDATA(m.OriginalID), FromUserName: systemOpenID, CreateTime: now.Unix(),
			MsgType: wxcrypt.MsgTypeEvent, Event: wxcrypt.EventPrivacyApply,
			Result: wxcrypt.PrivacyApplyResult{APIName: "wx." + p.APIName, ApplyTime: p.AppliedAt.Unix(), AuditID: p.ID,
				AuditTime: now.Unix(), Reason: p.Reason, Status: push},
		})
	})
	return out, err
}
