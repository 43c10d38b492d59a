package wxa

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// AuditItem is an item_list entry of submit_audit. Category.AuditItem
// fills in the category.
type AuditItem struct {
	Address     string `json:"address,omitempty"` // a page from Pages
	Tag         string `json:"tag,omitempty"`     // space separated, ≤ 10 tags of ≤ 20 chars
	FirstClass  string `json:"first_class"`
	SecondClass string `json:"second_class"`
	ThirdClass  string `json:"third_class,omitempty"`
	FirstID     int64  `json:"first_id"`
	SecondID    int64  `json:"second_id"`
	ThirdID     int64  `json:"third_id,omitempty"`
	Title       string `json:"title,omitempty"` // ≤ 32 chars
}

// PreviewInfo holds media ids from UploadMedia.
type PreviewInfo struct {
	VideoIDList []string `json:"video_id_list,omitempty"`
	PicIDList   []string `json:"pic_id_list,omitempty"`
}

// UGCDeclare declares user-generated content; the first submission of a
// community, notes or Q&A category needs it (85094).
type UGCDeclare struct {
	// Scene: 0 none, 1 user profile, 2 images, 3 video, 4 text, 5 audio.
	Scene          []int  `json:"scene,omitempty"`
	OtherSceneDesc string `json:"other_scene_desc,omitempty"`
	// Method: 1 the platform's content-security API, 2 another vendor,
	// 3 human review, 4 none.
	Method       []int  `json:"method,omitempty"`
	HasAuditTeam int    `json:"has_audit_team,omitempty"` // 0 or 1
	AuditDesc    string `json:"audit_desc,omitempty"`
}

// SubmitAuditRequest is the body of submit_audit; empty optional fields
// are left out.
type SubmitAuditRequest struct {
	ItemList      []AuditItem  `json:"item_list,omitempty"`
	VersionDesc   string       `json:"version_desc,omitempty"`
	PreviewInfo   *PreviewInfo `json:"preview_info,omitempty"`
	FeedbackInfo  string       `json:"feedback_info,omitempty"`
	FeedbackStuff string       `json:"feedback_stuff,omitempty"` // media ids joined by |
	UGCDeclare    *UGCDeclare  `json:"ugc_declare,omitempty"`
	// PrivacyAPINotUse promises the privacy APIs found in the code but not
	// configured are not used, which avoids 61040.
	PrivacyAPINotUse bool   `json:"privacy_api_not_use,omitempty"`
	OrderPath        string `json:"order_path,omitempty"`
}

// SubmitAudit calls submit_audit and returns the auditid. On 61039 wait for
// the scan (WaitPrivacyScan) and submit again; never commit again.
func (a *App) SubmitAudit(ctx context.Context, r SubmitAuditRequest) (int64, error) {
	var res struct {
		AuditID flexInt `json:"auditid"` // a number or a numeric string, as in AuditStatus
	}
	err := a.call(ctx, "POST", "/wxa/submit_audit", r, &res)
	return int64(res.AuditID), err
}

// AuditState is an audit status.
type AuditState int

const (
	AuditApproved  AuditState = 0
	AuditRejected  AuditState = 1
	AuditPending   AuditState = 2 // in review
	AuditWithdrawn AuditState = 3
	AuditDelayed   AuditState = 4
)

// Done reports whether the audit reached a result.
func (s AuditState) Done() bool { return s != AuditPending && s != AuditDelayed }

// String names the state ("approved", "auditing", …).
func (s AuditState) String() string {
	switch s {
	case AuditApproved:
		return "approved"
	case AuditRejected:
		return "rejected"
	case AuditPending:
		return "auditing"
	case AuditWithdrawn:
		return "withdrawn"
	case AuditDelayed:
		return "delayed"
	}
	return "AuditState(" + strconv.Itoa(int(s)) + ")"
}

// AuditStatus is the answer of get_auditstatus and get_latest_auditstatus
// (the second also fills AuditID, UserVersion, UserDesc, SubmitAuditTime).
type AuditStatus struct {
	AuditID int64      `json:"auditid,omitempty"`
	Status  AuditState `json:"status"`
	// Reason is the rejection reason (status 1) or the delay reason (4).
	Reason string `json:"reason,omitempty"`
	// ScreenShot lists media ids joined by |. WeChat's table says
	// "screenshot", its sample "ScreenShot": both are read.
	ScreenShot      string `json:"ScreenShot,omitempty"`
	UserVersion     string `json:"user_version,omitempty"`
	UserDesc        string `json:"user_desc,omitempty"`
	SubmitAuditTime int64  `json:"submit_audit_time,omitempty"`
}

