package service

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxerr"
)

// The audit quota and the media a submit_audit names (preview_info,
// feedback_stuff).

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
	typ, err := mediaType(data)
	if err != nil {
		return nil, err
	}
	m := &miniship.Media{ID: s.alnum(64), AuthorizerAppID: c.AuthorizerAppID, Type: typ, Data: data, CreatedAt: s.Now()}
	if err := s.update(ctx, func(tx miniship.Tx) error { return tx.PutMedia(m) }); err != nil {
		return nil, err
	}
	return &MediaResult{Type: typ, MediaID: m.ID}, nil
}

// CheckMedia answers as UploadMedia does to a file it refuses, and nil
// to one it takes, storing nothing: the HTTP layer asks before it makes
// the upload wait for its turn, so that a refusal is never -1.
func CheckMedia(data []byte) error {
	_, err := mediaType(data)
	return err
}

// mediaType is the type of an upload, or the reason it is refused.
func mediaType(data []byte) (string, error) {
	if len(data) == 0 {
		return "", wxerr.New(wxerr.MediaDataMissing, "multipart field media is empty or missing")
	}
	typ := sniffMedia(data)
	switch {
	case typ == "":
		return "", wxerr.New(wxerr.InvalidMediaType, "want a PNG, JPEG or GIF image or an MP4 video")
	case typ == mediaImage && len(data) > MaxImageSize:
		return "", wxerr.Errorf(wxerr.InvalidMediaSize, "image of %d bytes, at most %d", len(data), MaxImageSize)
	case typ == mediaVideo && len(data) > MaxVideoSize:
		return "", wxerr.Errorf(wxerr.InvalidMediaSize, "video of %d bytes, at most %d", len(data), MaxVideoSize)
	}
	return typ, nil
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
