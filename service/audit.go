package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxcrypt"
	"github.com/miniship/miniship/wxerr"
)

// Audits. A mini program has one audit slot: its latest audit. Submitting
// replaces the slot (85009 while the slot is in review, status 2 or 4);
// release publishes the slot when it is approved; undo withdraws it while
// it is in review. Older audits stay readable through get_auditstatus.

// AuditItem is one entry of submit_audit's item_list.
type AuditItem struct {
	Address     string `json:"address"`
	Tag         string `json:"tag"`
	FirstClass  string `json:"first_class"`
	SecondClass string `json:"second_class"`
	ThirdClass  string `json:"third_class,omitempty"`
	FirstID     int64  `json:"first_id"`
	SecondID    int64  `json:"second_id"`
	ThirdID     int64  `json:"third_id,omitempty"`
	Title       string `json:"title"`
}

func (it *AuditItem) empty() bool { return *it == AuditItem{} }

// PreviewInfo is submit_audit's preview_info: uploadmedia ids.
type PreviewInfo struct {
	VideoIDList []string `json:"video_id_list"`
	PicIDList   []string `json:"pic_id_list"`
}

// UGCDeclare is submit_audit's ugc_declare.
type UGCDeclare struct {
	Scene          []int  `json:"scene"`
	OtherSceneDesc string `json:"other_scene_desc"`
	Method         []int  `json:"method"`
	HasAuditTeam   int    `json:"has_audit_team"`
	AuditDesc      string `json:"audit_desc"`
}

// SubmitAuditRequest is the body of /wxa/submit_audit. ItemList is nil when
// the body has no item_list (allowed, as the current docs say) and empty
// when it has an empty one (85023).
type SubmitAuditRequest struct {
	ItemList         []AuditItem
	FeedbackInfo     string
	FeedbackStuff    string
	VersionDesc      string
	PreviewInfo      *PreviewInfo
	UGCDeclare       *UGCDeclare
	PrivacyAPINotUse bool
	OrderPath        string
	// Raw is the body as received, kept with the audit for the reviewer.
	Raw json.RawMessage
}

// Limits of submit_audit that no source gives a number for are choices,
// documented in the README: 5 screenshots and 5 videos in preview_info (as
// feedback_stuff's 5), 500 characters of version_desc.
const (
	maxItems        = 5
	maxTags         = 10
	maxTagLen       = 20
	maxTitleLen     = 32
	maxFeedbackInfo = 200
	maxFeedbackPics = 5
	maxPreviewPics  = 5
	maxPreviewVids  = 5
	maxVersionDesc  = 500
	maxUGCText      = 256
)

// validate runs the checks that need no state, in the documented order:
// item count (85023); then item by item: empty (85010), title (85011),
// tags (85006), category named (85008); then the free texts (85051), the
// preview and feedback media counts (85093, 40097) and ugc_declare's
// values (40097).
func (r *SubmitAuditRequest) validate() error {
	if r.ItemList != nil && (len(r.ItemList) < 1 || len(r.ItemList) > maxItems) {
		return wxerr.Errorf(wxerr.ItemSizeInvalid, "item_list has %d items, want 1 to %d", len(r.ItemList), maxItems)
	}
	for i := range r.ItemList {
		it := &r.ItemList[i]
		if it.empty() {
			return wxerr.Errorf(wxerr.MissingItemData, "item_list[%d] is empty", i)
		}
		if n := utf8.RuneCountInString(it.Title); n > maxTitleLen {
			return wxerr.Errorf(wxerr.InvalidTitle, "item_list[%d].title has %d characters, at most %d", i, n, maxTitleLen)
		}
		tags := strings.Fields(it.Tag)
		if len(tags) > maxTags {
			return wxerr.Errorf(wxerr.InvalidTag, "item_list[%d].tag has %d tags, at most %d", i, len(tags), maxTags)
		}
		for _, tag := range tags {
			if n := utf8.RuneCountInString(tag); n > maxTagLen {
				return wxerr.Errorf(wxerr.InvalidTag, "item_list[%d].tag %q has %d characters, at most %d", i, tag, n, maxTagLen)
			}
		}
		if (it.FirstID == 0 && it.FirstClass == "") || (it.SecondID == 0 && it.SecondClass == "") {
			return wxerr.Errorf(wxerr.InvalidCategory, "item_list[%d] names no first and second category", i)
		}
	}
	if n := utf8.RuneCountInString(r.VersionDesc); n > maxVersionDesc {
		return wxerr.Errorf(wxerr.DataTooLarge, "version_desc has %d characters, at most %d", n, maxVersionDesc)
	}
	if n := utf8.RuneCountInString(r.FeedbackInfo); n > maxFeedbackInfo {
		return wxerr.Errorf(wxerr.DataTooLarge, "feedback_info has %d characters, at most %d", n, maxFeedbackInfo)
	}
	if p := r.PreviewInfo; p != nil {
		if len(p.PicIDList) > maxPreviewPics || len(p.VideoIDList) > maxPreviewVids {
			return wxerr.Errorf(wxerr.PreviewInfoTooMany, "preview_info has %d pictures and %d videos, at most %d and %d",
				len(p.PicIDList), len(p.VideoIDList), maxPreviewPics, maxPreviewVids)
		}
	}
	if n := len(r.feedbackStuff()); n > maxFeedbackPics {
		return wxerr.Errorf(wxerr.InvalidArgs, "feedback_stuff has %d media ids, at most %d", n, maxFeedbackPics)
	}
	if u := r.UGCDeclare; u != nil {
		for _, v := range u.Scene {
			if v < 0 || v > 5 || (v == 0 && len(u.Scene) > 1) {
				return wxerr.Errorf(wxerr.InvalidArgs, "ugc_declare.scene %v: values 0 to 5, and 0 only alone", u.Scene)
			}
		}
		for _, v := range u.Method {
			if v < 1 || v > 4 {
				return wxerr.Errorf(wxerr.InvalidArgs, "ugc_declare.method %v: values 1 to 4", u.Method)
			}
		}
		if u.HasAuditTeam != 0 && u.HasAuditTeam != 1 {
			return wxerr.Errorf(wxerr.InvalidArgs, "ugc_declare.has_audit_team must be 0 or 1")
		}
		if utf8.RuneCountInString(u.OtherSceneDesc) > maxUGCText || utf8.RuneCountInString(u.AuditDesc) > maxUGCText {
			return wxerr.Errorf(wxerr.DataTooLarge, "ugc_declare texts are at most %d characters", maxUGCText)
		}
	}
	return nil
}

