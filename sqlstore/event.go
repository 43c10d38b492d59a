package sqlstore

import (
	"fmt"
	"time"

	"github.com/miniship/miniship"
)

// --- events ---------------------------------------------------------------

const eventCols = `id, platform_appid, authorizer_appid, url, kind, envelope_kind, envelope_to,
	payload, status, attempts, next_attempt_at, created_at`

func scanEvent(r scanner, e *miniship.Event) error {
	return r.Scan(&e.ID, &e.PlatformAppID, &e.AuthorizerAppID, &e.URL, &e.Kind, &e.EnvelopeKind, &e.EnvelopeTo,
		&e.Payload, &e.Status, &e.Attempts, (*nanos)(&e.NextAttemptAt), (*nanos)(&e.CreatedAt))
}

func (t *tx) EnqueueEvent(e *miniship.Event) (err error) {
	e.ID, err = t.insertID(`INSERT INTO events (platform_appid, authorizer_appid, url, kind,
		envelope_kind, envelope_to, payload, status, attempts, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.PlatformAppID, e.AuthorizerAppID, e.URL, e.Kind, e.EnvelopeKind, e.EnvelopeTo, e.Payload, e.Status,
		e.Attempts, nanos(e.NextAttemptAt), nanos(e.CreatedAt))
	return err
}

// DueEvents returns pending events whose next attempt is at or before now,
// earliest first. Inside Update on PostgreSQL it locks the events it
// returns and skips those another transaction holds, so several servers
// draining one outbox each claim different events. The status is a literal
// so that the partial index events_due applies.
func (t *tx) DueEvents(now time.Time, n int) ([]*miniship.Event, error) {
	q, args := limit(`SELECT `+eventCols+` FROM events
		WHERE status = '`+miniship.EventPending+`' AND next_attempt_at <= ?
		ORDER BY next_attempt_at, id`, []any{nanos(now)}, n)
	if t.write {
		q += t.d.skipLocked
	}
	return all(t, scanEvent, q, args...)
}

// UpdateEvent writes a pending event. An event already delivered or
// failed is final: writing it is ErrConflict and changes nothing, so a
// deliverer whose lease ran out mid-attempt cannot put back to pending (and
// send again) an event another deliverer delivered meanwhile.
func (t *tx) UpdateEvent(e *miniship.Event) error {
	err := t.affect(miniship.ErrNotFound, `UPDATE events SET platform_appid = ?, authorizer_appid = ?,
		url = ?, kind = ?, envelope_kind = ?, envelope_to = ?, payload = ?, status = ?, attempts = ?,
		next_attempt_at = ? WHERE id = ? AND status = '`+miniship.EventPending+`'`,
		e.PlatformAppID, e.AuthorizerAppID, e.URL, e.Kind, e.EnvelopeKind, e.EnvelopeTo, e.Payload, e.Status,
		e.Attempts, nanos(e.NextAttemptAt), e.ID)
	if err != miniship.ErrNotFound {
		return err
	}
	var status string
	if err := t.row(`SELECT status FROM events WHERE id = ?`, []any{e.ID}, &status); err != nil {
		return err
	}
	return fmt.Errorf("sqlstore: event %d is %s already: %w", e.ID, status, miniship.ErrConflict)
}

// ListEvents lists the platform's events (every platform's when
// platformAppID is empty), newest first; ListEventAttempts has their
// attempts.
func (t *tx) ListEvents(platformAppID string, n int) ([]*miniship.Event, error) {
	q, args := `SELECT `+eventCols+` FROM events`, []any(nil)
	if platformAppID != "" {
		q, args = q+` WHERE platform_appid = ?`, append(args, platformAppID)
	}
	q, args = limit(q+` ORDER BY id DESC`, args, n)
	return all(t, scanEvent, q, args...)
}

// --- event attempts -------------------------------------------------------

// AddEventAttempt records an attempt; its event must exist (ErrNotFound).
func (t *tx) AddEventAttempt(a *miniship.EventAttempt) error {
	_, err := t.exec(`INSERT INTO event_attempts (event_id, attempted_at, http_status, response,
		error) VALUES (?, ?, ?, ?, ?)`, a.EventID, nanos(a.At), a.HTTPStatus, a.Response, a.Error)
	return err
}

// ListEventAttempts lists the event's attempts in the order they were made.
func (t *tx) ListEventAttempts(eventID int64) ([]*miniship.EventAttempt, error) {
	return all(t, func(r scanner, a *miniship.EventAttempt) error {
		return r.Scan(&a.EventID, (*nanos)(&a.At), &a.HTTPStatus, &a.Response, &a.Error)
	}, `SELECT event_id, attempted_at, http_status, response, error FROM event_attempts
		WHERE event_id = ? ORDER BY id`, eventID)
}
