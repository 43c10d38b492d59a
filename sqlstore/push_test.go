package sqlstore

import (
	"database/sql"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

func TestSQLitePush(t *testing.T) {
	runPushSuite(t, func(t *testing.T) *Store { return openSQLiteT(t) })
}

func TestPostgresPush(t *testing.T) {
	postgresDSN(t)
	runPushSuite(t, func(t *testing.T) *Store { return openPostgresT(t) })
}

func runPushSuite(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("DuePlatforms", func(t *testing.T) {
		s := open(t)
		testDuePlatforms(t, s)
		checkQueues(t, s)
	})
	t.Run("ConcurrentEventAttempts", func(t *testing.T) { testConcurrentEventAttempts(t, open(t)) })
	t.Run("DueRaised", func(t *testing.T) { testDueRaised(t, open(t)) })
	t.Run("ConcurrentQueues", func(t *testing.T) { testConcurrentQueues(t, open(t)) })
	t.Run("DropPendingEvents", func(t *testing.T) { testDropPendingEvents(t, open(t)) })
	t.Run("CapPendingEvents", func(t *testing.T) { testCapPendingEvents(t, open(t)) })
	t.Run("RaiseWhileRetried", func(t *testing.T) { testRaiseWhileRetried(t, open(t)) })
}

// testDuePlatforms: platforms come oldest waiting first, each listed once
// whatever its backlog; DuePlatformEvents reads one platform's due events.
func testDuePlatforms(t *testing.T, s miniship.Store) {
	update(t, s, func(tx miniship.Tx) error {
		for i, p := range []string{"wxb", "wxa", "wxa", "wxa", "wxc", "wxb"} {
			ok(t, tx.EnqueueEvent(&miniship.Event{PlatformAppID: p, Status: miniship.EventPending, NextAttemptAt: at(i)}))
		}
		ok(t, tx.EnqueueEvent(&miniship.Event{PlatformAppID: "wxd", Status: miniship.EventPending, NextAttemptAt: at(50)}))
		return tx.EnqueueEvent(&miniship.Event{PlatformAppID: "wxe", Status: miniship.EventDelivered, NextAttemptAt: at(0)})
	})
	update(t, s, func(tx miniship.Tx) error {
		equal(t, must[[]string](t)(tx.DuePlatforms(at(9), 0)), []string{"wxb", "wxa", "wxc"})
		equal(t, must[[]string](t)(tx.DuePlatforms(at(9), 2)), []string{"wxb", "wxa"})
		evs := must[[]*miniship.Event](t)(tx.DuePlatformEvents("wxa", at(9), 2))
		if len(evs) != 2 || evs[0].NextAttemptAt != at(1) || evs[1].NextAttemptAt != at(2) {
			t.Errorf("DuePlatformEvents = %s", dump(evs))
		}
		equal(t, len(must[[]*miniship.Event](t)(tx.DuePlatformEvents("wxd", at(9), 0))), 0)
		return nil
	})
}

// testConcurrentEventAttempts: concurrent attempts all count.
func testConcurrentEventAttempts(t *testing.T, s miniship.Store) {
	e := &miniship.Event{PlatformAppID: "wxp", Status: miniship.EventPending, NextAttemptAt: at(1)}
	update(t, s, func(tx miniship.Tx) error { return tx.EnqueueEvent(e) })
	hammer(t, func() error {
		return s.Update(t.Context(), func(tx miniship.Tx) error {
			_, _, err := tx.IncrementEventAttempts(e.ID)
			return err
		})
	})
	view(t, s, func(tx miniship.Tx) error {
		evs := must[[]*miniship.Event](t)(tx.ListEvents("wxp", 0))
		equal(t, evs[0].Attempts, workers*rounds)
		return nil
	})
	err := s.Update(t.Context(), func(tx miniship.Tx) error {
		_, _, err := tx.IncrementEventAttempts(1 << 40)
		return err
	})
	wantErr(t, err, miniship.ErrNotFound)
}

// testDueRaised: a platform whose pushes are leased is listed no more, and
// its event_queues row is raised to the lease's end; an attempt retried
// sooner, a resend and a new push bring it back; a platform with nothing
// pending has no due time.
func testDueRaised(t *testing.T, s *Store) {
	e := &miniship.Event{PlatformAppID: "wxa", Status: miniship.EventPending, NextAttemptAt: at(1)}
	update(t, s, func(tx miniship.Tx) error { return tx.EnqueueEvent(e) })
	due := func(now int, want ...string) {
		t.Helper()
		update(t, s, func(tx miniship.Tx) error {
			equal(t, must[[]string](t)(tx.DuePlatforms(at(now), 0)), append([]string{}, want...))
			return nil
		})
		checkQueues(t, s)
	}
	due(0)
	due(1, "wxa")
	// Leased.
	e.NextAttemptAt = at(60)
	update(t, s, func(tx miniship.Tx) error { return tx.UpdateEvent(e) })
	equal(t, queueDue(t, s, "wxa"), nanos(at(1))) // left early by the lease
	due(2)
	equal(t, queueDue(t, s, "wxa"), nanos(at(60))) // raised by the poll
	// The attempt failed: retried sooner.
	e.NextAttemptAt = at(6)
	update(t, s, func(tx miniship.Tx) error { return tx.UpdateEvent(e) })
	due(5)
	due(6, "wxa")
	e.Status = miniship.EventFailed
	update(t, s, func(tx miniship.Tx) error { return tx.UpdateEvent(e) })
	due(7)
	update(t, s, func(tx miniship.Tx) error { return tx.RequeueEvent(e.ID, at(8)) })
	due(8, "wxa")
	update(t, s, func(tx miniship.Tx) error {
		return tx.EnqueueEvent(&miniship.Event{PlatformAppID: "wxb", Status: miniship.EventPending, NextAttemptAt: at(3)})
	})
	due(9, "wxb", "wxa")
	// A read transaction lists the same and raises nothing.
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[[]string](t)(tx.DuePlatforms(at(9), 0)), []string{"wxb", "wxa"})
		return nil
	})
}

