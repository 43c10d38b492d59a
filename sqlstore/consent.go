package sqlstore

import (
	"time"

	"github.com/miniship/miniship"
)

// --- grants across platforms (permission-set exclusivity) ------------------

// ListGrants lists every platform's authorization of the mini program,
// oldest first (index authorizations_authorizer).
func (t *tx) ListGrants(authorizerAppID string) ([]*miniship.Authorization, error) {
	return all(t, scanAuthorization, `SELECT `+authorizationCols+` FROM authorizations
		WHERE authorizer_appid = ? ORDER BY created_at, platform_appid`, authorizerAppID)
}

// --- the manual clock -----------------------------------------------------

func (t *tx) GetClock() (time.Time, error) {
	var now time.Time
	err := t.row(`SELECT now FROM manual_clock WHERE id = 1`, nil, (*nanos)(&now))
	return now, err
}

// PutClock stores the position; it never moves the stored one backwards,
// so instances advancing concurrently keep the furthest.
func (t *tx) PutClock(now time.Time) error {
	_, err := t.exec(`INSERT INTO manual_clock (id, now) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET now = CASE WHEN excluded.now > manual_clock.now
		THEN excluded.now ELSE manual_clock.now END`, nanos(now))
	return err
}
