package sqlstore

import (
	"slices"
	"strings"
	"time"

	"github.com/miniship/miniship"
)

// The poll's statements, and the cap's (TestOutboxPollPlans checks their
// plans): every one reaches its rows through an index, whatever the
// backlog. event_queues_due holds one row per platform (migration 00100),
// events_pending_due the pending events by platform and due time, and no
// other index orders events by due time, so no plan walks one platform's
// backlog to reach another's events.
const (
	dueQueuesSQL = `SELECT platform_appid, due_at FROM event_queues WHERE due_at <= ?
		ORDER BY due_at, platform_appid LIMIT ?`
	dueQueuesAfterSQL = `SELECT platform_appid, due_at FROM event_queues
		WHERE due_at <= ? AND (due_at, platform_appid) > (?, ?)
		ORDER BY due_at, platform_appid LIMIT ?`
	nextAttemptSQL = `SELECT next_attempt_at FROM events
		WHERE status = '` + miniship.EventPending + `' AND platform_appid = ?
		ORDER BY next_attempt_at LIMIT 1`
	duePlatformEventsSQL = `SELECT ` + eventCols + ` FROM events
		WHERE status = '` + miniship.EventPending + `' AND platform_appid = ? AND next_attempt_at <= ?
		ORDER BY next_attempt_at, id`
	// longestWaitingSQL picks what CapPendingEvents fails.
	longestWaitingSQL = `SELECT id FROM events WHERE status = '` + miniship.EventPending + `'
		AND platform_appid = ? ORDER BY next_attempt_at, id LIMIT ?`
)

// duePage is how many platforms DuePlatforms reads from event_queues at
// a time.
const duePage = 64

type queue struct {
	platform string
	due      time.Time
}

// DuePlatforms lists the platforms with due pending events, the one whose
// oldest due event waits longest first, so that a platform with a long
// backlog cannot keep others out of a claim.
//
// It reads event_queues in order of due_at, which is at or before each
// platform's next attempt, and asks each platform for its next attempt. A
// platform whose next attempt is not due has due_at early (its events were
// leased, retried later or finished): inside Update, due_at is raised to
// that attempt, so the platform is not read again before then. Since due_at is never after the next
// attempt, the reading stops at the first due_at after the n-th due
// platform found: none further can be due sooner.
func (t *tx) DuePlatforms(now time.Time, n int) ([]string, error) {
	var found []queue
	var after *queue
	seen := map[string]bool{}
	for {
		q, args := dueQueuesSQL, []any{nanos(now), duePage}
		if after != nil {
			q, args = dueQueuesAfterSQL, []any{nanos(now), nanos(after.due), after.platform, duePage}
		}
		page, err := all(t, func(r scanner, q *queue) error { return r.Scan(&q.platform, (*nanos)(&q.due)) }, q, args...)
		if err != nil {
			return nil, err
		}
		for _, q := range page {
			if n > 0 && len(found) >= n && q.due.After(found[n-1].due) {
				return names(found, n), nil
			}
			next, due, err := t.nextAttempt(q.platform)
			if err != nil {
				return nil, err
			}
			if !due || next.After(now) {
				if !t.write {
					continue
				}
				if next, due, err = t.raiseDue(q.platform); err != nil {
					return nil, err
				}
			}
			if due && !next.After(now) && !seen[q.platform] {
				seen[q.platform] = true
				i, _ := slices.BinarySearchFunc(found, queue{q.platform, next}, compareQueues)
				found = slices.Insert(found, i, queue{q.platform, next})
			}
		}
		if len(page) < duePage {
			return names(found, n), nil
		}
		after = page[len(page)-1]
	}
}

func compareQueues(a, b queue) int {
	if c := a.due.Compare(b.due); c != 0 {
		return c
	}
	return strings.Compare(a.platform, b.platform)
}

func names(qs []queue, n int) []string {
	if n > 0 && len(qs) > n {
		qs = qs[:n]
	}
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.platform
	}
	return out
}

