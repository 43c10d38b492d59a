package sqlstore

import (
	"time"

	"github.com/miniship/miniship"
)

// DuePlatforms lists the platforms with due pending events, the one whose
// oldest due event waits longest first, so that a platform with a long
// backlog cannot keep others out of a claim.
func (t *tx) DuePlatforms(now time.Time, n int) ([]string, error) {
	q, args := limit(`SELECT platform_appid FROM events
		WHERE status = '`+miniship.EventPending+`' AND next_attempt_at <= ?
		GROUP BY platform_appid ORDER BY MIN(next_attempt_at), platform_appid`, []any{nanos(now)}, n)
	ps, err := all(t, func(r scanner, p *string) error { return r.Scan(p) }, q, args...)
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out, err
}

// DuePlatformEvents is DueEvents for one platform.
func (t *tx) DuePlatformEvents(platformAppID string, now time.Time, n int) ([]*miniship.Event, error) {
	q, args := limit(`SELECT `+eventCols+` FROM events
		WHERE status = '`+miniship.EventPending+`' AND platform_appid = ? AND next_attempt_at <= ?
		ORDER BY next_attempt_at, id`, []any{platformAppID, nanos(now)}, n)
	if t.write {
		q += t.d.skipLocked
	}
	return all(t, scanEvent, q, args...)
}

// IncrementEventAttempts counts an attempt in one statement: two
// deliverers whose leases overlapped each add theirs, where writing back a
// count read before the attempt lost one of them.
func (t *tx) IncrementEventAttempts(id int64) (attempts int, status string, err error) {
	err = t.row(`UPDATE events SET attempts = attempts + 1 WHERE id = ? RETURNING attempts, status`,
		[]any{id}, &attempts, &status)
	return attempts, status, err
}