func (r *SubmitAuditRequest) feedbackStuff() []string {
	var ids []string
	for _, id := range strings.Split(r.FeedbackStuff, "|") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

func inReview(st miniship.AuditStatus) bool {
	return st == miniship.AuditPending || st == miniship.AuditDelayed
}

// SubmitAudit submits the experience version for review and returns the
// auditid. After the stateless checks (validate), the checks that read
// state run in one transaction holding the mini program, in this order:
// a commit still running (9402202), profile incomplete (86002), no commit
// (85086), an audit already in review (85009), privacy scan running
// (61039), item pages (85007) and categories (85008) item by item, then
// order_path (85007), UGC declaration (85094), privacy APIs (61040),
// preview media (85092) and feedback media (40007), and last the
// platform's monthly quota (85085), so that a refused submission never
// spends it.
func (s *Service) SubmitAudit(ctx context.Context, c *Caller, req SubmitAuditRequest) (int64, error) {
	if err := req.validate(); err != nil {
		return 0, err
	}
	// The mediaids are looked up before the write transaction, without
	// their bytes: a request naming many cannot hold the writer meanwhile.
	media, err := s.mediaInfos(ctx, req)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.update(ctx, func(tx miniship.Tx) error {
		now := s.Now()
		a, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		if now.Before(a.CommitUntil) {
			return errCommitting
		}
		if !a.ProfileComplete {
			return wxerr.New(wxerr.NotInitialised, "nickname, avatar or introduction not set")
		}
		v, err := tx.LatestVersion(a.AppID)
		if err != nil {
			return notFound(err, wxerr.MustCommitFirst, "")
		}
		switch last, err := tx.LatestAudit(a.AppID); {
		case err == nil && inReview(last.Status):
			return wxerr.Errorf(wxerr.AlreadyAuditing, "auditid %d is in review", last.ID)
		case err != nil && !errors.Is(err, miniship.ErrNotFound):
			return err
		}
		if now.Before(v.ScanDoneAt) {
			return wxerr.New(wxerr.PrivacyScanRunning, "")
		}
		for i, it := range req.ItemList {
			if it.Address != "" && !slices.Contains(v.PageList, pagePath(it.Address)) {
				return wxerr.Errorf(wxerr.InvalidPage, "item_list[%d].address %q is not a page of the committed code", i, it.Address)
			}
			if !slices.ContainsFunc(a.Categories, func(cat miniship.Category) bool { return categoryMatches(it, cat) }) {
				return categoryRefusal(tx, a.AppID, i, it) // categories.go
			}
		}
		if req.OrderPath != "" && !slices.Contains(v.PageList, pagePath(req.OrderPath)) {
			return wxerr.Errorf(wxerr.InvalidPage, "order_path %q is not a page of the committed code", req.OrderPath)
		}
		ugcKey := "ugc:" + a.AppID
		declared := req.UGCDeclare != nil && len(req.UGCDeclare.Scene) > 0
		if !declared && needsUGC(req.ItemList, a.Categories) {
			if _, err := tx.GetCounter(ugcKey); errors.Is(err, miniship.ErrNotFound) {
				return wxerr.New(wxerr.NeedUGCDeclare, "a social category (社区/论坛, 笔记, 问答) needs ugc_declare on the first submission")
			} else if err != nil {
				return err
			}
		}
		if !req.PrivacyAPINotUse {
			if gaps := privacyGaps(v, a); len(gaps.WithoutAuthList)+len(gaps.WithoutConfList) > 0 {
				return wxerr.Errorf(wxerr.PrivacyAPINotConfigured, "without_auth_list %v, without_conf_list %v",
					gaps.WithoutAuthList, gaps.WithoutConfList)
			}
		}
		if p := req.PreviewInfo; p != nil {
			for _, m := range []struct {
				ids []string
				typ string
			}{{p.PicIDList, mediaImage}, {p.VideoIDList, mediaVideo}} {
				for _, mid := range m.ids {
					if err := s.checkMedia(media, a.AppID, mid, m.typ, now); err != nil {
						return notFound(err, wxerr.InvalidPreviewInfo, fmt.Sprintf("%s mediaid %q unknown, expired or not an %s", m.typ, mid, m.typ))
					}
				}
			}
		}
		for _, mid := range req.feedbackStuff() {
			if err := s.checkMedia(media, a.AppID, mid, mediaImage, now); err != nil {
				return notFound(err, wxerr.InvalidMediaID, fmt.Sprintf("feedback_stuff mediaid %q unknown, expired or not an image", mid))
			}
		}
		p, err := tx.GetPlatform(c.PlatformAppID)
		if err != nil {
			return err
		}
		if err := take(tx, "audit:"+p.AppID+":"+s.month(), p.AuditQuota, wxerr.AuditQuotaReached,
			fmt.Sprintf("the platform's %d submissions this month are spent", p.AuditQuota)); err != nil {
			return err
		}
		if declared {
			if _, err := tx.AddCounter(ugcKey, 1); err != nil {
				return err
			}
		}
		raw := req.Raw
		if !json.Valid(raw) {
			raw = nil
		}
		au := &miniship.Audit{
			AuthorizerAppID: a.AppID, PlatformAppID: c.PlatformAppID, VersionID: v.ID,
			Status: miniship.AuditPending, Request: raw, SubmittedAt: now,
		}
		if err := tx.CreateAudit(au); err != nil {
			return err
		}
		id = au.ID
		return nil
	})
	return id, err
}

// pagePath normalises an item address or order_path to a page path as
// get_page lists them: no leading slash, no query.
func pagePath(p string) string {
	p, _, _ = strings.Cut(p, "?")
	return strings.TrimPrefix(p, "/")
}

// categoryMatches says whether an item names the category: every level the
// item gives, by id or by name, must agree, and the third level only
// counts when the item gives one.
func categoryMatches(it AuditItem, c miniship.Category) bool {
	eq := func(id, cid int64, name, cname string) bool {
		return (id == 0 || id == cid) && (name == "" || name == cname)
	}
	return eq(it.FirstID, c.FirstID, it.FirstClass, c.FirstClass) &&
		eq(it.SecondID, c.SecondID, it.SecondClass, c.SecondClass) &&
		eq(it.ThirdID, c.ThirdID, it.ThirdClass, c.ThirdClass)
}

func categoryName(it AuditItem) string {
	parts := []string{}
	for _, p := range []struct {
		name string
		id   int64
	}{{it.FirstClass, it.FirstID}, {it.SecondClass, it.SecondID}, {it.ThirdClass, it.ThirdID}} {
		switch {
		case p.name != "":
			parts = append(parts, p.name)
		case p.id != 0:
			parts = append(parts, strconv.FormatInt(p.id, 10))
		}
	}
	return strings.Join(parts, "-")
}

// needsUGC says whether the submission is in a social category that needs
// a UGC declaration: 社交 with 社区/论坛, 笔记 or 问答, among the items
// (or the account's categories when there is no item_list).
func needsUGC(items []AuditItem, cats []miniship.Category) bool {
	social := func(first, second string) bool {
		if first != "社交" {
			return false
		}
		for _, k := range []string{"社区", "论坛", "笔记", "问答"} {
			if strings.Contains(second, k) {
				return true
			}
		}
		return false
	}
	if items == nil {
		return slices.ContainsFunc(cats, func(c miniship.Category) bool { return social(c.FirstClass, c.SecondClass) })
	}
	for _, it := range items {
		first, second := it.FirstClass, it.SecondClass
		for _, c := range cats { // items may name categories by id only
			if categoryMatches(it, c) {
				first, second = c.FirstClass, c.SecondClass
				break
			}
		}
		if social(first, second) {
			return true
		}
	}
	return false
}

// AuditStatusResult is the answer of get_auditstatus and, with the extra
// fields, get_latest_auditstatus. The screenshot goes under both spellings:
// the docs' table says screenshot and their sample ScreenShot, and SDKs
// read one or the other.
type AuditStatusResult struct {
	AuditID         *int64 `json:"auditid,omitempty"`
	Status          int    `json:"status"`
	Reason          string `json:"reason"`
	ScreenShot      string `json:"screenshot"`
	ScreenShotCamel string `json:"ScreenShot"`
	UserVersion     string `json:"user_version,omitempty"`
	UserDesc        string `json:"user_desc,omitempty"`
	SubmitAuditTime int64  `json:"submit_audit_time,omitempty"`
}

func auditResult(a *miniship.Audit) *AuditStatusResult {
	return &AuditStatusResult{Status: int(a.Status), Reason: a.Reason, ScreenShot: a.ScreenShot, ScreenShotCamel: a.ScreenShot}
}

// AuditStatus answers get_auditstatus: 86001 without any commit, 85012 for
// an auditid that is not one of this mini program's.
func (s *Service) AuditStatus(ctx context.Context, c *Caller, auditID int64) (*AuditStatusResult, error) {
	var res *AuditStatusResult
	err := s.view(ctx, func(tx miniship.Tx) error {
		if err := s.checkGrant(tx, c); err != nil {
			return err
		}
		if _, err := experience(tx, c.AuthorizerAppID); err != nil {
			return err
		}
		a, err := tx.GetAudit(auditID)
		if err == nil && a.AuthorizerAppID != c.AuthorizerAppID {
			err = miniship.ErrNotFound
		}
		if err != nil {
			return notFound(err, wxerr.InvalidAuditID, fmt.Sprintf("auditid %d", auditID))
		}
		res = auditResult(a)
		return nil
	})
	return res, err
}

// LatestAuditStatus answers get_latest_auditstatus: 86001 without any
// commit, 85012 when nothing was ever submitted.
func (s *Service) LatestAuditStatus(ctx context.Context, c *Caller) (*AuditStatusResult, error) {
	var res *AuditStatusResult
	err := s.view(ctx, func(tx miniship.Tx) error {
		if _, err := experience(tx, c.AuthorizerAppID); err != nil {
			return err
		}
		a, err := tx.LatestAudit(c.AuthorizerAppID)
		if err != nil {
			return notFound(err, wxerr.InvalidAuditID, "nothing was submitted for audit")
		}
		v, err := tx.GetVersion(a.VersionID)
		if err != nil {
			return err
		}
		res = auditResult(a)
		res.AuditID = &a.ID
		res.UserVersion, res.UserDesc, res.SubmitAuditTime = v.UserVersion, v.UserDesc, a.SubmittedAt.Unix()
		return nil
	})
	return res, err
}

// UndoAudit withdraws the audit in review. Nothing in review is 87012 and
// costs no quota; past 5 a day or 10 a month (UTC+8) it is 87013.
func (s *Service) UndoAudit(ctx context.Context, c *Caller) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		if _, err := tx.LockAuthorizer(c.AuthorizerAppID); err != nil {
			return err
		}
		a, err := tx.LatestAudit(c.AuthorizerAppID)
		if err == nil && !inReview(a.Status) {
			err = miniship.ErrNotFound
		}
		if err != nil {
			return notFound(err, wxerr.RevertForbidden, "no audit in review to withdraw")
		}
		key := "undo:" + c.AuthorizerAppID + ":"
		if err := take(tx, key+s.day(), s.cfg.UndoPerDay, wxerr.UndoQuotaReached, fmt.Sprintf("%d a day", s.cfg.UndoPerDay)); err != nil {
			return err
		}
		if err := take(tx, key+s.month(), s.cfg.UndoPerMonth, wxerr.UndoQuotaReached, fmt.Sprintf("%d a month", s.cfg.UndoPerMonth)); err != nil {
			return err
		}
		a.Status, a.DecidedAt = miniship.AuditWithdrawn, s.Now()
		return tx.UpdateAudit(a)
	})
}

