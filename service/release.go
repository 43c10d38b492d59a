package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxerr"
)

// Release, visibility, rollback, gray release and the base-library
// minimum. The online version is the newest release not rolled back
// (onlineRelease); a gray plan phases in the approved version of the audit
// slot before release publishes it to everyone.

// historySize is how many releases rollback looks back over.
const historySize = 5

func grayActive(g *miniship.GrayPlan) bool {
	return g.Status == miniship.GrayInitial || g.Status == miniship.GrayRunning || g.Status == miniship.GrayPaused
}

// Release publishes the approved version of the audit slot. Nothing ever
// submitted, or the slot withdrawn, is 85019; a slot in review, delayed or
// rejected is 85020; a slot already published is 85052. A gray plan of the
// same audit finishes (3); one of an older audit is dropped (4). Publishing
// reopens the mini program to visitors (change_visitstatus).
func (s *Service) Release(ctx context.Context, c *Caller) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		now := s.Now()
		m, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		a, err := tx.LatestAudit(m.AppID)
		if err != nil {
			return notFound(err, wxerr.NoAuditVersion, "nothing was submitted for audit")
		}
		switch {
		case a.Status == miniship.AuditWithdrawn:
			return wxerr.Errorf(wxerr.NoAuditVersion, "auditid %d was withdrawn", a.ID)
		case a.Status != miniship.AuditApproved:
			return wxerr.Errorf(wxerr.StatusNotAllowed, "auditid %d has status %d, not 0 (approved)", a.ID, a.Status)
		case a.Released:
			return wxerr.Errorf(wxerr.AlreadyReleased, "auditid %d is already released", a.ID)
		}
		v, err := tx.GetVersion(a.VersionID)
		if err != nil {
			return err
		}
		if err := tx.CreateRelease(&miniship.Release{
			AuthorizerAppID: m.AppID, VersionID: v.ID, AuditID: a.ID, UserVersion: v.UserVersion,
			UserDesc: v.UserDesc, CommitTime: v.CreatedAt, ReleasedAt: now,
		}); err != nil {
			return err
		}
		a.Released = true
		if err := tx.UpdateAudit(a); err != nil {
			return err
		}
		if err := s.releaseDomains(tx, c.PlatformAppID, m.AppID); err != nil {
			return err
		}
		if err := s.promotePrivacyGuide(tx, a); err != nil { // privacy.go
			return err
		}
		switch g, err := tx.GetGrayPlan(m.AppID); {
		case err == nil && grayActive(g):
			g.Status = miniship.GrayDeleted
			if g.AuditID == a.ID {
				g.Status = miniship.GrayFinished
			}
			if err := tx.PutGrayPlan(g); err != nil {
				return err
			}
		case err != nil && !errors.Is(err, miniship.ErrNotFound):
			return err
		}
		if m.VisitStatus != 1 {
			m.VisitStatus = 1
			return tx.UpdateAuthorizer(m)
		}
		return nil
	})
}

// ChangeVisitStatus opens ("open") or closes ("close") the online version
// to visitors. Another action is 85022; without an online version there is
// nothing to show or hide: 85021. Setting the current state is a no-op.
func (s *Service) ChangeVisitStatus(ctx context.Context, c *Caller, action string) error {
	status := map[string]int{"open": 1, "close": 0}
	st, ok := status[action]
	if !ok {
		return wxerr.Errorf(wxerr.InvalidVisitAction, "action must be open or close, not %q", action)
	}
	return s.update(ctx, func(tx miniship.Tx) error {
		m, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		if _, err := onlineRelease(tx, m.AppID); err != nil {
			return notFound(err, wxerr.VisitStatusNotAllowed, "no online version")
		}
		if m.VisitStatus == st {
			return nil
		}
		m.VisitStatus = st
		return tx.UpdateAuthorizer(m)
	})
}

// GetVisitStatus answers getvisitstatus: 1 serving, 0 paused.
func (s *Service) GetVisitStatus(ctx context.Context, c *Caller) (int, error) {
	var st int
	err := s.view(ctx, func(tx miniship.Tx) error {
		m, err := tx.GetAuthorizer(c.AuthorizerAppID)
		if err == nil {
			st = m.VisitStatus
		}
		return err
	})
	return st, err
}

// HistoryVersion is one entry of revertcoderelease's version_list.
type HistoryVersion struct {
	AppVersion  int64  `json:"app_version"`
	UserVersion string `json:"user_version"`
	UserDesc    string `json:"user_desc"`
	CommitTime  int64  `json:"commit_time"`
}

