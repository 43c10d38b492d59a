package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/miniship/miniship"
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
	err = s.updateDeriving(ctx, func(tx miniship.Tx, derive func(*miniship.Version) error) error {
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
		// A re-submission finds all three in one statement; a first one
		// (no audit yet) or a refused one reads each on its own.
		st, err := tx.SubmitReads(c.PlatformAppID, a.AppID)
		if err != nil {
			if !errors.Is(err, miniship.ErrNotFound) {
				return err
			}
			st = &miniship.SubmitState{}
		}
		v := st.Version
		if v == nil {
			if v, err = tx.LatestVersion(a.AppID); err != nil {
				return notFound(err, wxerr.MustCommitFirst, "")
			}
		}
		last := st.Audit
		if last == nil {
			if last, err = tx.LatestAudit(a.AppID); err != nil && !errors.Is(err, miniship.ErrNotFound) {
				return err
			}
		}
		if last != nil && inReview(last.Status) {
			return wxerr.Errorf(wxerr.AlreadyAuditing, "auditid %d is in review", last.ID)
		}
		if now.Before(v.ScanDoneAt) {
			return wxerr.New(wxerr.PrivacyScanRunning, "")
		}
		if err := derive(v); err != nil {
			return err
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
		p := st.Platform
		if p == nil {
			if p, err = tx.GetPlatform(c.PlatformAppID); err != nil {
				return err
			}
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
		// The guide goes with the audit: the reviewer checks it, release
		// makes it live (privacy.go).
		if err := s.keepAuditedGuide(tx, au, now); err != nil {
			return err
		}
		// The quota last: its counter is one row for all the platform's
		// mini programs, locked until the commit (PostgreSQL), so the
		// fewer statements after it, the more submissions a second. Spent,
		// it rolls the audit back with the rest (on PostgreSQL its id is
		// then a gap in the sequence).
		if err := take(tx, "audit:"+p.AppID+":"+s.month(), p.AuditQuota, wxerr.AuditQuotaReached,
			fmt.Sprintf("the platform's %d submissions this month are spent", p.AuditQuota)); err != nil {
			return err
		}
		id = au.ID
		return nil
	})
	if err != nil {
		return 0, err
	}
	return id, nil
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
	err := s.read(ctx, func(tx miniship.Tx) error {
		// The mini program's own audit implies a commit (retention keeps
		// every mini program's latest version), so 86001 is asked only
		// when there is none; the grant comes with the audit.
		a, g, err := tx.AuditWithGrant(c.PlatformAppID, c.AuthorizerAppID, auditID)
		if err != nil {
			if err := s.checkGrant(tx, c); err != nil {
				return err
			}
			if err := hasExperience(tx, c.AuthorizerAppID); err != nil {
				return err
			}
			return notFound(err, wxerr.InvalidAuditID, fmt.Sprintf("auditid %d", auditID))
		}
		if err := c.checkGrantOf(g); err != nil {
			return err
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
		if err := hasExperience(tx, c.AuthorizerAppID); err != nil {
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