// SpeedupAudit expedites an audit in review. Checks in order: not this mini
// program's audit (85012), not in review (89402), already sped up (89404),
// a category that cannot be sped up (89403), the platform's monthly
// speed-ups spent (89405). 89401 (system unstable) only comes from fault
// injection. A sped-up audit is decided automatically in half the time.
func (s *Service) SpeedupAudit(ctx context.Context, c *Caller, auditID int64) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		m, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		a, err := tx.GetAudit(auditID)
		if err == nil && a.AuthorizerAppID != c.AuthorizerAppID {
			err = miniship.ErrNotFound
		}
		if err != nil {
			return notFound(err, wxerr.InvalidAuditID, fmt.Sprintf("auditid %d", auditID))
		}
		switch {
		case !inReview(a.Status):
			return wxerr.Errorf(wxerr.SpeedupNotInQueue, "auditid %d has status %d", a.ID, a.Status)
		case a.SpedUp:
			return wxerr.Errorf(wxerr.SpeedupAlreadyDone, "auditid %d", a.ID)
		}
		for _, first := range auditClasses(a, m) {
			if slices.Contains(s.cfg.NoSpeedupClasses, first) {
				return wxerr.Errorf(wxerr.SpeedupCategoryNotAllowed, "category %s", first)
			}
		}
		// The caller's platform pays, as for submit_audit: a mini program
		// authorized to two platforms must not spend the submitter's quota.
		p, err := tx.GetPlatform(c.PlatformAppID)
		if err != nil {
			return err
		}
		if err := take(tx, "speedup:"+p.AppID+":"+s.month(), p.SpeedupQuota, wxerr.SpeedupQuotaReached,
			fmt.Sprintf("the platform's %d speed-ups this month are spent", p.SpeedupQuota)); err != nil {
			return err
		}
		a.SpedUp = true
		return tx.UpdateAudit(a)
	})
}