// queueDue is the platform's event_queues.due_at, nanos(time.Time{}) when
// NULL.
func queueDue(t *testing.T, s *Store, platform string) nanos {
	t.Helper()
	var due sql.NullInt64
	err := s.writer.QueryRowContext(t.Context(), s.d.rebind(`SELECT due_at FROM event_queues WHERE platform_appid = ?`), platform).Scan(&due)
	ok(t, err)
	if !due.Valid {
		return nanos(time.Time{})
	}
	return nanos(time.Unix(0, due.Int64).UTC())
}

// checkQueues: each platform's event_queues row counts its pending events
// exactly, and its due_at is at or before the earliest of their next
// attempts, NULL when it has none.
func checkQueues(t *testing.T, s *Store) {
	t.Helper()
	rows, err := s.writer.QueryContext(t.Context(), `SELECT p.platform_appid, COALESCE(q.pending, 0), q.due_at,
		(SELECT COUNT(*) FROM events e WHERE e.status = 'pending' AND e.platform_appid = p.platform_appid),
		(SELECT MIN(next_attempt_at) FROM events e WHERE e.status = 'pending' AND e.platform_appid = p.platform_appid)
		FROM (SELECT platform_appid FROM events UNION SELECT platform_appid FROM event_queues) p
		LEFT JOIN event_queues q ON q.platform_appid = p.platform_appid`)
	ok(t, err)
	defer rows.Close()
	for rows.Next() {
		var p string
		var pending, count int64
		var due, next sql.NullInt64
		ok(t, rows.Scan(&p, &pending, &due, &count, &next))
		switch {
		case pending != count:
			t.Errorf("%s: event_queues.pending %d, %d pending events", p, pending, count)
		case due.Valid != next.Valid:
			t.Errorf("%s: due_at %v with %d pending events", p, due, count)
		case due.Valid && due.Int64 > next.Int64:
			t.Errorf("%s: due_at %d after the next attempt %d", p, due.Int64, next.Int64)
		}
	}
	ok(t, rows.Err())
}

