package sqlstore

import (
	"strings"
	"time"

	"github.com/miniship/miniship"
)

// Newest first means highest id first: ids follow commit order, while the
// times are the service's clock, which tests and twins move by hand.

// --- versions -------------------------------------------------------------

const versionCols = `id, authorizer_appid, platform_appid, template_id, user_version, user_desc,
	ext_json, app, pages, ext, page_list, used_privacy_apis, declared_privacy_apis,
	scan_done_at, created_at, derived`

func scanVersion(r scanner, v *miniship.Version) error {
	return r.Scan(&v.ID, &v.AuthorizerAppID, &v.PlatformAppID, &v.TemplateID, &v.UserVersion,
		&v.UserDesc, &v.ExtJSON, rawJSON{&v.App}, rawJSON{&v.Pages}, rawJSON{&v.Ext},
		jsonText{&v.PageList}, jsonText{&v.UsedPrivacyAPIs}, jsonText{&v.DeclaredPrivacyAPIs},
		(*nanos)(&v.ScanDoneAt), (*nanos)(&v.CreatedAt), &v.Derived)
}

// versionInsert is the column list CreateVersion and CreateVersionIf
// write; versionTypes their SQL types (PostgreSQL types the parameters of
// an INSERT … SELECT by casts) and versionArgs their values, in order.
const versionInsert = `authorizer_appid, platform_appid, template_id,
	user_version, user_desc, ext_json, app, pages, ext, page_list, used_privacy_apis,
	declared_privacy_apis, scan_done_at, created_at, derived`

var versionTypes = []string{"TEXT", "TEXT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT",
	"TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BOOLEAN"}

func versionArgs(v *miniship.Version) []any {
	return []any{v.AuthorizerAppID, v.PlatformAppID, v.TemplateID, v.UserVersion, v.UserDesc, v.ExtJSON,
		rawJSON{&v.App}, rawJSON{&v.Pages}, rawJSON{&v.Ext}, jsonText{v.PageList},
		jsonText{v.UsedPrivacyAPIs}, jsonText{v.DeclaredPrivacyAPIs}, nanos(v.ScanDoneAt),
		nanos(v.CreatedAt), v.Derived}
}

var createVersionSQL = `INSERT INTO versions (` + versionInsert + `) VALUES (` +
	strings.TrimSuffix(strings.Repeat("?, ", len(versionTypes)), ", ") + `) RETURNING id`

func (t *tx) CreateVersion(v *miniship.Version) (err error) {
	v.ID, err = t.insertID(createVersionSQL, versionArgs(v)...)
	return err
}

func (t *tx) GetVersion(id int64) (*miniship.Version, error) {
	return one(t, scanVersion, `SELECT `+versionCols+` FROM versions WHERE id = ?`, id)
}

func (t *tx) LatestVersion(authorizerAppID string) (*miniship.Version, error) {
	return one(t, scanVersion, `SELECT `+versionCols+` FROM versions WHERE authorizer_appid = ?
		ORDER BY id DESC LIMIT 1`, authorizerAppID)
}

func (t *tx) HasVersion(authorizerAppID string) (bool, error) {
	var n int
	err := t.row(`SELECT COUNT(*) FROM (SELECT 1 FROM versions WHERE authorizer_appid = ? LIMIT 1) v`,
		[]any{authorizerAppID}, &n)
	return n > 0, err
}

// --- audits ---------------------------------------------------------------

const auditCols = `id, authorizer_appid, platform_appid, version_id, status, reason, screenshot,
	request, sped_up, released, submitted_at, decided_at`

func scanAudit(r scanner, a *miniship.Audit) error {
	return r.Scan(&a.ID, &a.AuthorizerAppID, &a.PlatformAppID, &a.VersionID, &a.Status, &a.Reason,
		&a.ScreenShot, rawJSON{&a.Request}, &a.SpedUp, &a.Released, (*nanos)(&a.SubmittedAt),
		(*nanos)(&a.DecidedAt))
}

