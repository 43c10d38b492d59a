package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/extjson"
	"github.com/miniship/miniship/wxerr"
)

// CommitRequest is the body of /wxa/commit.
type CommitRequest struct {
	TemplateID  int64
	ExtJSON     string
	UserVersion string
	UserDesc    string
}

// commitHold bounds how long a commit that died half-way (a crashed
// server) keeps its mini program locked.
const commitHold = time.Minute

// Commit uploads a template with the mini program's ext_json and makes the
// result its new experience version. A second commit for the same mini
// program while one runs gets 9402202; every failure stores nothing.
//
// The engine runs before any write, so a commit costs one write
// transaction; only with CommitLatency (a modelled build time) does it
// first claim the mini program in a transaction of its own, making the
// window in which another commit collides.
func (s *Service) Commit(ctx context.Context, c *Caller, req CommitRequest) error {
	if n := utf8.RuneCountInString(req.UserVersion); n > 64 {
		return wxerr.Errorf(wxerr.InvalidArgs, "user_version has %d characters, at most 64", n)
	}
	if !s.modelsBuild() {
		return s.commitOnce(ctx, c, req) // commit_once.go: the common case, one transaction
	}
	var a *miniship.Authorizer
	err := s.view(ctx, func(tx miniship.Tx) (err error) {
		a, err = tx.GetAuthorizer(c.AuthorizerAppID)
		return err
	})
	if err != nil {
		return err
	}
	if s.Now().Before(a.CommitUntil) {
		return errCommitting
	}
	v, err := s.buildVersion(ctx, c, a, req)
	if err != nil {
		return err
	}
	if s.modelsBuild() {
		if err := s.holdForBuild(ctx, c.AuthorizerAppID); err != nil {
			return err
		}
	}
	err = s.update(ctx, func(tx miniship.Tx) error {
		a, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		// Without a modelled build time the lock is only held inside this
		// transaction; with one, holdForBuild set it and this clears it.
		if !s.modelsBuild() && s.Now().Before(a.CommitUntil) {
			return errCommitting
		}
		now := s.Now()
		v.CreatedAt, v.ScanDoneAt = now, now.Add(s.cfg.ScanDuration)
		if err := tx.CreateVersion(v); err != nil {
			return err
		}
		if keep := s.trimKeep(c.AuthorizerAppID); keep > 0 {
			if _, err := tx.TrimVersions(c.AuthorizerAppID, keep); err != nil {
				return err
			}
		}
		if a.CommitUntil.IsZero() {
			return nil
		}
		a.CommitUntil = time.Time{}
		return tx.UpdateAuthorizer(a)
	})
	if err != nil && s.modelsBuild() {
		// The version was not stored, so neither was the cleared claim:
		// give it back rather than leave the mini program locked for
		// commitHold (forever on a manual clock that does not move).
		s.releaseClaim(ctx, c.AuthorizerAppID)
	}
	return err
}

var errCommitting = wxerr.New(wxerr.ConcurrentLimit, "a commit for this mini program is in progress")

// holdForBuild claims the mini program, in the store so the claim holds
// across server instances, and waits out the build time. On failure it
// gives the claim back.
func (s *Service) holdForBuild(ctx context.Context, appid string) error {
	err := s.update(ctx, func(tx miniship.Tx) error {
		a, err := tx.LockAuthorizer(appid)
		if err != nil {
			return err
		}
		if s.Now().Before(a.CommitUntil) {
			return errCommitting
		}
		a.CommitUntil = s.Now().Add(commitHold)
		return tx.UpdateAuthorizer(a)
	})
	if err != nil {
		return err
	}
	// The modelled build is a wait, not work: a turn at the processors
	// held through it would only hold up others' large requests.
	miniship.EndTurn(ctx)
	if err := s.build(ctx); err != nil {
		s.releaseClaim(ctx, appid)
		return err
	}
	return nil
}

