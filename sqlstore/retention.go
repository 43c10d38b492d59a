package sqlstore

import (
	"math"
	"time"

	"github.com/miniship/miniship"
)

// The prunes delete by id from a bounded subquery, which SQLite and
// PostgreSQL both run; each keeps what the API can still return.

func (t *tx) deleted(q string, args ...any) (int64, error) {
	res, err := t.exec(q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t *tx) PruneReleases(before time.Time, keep, n int) (int64, error) {
	return t.deleted(`DELETE FROM releases WHERE id IN (SELECT r.id FROM releases r
		WHERE r.released_at < ? AND (SELECT COUNT(*) FROM releases r2
			WHERE r2.authorizer_appid = r.authorizer_appid AND r2.id > r.id) >= ?
		ORDER BY r.id LIMIT ?)`, nanos(before), keep, n)
}

func (t *tx) PruneAudits(before time.Time, n int) (int64, error) {
	return t.deleted(`DELETE FROM audits WHERE id IN (SELECT a.id FROM audits a
		WHERE a.submitted_at < ? AND a.status NOT IN (?, ?)
		AND a.id < (SELECT MAX(a2.id) FROM audits a2 WHERE a2.authorizer_appid = a.authorizer_appid)
		AND NOT EXISTS (SELECT 1 FROM releases r WHERE r.audit_id = a.id)
		AND NOT EXISTS (SELECT 1 FROM gray_plans g WHERE g.audit_id = a.id)
		ORDER BY a.id LIMIT ?)`, nanos(before), int(miniship.AuditPending), int(miniship.AuditDelayed), n)
}

// unnamed holds for a version (as v) that no audit or release names.
const unnamed = `NOT EXISTS (SELECT 1 FROM audits a WHERE a.version_id = v.id)
	AND NOT EXISTS (SELECT 1 FROM releases r WHERE r.version_id = v.id)`

// PruneVersions finds, for each version, the one keep places newer than
// its mini program's newest along versions_authorizer: keep entries to
// walk, not a count of all the newer ones.
func (t *tx) PruneVersions(before time.Time, keep, n int) (int64, error) {
	if keep < 1 {
		keep = math.MaxInt32 // the age alone
	}
	return t.deleted(`DELETE FROM versions WHERE id IN (SELECT v.id FROM versions v
		WHERE ((v.created_at < ?
			AND v.id < (SELECT MAX(v2.id) FROM versions v2 WHERE v2.authorizer_appid = v.authorizer_appid))
		OR v.id <= (SELECT v2.id FROM versions v2 WHERE v2.authorizer_appid = v.authorizer_appid
			ORDER BY v2.id DESC LIMIT 1 OFFSET ?))
		AND `+unnamed+`
		ORDER BY v.id LIMIT ?)`, nanos(before), keep, n)
}

// trimWindow is how many versions past the newest keep TrimVersions looks
// at: a mini program's commits between two trims (service.TrimEvery, on
// each server), with room for a few servers and shared statements.
const trimWindow = 64

// trimWhere is TrimVersions' statement, its window (the mini program's
// versions, a limit and an offset) also under cond: it deletes those of
// the window's versions that no audit or release names.
func trimWhere(cond string) string {
	return `DELETE FROM versions WHERE id IN (SELECT v.id FROM (SELECT id FROM versions
		WHERE authorizer_appid = ?` + cond + ` ORDER BY id DESC LIMIT ? OFFSET ?) w
	JOIN versions v ON v.id = w.id WHERE ` + unnamed + `)`
}

var trimSQL = trimWhere("")

func (t *tx) TrimVersions(authorizerAppID string, keep int) (int64, error) {
	return t.deleted(trimSQL, authorizerAppID, trimWindow, keep)
}

func (t *tx) PruneTemplates(platformAppID string, deletedBefore time.Time, n int) (int64, error) {
	q, args := `SELECT t.id FROM templates t WHERE t.deleted AND t.deleted_at < ?`, []any{nanos(deletedBefore)}
	if platformAppID != "" {
		q, args = q+` AND t.platform_appid = ?`, append(args, platformAppID)
	}
	return t.deleted(`DELETE FROM templates WHERE id IN (`+q+`
		AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.template_id = t.id)
		ORDER BY t.id LIMIT ?)`, append(args, n)...)
}

// finishedBefore selects, oldest first, the events PruneEvents deletes;
// both of its statements use it, so they agree inside the transaction.
const finishedBefore = `SELECT id FROM events WHERE status <> '` + miniship.EventPending + `'
	AND created_at < ? ORDER BY id LIMIT ?`

func (t *tx) PruneEvents(before time.Time, n int) (int64, error) {
	if _, err := t.exec(`DELETE FROM event_attempts WHERE event_id IN (`+finishedBefore+`)`, nanos(before), n); err != nil {
		return 0, err
	}
	return t.deleted(`DELETE FROM events WHERE id IN (`+finishedBefore+`)`, nanos(before), n)
}

func (t *tx) PruneCounters(minute, day string, n int) (int64, error) {
	return t.deleted(`DELETE FROM counters WHERE name IN (SELECT name FROM counters
		WHERE (name LIKE 'min:%' AND substr(name, length(name) - 15) < ?)
		OR (name LIKE 'call:%' AND substr(name, length(name) - 9) < ?)
		ORDER BY name LIMIT ?)`, minute, day, n)
}

func (t *tx) PruneQuotaCounters(month, day string, n int) (int64, error) {
	return t.deleted(`DELETE FROM counters WHERE name IN (SELECT name FROM counters c
		WHERE (name LIKE '%:____-__' AND substr(name, length(name) - 6) < ?)
		OR (name LIKE '%:____-__-__' AND substr(name, length(name) - 9) < ?)
		OR (name LIKE 'consent-fail:%' AND NOT EXISTS (SELECT 1 FROM tokens k
			WHERE k.kind = 'pre_auth_code' AND k.value = substr(c.name, 14)))
		ORDER BY name LIMIT ?)`, month, day, n)
}

// storageTables are the tables TableSizes counts.
var storageTables = []string{"platforms", "tokens", "authorizers", "authorizations", "drafts", "templates",
	"versions", "audits", "releases", "gray_plans", "counters", "media", "events", "event_attempts"}

func (t *tx) TableSizes() (map[string]int64, error) {
	out := make(map[string]int64, len(storageTables))
	for _, name := range storageTables {
		var n int64
		if err := t.row(`SELECT COUNT(*) FROM `+name, nil, &n); err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, nil
}
