package miniship

import "time"

// RetentionTx deletes what has outlived its use, in batches of at most
// limit rows so that no sweep holds the writer long.
type RetentionTx interface {
	// DeleteMediaBefore deletes uploads made before the time, bytes and
	// all, and returns how many it deleted.
	DeleteMediaBefore(before time.Time, limit int) (int64, error)
}