// modelsBuild tells whether a commit models a build time, during which it
// holds its mini program and others get 9402202.
func (s *Service) modelsBuild() bool { return s.cfg.CommitLatency > 0 || s.cfg.CommitBuild != nil }

// build waits out the modelled build: Config.CommitBuild when set, else
// CommitLatency of real time.
func (s *Service) build(ctx context.Context) error {
	if s.cfg.CommitBuild != nil {
		return s.cfg.CommitBuild(ctx)
	}
	t := time.NewTimer(s.cfg.CommitLatency)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// releaseClaim clears a commit's claim on the mini program, on a context
// that outlives a cancelled request.
func (s *Service) releaseClaim(ctx context.Context, appid string) {
	err := s.update(context.WithoutCancel(ctx), func(tx miniship.Tx) error {
		a, err := tx.LockAuthorizer(appid)
		if err != nil {
			return err
		}
		a.CommitUntil = time.Time{}
		return tx.UpdateAuthorizer(a)
	})
	if err != nil {
		s.log.Error("release commit claim", "appid", appid, "err", err)
	}
}

// buildVersion runs the ext_json engine against the template with the mini
// program's grants.
func (s *Service) buildVersion(ctx context.Context, c *Caller, a *miniship.Authorizer, req CommitRequest) (*miniship.Version, error) {
	ct, err := s.loadTemplate(ctx, c.PlatformAppID, req.TemplateID, false)
	if err != nil {
		return nil, err
	}
	return s.runEngine(ct, c, a, req)
}

// runEngine applies the ext_json to a loaded template.
func (s *Service) runEngine(ct *cachedTemplate, c *Caller, a *miniship.Authorizer, req CommitRequest) (*miniship.Version, error) {
	start := time.Now() // real time: the engine's cost, whatever the service clock says
	_, err := extjson.Apply(ct.tpl, req.ExtJSON, extjson.Options{
		Standard: ct.meta.Type == miniship.TemplateStandard,
		Grants:   grants{a},
	})
	if s.onEngine != nil {
		s.onEngine(time.Since(start))
	}
	if err != nil {
		return nil, err
	}
	// Only what the commit sent is stored: the rest follows from the
	// template and the ext_json (derive.go), so a version costs its input.
	return &miniship.Version{
		AuthorizerAppID: c.AuthorizerAppID, PlatformAppID: c.PlatformAppID, TemplateID: req.TemplateID,
		UserVersion: req.UserVersion, UserDesc: req.UserDesc, ExtJSON: req.ExtJSON, Derived: true,
	}, nil
}

// grants exposes a mini program's privacy-API and plugin grants to the
// ext_json engine.
type grants struct{ a *miniship.Authorizer }

func (g grants) PrivacyAPI(name string) bool { return slices.Contains(g.a.PrivacyAPIs, name) }

// Plugin judges a plugin declaration. miniship has no global plugin
// registry: a provider that is not a wx appid does not exist (80067), one
// the mini program was not granted is 80082, an ungranted version 80066.
// A grant without versions (an approved application) allows any version.
func (g grants) Plugin(provider, version string) extjson.PluginStatus {
	if !strings.HasPrefix(provider, "wx") || !appIDPattern.MatchString(provider) {
		return extjson.PluginNotFound
	}
	for _, p := range g.a.Plugins {
		if p.AppID == provider {
			if len(p.Versions) == 0 || version == "" || slices.Contains(p.Versions, version) {
				return extjson.PluginOK
			}
			return extjson.PluginBadVersion
		}
	}
	return extjson.PluginNotGranted
}

// pageList is the pages of a commit in app.json order: main pages, then
// each subpackage's pages as "root/page".
func pageList(app map[string]any) []string {
	var out []string
	strs := func(v any) []string {
		var ss []string
		arr, _ := v.([]any)
		for _, e := range arr {
			if s, ok := e.(string); ok {
				ss = append(ss, s)
			}
		}
		return ss
	}
	out = append(out, strs(app["pages"])...)
	for _, key := range []string{"subPackages", "subpackages"} {
		subs, _ := app[key].([]any)
		for _, sp := range subs {
			m, _ := sp.(map[string]any)
			root, _ := m["root"].(string)
			root = strings.TrimSuffix(root, "/")
			for _, p := range strs(m["pages"]) {
				out = append(out, root+"/"+p)
			}
		}
	}
	return out
}

// experience returns the mini program's latest commit (86001 without one).
func experience(tx miniship.Tx, appid string) (*miniship.Version, error) {
	v, err := tx.LatestVersion(appid)
	return v, notFound(err, wxerr.NoExperienceVersion, "")
}

// hasExperience is experience for callers that need only its existence.
func hasExperience(tx miniship.Tx, appid string) error {
	ok, err := tx.HasVersion(appid)
	if err == nil && !ok {
		err = wxerr.New(wxerr.NoExperienceVersion, "")
	}
	return err
}

// GetPage lists the pages of the committed code.
func (s *Service) GetPage(ctx context.Context, c *Caller) ([]string, error) {
	var pages []string
	err := s.view(ctx, func(tx miniship.Tx) error {
		v, err := experience(tx, c.AuthorizerAppID)
		if err == nil {
			err = s.derive(tx, v)
		}
		if err == nil {
			pages = v.PageList
		}
		return err
	})
	return pages, err
}

// ExperienceLink is what the experience QR code encodes: the link WeChat's
// own trial codes carry, opening path (with its query) in the trial version.
func (s *Service) ExperienceLink(ctx context.Context, c *Caller, path string) (string, error) {
	var v *miniship.Version
	err := s.view(ctx, func(tx miniship.Tx) (err error) {
		v, err = experience(tx, c.AuthorizerAppID)
		return err
	})
	if err != nil {
		return "", err
	}
	q := url.Values{"appid": {c.AuthorizerAppID}, "version": {fmt.Sprint(v.ID)}}
	if path != "" {
		q.Set("path", path)
	}
	link := "https://open.weixin.qq.com/sns/getexpappinfo?" + q.Encode() + "#wechat-redirect"
	if len(link) > MaxQRLink {
		// An argument error, not -1: SDKs retry -1, and this never passes.
		return "", wxerr.Errorf(wxerr.InvalidArgs, "path too long: the link would be %d bytes, a QR code holds %d", len(link), MaxQRLink)
	}
	return link, nil
}

// MaxQRLink is the most bytes a QR code holds (version 40, error
// correction M, byte mode): get_qrcode refuses a path whose link is longer.
const MaxQRLink = 2331

// GetCategory lists the mini program's categories.
func (s *Service) GetCategory(ctx context.Context, c *Caller) ([]miniship.Category, error) {
	var cats []miniship.Category
	err := s.read(ctx, func(tx miniship.Tx) error {
		cs, g, err := tx.CategoriesWithGrant(c.PlatformAppID, c.AuthorizerAppID)
		if err != nil {
			if gerr := s.checkGrant(tx, c); gerr != nil {
				return gerr
			}
			return err
		}
		cats = cs
		return c.checkGrantOf(g)
	})
	if cats == nil {
		cats = []miniship.Category{}
	}
	return cats, err
}

// PrivacyInfo is the answer of get_code_privacy_info.
type PrivacyInfo struct {
	WithoutAuthList []string `json:"without_auth_list"`
	WithoutConfList []string `json:"without_conf_list"`
}

// CodePrivacyInfo reports the privacy scan of the latest commit: 61039
// while it runs, then the APIs the code uses without permission and those it
// uses without declaring them.
func (s *Service) CodePrivacyInfo(ctx context.Context, c *Caller) (*PrivacyInfo, error) {
	var info *PrivacyInfo
	err := s.view(ctx, func(tx miniship.Tx) error {
		v, err := experience(tx, c.AuthorizerAppID)
		if err != nil {
			return err
		}
		if s.Now().Before(v.ScanDoneAt) {
			return wxerr.New(wxerr.PrivacyScanRunning, "")
		}
		if err := s.derive(tx, v); err != nil {
			return err
		}
		a, err := tx.GetAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		info = privacyGaps(v, a)
		return nil
	})
	return info, err
}

func privacyGaps(v *miniship.Version, a *miniship.Authorizer) *PrivacyInfo {
	info := &PrivacyInfo{WithoutAuthList: []string{}, WithoutConfList: []string{}}
	for _, api := range v.UsedPrivacyAPIs {
		if !slices.Contains(a.PrivacyAPIs, api) {
			info.WithoutAuthList = append(info.WithoutAuthList, "wx."+api)
		}
		if !slices.Contains(v.DeclaredPrivacyAPIs, api) {
			info.WithoutConfList = append(info.WithoutConfList, "wx."+api)
		}
	}
	return info
}

// VersionInfo is the answer of getversioninfo; either part is absent when
// there is no such version.
type VersionInfo struct {
	Exp *struct {
		Time    int64  `json:"exp_time"`
		Version string `json:"exp_version"`
		Desc    string `json:"exp_desc"`
	} `json:"exp_info,omitempty"`
	Release *struct {
		Time    int64  `json:"release_time"`
		Version string `json:"release_version"`
		Desc    string `json:"release_desc"`
	} `json:"release_info,omitempty"`
}

// GetVersionInfo describes the experience and the online versions.
func (s *Service) GetVersionInfo(ctx context.Context, c *Caller) (*VersionInfo, error) {
	info := &VersionInfo{}
	err := s.view(ctx, func(tx miniship.Tx) error {
		if v, err := tx.LatestVersion(c.AuthorizerAppID); err == nil {
			info.Exp = &struct {
				Time    int64  `json:"exp_time"`
				Version string `json:"exp_version"`
				Desc    string `json:"exp_desc"`
			}{v.CreatedAt.Unix(), v.UserVersion, v.UserDesc}
		} else if !errors.Is(err, miniship.ErrNotFound) {
			return err
		}
		r, err := onlineRelease(tx, c.AuthorizerAppID)
		if err == nil {
			info.Release = &struct {
				Time    int64  `json:"release_time"`
				Version string `json:"release_version"`
				Desc    string `json:"release_desc"`
			}{r.ReleasedAt.Unix(), r.UserVersion, r.UserDesc}
		} else if !errors.Is(err, miniship.ErrNotFound) {
			return err
		}
		return nil
	})
	return info, err
}

// onlineRelease is the version users get: the newest release not rolled back.
func onlineRelease(tx miniship.Tx, appid string) (*miniship.Release, error) {
	rs, err := tx.ListReleases(appid, 50)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if !r.Reverted {
			return r, nil
		}
	}
	return nil, miniship.ErrNotFound
}

// ExperiencePackage builds the zip of the current experience version: the
// template's files with the effective app.json, page configs and ext.json.
func (s *Service) ExperiencePackage(ctx context.Context, appid string) ([]byte, error) {
	var v *miniship.Version
	err := s.view(ctx, func(tx miniship.Tx) (err error) {
		v, err = tx.LatestVersion(appid)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.versionPackage(ctx, v)
}

// versionPackage builds a version's zip from its template and the
// engine's output (derived for versions that do not store it).
func (s *Service) versionPackage(ctx context.Context, v *miniship.Version) ([]byte, error) {
	ct, app, pages, err := s.versionConfig(ctx, v)
	if err != nil {
		return nil, err
	}
	var ext map[string]any
	if err := json.Unmarshal(v.Ext, &ext); err != nil {
		return nil, fmt.Errorf("version %d: %w", v.ID, err)
	}
	var buf bytes.Buffer
	if err := ct.tpl.BuildPackage(&buf, app, pages, ext); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