// testConcurrentQueues: pushes queued, leased, retried sooner or later,
// delivered, failed, resent and polled by concurrent transactions leave
// every platform's event_queues row right, and DuePlatforms lists exactly
// the platforms whose earliest next attempt is due, earliest first.
func testConcurrentQueues(t *testing.T, s *Store) {
	platforms := []string{"wxa", "wxb", "wxc"}
	hammer(t, func() error {
		p := platforms[rand.IntN(len(platforms))]
		return s.Update(t.Context(), func(tx miniship.Tx) error {
			switch rand.IntN(5) {
			case 0, 1:
				return tx.EnqueueEvent(&miniship.Event{PlatformAppID: p, Status: miniship.EventPending, NextAttemptAt: at(rand.IntN(60))})
			case 2:
				_, err := tx.DuePlatforms(at(rand.IntN(120)), 0)
				return err
			}
			evs, err := tx.DuePlatformEvents(p, at(120), 1)
			if err != nil || len(evs) == 0 {
				return err
			}
			e := evs[0]
			switch rand.IntN(4) {
			case 0:
				e.Status = miniship.EventDelivered
			case 1:
				e.Status = miniship.EventFailed
				if err := tx.UpdateEvent(e); err != nil {
					return err
				}
				return tx.RequeueEvent(e.ID, at(rand.IntN(60)))
			default:
				e.NextAttemptAt = at(rand.IntN(120)) // leased, or retried sooner
			}
			return tx.UpdateEvent(e)
		})
	})
	checkQueues(t, s)
	for now := 0; now <= 120; now += 10 {
		var want []string
		rows, err := s.writer.QueryContext(t.Context(), s.d.rebind(`SELECT platform_appid FROM events
			WHERE status = 'pending' GROUP BY platform_appid HAVING MIN(next_attempt_at) <= ?
			ORDER BY MIN(next_attempt_at), platform_appid`), nanos(at(now)))
		ok(t, err)
		for rows.Next() {
			var p string
			ok(t, rows.Scan(&p))
			want = append(want, p)
		}
		ok(t, rows.Err())
		rows.Close()
		update(t, s, func(tx miniship.Tx) error {
			got := must[[]string](t)(tx.DuePlatforms(at(now), 0))
			if !slices.Equal(got, append([]string{}, want...)) {
				t.Errorf("DuePlatforms(at(%d)) = %s, want %s", now, strings.Join(got, " "), strings.Join(want, " "))
			}
			return nil
		})
	}
	checkQueues(t, s)
}

// testDropPendingEvents: the platform's pending events of the kind go, with
// their attempts; its finished ones, its other kinds and other platforms'
// stay.
func testDropPendingEvents(t *testing.T, s *Store) {
	const ticket = "component_verify_ticket"
	ev := func(platform, kind, status string) *miniship.Event {
		return &miniship.Event{PlatformAppID: platform, Kind: kind, Status: status, NextAttemptAt: at(1)}
	}
	gone := []*miniship.Event{ev("wxa", ticket, miniship.EventPending), ev("wxa", ticket, miniship.EventPending)}
	kept := []*miniship.Event{ev("wxa", ticket, miniship.EventDelivered), ev("wxa", ticket, miniship.EventFailed),
		ev("wxa", "authorized", miniship.EventPending), ev("wxb", ticket, miniship.EventPending)}
	update(t, s, func(tx miniship.Tx) error {
		for _, e := range append(gone, kept...) {
			ok(t, tx.EnqueueEvent(e))
			ok(t, tx.AddEventAttempt(&miniship.EventAttempt{EventID: e.ID, At: at(1), Error: "down"}))
		}
		equal(t, must[int64](t)(tx.DropPendingEvents("wxa", ticket)), int64(2))
		equal(t, must[int64](t)(tx.DropPendingEvents("wxa", ticket)), int64(0))
		return nil
	})
	checkQueues(t, s)
	view(t, s, func(tx miniship.Tx) error {
		var ids []int64
		for _, p := range []string{"wxa", "wxb"} {
			for _, e := range must[[]*miniship.Event](t)(tx.ListEvents(p, 0)) {
				ids = append(ids, e.ID)
			}
		}
		slices.Sort(ids)
		equal(t, ids, []int64{kept[0].ID, kept[1].ID, kept[2].ID, kept[3].ID})
		for _, e := range gone {
			equal(t, must[[]*miniship.EventAttempt](t)(tx.ListEventAttempts(e.ID)), []*miniship.EventAttempt{})
		}
		return nil
	})
}