// UnmarshalJSON reads both screenshot spellings and auditid as a number or
// a numeric string (some gateways and SDK samples send strings).
func (s *AuditStatus) UnmarshalJSON(b []byte) error {
	var v struct {
		AuditID         flexInt    `json:"auditid"`
		Status          AuditState `json:"status"`
		Reason          string     `json:"reason"`
		Upper           string     `json:"ScreenShot"`
		Lower           string     `json:"screenshot"`
		UserVersion     string     `json:"user_version"`
		UserDesc        string     `json:"user_desc"`
		SubmitAuditTime flexInt    `json:"submit_audit_time"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = AuditStatus{
		AuditID: int64(v.AuditID), Status: v.Status, Reason: v.Reason, ScreenShot: v.Upper,
		UserVersion: v.UserVersion, UserDesc: v.UserDesc, SubmitAuditTime: int64(v.SubmitAuditTime),
	}
	if s.ScreenShot == "" {
		s.ScreenShot = v.Lower
	}
	return nil
}

// AuditStatus calls get_auditstatus.
func (a *App) AuditStatus(ctx context.Context, auditID int64) (*AuditStatus, error) {
	var res AuditStatus
	r := a.req("POST", "/wxa/get_auditstatus", auditIDBody{auditID})
	r.idempotent = true
	if err := a.c.call(ctx, r, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

type auditIDBody struct {
	AuditID int64 `json:"auditid"`
}

// LatestAuditStatus calls get_latest_auditstatus.
func (a *App) LatestAuditStatus(ctx context.Context) (*AuditStatus, error) {
	var res AuditStatus
	if err := a.call(ctx, "GET", "/wxa/get_latest_auditstatus", nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// WaitAudit polls get_auditstatus every Options.AuditPollInterval until
// the audit is approved, rejected or withdrawn. Audits take hours; the
// audit push (PushHandlers.Audit) tells sooner. Bound it with ctx.
func (a *App) WaitAudit(ctx context.Context, auditID int64) (*AuditStatus, error) {
	for {
		st, err := a.AuditStatus(ctx, auditID)
		if err != nil || st.Status.Done() {
			return st, err
		}
		if serr := a.c.o.Sleep(ctx, a.c.o.AuditPollInterval); serr != nil {
			return nil, fmt.Errorf("wxa: waiting for audit %d of %s: %w", auditID, a.appid, serr)
		}
	}
}

// UndoAudit calls undocodeaudit (a few a day and month: 87013). A lost
// answer is not retried: the undo may have happened and used the quota.
func (a *App) UndoAudit(ctx context.Context) error {
	r := a.req("GET", "/wxa/undocodeaudit", nil)
	r.idempotent = false
	return a.c.call(ctx, r, nil)
}

// SpeedupAudit calls speedupaudit.
func (a *App) SpeedupAudit(ctx context.Context, auditID int64) error {
	return a.call(ctx, "POST", "/wxa/speedupaudit", auditIDBody{auditID}, nil)
}

// Quota is the answer of queryquota: the platform's monthly submissions
// and speed-ups, shared by all its mini programs.
type Quota struct {
	Rest         int `json:"rest"`
	Limit        int `json:"limit"`
	SpeedupRest  int `json:"speedup_rest"`
	SpeedupLimit int `json:"speedup_limit"`
}

// QueryQuota calls queryquota.
func (a *App) QueryQuota(ctx context.Context) (*Quota, error) {
	var res Quota
	if err := a.call(ctx, "GET", "/wxa/queryquota", nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Media is the answer of uploadmedia; MediaID lives 3 days.
type Media struct {
	Type    string `json:"type"` // image or video
	MediaID string `json:"mediaid"`
}

// UploadMedia calls uploadmedia with an image (≤ 2 MB png/jpeg/gif) or a
// video (≤ 10 MB mp4) for PreviewInfo.
func (a *App) UploadMedia(ctx context.Context, filename string, data []byte) (*Media, error) {
	r := a.req("POST", "/wxa/uploadmedia", nil)
	r.media = &mediaFile{field: "media", name: filename, data: data}
	var res Media
	if err := a.c.call(ctx, r, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

func (m *mediaFile) encode() ([]byte, string, error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	// The part carries the sniffed type (image/png, video/mp4, …) rather
	// than CreateFormFile's application/octet-stream.
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+quoteEscaper.Replace(m.field)+`"; filename="`+quoteEscaper.Replace(m.name)+`"`)
	h.Set("Content-Type", http.DetectContentType(m.data))
	fw, err := w.CreatePart(h)
	if err == nil {
		_, err = fw.Write(m.data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return nil, "", fmt.Errorf("wxa: build upload: %w", err)
	}
	return b.Bytes(), w.FormDataContentType(), nil
}
