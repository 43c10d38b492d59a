package sqlstore

import (
	"testing"

	"github.com/miniship/miniship"
)

func TestSQLiteRetention(t *testing.T) { testRetention(t, openSQLiteT(t)) }

func TestPostgresRetention(t *testing.T) {
	postgresDSN(t)
	testRetention(t, openPostgresT(t))
}

// testRetention: each prune deletes old history and keeps what the API can
// still return.
func testRetention(t *testing.T, s miniship.Store) {
	const app = "wxapp"
	var vs []*miniship.Version
	var as []*miniship.Audit
	update(t, s, func(tx miniship.Tx) error {
		for i := 1; i <= 10; i++ {
			v := &miniship.Version{AuthorizerAppID: app, CreatedAt: at(i)}
			ok(t, tx.CreateVersion(v))
			vs = append(vs, v)
		}
		// v1…v7 approved and released; v8 rejected; v9 in review; v10 latest.
		for i := 1; i <= 9; i++ {
			st := miniship.AuditApproved
			switch i {
			case 8:
				st = miniship.AuditRejected
			case 9:
				st = miniship.AuditPending
			}
			a := &miniship.Audit{AuthorizerAppID: app, VersionID: vs[i-1].ID, Status: st, SubmittedAt: at(i)}
			ok(t, tx.CreateAudit(a))
			as = append(as, a)
			if i <= 7 {
				ok(t, tx.CreateRelease(&miniship.Release{AuthorizerAppID: app, VersionID: vs[i-1].ID, AuditID: a.ID, ReleasedAt: at(i)}))
			}
		}
		e1 := &miniship.Event{PlatformAppID: "wxp", Status: miniship.EventDelivered, CreatedAt: at(1)}
		ok(t, tx.EnqueueEvent(e1))
		ok(t, tx.AddEventAttempt(&miniship.EventAttempt{EventID: e1.ID, At: at(1)}))
		ok(t, tx.AddEventAttempt(&miniship.EventAttempt{EventID: e1.ID, At: at(2)}))
		ok(t, tx.EnqueueEvent(&miniship.Event{PlatformAppID: "wxp", Status: miniship.EventPending, CreatedAt: at(1)}))
		ok(t, tx.EnqueueEvent(&miniship.Event{PlatformAppID: "wxp", Status: miniship.EventFailed, CreatedAt: at(50)}))
		for _, k := range []string{"min:wx:/p:2026-11-23T09:59", "min:wx:/p:2026-11-23T10:00", "call:wx:/p:2026-11-21",
			"call:wx:/p:2026-11-22", "audit:wxp:2026-11", "ugc:wx"} {
			_, err := tx.AddCounter(k, 1)
			ok(t, err)
		}
		return nil
	})
	count := func(n int64, err error) int64 {
		t.Helper()
		ok(t, err)
		return n
	}
	update(t, s, func(tx miniship.Tx) error {
		// Nothing is old enough yet.
		equal(t, count(tx.PruneVersions(at(1), 0, 100)), int64(0))
		equal(t, count(tx.PruneReleases(at(0), 5, 100)), int64(0))
		// Seven releases: the newest five stay for rollback.
		equal(t, count(tx.PruneReleases(at(100), 5, 100)), int64(2))
		// a1, a2 (their releases are gone) and a8 (rejected, not the
		// latest); a9 is in review and the latest.
		equal(t, count(tx.PruneAudits(at(100), 100)), int64(3))
		// In batches: one, then the rest (v1, v2, v8); v10 is the latest.
		equal(t, count(tx.PruneVersions(at(100), 0, 1)), int64(1))
		equal(t, count(tx.PruneVersions(at(100), 0, 100)), int64(2))
		equal(t, count(tx.PruneEvents(at(10), 100)), int64(1))
		equal(t, count(tx.PruneCounters("2026-11-23T10:00", "2026-11-22", 100)), int64(2))
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		for _, i := range []int{3, 4, 5, 6, 7, 9, 10} {
			if _, err := tx.GetVersion(vs[i-1].ID); err != nil {
				t.Errorf("version %d: %v", i, err)
			}
		}
		for _, i := range []int{1, 2, 8} {
			_, err := tx.GetVersion(vs[i-1].ID)
			wantErr(t, err, miniship.ErrNotFound)
		}
		for _, i := range []int{3, 4, 5, 6, 7, 9} {
			if _, err := tx.GetAudit(as[i-1].ID); err != nil {
				t.Errorf("audit %d: %v", i, err)
			}
		}
		sizes := must[map[string]int64](t)(tx.TableSizes())
		for table, want := range map[string]int64{"versions": 7, "audits": 6, "releases": 5, "events": 2,
			"event_attempts": 0, "counters": 4, "media": 0} {
			if sizes[table] != want {
				t.Errorf("%s has %d rows, want %d", table, sizes[table], want)
			}
		}
		return nil
	})
}