// testCapPendingEvents: past keep, the platform's pending events that have
// waited longest for their next attempt fail, each with an attempt saying
// why (the first one queued here is being retried later, so it stays);
// its finished events and other platforms' do not count.
func testCapPendingEvents(t *testing.T, s *Store) {
	var wxa []*miniship.Event
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.EnqueueEvent(&miniship.Event{PlatformAppID: "wxa", Status: miniship.EventDelivered, NextAttemptAt: at(0)}))
		for _, next := range []int{9, 1, 2, 3, 4} {
			e := &miniship.Event{PlatformAppID: "wxa", Status: miniship.EventPending, NextAttemptAt: at(next)}
			ok(t, tx.EnqueueEvent(e))
			wxa = append(wxa, e)
			ok(t, tx.EnqueueEvent(&miniship.Event{PlatformAppID: "wxb", Status: miniship.EventPending, NextAttemptAt: at(0)}))
		}
		equal(t, must[int64](t)(tx.CapPendingEvents("wxa", 5, at(20), "capped")), int64(0))
		equal(t, must[int64](t)(tx.CapPendingEvents("wxa", 2, at(20), "capped")), int64(3))
		equal(t, must[int64](t)(tx.CapPendingEvents("wxa", 2, at(21), "capped")), int64(0))
		equal(t, must[int64](t)(tx.CapPendingEvents("wxnone", 0, at(21), "capped")), int64(0))
		return nil
	})
	checkQueues(t, s)
	view(t, s, func(tx miniship.Tx) error {
		for i, e := range wxa {
			got := must[*miniship.Event](t)(tx.GetEvent(e.ID))
			attempts := must[[]*miniship.EventAttempt](t)(tx.ListEventAttempts(e.ID))
			if i >= 1 && i <= 3 {
				equal(t, got.Status, miniship.EventFailed)
				equal(t, attempts, []*miniship.EventAttempt{{EventID: e.ID, At: at(20), Error: "capped"}})
			} else {
				equal(t, got.Status, miniship.EventPending)
				equal(t, len(attempts), 0)
			}
		}
		equal(t, must[int](t)(tx.CountEvents(miniship.EventPending)), 2+5)
		return nil
	})
}

// testRaiseWhileRetried: a deliverer puts a leased event back sooner (the
// attempt failed) while a poll, not seeing that yet, finds the platform
// not due and raises its due_at: the poll must not raise it past the
// retry. The deliverer's statement left due_at alone, as it was earlier
// still, and took no lock, so the poll raised it to the lease's end and
// the retry waited for that (TestRedeliver, now and then, on PostgreSQL).
func testRaiseWhileRetried(t *testing.T, s *Store) {
	if s.Backend() == "sqlite" {
		t.Skip("SQLite runs one Update at a time")
	}
	e := &miniship.Event{PlatformAppID: "wxa", Status: miniship.EventPending, NextAttemptAt: at(0)}
	update(t, s, func(tx miniship.Tx) error { return tx.EnqueueEvent(e) })
	e.NextAttemptAt = at(60) // leased
	update(t, s, func(tx miniship.Tx) error { return tx.UpdateEvent(e) })
	retried, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.Update(t.Context(), func(tx miniship.Tx) error {
			r := *e
			r.NextAttemptAt = at(40)
			if err := tx.UpdateEvent(&r); err != nil {
				return err
			}
			close(retried)
			<-release
			return nil
		})
	}()
	<-retried
	update(t, s, func(tx miniship.Tx) error {
		equal(t, must[[]string](t)(tx.DuePlatforms(at(10), 0)), []string{})
		return nil
	})
	close(release)
	ok(t, <-done)
	checkQueues(t, s)
	update(t, s, func(tx miniship.Tx) error {
		equal(t, must[[]string](t)(tx.DuePlatforms(at(40), 0)), []string{"wxa"})
		return nil
	})
}
