package sqlstore

import "github.com/miniship/miniship"

// --- privacy guides ---------------------------------------------------------

func (t *tx) PutPrivacySetting(p *miniship.PrivacySetting) error {
	_, err := t.exec(`INSERT INTO privacy_settings (authorizer_appid, ver, doc, updated_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (authorizer_appid, ver) DO UPDATE SET
		doc = excluded.doc, updated_at = excluded.updated_at`,
		p.AuthorizerAppID, p.Ver, rawJSON{&p.Doc}, nanos(p.UpdatedAt))
	return err
}

func (t *tx) GetPrivacySetting(appid string, ver int) (*miniship.PrivacySetting, error) {
	return one(t, func(r scanner, p *miniship.PrivacySetting) error {
		return r.Scan(&p.AuthorizerAppID, &p.Ver, rawJSON{&p.Doc}, (*nanos)(&p.UpdatedAt))
	}, `SELECT authorizer_appid, ver, doc, updated_at FROM privacy_settings
		WHERE authorizer_appid = ? AND ver = ?`, appid, ver)
}

// --- privacy-API applications -------------------------------------------------

const privacyAppCols = `id, authorizer_appid, platform_appid, api_name, status, content, url_list,
	pic_list, video_list, reason, applied_at, decided_at`

func scanPrivacyApp(r scanner, a *miniship.PrivacyApplication) error {
	return r.Scan(&a.ID, &a.AuthorizerAppID, &a.PlatformAppID, &a.APIName, &a.Status, &a.Content,
		jsonText{&a.URLList}, jsonText{&a.PicList}, jsonText{&a.VideoList}, &a.Reason,
		(*nanos)(&a.AppliedAt), (*nanos)(&a.DecidedAt))
}

