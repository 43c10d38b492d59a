package sqlstore

import "github.com/miniship/miniship"

// --- authorizers ----------------------------------------------------------

const authorizerCols = `appid, nickname, original_id, profile_complete, categories, privacy_apis,
	plugins, visit_status, support_version, commit_until, created_at, secret`

// authorizerRead adds the column the store maintains itself.
const authorizerRead = authorizerCols + `, grants_rev`

func scanAuthorizer(r scanner, a *miniship.Authorizer) error {
	return r.Scan(&a.AppID, &a.Nickname, &a.OriginalID, &a.ProfileComplete, jsonText{&a.Categories},
		jsonText{&a.PrivacyAPIs}, jsonText{&a.Plugins}, &a.VisitStatus, &a.SupportVersion,
		(*nanos)(&a.CommitUntil), (*nanos)(&a.CreatedAt), &a.Secret, &a.GrantsRev)
}

func (t *tx) CreateAuthorizer(a *miniship.Authorizer) error {
	return t.affect(miniship.ErrConflict, `INSERT INTO authorizers (`+authorizerCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		a.AppID, a.Nickname, a.OriginalID, a.ProfileComplete, jsonText{a.Categories},
		jsonText{a.PrivacyAPIs}, jsonText{a.Plugins}, a.VisitStatus, a.SupportVersion,
		nanos(a.CommitUntil), nanos(a.CreatedAt), a.Secret)
}

func (t *tx) GetAuthorizer(appid string) (*miniship.Authorizer, error) {
	return one(t, scanAuthorizer, `SELECT `+authorizerRead+` FROM authorizers WHERE appid = ?`, appid)
}

// LockAuthorizer reads the mini program and, inside Update on PostgreSQL,
// locks its row until the transaction ends: a second LockAuthorizer of the
// same mini program, from any process, waits. On SQLite the writer's
// IMMEDIATE transaction has locked the whole database already. In View it
// is a plain read.
func (t *tx) LockAuthorizer(appid string) (*miniship.Authorizer, error) {
	q := `SELECT ` + authorizerRead + ` FROM authorizers WHERE appid = ?`
	if t.write {
		q += t.d.forUpdate
	}
	return one(t, scanAuthorizer, q, appid)
}

func (t *tx) ListAuthorizers() ([]*miniship.Authorizer, error) {
	return all(t, scanAuthorizer, `SELECT `+authorizerRead+` FROM authorizers ORDER BY appid`)
}

// UpdateAuthorizer writes the mini program; grants_rev moves when its
// privacy-API or plugin grants change (compared before the SET applies).
func (t *tx) UpdateAuthorizer(a *miniship.Authorizer) error {
	return t.affect(miniship.ErrNotFound, `UPDATE authorizers SET nickname = ?, original_id = ?,
		profile_complete = ?, categories = ?, privacy_apis = ?, plugins = ?, visit_status = ?,
		support_version = ?, commit_until = ?, secret = ?,
		grants_rev = grants_rev + CASE WHEN COALESCE(privacy_apis, '') = COALESCE(?, '')
			AND COALESCE(plugins, '') = COALESCE(?, '') THEN 0 ELSE 1 END
		WHERE appid = ?`,
		a.Nickname, a.OriginalID, a.ProfileComplete, jsonText{a.Categories}, jsonText{a.PrivacyAPIs},
		jsonText{a.Plugins}, a.VisitStatus, a.SupportVersion, nanos(a.CommitUntil), a.Secret,
		jsonText{a.PrivacyAPIs}, jsonText{a.Plugins}, a.AppID)
}

// --- authorizations -------------------------------------------------------

const authorizationInsert = `platform_appid, authorizer_appid, permission_sets, refresh_token,
	created_at, updated_at, generation`

// authorizationCols adds the column the store maintains itself.
const authorizationCols = authorizationInsert + `, token_seq`

func scanAuthorization(r scanner, a *miniship.Authorization) error {
	return r.Scan(&a.PlatformAppID, &a.AuthorizerAppID, intList{&a.PermissionSets}, &a.RefreshToken,
		(*nanos)(&a.CreatedAt), (*nanos)(&a.UpdatedAt), &a.Generation, &a.TokenSeq)
}

// PutAuthorization stores the grant, replacing the pair's previous one but
// keeping its CreatedAt and Generation. The platform and the authorizer
// must exist (ErrNotFound otherwise). Generation 0 takes the pair's next
// generation from grant_generations, which outlives revokes; either way
// a.Generation ends as the stored one.
func (t *tx) PutAuthorization(a *miniship.Authorization) error {
	gen := a.Generation
	if gen == 0 {
		if err := t.row(`INSERT INTO grant_generations (platform_appid, authorizer_appid, generation)
			VALUES (?, ?, 1) ON CONFLICT (platform_appid, authorizer_appid)
			DO UPDATE SET generation = grant_generations.generation + 1 RETURNING generation`,
			[]any{a.PlatformAppID, a.AuthorizerAppID}, &gen); err != nil {
			return err
		}
	}
	err := t.row(`INSERT INTO authorizations (`+authorizationInsert+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (platform_appid, authorizer_appid) DO UPDATE SET
		permission_sets = excluded.permission_sets, refresh_token = excluded.refresh_token,
		updated_at = excluded.updated_at RETURNING generation`,
		[]any{a.PlatformAppID, a.AuthorizerAppID, jsonText{a.PermissionSets}, a.RefreshToken,
			nanos(a.CreatedAt), nanos(a.UpdatedAt), gen}, &a.Generation)
	return err
}

func (t *tx) GetAuthorization(platformAppID, authorizerAppID string) (*miniship.Authorization, error) {
	return one(t, scanAuthorization, `SELECT `+authorizationCols+` FROM authorizations
		WHERE platform_appid = ? AND authorizer_appid = ?`, platformAppID, authorizerAppID)
}

// ListAuthorizations lists the platform's grants, oldest first.
func (t *tx) ListAuthorizations(platformAppID string) ([]*miniship.Authorization, error) {
	return all(t, scanAuthorization, `SELECT `+authorizationCols+` FROM authorizations
		WHERE platform_appid = ? ORDER BY created_at, authorizer_appid`, platformAppID)
}

func (t *tx) DeleteAuthorization(platformAppID, authorizerAppID string) error {
	return t.affect(miniship.ErrNotFound, `DELETE FROM authorizations
		WHERE platform_appid = ? AND authorizer_appid = ?`, platformAppID, authorizerAppID)
}
