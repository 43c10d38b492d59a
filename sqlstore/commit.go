package sqlstore

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/miniship/miniship"
)

// LockForCommit reads what a commit checks in one statement (one round
// trip on PostgreSQL), locking only the mini program's row: the grant and
// the template are read as they are committed, which is what a commit that
// waits for the lock must see. The JSON columns of the mini program are not
// decoded; the engine's grants are checked by grants_rev.
func (t *tx) LockForCommit(platformAppID, authorizerAppID string, templateID int64) (*miniship.CommitState, error) {
	q := `SELECT a.commit_until, a.grants_rev, ` + grantRead + `, t.deleted
		FROM authorizers a
		LEFT JOIN authorizations g ON g.platform_appid = ? AND g.authorizer_appid = a.appid
		LEFT JOIN templates t ON t.platform_appid = ? AND t.id = ?
		WHERE a.appid = ?`
	if t.write && t.d.forUpdate != "" {
		q += t.d.forUpdate + " OF a" // the nullable sides of the joins cannot be locked
	}
	st := &miniship.CommitState{}
	var g grantCols
	var deleted sql.NullBool
	err := t.row(q, []any{platformAppID, platformAppID, templateID, authorizerAppID},
		append(append([]any{(*nanos)(&st.CommitUntil), &st.GrantsRev}, g.dest()...), &deleted)...)
	if err != nil {
		return nil, err
	}
	if st.Authorization, err = g.authorization(platformAppID, authorizerAppID); err != nil {
		return nil, t.fail(q, err)
	}
	st.TemplateFound, st.TemplateDeleted = deleted.Valid, deleted.Bool
	return st, nil
}

// createVersionIfSQL inserts a version when the mini program, its grant and
// the template are as a CommitCheck has them. The permission test reads
// the grant's JSON list ("[1,18,25]", as jsonText writes it) as text, the
// one form both backends share: "[1,18,25]" made ",1,18,25," contains
// ",18,". The pattern is a CAST, not a bare parameter: SQLite re-prepares
// a statement whose LIKE pattern is a parameter each time it runs (its
// LIKE optimization), which cost more than the whole rest of the commit.
var createVersionIfSQL = func() string {
	casts := make([]string, len(versionTypes))
	for i, typ := range versionTypes {
		casts[i] = "CAST(? AS " + typ + ")"
	}
	return `INSERT INTO versions (` + versionInsert + `) SELECT ` + strings.Join(casts, ", ") + `
		WHERE EXISTS (SELECT 1 FROM authorizers a
			JOIN authorizations g ON g.platform_appid = ? AND g.authorizer_appid = a.appid
			JOIN templates t ON t.platform_appid = ? AND t.id = ?
			WHERE a.appid = ? AND a.commit_until = ? AND a.grants_rev = ? AND NOT t.deleted
			AND g.generation = ? AND g.created_at <= ? AND g.token_seq < ?
			AND replace(replace(g.permission_sets, '[', ','), ']', ',') LIKE CAST(? AS TEXT))
		RETURNING id`
}()

// permPattern is the LIKE pattern of a permission set (0: any).
func permPattern(perm int) string {
	if perm == 0 {
		return "%"
	}
	return "%," + strconv.Itoa(perm) + ",%"
}

// createVersionTrimSQL is createVersionIfSQL followed, in the same
// statement, by TrimVersions' (PostgreSQL, where a WITH may hold both).
// The DELETE sees the table as it was before the INSERT, so its window
// starts one place earlier; it deletes nothing when nothing was stored.
var createVersionTrimSQL = `WITH ins AS (` + createVersionIfSQL + `),
	trim AS (` + trimWhere(" AND EXISTS (SELECT 1 FROM ins)") + `)
	SELECT id FROM ins`

