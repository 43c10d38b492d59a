package sqlstore

// The store suite (storetest_test.go): counters, media and pushes.

import (
	"fmt"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

func testCounters(t *testing.T, s miniship.Store) {
	update(t, s, func(tx miniship.Tx) error {
		n, err := tx.GetCounter("undo:wxa:2026-11-23")
		wantErr(t, err, miniship.ErrNotFound)
		equal(t, n, 0)
		add := func(key string, d int) int { return must[int](t)(tx.AddCounter(key, d)) }
		equal(t, add("undo:wxa:2026-11-23", 1), 1)
		equal(t, add("undo:wxa:2026-11-23", 4), 5)
		equal(t, add("undo:wxa:2026-11-23", -2), 3)
		equal(t, add("undo:wxb:2026-11-23", 2), 2)
		equal(t, add("zero", 0), 0)
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[int](t)(tx.GetCounter("undo:wxa:2026-11-23")), 3)
		equal(t, must[int](t)(tx.GetCounter("undo:wxb:2026-11-23")), 2)
		equal(t, must[int](t)(tx.GetCounter("zero")), 0)
		return nil
	})
}

func testMedia(t *testing.T, s miniship.Store) {
	ms := []*miniship.Media{
		{ID: "m1", AuthorizerAppID: "wxa", Type: "image", Data: []byte("\x89PNG\r\n\x1a\n\x00"), CreatedAt: at(1)},
		{ID: "m2", Data: []byte{}},
		{ID: "m3"}, // nil data
	}
	update(t, s, func(tx miniship.Tx) error {
		for _, m := range ms {
			ok(t, tx.PutMedia(m))
		}
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		for _, m := range ms {
			equal(t, must[*miniship.Media](t)(tx.GetMedia(m.ID)), m)
		}
		_, err := tx.GetMedia("nope")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
	repl := &miniship.Media{ID: "m1", AuthorizerAppID: "wxb", Type: "video", Data: []byte("x"), CreatedAt: at(2)}
	update(t, s, func(tx miniship.Tx) error { return tx.PutMedia(repl) })
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Media](t)(tx.GetMedia("m1")), repl)
		return nil
	})
}