// nextAttempt is the time of the platform's next attempt; ok is false
// when it has no pending event.
func (t *tx) nextAttempt(platformAppID string) (next time.Time, ok bool, err error) {
	err = t.row(nextAttemptSQL, []any{platformAppID}, (*nanos)(&next))
	if err == miniship.ErrNotFound {
		return next, false, nil
	}
	return next, err == nil, err
}

// raiseDue sets the platform's due_at to its next attempt (NULL when it
// has none), which it reads after taking the queue row's lock: a change
// that lowered due_at and committed before is seen, and one that had not
// yet lowered it waits for this transaction and lowers it after. On
// PostgreSQL a row another transaction holds is left as it is (early,
// which is safe) and its next attempt read without the lock.
func (t *tx) raiseDue(platformAppID string) (next time.Time, ok bool, err error) {
	var pending int64
	err = t.row(`SELECT pending FROM event_queues WHERE platform_appid = ?`+t.d.skipLocked, []any{platformAppID}, &pending)
	switch {
	case err == miniship.ErrNotFound:
		return t.nextAttempt(platformAppID)
	case err != nil:
		return next, false, err
	}
	if next, ok, err = t.nextAttempt(platformAppID); err != nil {
		return next, false, err
	}
	var due any
	if ok {
		due = nanos(next)
	}
	_, err = t.exec(`UPDATE event_queues SET due_at = ? WHERE platform_appid = ?`, due, platformAppID)
	return next, ok, err
}

// DuePlatformEvents is DueEvents for one platform.
func (t *tx) DuePlatformEvents(platformAppID string, now time.Time, n int) ([]*miniship.Event, error) {
	q, args := limit(duePlatformEventsSQL, []any{platformAppID, nanos(now)}, n)
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

// DropPendingEvents reads through events_pending_due: the platform's
// pending events, not its history. The service calls it before it queues
// the superseding push: the DELETE waits for an attempt being recorded on
// one of the events, and its triggers take the platform's event_queues row
// only after, as a deliverer's transaction does, so the two cannot
// deadlock.
func (t *tx) DropPendingEvents(platformAppID, kind string) (int64, error) {
	return t.deleted(`DELETE FROM events WHERE status = '`+miniship.EventPending+`'
		AND platform_appid = ? AND kind = ?`, platformAppID, kind)
}

// CapPendingEvents reads the platform's count in event_queues and, only
// when it is over keep, fails in one statement the events that have
// waited longest for their next attempt, through events_pending_due. (The
// oldest by id would do as well, but PostgreSQL walked the primary key to
// them from the platform's first event, through its history; only
// events_pending_due gives this order.) On PostgreSQL an event another
// transaction holds is passed over, not waited for: a deliverer recording
// an attempt may be waiting for the platform's event_queues row, which
// this transaction may hold already (DropPendingEvents). It is left
// pending, and a later call fails it.
func (t *tx) CapPendingEvents(platformAppID string, keep int, at time.Time, reason string) (int64, error) {
	var pending int64
	switch err := t.row(`SELECT pending FROM event_queues WHERE platform_appid = ?`, []any{platformAppID}, &pending); {
	case err == miniship.ErrNotFound || err == nil && pending <= int64(keep):
		return 0, nil
	case err != nil:
		return 0, err
	}
	// A CTE, run once: as an IN (…) the LIMIT's subquery may run again for
	// each row, and with SKIP LOCKED fail more than it picked.
	ids, err := all(t, func(r scanner, id *int64) error { return r.Scan(id) },
		`WITH picked AS MATERIALIZED (`+longestWaitingSQL+t.d.skipLocked+`)
		UPDATE events SET status = '`+miniship.EventFailed+`' FROM picked
		WHERE events.id = picked.id AND events.status = '`+miniship.EventPending+`' RETURNING events.id`,
		platformAppID, pending-int64(keep))
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := t.AddEventAttempt(&miniship.EventAttempt{EventID: *id, At: at, Error: reason}); err != nil {
			return 0, err
		}
	}
	return int64(len(ids)), nil
}