// CreateVersionIf trims the mini program's versions (c.KeepVersions) in
// its own statement on PostgreSQL, in a second one on SQLite, whose
// caller (Store.CreateVersionIf, a Tx in Update) has the transaction.
func (t *tx) CreateVersionIf(v *miniship.Version, c miniship.CommitCheck) (bool, error) {
	args := append(versionArgs(v), v.PlatformAppID, v.PlatformAppID, v.TemplateID, v.AuthorizerAppID,
		nanos(time.Time{}), c.GrantsRev, c.Generation, nanos(c.TokenCreatedAt), c.TokenSeqBelow, permPattern(c.Perm))
	q, trimAfter := createVersionIfSQL, c.KeepVersions > 0
	if trimAfter && t.d.name == "postgres" {
		q, trimAfter = createVersionTrimSQL, false
		args = append(args, v.AuthorizerAppID, trimWindow, c.KeepVersions-1)
	}
	id, err := t.insertID(q, args...)
	if errors.Is(err, miniship.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	v.ID = id
	if trimAfter {
		if _, err := t.TrimVersions(v.AuthorizerAppID, c.KeepVersions); err != nil {
			return false, err
		}
	}
	return true, nil
}

// grantCols are the grant's columns a read joins in (grantRead, the
// grant as g): NULL when the platform has no grant from the mini program.
type grantCols struct {
	perms                  sql.NullString
	gen, created, tokenSeq sql.NullInt64
}

const grantRead = `g.permission_sets, g.generation, g.created_at, g.token_seq`

func (g *grantCols) dest() []any { return []any{&g.perms, &g.gen, &g.created, &g.tokenSeq} }

// authorization is the grant read, or nil when there is none.
func (g *grantCols) authorization(platformAppID, authorizerAppID string) (*miniship.Authorization, error) {
	if !g.gen.Valid {
		return nil, nil
	}
	a := &miniship.Authorization{PlatformAppID: platformAppID, AuthorizerAppID: authorizerAppID,
		Generation: g.gen.Int64, TokenSeq: g.tokenSeq.Int64}
	if g.perms.Valid {
		if err := (intList{&a.PermissionSets}).Scan(g.perms.String); err != nil {
			return nil, err
		}
	}
	if err := (*nanos)(&a.CreatedAt).Scan(g.created.Int64); err != nil {
		return nil, err
	}
	return a, nil
}

func (t *tx) CategoriesWithGrant(platformAppID, authorizerAppID string) ([]miniship.Category, *miniship.Authorization, error) {
	if t.reads != nil && t.err == nil {
		return t.reads.categoriesWithGrant(t, platformAppID, authorizerAppID)
	}
	return t.categoriesWithGrant(platformAppID, authorizerAppID)
}

func (t *tx) categoriesWithGrant(platformAppID, authorizerAppID string) ([]miniship.Category, *miniship.Authorization, error) {
	q := `SELECT a.categories, ` + grantRead + ` FROM authorizers a
		LEFT JOIN authorizations g ON g.platform_appid = ? AND g.authorizer_appid = a.appid
		WHERE a.appid = ?`
	var cats []miniship.Category
	var g grantCols
	if err := t.row(q, []any{platformAppID, authorizerAppID}, append([]any{jsonText{&cats}}, g.dest()...)...); err != nil {
		return nil, nil, err
	}
	a, err := g.authorization(platformAppID, authorizerAppID)
	if err != nil {
		return nil, nil, t.fail(q, err)
	}
	return cats, a, nil
}

func (t *tx) AuditWithGrant(platformAppID, authorizerAppID string, auditID int64) (*miniship.Audit, *miniship.Authorization, error) {
	if t.reads != nil && t.err == nil {
		return t.reads.auditWithGrant(t, platformAppID, authorizerAppID, auditID)
	}
	return t.auditWithGrant(platformAppID, authorizerAppID, auditID)
}

func (t *tx) auditWithGrant(platformAppID, authorizerAppID string, auditID int64) (*miniship.Audit, *miniship.Authorization, error) {
	// Only what get_auditstatus shows: each column scanned costs as much
	// as the lookup itself.
	q := `SELECT au.status, au.reason, au.screenshot, ` + grantRead + `
		FROM audits au
		LEFT JOIN authorizations g ON g.platform_appid = ? AND g.authorizer_appid = au.authorizer_appid
		WHERE au.id = ? AND au.authorizer_appid = ?`
	au := &miniship.Audit{ID: auditID, AuthorizerAppID: authorizerAppID}
	var g grantCols
	if err := t.row(q, []any{platformAppID, auditID, authorizerAppID},
		append([]any{&au.Status, &au.Reason, &au.ScreenShot}, g.dest()...)...); err != nil {
		return nil, nil, err
	}
	a, err := g.authorization(platformAppID, authorizerAppID)
	if err != nil {
		return nil, nil, t.fail(q, err)
	}
	return au, a, nil
}