func (t *tx) CreatePrivacyApplication(a *miniship.PrivacyApplication) (err error) {
	a.ID, err = t.insertID(`INSERT INTO privacy_applications (authorizer_appid, platform_appid,
		api_name, status, content, url_list, pic_list, video_list, reason, applied_at, decided_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.AuthorizerAppID, a.PlatformAppID, a.APIName, a.Status, a.Content, jsonText{a.URLList},
		jsonText{a.PicList}, jsonText{a.VideoList}, a.Reason, nanos(a.AppliedAt), nanos(a.DecidedAt))
	return err
}

func (t *tx) GetPrivacyApplication(id int64) (*miniship.PrivacyApplication, error) {
	return one(t, scanPrivacyApp, `SELECT `+privacyAppCols+` FROM privacy_applications WHERE id = ?`, id)
}

// UpdatePrivacyApplication writes the decision fields.
func (t *tx) UpdatePrivacyApplication(a *miniship.PrivacyApplication) error {
	return t.affect(miniship.ErrNotFound, `UPDATE privacy_applications SET status = ?, reason = ?,
		decided_at = ? WHERE id = ?`, a.Status, a.Reason, nanos(a.DecidedAt), a.ID)
}

func (t *tx) DeletePrivacyApplication(id int64) error {
	return t.affect(miniship.ErrNotFound, `DELETE FROM privacy_applications WHERE id = ?`, id)
}

func (t *tx) ListPrivacyApplications(appid string, status, n int) ([]*miniship.PrivacyApplication, error) {
	q, args := limit(`SELECT `+privacyAppCols+` FROM privacy_applications
		WHERE (? = '' OR authorizer_appid = ?) AND (? = 0 OR status = ?) ORDER BY id`,
		[]any{appid, appid, status, status}, n)
	return all(t, scanPrivacyApp, q, args...)
}

// --- category applications ----------------------------------------------------

const categoryAppCols = `authorizer_appid, first_id, second_id, platform_appid, status, reason,
	certificates, applied_at, decided_at`

func scanCategoryApp(r scanner, c *miniship.CategoryApplication) error {
	return r.Scan(&c.AuthorizerAppID, &c.First, &c.Second, &c.PlatformAppID, &c.Status, &c.Reason,
		jsonText{&c.Certificates}, (*nanos)(&c.AppliedAt), (*nanos)(&c.DecidedAt))
}

func (t *tx) PutCategoryApplication(c *miniship.CategoryApplication) error {
	_, err := t.exec(`INSERT INTO category_applications (`+categoryAppCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (authorizer_appid, first_id, second_id) DO UPDATE SET
		platform_appid = excluded.platform_appid, status = excluded.status, reason = excluded.reason,
		certificates = excluded.certificates, applied_at = excluded.applied_at, decided_at = excluded.decided_at`,
		c.AuthorizerAppID, c.First, c.Second, c.PlatformAppID, c.Status, c.Reason, jsonText{c.Certificates},
		nanos(c.AppliedAt), nanos(c.DecidedAt))
	return err
}

func (t *tx) GetCategoryApplication(appid string, first, second int64) (*miniship.CategoryApplication, error) {
	return one(t, scanCategoryApp, `SELECT `+categoryAppCols+` FROM category_applications
		WHERE authorizer_appid = ? AND first_id = ? AND second_id = ?`, appid, first, second)
}

func (t *tx) DeleteCategoryApplication(appid string, first, second int64) error {
	return t.affect(miniship.ErrNotFound, `DELETE FROM category_applications
		WHERE authorizer_appid = ? AND first_id = ? AND second_id = ?`, appid, first, second)
}

func (t *tx) ListCategoryApplications(appid string, status, n int) ([]*miniship.CategoryApplication, error) {
	q, args := limit(`SELECT `+categoryAppCols+` FROM category_applications
		WHERE (? = '' OR authorizer_appid = ?) AND (? = 0 OR status = ?)
		ORDER BY applied_at, authorizer_appid, first_id, second_id`,
		[]any{appid, appid, status, status}, n)
	return all(t, scanCategoryApp, q, args...)
}

// --- plugin applications ------------------------------------------------------

const pluginAppCols = `authorizer_appid, plugin_appid, platform_appid, status, apply_reason,
	refuse_reason, user_version, applied_at, decided_at`

func scanPluginApp(r scanner, p *miniship.PluginApplication) error {
	return r.Scan(&p.AuthorizerAppID, &p.PluginAppID, &p.PlatformAppID, &p.Status, &p.ApplyReason,
		&p.RefuseReason, &p.UserVersion, (*nanos)(&p.AppliedAt), (*nanos)(&p.DecidedAt))
}

func (t *tx) PutPluginApplication(p *miniship.PluginApplication) error {
	_, err := t.exec(`INSERT INTO plugin_applications (`+pluginAppCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (authorizer_appid, plugin_appid) DO UPDATE SET
		platform_appid = excluded.platform_appid, status = excluded.status,
		apply_reason = excluded.apply_reason, refuse_reason = excluded.refuse_reason,
		user_version = excluded.user_version, applied_at = excluded.applied_at,
		decided_at = excluded.decided_at`,
		p.AuthorizerAppID, p.PluginAppID, p.PlatformAppID, p.Status, p.ApplyReason, p.RefuseReason,
		p.UserVersion, nanos(p.AppliedAt), nanos(p.DecidedAt))
	return err
}

func (t *tx) GetPluginApplication(appid, plugin string) (*miniship.PluginApplication, error) {
	return one(t, scanPluginApp, `SELECT `+pluginAppCols+` FROM plugin_applications
		WHERE authorizer_appid = ? AND plugin_appid = ?`, appid, plugin)
}

func (t *tx) DeletePluginApplication(appid, plugin string) error {
	return t.affect(miniship.ErrNotFound, `DELETE FROM plugin_applications
		WHERE authorizer_appid = ? AND plugin_appid = ?`, appid, plugin)
}

func (t *tx) ListPluginApplications(appid, plugin string, status, n int) ([]*miniship.PluginApplication, error) {
	q, args := limit(`SELECT `+pluginAppCols+` FROM plugin_applications
		WHERE (? = '' OR authorizer_appid = ?) AND (? = '' OR plugin_appid = ?) AND (? = 0 OR status = ?)
		ORDER BY applied_at, authorizer_appid, plugin_appid`,
		[]any{appid, appid, plugin, plugin, status, status}, n)
	return all(t, scanPluginApp, q, args...)
}
