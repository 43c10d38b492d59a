package sqlstore

import "strings"

// PruneMedia keeps the newest uploads (created_at, then id) and the
// excepted ones. The query text depends only on len(except), so the
// statement cache holds a few variants at most.
func (t *tx) PruneMedia(appid, typ string, keep int, except ...string) (int64, error) {
	q := `DELETE FROM media WHERE authorizer_appid = ? AND type = ? AND id NOT IN (
		SELECT id FROM media WHERE authorizer_appid = ? AND type = ? ORDER BY created_at DESC, id DESC LIMIT ?)`
	args := []any{appid, typ, appid, typ, keep}
	if len(except) > 0 {
		q += ` AND id NOT IN (?` + strings.Repeat(`, ?`, len(except)-1) + `)`
		for _, id := range except {
			args = append(args, id)
		}
	}
	res, err := t.exec(q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, t.fail("DELETE FROM media", err)
	}
	return n, nil
}