// auditClasses are the first-level categories an audit is in: its items'
// (named or by id), or the account's when it had no item_list.
func auditClasses(a *miniship.Audit, m *miniship.Authorizer) []string {
	req := decodeAuditRequest(a)
	var out []string
	if req.ItemList == nil {
		for _, c := range m.Categories {
			out = append(out, c.FirstClass)
		}
		return out
	}
	for _, it := range req.ItemList {
		for _, c := range m.Categories {
			if categoryMatches(it, c) {
				out = append(out, c.FirstClass)
			}
		}
	}
	return out
}

// storedRequest is the part of a stored submit_audit body the reviewer's
// rules read.
type storedRequest struct {
	ItemList []AuditItem
}

// looseInt reads an id as clients send it: a number, a numeric string, ""
// or null; anything else reads as 0 rather than failing the whole body.
type looseInt int64

func (n *looseInt) UnmarshalJSON(b []byte) error {
	v, _ := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	*n = looseInt(v)
	return nil
}

func decodeAuditRequest(a *miniship.Audit) storedRequest {
	var raw struct {
		ItemList []struct {
			Address     string   `json:"address"`
			Tag         string   `json:"tag"`
			FirstClass  string   `json:"first_class"`
			SecondClass string   `json:"second_class"`
			ThirdClass  string   `json:"third_class"`
			FirstID     looseInt `json:"first_id"`
			SecondID    looseInt `json:"second_id"`
			ThirdID     looseInt `json:"third_id"`
			Title       string   `json:"title"`
		} `json:"item_list"`
	}
	_ = json.Unmarshal(a.Request, &raw) // the body was accepted once; a failure leaves no items
	var out storedRequest
	for _, it := range raw.ItemList {
		out.ItemList = append(out.ItemList, AuditItem{
			Address: it.Address, Tag: it.Tag, Title: it.Title,
			FirstClass: it.FirstClass, SecondClass: it.SecondClass, ThirdClass: it.ThirdClass,
			FirstID: int64(it.FirstID), SecondID: int64(it.SecondID), ThirdID: int64(it.ThirdID),
		})
	}
	return out
}

