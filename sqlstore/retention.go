package sqlstore

import (
	"time"
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
