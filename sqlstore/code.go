package sqlstore

import (
	"time"

	"github.com/miniship/miniship"
)

// --- drafts ---------------------------------------------------------------

const draftCols = `id, platform_appid, user_version, user_desc, source_appid, source_name,
	developer, created_at`

func scanDraft(r scanner, d *miniship.Draft) error {
	return r.Scan(&d.ID, &d.PlatformAppID, &d.UserVersion, &d.UserDesc, &d.SourceAppID,
		&d.SourceName, &d.Developer, (*nanos)(&d.CreatedAt))
}

func (t *tx) CreateDraft(d *miniship.Draft) (err error) {
	d.ID, err = t.insertID(`INSERT INTO drafts (platform_appid, user_version, user_desc,
		source_appid, source_name, developer, package, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		d.PlatformAppID, d.UserVersion, d.UserDesc, d.SourceAppID, d.SourceName, d.Developer,
		blob{&d.Package}, nanos(d.CreatedAt))
	return err
}

func (t *tx) GetDraft(platformAppID string, id int64) (*miniship.Draft, error) {
	return one(t, func(r scanner, d *miniship.Draft) error {
		return r.Scan(&d.ID, &d.PlatformAppID, &d.UserVersion, &d.UserDesc, &d.SourceAppID,
			&d.SourceName, &d.Developer, (*nanos)(&d.CreatedAt), blob{&d.Package})
	}, `SELECT `+draftCols+`, package FROM drafts WHERE platform_appid = ? AND id = ?`, platformAppID, id)
}

// ListDrafts lists the platform's drafts, oldest first, without their
// packages (Package is nil): a draft box holds up to a hundred uploads of
// megabytes each, and listings never need the code. GetDraft loads it.
func (t *tx) ListDrafts(platformAppID string) ([]*miniship.Draft, error) {
	return all(t, scanDraft, `SELECT `+draftCols+` FROM drafts WHERE platform_appid = ? ORDER BY id`,
		platformAppID)
}

// --- templates ------------------------------------------------------------

const templateCols = `id, platform_appid, draft_id, type, user_version, user_desc, source_appid,
	source_name, developer, created_at, deleted`

func scanTemplate(r scanner, m *miniship.Template) error {
	return r.Scan(&m.ID, &m.PlatformAppID, &m.DraftID, &m.Type, &m.UserVersion, &m.UserDesc,
		&m.SourceAppID, &m.SourceName, &m.Developer, (*nanos)(&m.CreatedAt), &m.Deleted)
}

// CreateTemplate adds a template; its draft must exist (ErrNotFound).
func (t *tx) CreateTemplate(m *miniship.Template) (err error) {
	m.ID, err = t.insertID(`INSERT INTO templates (platform_appid, draft_id, type, user_version,
		user_desc, source_appid, source_name, developer, created_at, deleted)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.PlatformAppID, m.DraftID, m.Type, m.UserVersion, m.UserDesc, m.SourceAppID,
		m.SourceName, m.Developer, nanos(m.CreatedAt), m.Deleted)
	return err
}

// GetTemplate returns the template, deleted or not (see Deleted).
func (t *tx) GetTemplate(platformAppID string, id int64) (*miniship.Template, error) {
	return one(t, scanTemplate, `SELECT `+templateCols+` FROM templates
		WHERE platform_appid = ? AND id = ?`, platformAppID, id)
}

// ListTemplates lists the platform's live templates of a type (every type
// when typ < 0), oldest first.
func (t *tx) ListTemplates(platformAppID string, typ int) ([]*miniship.Template, error) {
	q, args := `SELECT `+templateCols+` FROM templates WHERE platform_appid = ? AND NOT deleted`,
		[]any{platformAppID}
	if typ >= 0 {
		q, args = q+` AND type = ?`, append(args, typ)
	}
	return all(t, scanTemplate, q+` ORDER BY id`, args...)
}

// DeleteTemplate marks a live template deleted (versions keep referring to
// it); ErrNotFound when there is no such template or it is deleted already.
func (t *tx) DeleteTemplate(platformAppID string, id int64, at time.Time) error {
	return t.affect(miniship.ErrNotFound, `UPDATE templates SET deleted = TRUE, deleted_at = ?
		WHERE platform_appid = ? AND id = ? AND NOT deleted`, nanos(at), platformAppID, id)
}