// Quota is the answer of queryquota: the platform's monthly allowances,
// shared by all its mini programs.
type Quota struct {
	Rest         int `json:"rest"`
	Limit        int `json:"limit"`
	SpeedupRest  int `json:"speedup_rest"`
	SpeedupLimit int `json:"speedup_limit"`
}

// QueryQuota reads the platform's audit and speed-up quotas for the month
// (UTC+8) of the service clock.
func (s *Service) QueryQuota(ctx context.Context, c *Caller) (*Quota, error) {
	var q *Quota
	err := s.view(ctx, func(tx miniship.Tx) error {
		p, err := tx.GetPlatform(c.PlatformAppID)
		if err != nil {
			return err
		}
		used := func(key string) (int, error) {
			n, err := tx.GetCounter(key)
			if errors.Is(err, miniship.ErrNotFound) {
				return 0, nil
			}
			return n, err
		}
		audits, err := used("audit:" + p.AppID + ":" + s.month())
		if err != nil {
			return err
		}
		speedups, err := used("speedup:" + p.AppID + ":" + s.month())
		if err != nil {
			return err
		}
		q = &Quota{Rest: max(0, p.AuditQuota-audits), Limit: p.AuditQuota,
			SpeedupRest: max(0, p.SpeedupQuota-speedups), SpeedupLimit: p.SpeedupQuota}
		return nil
	})
	return q, err
}

