package sqlstore

import (
	"errors"
	"strings"
	"time"

	"github.com/miniship/miniship"
)

// --- domains, testers, authorizer options (issue 9, part A) ----------------

func (t *tx) GetAuthorizerDomains(appid string) (*miniship.AuthorizerDomains, error) {
	return one(t, func(r scanner, d *miniship.AuthorizerDomains) error {
		return r.Scan(&d.AuthorizerAppID, jsonText{d}, (*nanos)(&d.UpdatedAt))
	}, `SELECT appid, state, updated_at FROM authorizer_domains WHERE appid = ?`, appid)
}

func (t *tx) PutAuthorizerDomains(d *miniship.AuthorizerDomains) error {
	_, err := t.exec(`INSERT INTO authorizer_domains (appid, state, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (appid) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
		d.AuthorizerAppID, jsonText{d}, nanos(d.UpdatedAt))
	return err
}

func (t *tx) GetPlatformDomains(appid string) (*miniship.PlatformDomains, error) {
	return one(t, func(r scanner, d *miniship.PlatformDomains) error {
		return r.Scan(&d.PlatformAppID, jsonText{d}, (*nanos)(&d.UpdatedAt))
	}, `SELECT appid, state, updated_at FROM platform_domains WHERE appid = ?`, appid)
}

func (t *tx) PutPlatformDomains(d *miniship.PlatformDomains) error {
	_, err := t.exec(`INSERT INTO platform_domains (appid, state, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (appid) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
		d.PlatformAppID, jsonText{d}, nanos(d.UpdatedAt))
	return err
}

const testerCols = `authorizer_appid, userstr, wechat_id, created_at`

func scanTester(r scanner, v *miniship.Tester) error {
	return r.Scan(&v.AuthorizerAppID, &v.UserStr, &v.WechatID, (*nanos)(&v.CreatedAt))
}

func (t *tx) AddTester(v *miniship.Tester) error {
	return t.affect(miniship.ErrConflict, `INSERT INTO testers (`+testerCols+`) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, v.AuthorizerAppID, v.UserStr, v.WechatID, nanos(v.CreatedAt))
}

func (t *tx) DeleteTester(authorizerAppID, userStr string) error {
	return t.affect(miniship.ErrNotFound, `DELETE FROM testers WHERE authorizer_appid = ? AND userstr = ?`,
		authorizerAppID, userStr)
}

func (t *tx) ListTesters(authorizerAppID string) ([]*miniship.Tester, error) {
	return all(t, scanTester, `SELECT `+testerCols+` FROM testers WHERE authorizer_appid = ?
		ORDER BY created_at, userstr`, authorizerAppID)
}

func (t *tx) CountTesterBindings(userStr string) (int, error) {
	var n int
	err := t.row(`SELECT COUNT(*) FROM testers WHERE userstr = ?`, []any{userStr}, &n)
	return n, err
}

func (t *tx) CountTesters(authorizerAppID string) (int, error) {
	var n int
	err := t.row(`SELECT COUNT(*) FROM testers WHERE authorizer_appid = ?`, []any{authorizerAppID}, &n)
	return n, err
}

// PageAuthorizations skips the offset inside the (platform_appid,
// created_at, authorizer_appid) index, which covers the inner query, and
// reads only the page's rows: selecting every column with OFFSET would
// read each skipped row too (BenchmarkAuthorizerList). CROSS JOIN keeps the
// page outermost on SQLite, whose planner has no statistics to see that.
func (t *tx) PageAuthorizations(platformAppID string, offset, n int) ([]*miniship.Authorization, error) {
	return all(t, scanAuthorization, `SELECT `+prefixCols("a.", authorizationCols)+`
		FROM (SELECT authorizer_appid FROM authorizations WHERE platform_appid = ?
			ORDER BY created_at, authorizer_appid LIMIT ? OFFSET ?) k
		CROSS JOIN authorizations a WHERE a.platform_appid = ? AND a.authorizer_appid = k.authorizer_appid
		ORDER BY a.created_at, a.authorizer_appid`,
		platformAppID, n, offset, platformAppID)
}

// PageAuthorizationsFrom seeks to the key in the (platform_appid,
// created_at, authorizer_appid) index and reads the page from there.
func (t *tx) PageAuthorizationsFrom(platformAppID string, afterCreated time.Time, afterAppID string, n int) ([]*miniship.Authorization, error) {
	return all(t, scanAuthorization, `SELECT `+authorizationCols+` FROM authorizations
		WHERE platform_appid = ? AND created_at >= ? AND (created_at > ? OR authorizer_appid > ?)
		ORDER BY created_at, authorizer_appid LIMIT ?`,
		platformAppID, nanos(afterCreated), nanos(afterCreated), afterAppID, n)
}

// ListAuthorizationsAfter seeks in the primary key (platform_appid,
// authorizer_appid) and reads the page's rows only.
func (t *tx) ListAuthorizationsAfter(platformAppID, afterAppID string, n int) ([]*miniship.Authorization, error) {
	return all(t, scanAuthorization, `SELECT `+authorizationCols+` FROM authorizations
		WHERE platform_appid = ? AND authorizer_appid > ? ORDER BY authorizer_appid LIMIT ?`,
		platformAppID, afterAppID, n)
}

// prefixCols qualifies a column list with a table alias.
func prefixCols(alias, cols string) string {
	fields := strings.Split(cols, ",")
	for i, f := range fields {
		fields[i] = alias + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

// CountAuthorizations reads the count the triggers of migration 00070 keep
// in the grants' own transactions: one row, however many grants.
func (t *tx) CountAuthorizations(platformAppID string) (int, error) {
	n, _, err := t.CountAuthorizationsRev(platformAppID)
	return n, err
}

// CountAuthorizationsRev reads the count and the order's revision
// (migration 00070) in one statement.
func (t *tx) CountAuthorizationsRev(platformAppID string) (int, int64, error) {
	var n int
	var rev int64
	err := t.row(`SELECT n, rev FROM authorization_counts WHERE platform_appid = ?`, []any{platformAppID}, &n, &rev)
	if errors.Is(err, miniship.ErrNotFound) {
		return 0, 0, nil // never granted
	}
	return n, rev, err
}

func (t *tx) GetAuthorizerOption(authorizerAppID, name string) (string, error) {
	var v string
	err := t.row(`SELECT value FROM authorizer_options WHERE authorizer_appid = ? AND name = ?`,
		[]any{authorizerAppID, name}, &v)
	return v, err
}

func (t *tx) PutAuthorizerOption(authorizerAppID, name, value string) error {
	_, err := t.exec(`INSERT INTO authorizer_options (authorizer_appid, name, value) VALUES (?, ?, ?)
		ON CONFLICT (authorizer_appid, name) DO UPDATE SET value = excluded.value`,
		authorizerAppID, name, value)
	return err
}

// DeleteCounters compares the leading characters exactly: LIKE is
// case-insensitive on SQLite, and a range under a PostgreSQL collation
// other than C may skip punctuation. Resets are rare (10 a month).
func (t *tx) DeleteCounters(prefix string) (int64, error) {
	res, err := t.exec(`DELETE FROM counters WHERE substr(name, 1, ?) = ?`, len([]rune(prefix)), prefix)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, t.fail("DELETE FROM counters", err)
	}
	return n, nil
}
