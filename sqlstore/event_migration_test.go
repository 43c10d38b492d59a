package sqlstore

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// TestEventAuthorizerMigration: a push about a mini program queued before
// 00090 is given the appid of the one mini program with its envelope's
// original id, so that its retries follow the platform's message_url; where
// none or several have that id it stays unnamed, and platform notices are
// left alone.
func TestEventAuthorizerMigration(t *testing.T) {
	migrated(t, 80, func(t *testing.T, db *sql.DB) {
		for _, a := range [][2]string{{"wxone", "gh_one"}, {"wxtwin1", "gh_twin"}, {"wxtwin2", "gh_twin"}} {
			if _, err := db.ExecContext(t.Context(), `INSERT INTO authorizers (appid, nickname, original_id,
				profile_complete, visit_status, support_version, commit_until, created_at)
				VALUES ('`+a[0]+`', 'n', '`+a[1]+`', TRUE, 0, '', 0, 1)`); err != nil {
				t.Fatal(err)
			}
		}
		// The INSERT of the code before 00090.
		for _, e := range [][2]string{{"ToUserName", "gh_one"}, {"ToUserName", "gh_twin"}, {"ToUserName", "gh_gone"}, {"AppId", "gh_one"}} {
			if _, err := db.ExecContext(t.Context(), `INSERT INTO events (platform_appid, url, kind, envelope_kind,
				envelope_to, payload, status, attempts, next_attempt_at, created_at)
				VALUES ('wxplat', 'https://old.example/', 'k', '`+e[0]+`', '`+e[1]+`', '<xml/>', 'pending', 0, 1, 1)`); err != nil {
				t.Fatal(err)
			}
		}
	}, func(t *testing.T, s *Store) {
		var evs []*miniship.Event
		err := s.View(t.Context(), func(tx miniship.Tx) (err error) {
			evs, err = tx.ListEvents("wxplat", 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, e := range evs {
			got[e.EnvelopeKind+" "+e.EnvelopeTo] = e.AuthorizerAppID
		}
		want := map[string]string{"ToUserName gh_one": "wxone", "ToUserName gh_twin": "", "ToUserName gh_gone": "", "AppId gh_one": ""}
		if len(got) != len(want) {
			t.Fatalf("events after the migration: %v", got)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: authorizer_appid %q, want %q", k, got[k], v)
			}
		}
	})
}

// TestEventQueuesMigration: the pending pushes queued before 00120 are
// counted in event_queues, each platform due at its earliest, so the poll
// finds them; finished ones count for nothing.
func TestEventQueuesMigration(t *testing.T) {
	migrated(t, 90, func(t *testing.T, db *sql.DB) {
		for _, e := range []struct {
			platform, status string
			next             int
		}{{"wxa", "pending", 30}, {"wxa", "pending", 20}, {"wxb", "delivered", 1}, {"wxc", "pending", 10}, {"wxc", "failed", 1}} {
			if _, err := db.ExecContext(t.Context(), fmt.Sprintf(`INSERT INTO events (platform_appid, url, kind, envelope_kind,
				envelope_to, payload, status, attempts, next_attempt_at, created_at)
				VALUES ('%s', 'https://old.example/', 'k', 'AppId', '%[1]s', '<xml/>', '%s', 0, %d, 1)`, e.platform, e.status, e.next)); err != nil {
				t.Fatal(err)
			}
		}
	}, func(t *testing.T, s *Store) {
		checkQueues(t, s)
		for now, want := range map[int64][]string{9: {}, 10: {"wxc"}, 25: {"wxc", "wxa"}} {
			update(t, s, func(tx miniship.Tx) error {
				equal(t, must[[]string](t)(tx.DuePlatforms(time.Unix(0, now), 0)), want)
				return nil
			})
		}
		equal(t, queueDue(t, s, "wxa"), nanos(time.Unix(0, 20).UTC()))
	})
}