// Media types of uploadmedia.
const (
	mediaImage = "image"
	mediaVideo = "video"
)

// Media size limits of uploadmedia.
const (
	MaxImageSize = 2 << 20
	MaxVideoSize = 10 << 20
)

// sniffMedia tells an upload's type from its first bytes: PNG, JPEG and GIF
// images, MP4 video. The file name and Content-Type are the client's
// claims; the bytes are what WeChat checks.
func sniffMedia(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")),
		bytes.HasPrefix(b, []byte("\xff\xd8\xff")),
		bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return mediaImage
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		return mediaVideo
	}
	return ""
}

// MediaResult is the answer of uploadmedia.
type MediaResult struct {
	Type    string `json:"type"`
	MediaID string `json:"mediaid"`
}

// UploadMedia stores an image (≤ 2 MB) or video (≤ 10 MB) for preview_info
// and feedback_stuff; its mediaid lives MediaTTL. Nothing uploaded is
// 41005, another format 40004, too large 40006.
func (s *Service) UploadMedia(ctx context.Context, c *Caller, data []byte) (*MediaResult, error) {
	if len(data) == 0 {
		return nil, wxerr.New(wxerr.MediaDataMissing, "multipart field media is empty or missing")
	}
	typ := sniffMedia(data)
	switch {
	case typ == "":
		return nil, wxerr.New(wxerr.InvalidMediaType, "want a PNG, JPEG or GIF image or an MP4 video")
	case typ == mediaImage && len(data) > MaxImageSize:
		return nil, wxerr.Errorf(wxerr.InvalidMediaSize, "image of %d bytes, at most %d", len(data), MaxImageSize)
	case typ == mediaVideo && len(data) > MaxVideoSize:
		return nil, wxerr.Errorf(wxerr.InvalidMediaSize, "video of %d bytes, at most %d", len(data), MaxVideoSize)
	}
	m := &miniship.Media{ID: s.alnum(64), AuthorizerAppID: c.AuthorizerAppID, Type: typ, Data: data, CreatedAt: s.Now()}
	if err := s.update(ctx, func(tx miniship.Tx) error { return tx.PutMedia(m) }); err != nil {
		return nil, err
	}
	return &MediaResult{Type: typ, MediaID: m.ID}, nil
}

// mediaInfos reads the rows (not the bytes) of the mediaids a
// submission names, in a read transaction of its own. Uploads never change
// once made, and are deleted only after they expire, so what it reads is
// still true when the write transaction checks it at its own time.
func (s *Service) mediaInfos(ctx context.Context, req SubmitAuditRequest) (map[string]*miniship.Media, error) {
	var ids []string
	if p := req.PreviewInfo; p != nil {
		ids = append(append(ids, p.PicIDList...), p.VideoIDList...)
	}
	ids = append(ids, req.feedbackStuff()...)
	media := make(map[string]*miniship.Media, len(ids))
	if len(ids) == 0 {
		return media, nil
	}
	err := s.view(ctx, func(tx miniship.Tx) error {
		for _, id := range ids {
			if _, ok := media[id]; ok {
				continue
			}
			m, err := tx.MediaInfo(id)
			if errors.Is(err, miniship.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			media[id] = m
		}
		return nil
	})
	return media, err
}

// checkMedia finds a live mediaid of the mini program with the type among
// those mediaInfos read; ErrNotFound otherwise.
func (s *Service) checkMedia(media map[string]*miniship.Media, appid, id, typ string, now time.Time) error {
	m, ok := media[id]
	if !ok || m.AuthorizerAppID != appid || m.Type != typ || !now.Before(m.CreatedAt.Add(s.cfg.MediaTTL)) {
		return miniship.ErrNotFound
	}
	return nil
}

// --- the reviewer -----------------------------------------------------------

// Decision results of the reviewer.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
	DecisionDelay   = "delay"
)

// Decision is a reviewer's verdict on an audit in review.
type Decision struct {
	Result     string `json:"result"`
	Reason     string `json:"reason"`
	ScreenShot string `json:"screenshot"`
}

// Default reasons when the reviewer gives none; WeChat always gives one.
const (
	defaultRejectReason = "1:小程序内容不符合规范:<br>(1):审核未通过。<br>"
	defaultDelayReason  = "审核延后，请耐心等待"
)

