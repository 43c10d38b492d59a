package sqlstore

import (
	"strings"

	"github.com/miniship/miniship"
)

// submitReadsSQL joins the latest version and audit by their ids' maximum
// (what LatestVersion's and LatestAudit's ORDER BY id DESC LIMIT 1 find, by
// the same index) to the platform, in both dialects.
var submitReadsSQL = `SELECT ` + qualify("v", versionCols) + `, ` + qualify("au", auditCols) + `, ` + qualify("p", platformCols) + `
	FROM platforms p
	JOIN versions v ON v.id = (SELECT MAX(id) FROM versions WHERE authorizer_appid = ?)
	JOIN audits au ON au.id = (SELECT MAX(id) FROM audits WHERE authorizer_appid = ?)
	WHERE p.appid = ?`

func (t *tx) SubmitReads(platformAppID, authorizerAppID string) (*miniship.SubmitState, error) {
	st := &miniship.SubmitState{Version: &miniship.Version{}, Audit: &miniship.Audit{}, Platform: &miniship.Platform{}}
	var d dests
	scanVersion(&d, st.Version)
	scanAudit(&d, st.Audit)
	scanPlatform(&d, st.Platform)
	if err := t.row(submitReadsSQL, []any{authorizerAppID, authorizerAppID, platformAppID}, d...); err != nil {
		return nil, err
	}
	return st, nil
}

// dests collects what scan functions would scan into, so that one row can
// fill the values of several.
type dests []any

func (d *dests) Scan(dest ...any) error {
	*d = append(*d, dest...)
	return nil
}

// qualify prefixes each column of a list with a table's alias.
func qualify(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
