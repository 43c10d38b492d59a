package sqlstore

import (
	"time"

	"github.com/miniship/miniship"
)

// DeleteMediaBefore deletes up to n uploads made before the time, oldest
// first (index media_created).
func (t *tx) DeleteMediaBefore(before time.Time, n int) (int64, error) {
	res, err := t.exec(`DELETE FROM media WHERE id IN (SELECT id FROM media WHERE created_at < ?
		ORDER BY created_at LIMIT ?)`, nanos(before), n)
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
