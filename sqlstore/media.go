package sqlstore

import (
	"strings"
	"time"

	"github.com/miniship/miniship"
)

// DeleteMediaBefore deletes up to n expiring uploads made before the time,
// oldest first (the partial index media_expiring, whose condition the
// query repeats as written so that both databases use it).
func (t *tx) DeleteMediaBefore(before time.Time, n int) (int64, error) {
	res, err := t.exec(`DELETE FROM media WHERE id IN (SELECT id FROM media
		WHERE type <> '`+miniship.MediaPrivacyExt+`' AND created_at < ? ORDER BY created_at LIMIT ?)`, nanos(before), n)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// MediaInfo reads an upload's row without its bytes.
func (t *tx) MediaInfo(id string) (*miniship.Media, error) {
	return one(t, func(r scanner, m *miniship.Media) error {
		return r.Scan(&m.ID, &m.AuthorizerAppID, &m.Type, (*nanos)(&m.CreatedAt))
	}, `SELECT id, authorizer_appid, type, created_at FROM media WHERE id = ?`, id)
}

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