// DecideAudit applies the reviewer's decision to an audit in review (2, or
// 4 for approve and reject) and queues the result push in the same
// transaction. Errors: ErrInvalid for a bad decision, ErrNotFound for an
// unknown audit, ErrConflict for an audit not in review.
func (s *Service) DecideAudit(ctx context.Context, auditID int64, d Decision) (*miniship.Audit, error) {
	switch d.Result {
	case DecisionApprove, DecisionReject, DecisionDelay:
	default:
		return nil, invalidf("result must be approve, reject or delay, not %q", d.Result)
	}
	if d.ScreenShot != "" && d.Result != DecisionReject {
		return nil, invalidf("a screenshot goes only with reject")
	}
	var out *miniship.Audit
	err := s.update(ctx, func(tx miniship.Tx) error {
		a, err := tx.GetAudit(auditID)
		if err != nil {
			return fmt.Errorf("audit %d: %w", auditID, err)
		}
		if _, err := tx.LockAuthorizer(a.AuthorizerAppID); err != nil {
			return err
		}
		if a, err = tx.GetAudit(auditID); err != nil { // reread under the lock
			return err
		}
		if !inReview(a.Status) || (d.Result == DecisionDelay && a.Status == miniship.AuditDelayed) {
			return fmt.Errorf("%w: audit %d has status %d; a decision needs status 2 (or 4 to approve or reject)", miniship.ErrConflict, a.ID, a.Status)
		}
		out = a
		return s.decide(tx, a, d)
	})
	return out, err
}