// rollbackTargets splits the last historySize releases into the online one
// and the ones a rollback may go to, newest first: older than the online
// one and not rolled back.
func rollbackTargets(tx miniship.Tx, appid string) (online *miniship.Release, targets []*miniship.Release, err error) {
	rs, err := tx.ListReleases(appid, historySize)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range rs {
		switch {
		case r.Reverted:
		case online == nil:
			online = r
		default:
			targets = append(targets, r)
		}
	}
	return online, targets, nil
}

// HistoryVersions lists the versions revertcoderelease can go back to
// (action=get_history_version). app_version is the release's id.
func (s *Service) HistoryVersions(ctx context.Context, c *Caller) ([]HistoryVersion, error) {
	out := []HistoryVersion{}
	err := s.view(ctx, func(tx miniship.Tx) error {
		_, targets, err := rollbackTargets(tx, c.AuthorizerAppID)
		for _, r := range targets {
			out = append(out, HistoryVersion{r.ID, r.UserVersion, r.UserDesc, r.CommitTime.Unix()})
		}
		return err
	})
	return out, err
}

// RevertCodeRelease rolls the online version back to appVersion, or to the
// previous release when appVersion is 0. During a gray release it is 87011.
// Without a target (no earlier release among the last 5, the named one
// rolled back already, online, or unknown) it is 87012. Every release newer
// than the target is marked rolled back: none of them can be a target
// again, and the target is online once more.
func (s *Service) RevertCodeRelease(ctx context.Context, c *Caller, appVersion int64) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		m, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		switch g, err := tx.GetGrayPlan(m.AppID); {
		case err == nil && grayActive(g):
			return wxerr.Errorf(wxerr.GrayReleaseForbidsRevert, "gray release of auditid %d at %d%%", g.AuditID, g.Percentage)
		case err != nil && !errors.Is(err, miniship.ErrNotFound):
			return err
		}
		online, targets, err := rollbackTargets(tx, m.AppID)
		if err != nil {
			return err
		}
		if online == nil {
			return wxerr.New(wxerr.RevertForbidden, "no online version")
		}
		i := 0
		if appVersion != 0 {
			i = slices.IndexFunc(targets, func(r *miniship.Release) bool { return r.ID == appVersion })
		}
		if i < 0 || i >= len(targets) {
			if appVersion != 0 {
				return wxerr.Errorf(wxerr.RevertForbidden, "app_version %d is not one of the versions to go back to", appVersion)
			}
			return wxerr.New(wxerr.RevertForbidden, "no earlier version to go back to")
		}
		to := targets[i]
		rs, err := tx.ListReleases(m.AppID, historySize)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.ID > to.ID && !r.Reverted {
				r.Reverted = true
				if err := tx.UpdateRelease(r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// GrayRelease starts or widens the phased release of the slot's approved
// version. Checks in order: percentage outside 0–100, or 0 without a
// support_*_first flag (85081); profile incomplete (86002); no online
// version (85079); slot not approved or already released (85080); a
// running plan of the same audit at this percentage or more (85082).
func (s *Service) GrayRelease(ctx context.Context, c *Caller, pct int64, debugerFirst, experiencerFirst bool) error {
	if pct < 0 || pct > 100 || (pct == 0 && !debugerFirst && !experiencerFirst) {
		return wxerr.Errorf(wxerr.InvalidGrayPercentage, "gray_percentage %d: want 1 to 100, or 0 with a support_*_first flag", pct)
	}
	percent := int(pct) // 0 to 100 from here
	return s.update(ctx, func(tx miniship.Tx) error {
		m, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		if !m.ProfileComplete {
			return wxerr.New(wxerr.NotInitialised, "")
		}
		if _, err := onlineRelease(tx, m.AppID); err != nil {
			return notFound(err, wxerr.NoOnlineRelease, "")
		}
		a, err := tx.LatestAudit(m.AppID)
		if err == nil && (a.Status != miniship.AuditApproved || a.Released) {
			err = miniship.ErrNotFound
		}
		if err != nil {
			return notFound(err, wxerr.CommitNotApproved, "no approved version waiting for release")
		}
		g, err := tx.GetGrayPlan(m.AppID)
		switch {
		case err == nil && g.AuditID == a.ID && grayActive(g):
			if percent <= g.Percentage {
				return wxerr.Errorf(wxerr.GrayPercentageTooLow, "gray_percentage %d: the plan is at %d%%", pct, g.Percentage)
			}
		case err == nil || errors.Is(err, miniship.ErrNotFound):
			g = &miniship.GrayPlan{AuthorizerAppID: m.AppID, AuditID: a.ID, CreatedAt: s.Now()}
		default:
			return err
		}
		g.Status, g.Percentage = miniship.GrayRunning, percent
		g.DebugerFirst, g.ExperiencerFirst = debugerFirst, experiencerFirst
		return tx.PutGrayPlan(g)
	})
}

// RevertGrayRelease cancels the running gray plan (status 4): gray users go
// back to the online version, and the approved version waits for release
// or a new plan. Without a running plan it changes nothing and succeeds.
func (s *Service) RevertGrayRelease(ctx context.Context, c *Caller) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		if _, err := tx.LockAuthorizer(c.AuthorizerAppID); err != nil {
			return err
		}
		g, err := tx.GetGrayPlan(c.AuthorizerAppID)
		if errors.Is(err, miniship.ErrNotFound) || (err == nil && !grayActive(g)) {
			return nil
		}
		if err != nil {
			return err
		}
		g.Status = miniship.GrayDeleted
		return tx.PutGrayPlan(g)
	})
}