// CreateAudit adds an audit; its version must exist (ErrNotFound).
func (t *tx) CreateAudit(a *miniship.Audit) (err error) {
	a.ID, err = t.insertID(`INSERT INTO audits (authorizer_appid, platform_appid, version_id,
		status, reason, screenshot, request, sped_up, released, submitted_at, decided_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.AuthorizerAppID, a.PlatformAppID, a.VersionID, a.Status, a.Reason, a.ScreenShot,
		rawJSON{&a.Request}, a.SpedUp, a.Released, nanos(a.SubmittedAt), nanos(a.DecidedAt))
	return err
}

func (t *tx) GetAudit(id int64) (*miniship.Audit, error) {
	return one(t, scanAudit, `SELECT `+auditCols+` FROM audits WHERE id = ?`, id)
}

func (t *tx) LatestAudit(authorizerAppID string) (*miniship.Audit, error) {
	return one(t, scanAudit, `SELECT `+auditCols+` FROM audits WHERE authorizer_appid = ?
		ORDER BY id DESC LIMIT 1`, authorizerAppID)
}

func (t *tx) UpdateAudit(a *miniship.Audit) error {
	return t.affect(miniship.ErrNotFound, `UPDATE audits SET authorizer_appid = ?,
		platform_appid = ?, version_id = ?, status = ?, reason = ?, screenshot = ?, request = ?,
		sped_up = ?, released = ?, submitted_at = ?, decided_at = ? WHERE id = ?`,
		a.AuthorizerAppID, a.PlatformAppID, a.VersionID, a.Status, a.Reason, a.ScreenShot,
		rawJSON{&a.Request}, a.SpedUp, a.Released, nanos(a.SubmittedAt), nanos(a.DecidedAt), a.ID)
}

func (t *tx) ListAudits(status miniship.AuditStatus, n int) ([]*miniship.Audit, error) {
	q, args := `SELECT `+auditCols+` FROM audits`, []any(nil)
	if status >= 0 {
		q, args = q+` WHERE status = ?`, append(args, status)
	}
	q, args = limit(q+` ORDER BY id`, args, n)
	return all(t, scanAudit, q, args...)
}

func (t *tx) AuditsDue(status miniship.AuditStatus, dueBy, halfDueBy time.Time, after int64, n int) ([]*miniship.Audit, error) {
	// The (status, id) index walks the status in id order; the clock test
	// filters there, so no row that is not due is read out.
	q, args := limit(`SELECT `+auditCols+` FROM audits WHERE status = ? AND id > ?
		AND CASE WHEN status = ? THEN decided_at ELSE submitted_at END <= CASE WHEN sped_up THEN CAST(? AS BIGINT) ELSE CAST(? AS BIGINT) END
		ORDER BY id`, []any{status, after, miniship.AuditDelayed, nanos(halfDueBy), nanos(dueBy)}, n)
	return all(t, scanAudit, q, args...)
}

// --- releases -------------------------------------------------------------

const releaseCols = `id, authorizer_appid, version_id, audit_id, user_version, user_desc,
	commit_time, released_at, reverted`

func scanRelease(r scanner, l *miniship.Release) error {
	return r.Scan(&l.ID, &l.AuthorizerAppID, &l.VersionID, &l.AuditID, &l.UserVersion, &l.UserDesc,
		(*nanos)(&l.CommitTime), (*nanos)(&l.ReleasedAt), &l.Reverted)
}

// CreateRelease adds a release; its version must exist (ErrNotFound).
func (t *tx) CreateRelease(l *miniship.Release) (err error) {
	l.ID, err = t.insertID(`INSERT INTO releases (authorizer_appid, version_id, audit_id,
		user_version, user_desc, commit_time, released_at, reverted)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		l.AuthorizerAppID, l.VersionID, l.AuditID, l.UserVersion, l.UserDesc,
		nanos(l.CommitTime), nanos(l.ReleasedAt), l.Reverted)
	return err
}

func (t *tx) UpdateRelease(l *miniship.Release) error {
	return t.affect(miniship.ErrNotFound, `UPDATE releases SET authorizer_appid = ?,
		version_id = ?, audit_id = ?, user_version = ?, user_desc = ?, commit_time = ?,
		released_at = ?, reverted = ? WHERE id = ?`,
		l.AuthorizerAppID, l.VersionID, l.AuditID, l.UserVersion, l.UserDesc,
		nanos(l.CommitTime), nanos(l.ReleasedAt), l.Reverted, l.ID)
}

func (t *tx) ListReleases(authorizerAppID string, n int) ([]*miniship.Release, error) {
	q, args := limit(`SELECT `+releaseCols+` FROM releases WHERE authorizer_appid = ?
		ORDER BY id DESC`, []any{authorizerAppID}, n)
	return all(t, scanRelease, q, args...)
}

// --- gray plans -----------------------------------------------------------

const grayPlanCols = `authorizer_appid, status, percentage, debuger_first, experiencer_first,
	audit_id, created_at`

func (t *tx) GetGrayPlan(authorizerAppID string) (*miniship.GrayPlan, error) {
	return one(t, func(r scanner, g *miniship.GrayPlan) error {
		return r.Scan(&g.AuthorizerAppID, &g.Status, &g.Percentage, &g.DebugerFirst,
			&g.ExperiencerFirst, &g.AuditID, (*nanos)(&g.CreatedAt))
	}, `SELECT `+grayPlanCols+` FROM gray_plans WHERE authorizer_appid = ?`, authorizerAppID)
}

// PutGrayPlan stores the mini program's plan, replacing its previous one.
func (t *tx) PutGrayPlan(g *miniship.GrayPlan) error {
	_, err := t.exec(`INSERT INTO gray_plans (`+grayPlanCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (authorizer_appid) DO UPDATE SET status = excluded.status,
		percentage = excluded.percentage, debuger_first = excluded.debuger_first,
		experiencer_first = excluded.experiencer_first, audit_id = excluded.audit_id,
		created_at = excluded.created_at`,
		g.AuthorizerAppID, g.Status, g.Percentage, g.DebugerFirst, g.ExperiencerFirst, g.AuditID,
		nanos(g.CreatedAt))
	return err
}