func testEvents(t *testing.T, s miniship.Store) {
	ev := func(platform, status string, next time.Time) *miniship.Event {
		return &miniship.Event{PlatformAppID: platform, AuthorizerAppID: "wxmini_" + platform, URL: "https://r.example/" + platform, Kind: "weapp_audit_success",
			EnvelopeKind: miniship.EnvelopeToUserName, EnvelopeTo: "gh_1", Payload: "<xml><Event>x</Event></xml>",
			Status: status, Attempts: 1, NextAttemptAt: next, CreatedAt: at(0)}
	}
	e1 := ev("wxp", miniship.EventPending, at(5))
	e2 := ev("wxp", miniship.EventPending, at(1))
	e3 := ev("wxp", miniship.EventDelivered, at(0))
	e4 := ev("wxp", miniship.EventPending, at(20)) // not yet due
	e5 := ev("wxp", miniship.EventPending, time.Time{})
	e6 := ev("wxq", miniship.EventPending, at(2))
	e7 := ev("wxp", miniship.EventFailed, at(1))
	e8 := ev("wxp", miniship.EventPending, at(5)) // same time as e1: id breaks the tie
	events := []*miniship.Event{e1, e2, e3, e4, e5, e6, e7, e8}
	update(t, s, func(tx miniship.Tx) error {
		for _, e := range events {
			ok(t, tx.EnqueueEvent(e))
		}
		// Due inside Update too (where PostgreSQL claims the rows).
		equal(t, must[[]*miniship.Event](t)(tx.DueEvents(at(5), 0)), []*miniship.Event{e5, e2, e6, e1, e8})
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		for _, e := range events {
			got := must[[]*miniship.Event](t)(tx.ListEvents(e.PlatformAppID, 0))
			found := false
			for _, g := range got {
				if g.ID == e.ID {
					equal(t, g, e)
					found = true
				}
			}
			if !found {
				t.Fatalf("event %d not listed", e.ID)
			}
		}
		due := func(now time.Time, n int) []*miniship.Event { return must[[]*miniship.Event](t)(tx.DueEvents(now, n)) }
		equal(t, due(at(5), 0), []*miniship.Event{e5, e2, e6, e1, e8})
		equal(t, due(at(5), 2), []*miniship.Event{e5, e2})
		equal(t, due(at(1), 0), []*miniship.Event{e5, e2})
		equal(t, due(time.Time{}, 0), []*miniship.Event{e5})
		equal(t, must[[]*miniship.Event](t)(tx.ListEvents("wxp", 3)), []*miniship.Event{e8, e7, e5})
		equal(t, must[[]*miniship.Event](t)(tx.ListEvents("", 2)), []*miniship.Event{e8, e7})
		equal(t, len(must[[]*miniship.Event](t)(tx.ListEvents("", 0))), len(events))
		equal(t, must[[]*miniship.Event](t)(tx.ListEvents("nope", 0)), []*miniship.Event{})
		return nil
	})
	// Delivery: attempts and the status change.
	a1 := &miniship.EventAttempt{EventID: e2.ID, At: at(1), HTTPStatus: 500, Response: "oops", Error: "status 500"}
	a2 := &miniship.EventAttempt{EventID: e2.ID, At: at(3), HTTPStatus: 200, Response: "success"}
	d := *e2
	d.Status, d.Attempts, d.NextAttemptAt, d.URL = miniship.EventDelivered, 2, time.Time{}, "https://moved.example"
	d.CreatedAt = at(99) // not written
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.AddEventAttempt(a1))
		ok(t, tx.AddEventAttempt(a2))
		ok(t, tx.UpdateEvent(&d))
		wantErr(t, tx.UpdateEvent(&miniship.Event{ID: 1 << 40}), miniship.ErrNotFound)
		return nil
	})
	// A delivered (or failed) event is final: a late writer changes nothing.
	update(t, s, func(tx miniship.Tx) error {
		late := d
		late.Status, late.Attempts, late.NextAttemptAt = miniship.EventPending, 9, at(7)
		wantErr(t, tx.UpdateEvent(&late), miniship.ErrConflict)
		late.ID = e7.ID
		wantErr(t, tx.UpdateEvent(&late), miniship.ErrConflict)
		return nil
	})
	d.CreatedAt = e2.CreatedAt
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[[]*miniship.EventAttempt](t)(tx.ListEventAttempts(e2.ID)), []*miniship.EventAttempt{a1, a2})
		equal(t, must[[]*miniship.EventAttempt](t)(tx.ListEventAttempts(e1.ID)), []*miniship.EventAttempt{})
		equal(t, must[[]*miniship.Event](t)(tx.DueEvents(at(5), 0)), []*miniship.Event{e5, e6, e1, e8})
		got := must[[]*miniship.Event](t)(tx.ListEvents("wxp", 0))
		equal(t, got[len(got)-2], &d) // e2, second oldest
		return nil
	})
	err := s.Update(t.Context(), func(tx miniship.Tx) error {
		return tx.AddEventAttempt(&miniship.EventAttempt{EventID: 1 << 40})
	})
	wantErr(t, err, miniship.ErrNotFound)
}

// testDueEventsClaim: two outbox workers in concurrent Updates take
// different events on PostgreSQL.
func testDueEventsClaim(t *testing.T, s miniship.Store) {
	if backend(s) == "sqlite" {
		t.Skip("SQLite runs one Update at a time: there is nothing to skip")
	}
	var e1, e2 miniship.Event
	update(t, s, func(tx miniship.Tx) error {
		e1 = miniship.Event{Status: miniship.EventPending, NextAttemptAt: at(1)}
		e2 = miniship.Event{Status: miniship.EventPending, NextAttemptAt: at(2)}
		ok(t, tx.EnqueueEvent(&e1))
		return tx.EnqueueEvent(&e2)
	})
	claimed, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.Update(t.Context(), func(tx miniship.Tx) error {
			due, err := tx.DueEvents(at(9), 1)
			if err != nil || len(due) != 1 || due[0].ID != e1.ID {
				return fmt.Errorf("first worker got %v, %v", dump(due), err)
			}
			close(claimed)
			<-release
			return nil
		})
	}()
	<-claimed
	update(t, s, func(tx miniship.Tx) error {
		due := must[[]*miniship.Event](t)(tx.DueEvents(at(9), 0))
		if len(due) != 1 || due[0].ID != e2.ID {
			t.Errorf("second worker got %s, want only event %d", dump(due), e2.ID)
		}
		return nil
	})
	close(release)
	ok(t, <-done)
	view(t, s, func(tx miniship.Tx) error { // a View takes no locks and sees both
		equal(t, len(must[[]*miniship.Event](t)(tx.DueEvents(at(9), 0))), 2)
		return nil
	})
}