// GrayPlan is the gray_release_plan object of getgrayreleaseplan.
type GrayPlan struct {
	Status           int   `json:"status"`
	CreateTimestamp  int64 `json:"create_timestamp"`
	GrayPercentage   int   `json:"gray_percentage"`
	DebugerFirst     bool  `json:"support_debuger_first"`
	ExperiencerFirst bool  `json:"support_experiencer_first"`
}

// GetGrayReleasePlan describes the latest plan; a mini program that never
// had one gets the initial state (status 0, all zero).
func (s *Service) GetGrayReleasePlan(ctx context.Context, c *Caller) (*GrayPlan, error) {
	out := &GrayPlan{}
	err := s.view(ctx, func(tx miniship.Tx) error {
		g, err := tx.GetGrayPlan(c.AuthorizerAppID)
		if errors.Is(err, miniship.ErrNotFound) {
			return nil
		}
		if err == nil {
			*out = GrayPlan{g.Status, g.CreatedAt.Unix(), g.Percentage, g.DebugerFirst, g.ExperiencerFirst}
		}
		return err
	})
	return out, err
}

// BaseLibrary is a base-library version and the share of users (percent)
// still on an older one, who could not open the mini program if it became
// the minimum.
type BaseLibrary struct {
	Percentage int    `json:"percentage"`
	Version    string `json:"version"`
}

// BaseLibraries is the list of published base-library versions the server
// knows, oldest first. setweappsupportversion accepts these only; the
// shares are illustrative.
var BaseLibraries = []BaseLibrary{
	{0, "1.0.0"}, {0, "1.9.0"}, {0, "2.0.0"}, {0, "2.10.0"}, {1, "2.16.0"}, {1, "2.21.0"},
	{2, "2.25.0"}, {3, "2.30.0"}, {5, "3.0.0"}, {9, "3.4.0"}, {24, "3.7.0"},
}

var versionPattern = regexp.MustCompile(`^\d{1,3}\.\d{1,3}\.\d{1,3}$`)

// SupportVersion is the answer of getweappsupportversion.
type SupportVersion struct {
	NowVersion string `json:"now_version"`
	UVInfo     struct {
		Items []BaseLibrary `json:"items"`
	} `json:"uv_info"`
}

// GetSupportVersion reports the minimum base library (the oldest known one
// until set) and the user shares.
func (s *Service) GetSupportVersion(ctx context.Context, c *Caller) (*SupportVersion, error) {
	out := &SupportVersion{}
	out.UVInfo.Items = BaseLibraries
	err := s.view(ctx, func(tx miniship.Tx) error {
		m, err := tx.GetAuthorizer(c.AuthorizerAppID)
		if err == nil {
			out.NowVersion = orDefault(m.SupportVersion, BaseLibraries[0].Version)
		}
		return err
	})
	return out, err
}

// SetSupportVersion sets the minimum base library. The two generations of
// the docs disagree on the error (85015 old, 89014 new); miniship answers
// 85015 for a value that is not a version at all and 89014 for a
// well-formed version that is not a published base library.
func (s *Service) SetSupportVersion(ctx context.Context, c *Caller, version string) error {
	if !versionPattern.MatchString(version) {
		return wxerr.Errorf(wxerr.InvalidVersion, "version %q is not like 2.21.0", version)
	}
	if !slices.ContainsFunc(BaseLibraries, func(b BaseLibrary) bool { return b.Version == version }) {
		return wxerr.Errorf(wxerr.SupportVersionError, "%s is not a published base library version", version)
	}
	return s.update(ctx, func(tx miniship.Tx) error {
		m, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return fmt.Errorf("authorizer: %w", err)
		}
		m.SupportVersion = version
		return tx.UpdateAuthorizer(m)
	})
}
