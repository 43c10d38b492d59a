package sqlstore

import (
	"testing"

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
	t.Run("DuePlatforms", func(t *testing.T) { testDuePlatforms(t, open(t)) })
	t.Run("ConcurrentEventAttempts", func(t *testing.T) { testConcurrentEventAttempts(t, open(t)) })
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