// decide records the decision and queues the push to the message URL.
func (s *Service) decide(tx miniship.Tx, a *miniship.Audit, d Decision) error {
	now := s.Now()
	m, err := tx.GetAuthorizer(a.AuthorizerAppID)
	if err != nil {
		return err
	}
	if d.Result == DecisionApprove { // the privacy guide is part of the review (privacy.go)
		if reason, err := privacyGuideGap(tx, a); err != nil {
			return err
		} else if reason != "" {
			d = Decision{Result: DecisionReject, Reason: reason}
		}
	}
	var ev *wxcrypt.AuditEvent
	switch d.Result {
	case DecisionApprove:
		a.Status, a.Reason, a.ScreenShot = miniship.AuditApproved, "", ""
		ev = wxcrypt.NewAuditSuccess(m.OriginalID, systemOpenID, now.Unix(), now.Unix())
	case DecisionReject:
		a.Status, a.Reason, a.ScreenShot = miniship.AuditRejected, orDefault(d.Reason, defaultRejectReason), d.ScreenShot
		ev = wxcrypt.NewAuditFail(m.OriginalID, systemOpenID, now.Unix(), a.Reason, now.Unix(), a.ScreenShot)
	case DecisionDelay:
		a.Status, a.Reason, a.ScreenShot = miniship.AuditDelayed, orDefault(d.Reason, defaultDelayReason), ""
		ev = wxcrypt.NewAuditDelay(m.OriginalID, systemOpenID, now.Unix(), a.Reason, now.Unix())
	}
	a.DecidedAt = now
	if err := tx.UpdateAudit(a); err != nil {
		return err
	}
	p, err := tx.GetPlatform(a.PlatformAppID)
	if err != nil {
		return err
	}
	return s.enqueue(tx, miniProgramEvent(p, m, ev))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ListAudits lists audits with the status (all when status < 0), oldest
// first, optionally of one mini program: the reviewer's queue.
func (s *Service) ListAudits(ctx context.Context, status int, authorizer string, limit int) ([]*miniship.Audit, error) {
	var out []*miniship.Audit
	err := s.view(ctx, func(tx miniship.Tx) error {
		n := limit // the store limits unless we filter after it
		if authorizer != "" {
			n = 0
		}
		as, err := tx.ListAudits(miniship.AuditStatus(status), n)
		for _, a := range as {
			if (authorizer == "" || a.AuthorizerAppID == authorizer) && len(out) < limit {
				out = append(out, a)
			}
		}
		return err
	})
	return out, err
}

// GetAudit returns one audit and the version it reviews, for the admin API.
func (s *Service) GetAudit(ctx context.Context, id int64) (*miniship.Audit, *miniship.Version, error) {
	var a *miniship.Audit
	var v *miniship.Version
	err := s.view(ctx, func(tx miniship.Tx) (err error) {
		if a, err = tx.GetAudit(id); err != nil {
			return err
		}
		v, err = tx.GetVersion(a.VersionID)
		return err
	})
	return a, v, err
}

// AutoDecide runs the automatic reviewer over the audits in review (see
// Config.AutoApprove). Tick calls it; each decision is its own transaction,
// which rereads the audit, so a reviewer deciding at the same moment wins
// cleanly.
func (s *Service) AutoDecide(ctx context.Context) error {
	if s.cfg.AutoApprove <= 0 && s.cfg.AutoReject == nil {
		return nil
	}
	var ids []int64
	err := s.view(ctx, func(tx miniship.Tx) error {
		for _, st := range []miniship.AuditStatus{miniship.AuditPending, miniship.AuditDelayed} {
			as, err := tx.ListAudits(st, 0)
			if err != nil {
				return err
			}
			for _, a := range as {
				if !s.autoDue(a) {
					continue
				}
				if s.cfg.AutoReject == nil { // approve-only: every due audit is decided
					ids = append(ids, a.ID)
					continue
				}
				// Only audits a rule decides cost a write transaction: in
				// reject-only mode the others wait for the reviewer.
				v, err := tx.GetVersion(a.VersionID)
				if err == nil {
					err = s.reviewable(ctx, v) // derive.go
				}
				if err != nil {
					return err
				}
				if _, ok := s.autoVerdict(a, v); ok {
					ids = append(ids, a.ID)
				}
			}
		}
		return nil
	})
	for _, id := range ids {
		err = errors.Join(err, s.update(ctx, func(tx miniship.Tx) error {
			a, err := tx.GetAudit(id)
			if err != nil {
				return err
			}
			if _, err := tx.LockAuthorizer(a.AuthorizerAppID); err != nil {
				return err
			}
			if a, err = tx.GetAudit(id); err != nil || !inReview(a.Status) || !s.autoDue(a) {
				return err // decided meanwhile
			}
			v, err := tx.GetVersion(a.VersionID)
			if err == nil {
				err = s.reviewable(ctx, v) // derive.go
			}
			if err != nil {
				return err
			}
			d, ok := s.autoVerdict(a, v)
			if !ok {
				return nil
			}
			return s.decide(tx, a, d)
		}))
	}
	if err != nil {
		return fmt.Errorf("auto decide: %w", err)
	}
	return nil
}

// autoDue says whether the automatic reviewer may look at the audit now:
// with AutoApprove, once the audit has waited that long since submission
// (since the delay for a delayed one; half as long when sped up); without
// it, at once (only the reject rule applies then).
func (s *Service) autoDue(a *miniship.Audit) bool {
	if s.cfg.AutoApprove <= 0 {
		return true
	}
	wait, since := s.cfg.AutoApprove, a.SubmittedAt
	if a.SpedUp {
		wait /= 2
	}
	if a.Status == miniship.AuditDelayed {
		since = a.DecidedAt
	}
	return !s.Now().Before(since.Add(wait))
}

// autoVerdict is the automatic decision: reject when a page title (an
// item's title, or a navigationBarTitleText of the app or a page) or a
// string in ext matches AutoReject, else approve when AutoApprove is on;
// ok is false when neither rule decides.
func (s *Service) autoVerdict(a *miniship.Audit, v *miniship.Version) (Decision, bool) {
	if re := s.cfg.AutoReject; re != nil {
		for _, text := range reviewTexts(a, v) {
			if re.MatchString(text) {
				return Decision{Result: DecisionReject, Reason: s.cfg.AutoRejectReason + "命中: " + text}, true
			}
		}
	}
	if s.cfg.AutoApprove > 0 {
		return Decision{Result: DecisionApprove}, true
	}
	return Decision{}, false
}

// reviewTexts collects what the automatic reviewer reads.
func reviewTexts(a *miniship.Audit, v *miniship.Version) []string {
	var out []string
	for _, it := range decodeAuditRequest(a).ItemList {
		if it.Title != "" {
			out = append(out, it.Title)
		}
	}
	var app struct {
		Window map[string]any `json:"window"`
	}
	_ = json.Unmarshal(v.App, &app)
	var pages map[string]map[string]any
	_ = json.Unmarshal(v.Pages, &pages)
	title := func(m map[string]any) {
		if t, ok := m["navigationBarTitleText"].(string); ok && t != "" {
			out = append(out, t)
		}
	}
	title(app.Window)
	keys := make([]string, 0, len(pages))
	for k := range pages {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a deterministic first match
	for _, k := range keys {
		title(pages[k])
	}
	var ext any
	_ = json.Unmarshal(v.Ext, &ext)
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			ks := make([]string, 0, len(x))
			for k := range x {
				ks = append(ks, k)
			}
			slices.Sort(ks)
			for _, k := range ks {
				walk(x[k])
			}
		}
	}
	walk(ext)
	return out
}
