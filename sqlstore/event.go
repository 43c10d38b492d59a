package sqlstore

import (
	"cmp"
	"fmt"
	"slices"
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
// earliest first: those of each platform DuePlatforms lists, merged, so
// that no statement reads one platform's events past another's backlog
// (migration 00100). Inside Update on PostgreSQL it then locks the events
// it returns and leaves out those another transaction holds, so several
// servers draining one outbox each claim different events.
func (t *tx) DueEvents(now time.Time, n int) ([]*miniship.Event, error) {
	ps, err := t.DuePlatforms(now, 0)
	if err != nil {
		return nil, err
	}
	var out []*miniship.Event
	for _, p := range ps {
		q, args := limit(duePlatformEventsSQL, []any{p, nanos(now)}, n)
		evs, err := all(t, scanEvent, q, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	slices.SortFunc(out, func(a, b *miniship.Event) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	if !t.write || t.d.skipLocked == "" || len(out) == 0 {
		return out, nil
	}
	ids := make([]int64, len(out))
	for i, e := range out {
		ids[i] = e.ID
	}
	locked, err := all(t, func(r scanner, id *int64) error { return r.Scan(id) },
		`SELECT id FROM events WHERE id = ANY(?) AND status = '`+miniship.EventPending+`'`+t.d.skipLocked, ids)
	if err != nil {
		return nil, err
	}
	held := make(map[int64]bool, len(locked))
	for _, id := range locked {
		held[*id] = true
	}
	return slices.DeleteFunc(out, func(e *miniship.Event) bool { return !held[e.ID] }), nil
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
