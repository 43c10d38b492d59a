package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/extjson"
	"github.com/miniship/miniship/wxerr"
)

// Plugins: the user side (/wxa/plugin apply, list, unbind, update) and the
// plugin developer's side (/wxa/devplugin), where the developer is the
// plugin's own appid authorized to a platform. miniship keeps no global
// plugin registry: any well-formed wx appid names a plugin one may apply
// for, and what counts is the application's status.

// WeUIPluginAppID is the extended library weui, which commit checks as a
// plugin when app.json has "useExtendedLib": {"weui": true}.
const WeUIPluginAppID = extjson.WeUIAppID

// maxPlugins caps a mini program's plugins, applied for or in use (89238).
// WeChat publishes no number; this keeps the rows per mini program bounded.
const maxPlugins = 50

// Plugin statuses as /wxa/plugin list answers them (4, timed out, is not
// produced: miniship lets applications wait until decided).
const (
	pluginApplying = 1
	pluginApproved = 2
	pluginRefused  = 3
)

func pluginStatus(st int) int {
	switch st {
	case miniship.ApplyApproved:
		return pluginApproved
	case miniship.ApplyRejected:
		return pluginRefused
	}
	return pluginApplying
}

var pluginAppIDPattern = regexp.MustCompile(`^wx[0-9a-f]{16}$`)

// PluginItem is an entry of /wxa/plugin list.
type PluginItem struct {
	AppID       string `json:"appid"`
	Status      int    `json:"status"`
	Nickname    string `json:"nickname"`
	HeadImgURL  string `json:"headimgurl"`
	UserVersion string `json:"user_version,omitempty"`
}

// nickname is a known appid's nickname, "" for others.
func nickname(tx miniship.Tx, appid string) (string, error) {
	a, err := tx.GetAuthorizer(appid)
	if errors.Is(err, miniship.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return a.Nickname, nil
}

// PluginApply asks the plugin's developer to let the mini program use it.
func (s *Service) PluginApply(ctx context.Context, c *Caller, plugin, reason string) error {
	switch {
	case plugin == "":
		return wxerr.New(wxerr.PluginNotExist, "plugin_appid is required")
	case !pluginAppIDPattern.MatchString(plugin):
		return wxerr.Errorf(wxerr.PluginNotExist, "%q is not a plugin appid", plugin)
	case plugin == c.AuthorizerAppID:
		return wxerr.New(wxerr.PluginCannotApply, "a mini program cannot apply for itself")
	}
	return s.update(ctx, func(tx miniship.Tx) error {
		a, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		apps, err := tx.ListPluginApplications(a.AppID, "", 0, 0)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(a.Plugins, func(g miniship.PluginGrant) bool { return g.AppID == plugin }) {
			return wxerr.Errorf(wxerr.PluginAlreadyApplied, "%s is already in use", plugin)
		}
		count := len(a.Plugins)
		for _, p := range apps {
			if p.PluginAppID == plugin && p.Status == miniship.ApplyPending {
				return wxerr.Errorf(wxerr.PluginAlreadyApplied, "the application for %s waits for its developer", plugin)
			}
			if p.Status == miniship.ApplyPending {
				count++
			}
		}
		if count >= maxPlugins {
			return wxerr.Errorf(wxerr.PluginCountLimit, "%d plugins applied for or in use, at most %d", count, maxPlugins)
		}
		// A refused application is replaced by the new one.
		return tx.PutPluginApplication(&miniship.PluginApplication{AuthorizerAppID: a.AppID, PluginAppID: plugin,
			PlatformAppID: c.PlatformAppID, Status: miniship.ApplyPending, ApplyReason: reason, AppliedAt: s.Now()})
	})
}

// PluginList lists the plugins the mini program applied for or uses; a
// grant set directly (admin API) is listed as approved.
func (s *Service) PluginList(ctx context.Context, c *Caller) ([]PluginItem, error) {
	out := []PluginItem{}
	err := s.view(ctx, func(tx miniship.Tx) error {
		a, err := tx.GetAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		apps, err := tx.ListPluginApplications(a.AppID, "", 0, 0)
		if err != nil {
			return err
		}
		add := func(appid string, status int, version string) error {
			name, err := nickname(tx, appid)
			out = append(out, PluginItem{AppID: appid, Status: status, Nickname: name, UserVersion: version})
			return err
		}
		for _, p := range apps {
			if err := add(p.PluginAppID, pluginStatus(p.Status), p.UserVersion); err != nil {
				return err
			}
		}
		for _, g := range a.Plugins {
			if !slices.ContainsFunc(apps, func(p *miniship.PluginApplication) bool { return p.PluginAppID == g.AppID }) {
				if err := add(g.AppID, pluginApproved, ""); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// PluginUnbind stops using a plugin (or withdraws the application).
func (s *Service) PluginUnbind(ctx context.Context, c *Caller, plugin string) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		a, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(a.Plugins, func(g miniship.PluginGrant) bool { return g.AppID == plugin })
		err = tx.DeletePluginApplication(a.AppID, plugin)
		switch {
		case errors.Is(err, miniship.ErrNotFound) && i < 0:
			return wxerr.Errorf(wxerr.PluginAppIDNotInList, "%q", plugin)
		case err != nil && !errors.Is(err, miniship.ErrNotFound):
			return err
		}
		if i < 0 {
			return nil
		}
		a.Plugins = slices.Delete(a.Plugins, i, i+1)
		return tx.UpdateAuthorizer(a)
	})
}

var pluginVersionPattern = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// PluginUpdate fast-updates the plugin version the mini program uses. Only
// an approved plugin can (89244); the version must be a published x.y.z
// (89257); not while a gray release runs (89258).
func (s *Service) PluginUpdate(ctx context.Context, c *Caller, plugin, version string) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		a, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		p, err := tx.GetPluginApplication(a.AppID, plugin)
		granted := slices.ContainsFunc(a.Plugins, func(g miniship.PluginGrant) bool { return g.AppID == plugin })
		switch {
		case errors.Is(err, miniship.ErrNotFound) && granted:
			p = &miniship.PluginApplication{AuthorizerAppID: a.AppID, PluginAppID: plugin, PlatformAppID: c.PlatformAppID,
				Status: miniship.ApplyApproved, AppliedAt: s.Now(), DecidedAt: s.Now()}
		case errors.Is(err, miniship.ErrNotFound):
			return wxerr.Errorf(wxerr.PluginAppIDNotInList, "%q", plugin)
		case err != nil:
			return err
		case p.Status != miniship.ApplyApproved:
			return wxerr.Errorf(wxerr.PluginAppIDNotInList, "%s has status %d, not 2 (approved)", plugin, pluginStatus(p.Status))
		}
		if !pluginVersionPattern.MatchString(version) {
			return wxerr.Errorf(wxerr.PluginNoFastUpdate, "user_version %q is not a published version (x.y.z)", version)
		}
		switch g, err := tx.GetGrayPlan(a.AppID); {
		case err == nil && grayActive(g):
			return wxerr.New(wxerr.PluginGrayInProgress, "")
		case err != nil && !errors.Is(err, miniship.ErrNotFound):
			return err
		}
		p.UserVersion = version
		return tx.PutPluginApplication(p)
	})
}

