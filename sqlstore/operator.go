package sqlstore

import (
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/miniship/miniship"
)

// --- operator listings ------------------------------------------------------

// bytewise names a text column compared byte by byte, so that a prefix is
// one contiguous range on both backends (SQLite's BINARY is bytewise
// already; PostgreSQL's database collation may not be).
func (t *tx) bytewise(col string) string {
	if t.d.name == "postgres" {
		return col + ` COLLATE "C"`
	}
	return col
}

// prefixEnd is the least string above every string starting with p: the
// open upper bound of p's range. (U+10FFFF is the highest code point, so
// every string with the prefix p sorts below p followed by it twice.)
func prefixEnd(p string) string { return p + "\U0010FFFF\U0010FFFF" }

// SearchAuthorizers runs two index range scans, appid prefix and nickname
// prefix, each limited, and merges them: an OR of the two would make the
// planners scan the whole table in appid order.
func (t *tx) SearchAuthorizers(prefix, after string, n int) ([]*miniship.Authorizer, error) {
	appid := t.bytewise("appid")
	if prefix == "" {
		q, args := limit(`SELECT `+authorizerRead+` FROM authorizers WHERE `+appid+` > ? ORDER BY `+appid,
			[]any{after}, n)
		return all(t, scanAuthorizer, q, args...)
	}
	q, args := limit(`SELECT `+authorizerRead+` FROM authorizers WHERE `+appid+` > ? AND `+appid+` >= ?
		AND `+appid+` < ? ORDER BY `+appid, []any{after, prefix, prefixEnd(prefix)}, n)
	byID, err := all(t, scanAuthorizer, q, args...)
	if err != nil {
		return nil, err
	}
	// Nickname matches are few in practice; they are read in nickname
	// order from the index and sorted here.
	nick := t.bytewise("nickname")
	byNick, err := all(t, scanAuthorizer, `SELECT `+authorizerRead+` FROM authorizers WHERE `+nick+` >= ?
		AND `+nick+` < ? AND `+appid+` > ? ORDER BY `+nick+`, `+appid+` LIMIT 1000`,
		prefix, prefixEnd(prefix), after)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []*miniship.Authorizer
	for _, a := range append(byID, byNick...) {
		if !seen[a.AppID] {
			seen[a.AppID] = true
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *miniship.Authorizer) int {
		switch {
		case a.AppID < b.AppID:
			return -1
		case a.AppID > b.AppID:
			return 1
		}
		return 0
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// ListVersions reads the versions_authorizer index backwards from before.
func (t *tx) ListVersions(authorizerAppID string, before int64, n int) ([]*miniship.Version, error) {
	q, args := `SELECT `+versionCols+` FROM versions WHERE authorizer_appid = ?`, []any{authorizerAppID}
	if before > 0 {
		q, args = q+` AND id < ?`, append(args, before)
	}
	q, args = limit(q+` ORDER BY id DESC`, args, n)
	return all(t, scanVersion, q, args...)
}

func (t *tx) GetEvent(id int64) (*miniship.Event, error) {
	return one(t, scanEvent, `SELECT `+eventCols+` FROM events WHERE id = ?`, id)
}

// RequeueEvent changes only a failed event, in one statement, so two
// operators pressing Resend at once queue one delivery, not two.
func (t *tx) RequeueEvent(id int64, next time.Time) error {
	err := t.affect(miniship.ErrNotFound, `UPDATE events SET status = '`+miniship.EventPending+`',
		attempts = 0, next_attempt_at = ? WHERE id = ? AND status = '`+miniship.EventFailed+`'`,
		nanos(next), id)
	if err != miniship.ErrNotFound {
		return err
	}
	var status string
	if err := t.row(`SELECT status FROM events WHERE id = ?`, []any{id}, &status); err != nil {
		return err
	}
	return fmt.Errorf("sqlstore: event %d is %s, not failed: %w", id, status, miniship.ErrConflict)
}

// Pools names the connection pools, for their metrics: "writer" and
// "reader" on SQLite, one "pool" on PostgreSQL where both are the same.
func (s *Store) Pools() map[string]*sql.DB {
	if s.writer == s.reader {
		return map[string]*sql.DB{"pool": s.writer}
	}
	return map[string]*sql.DB{"writer": s.writer, "reader": s.reader}
}

// CountEvents counts the outbox's events with the status: pending ones
// by adding up event_queues (a row per platform, however long the
// backlogs), failed ones through the events_failed index. The status is a
// literal in the query so that the partial index applies.
func (t *tx) CountEvents(status string) (int, error) {
	q := `SELECT COUNT(*) FROM events WHERE status = '` + status + `'`
	switch status {
	case miniship.EventPending:
		q = `SELECT CAST(COALESCE(SUM(pending), 0) AS BIGINT) FROM event_queues`
	case miniship.EventFailed, miniship.EventDelivered:
	default:
		return 0, fmt.Errorf("sqlstore: no event status %q", status)
	}
	var n int
	err := t.row(q, nil, &n)
	return n, err
}