// DevApplyItem is an entry of /wxa/devplugin dev_apply_list.
type DevApplyItem struct {
	AppID      string             `json:"appid"`
	Status     int                `json:"status"`
	Nickname   string             `json:"nickname"`
	HeadImgURL string             `json:"headimgurl"`
	Reason     string             `json:"reason"`
	ApplyURL   string             `json:"apply_url"`
	CreateTime string             `json:"create_time"`
	Categories []DevApplyCategory `json:"categories"` // [] when none, never null
}

// DevApplyCategory is a category of an applicant, by name.
type DevApplyCategory struct {
	First  string `json:"first"`
	Second string `json:"second"`
}

// DevApplyList lists the applications for the calling plugin, page by page
// (page from 1, num 1–100).
func (s *Service) DevApplyList(ctx context.Context, c *Caller, page, num int) ([]DevApplyItem, error) {
	if page < 1 {
		page = 1
	}
	if num < 1 || num > 100 {
		return nil, wxerr.Errorf(wxerr.InvalidArgs, "num %d, want 1 to 100", num)
	}
	out := []DevApplyItem{}
	if page > 1<<20 { // far past any list; also keeps page*num from overflowing
		return out, nil
	}
	err := s.view(ctx, func(tx miniship.Tx) error {
		apps, err := tx.ListPluginApplications("", c.AuthorizerAppID, 0, page*num)
		if err != nil {
			return err
		}
		for _, p := range apps[min(len(apps), (page-1)*num):] {
			a, err := tx.GetAuthorizer(p.AuthorizerAppID)
			if err != nil {
				return err
			}
			it := DevApplyItem{AppID: p.AuthorizerAppID, Status: pluginStatus(p.Status), Nickname: a.Nickname,
				Reason: p.ApplyReason, CreateTime: strconv.FormatInt(p.AppliedAt.Unix(), 10),
				Categories: make([]DevApplyCategory, 0, len(a.Categories))}
			for _, cat := range a.Categories {
				it.Categories = append(it.Categories, DevApplyCategory{cat.FirstClass, cat.SecondClass})
			}
			out = append(out, it)
		}
		return nil
	})
	return out, err
}

// DevAgree approves an application for the calling plugin.
func (s *Service) DevAgree(ctx context.Context, c *Caller, appid string) error {
	if appid == "" {
		return wxerr.New(wxerr.PluginNotInApplyList, "appid is required")
	}
	_, err := s.decidePlugin(ctx, appid, c.AuthorizerAppID, GrantDecision{Result: DecisionApprove}, true)
	return err
}

// DevRefuse refuses the application of appid, or, with no appid (as the
// documented sample sends it), every application still waiting.
func (s *Service) DevRefuse(ctx context.Context, c *Caller, appid, reason string) error {
	d := GrantDecision{Result: DecisionReject, Reason: reason}
	if appid != "" {
		_, err := s.decidePlugin(ctx, appid, c.AuthorizerAppID, d, true)
		return err
	}
	var pending []*miniship.PluginApplication
	err := s.view(ctx, func(tx miniship.Tx) (err error) {
		pending, err = tx.ListPluginApplications("", c.AuthorizerAppID, miniship.ApplyPending, 0)
		return err
	})
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		return wxerr.New(wxerr.PluginOnlyApplying, "no application is waiting")
	}
	for _, p := range pending {
		if _, err := s.decidePlugin(ctx, p.AuthorizerAppID, c.AuthorizerAppID, d, true); err != nil && !errors.Is(err, wxerr.PluginOnlyApplying) {
			return err
		}
	}
	return nil
}

// DevDelete deletes refused applications: the one of appid, or all.
func (s *Service) DevDelete(ctx context.Context, c *Caller, appid string) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		if appid == "" {
			refused, err := tx.ListPluginApplications("", c.AuthorizerAppID, miniship.ApplyRejected, 0)
			for _, p := range refused {
				err = errors.Join(err, tx.DeletePluginApplication(p.AuthorizerAppID, p.PluginAppID))
			}
			return err
		}
		p, err := tx.GetPluginApplication(appid, c.AuthorizerAppID)
		switch {
		case errors.Is(err, miniship.ErrNotFound):
			return wxerr.Errorf(wxerr.PluginNotInApplyList, "%q", appid)
		case err != nil:
			return err
		case p.Status == miniship.ApplyPending:
			return wxerr.New(wxerr.PluginPendingNoDelete, "")
		case p.Status != miniship.ApplyRejected:
			return wxerr.Errorf(wxerr.PluginOnlyRefused, "the application has status %d", pluginStatus(p.Status))
		}
		return tx.DeletePluginApplication(appid, c.AuthorizerAppID)
	})
}

// DecidePlugin is the reviewer's verdict on a plugin application, for
// plugins whose developer is not on miniship (weui among them).
func (s *Service) DecidePlugin(ctx context.Context, appid, plugin string, d GrantDecision) (*miniship.PluginApplication, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	return s.decidePlugin(ctx, appid, plugin, d, false)
}

// decidePlugin approves or refuses a waiting application; approval adds the
// plugin to the mini program's grants, any version. dev answers with
// /wxa/devplugin's errcodes, else with the admin API's errors.
func (s *Service) decidePlugin(ctx context.Context, appid, plugin string, d GrantDecision, dev bool) (*miniship.PluginApplication, error) {
	var out *miniship.PluginApplication
	err := s.update(ctx, func(tx miniship.Tx) error {
		m, err := tx.LockAuthorizer(appid)
		if errors.Is(err, miniship.ErrNotFound) && dev {
			return wxerr.Errorf(wxerr.PluginNotInApplyList, "%q", appid)
		}
		if err != nil {
			return err
		}
		p, err := tx.GetPluginApplication(appid, plugin)
		switch {
		case errors.Is(err, miniship.ErrNotFound) && dev:
			return wxerr.Errorf(wxerr.PluginNotInApplyList, "%q", appid)
		case err != nil:
			return fmt.Errorf("plugin application %s→%s: %w", appid, plugin, err)
		case p.Status != miniship.ApplyPending && dev:
			return wxerr.Errorf(wxerr.PluginOnlyApplying, "the application has status %d", pluginStatus(p.Status))
		case p.Status != miniship.ApplyPending:
			return errNotPending(fmt.Sprintf("plugin application %s→%s", appid, plugin), p.Status)
		}
		p.DecidedAt = s.Now()
		if d.Result == DecisionApprove {
			p.Status, p.RefuseReason = miniship.ApplyApproved, ""
			if !slices.ContainsFunc(m.Plugins, func(g miniship.PluginGrant) bool { return g.AppID == plugin }) {
				m.Plugins = append(m.Plugins, miniship.PluginGrant{AppID: plugin})
				if err := tx.UpdateAuthorizer(m); err != nil {
					return err
				}
			}
		} else {
			p.Status, p.RefuseReason = miniship.ApplyRejected, d.Reason
		}
		out = p
		return tx.PutPluginApplication(p)
	})
	return out, err
}
