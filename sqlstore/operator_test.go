package sqlstore

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/miniship/miniship"
)

// The operator listings over both backends (OperatorTx).

func TestOperatorSQLite(t *testing.T) {
	runOperatorSuite(t, func(t *testing.T) miniship.Store { return openSQLiteT(t) })
}

func TestOperatorPostgres(t *testing.T) {
	postgresDSN(t)
	runOperatorSuite(t, func(t *testing.T) miniship.Store { return openPostgresT(t) })
}

func runOperatorSuite(t *testing.T, open func(t *testing.T) miniship.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s miniship.Store)
	}{
		{"SearchAuthorizers", testSearchAuthorizers},
		{"ListVersions", testListVersions},
		{"RequeueEvent", testRequeueEvent},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func appids(as []*miniship.Authorizer) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.AppID)
	}
	return out
}

func testSearchAuthorizers(t *testing.T, s miniship.Store) {
	nick := map[string]string{
		"wx01": "Coffee Shop", "wx02": "coffee bar", "wx03": "Tea", "wx10": "咖啡馆", "wx11": "Coffee",
		"wy01": "wx fan", "wx1z": "Z", "wx1": "One",
	}
	update(t, s, func(tx miniship.Tx) error {
		for id, n := range nick {
			ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: id, Nickname: n, CreatedAt: at(0)}))
		}
		return nil
	})
	tests := []struct {
		prefix, after string
		n             int
		want          []string
	}{
		{"", "", 0, []string{"wx01", "wx02", "wx03", "wx1", "wx10", "wx11", "wx1z", "wy01"}},
		{"", "", 3, []string{"wx01", "wx02", "wx03"}},
		{"", "wx03", 3, []string{"wx1", "wx10", "wx11"}},
		{"", "wy01", 3, []string{}},
		{"wx1", "", 0, []string{"wx1", "wx10", "wx11", "wx1z"}},
		{"wx1", "wx10", 0, []string{"wx11", "wx1z"}},
		{"Coffee", "", 0, []string{"wx01", "wx11"}}, // bytewise: "coffee bar" does not match
		{"Coffee", "wx01", 5, []string{"wx11"}},
		{"咖啡", "", 0, []string{"wx10"}},
		{"wx", "", 2, []string{"wx01", "wx02"}}, // appid and nickname ("wx fan") matches merged in appid order
		{"wx", "wx1z", 0, []string{"wy01"}},
		{"nothing", "", 0, []string{}},
	}
	view(t, s, func(tx miniship.Tx) error {
		for _, tc := range tests {
			got := appids(must[[]*miniship.Authorizer](t)(tx.SearchAuthorizers(tc.prefix, tc.after, tc.n)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("SearchAuthorizers(%q, %q, %d) = %v, want %v", tc.prefix, tc.after, tc.n, got, tc.want)
			}
		}
		return nil
	})
}

func testListVersions(t *testing.T, s miniship.Store) {
	var ids []int64
	update(t, s, func(tx miniship.Tx) error {
		for i := range 5 {
			for _, app := range []string{"wxa", "wxb"} {
				v := &miniship.Version{AuthorizerAppID: app, UserVersion: fmt.Sprintf("1.0.%d", i), CreatedAt: at(i)}
				ok(t, tx.CreateVersion(v))
				if app == "wxa" {
					ids = append(ids, v.ID)
				}
			}
		}
		return nil
	})
	slices.Reverse(ids)
	view(t, s, func(tx miniship.Tx) error {
		got := must[[]*miniship.Version](t)(tx.ListVersions("wxa", 0, 0))
		if len(got) != 5 {
			t.Fatalf("ListVersions(wxa) = %d versions, want 5", len(got))
		}
		for i, v := range got {
			if v.ID != ids[i] || v.AuthorizerAppID != "wxa" {
				t.Errorf("version %d = %d of %s, want %d of wxa", i, v.ID, v.AuthorizerAppID, ids[i])
			}
		}
		page := must[[]*miniship.Version](t)(tx.ListVersions("wxa", ids[1], 2))
		if len(page) != 2 || page[0].ID != ids[2] || page[1].ID != ids[3] {
			t.Errorf("ListVersions(wxa, before %d, 2) = %v, want ids %v", ids[1], page, ids[2:4])
		}
		if none := must[[]*miniship.Version](t)(tx.ListVersions("nope", 0, 10)); len(none) != 0 {
			t.Errorf("ListVersions(nope) = %v, want none", none)
		}
		return nil
	})
}

func testRequeueEvent(t *testing.T, s miniship.Store) {
	mk := func(status string) *miniship.Event {
		return &miniship.Event{PlatformAppID: "wxp", URL: "https://r.example/", Kind: "weapp_audit_fail",
			EnvelopeKind: miniship.EnvelopeToUserName, EnvelopeTo: "gh_1", Payload: "<xml/>",
			Status: status, Attempts: 12, NextAttemptAt: at(1), CreatedAt: at(0)}
	}
	failed, delivered, pending := mk(miniship.EventFailed), mk(miniship.EventDelivered), mk(miniship.EventPending)
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.EnqueueEvent(failed))
		ok(t, tx.EnqueueEvent(delivered))
		return tx.EnqueueEvent(pending)
	})
	update(t, s, func(tx miniship.Tx) error { return tx.RequeueEvent(failed.ID, at(30)) })
	update(t, s, func(tx miniship.Tx) error {
		for _, e := range []*miniship.Event{delivered, pending} {
			if err := tx.RequeueEvent(e.ID, at(30)); !errors.Is(err, miniship.ErrConflict) {
				t.Errorf("RequeueEvent(%s event) = %v, want ErrConflict", e.Status, err)
			}
		}
		wantErr(t, tx.RequeueEvent(1<<40, at(30)), miniship.ErrNotFound)
		// A second Resend of the same event finds it pending already.
		if err := tx.RequeueEvent(failed.ID, at(31)); !errors.Is(err, miniship.ErrConflict) {
			t.Errorf("second RequeueEvent = %v, want ErrConflict", err)
		}
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		want := *failed
		want.Status, want.Attempts, want.NextAttemptAt = miniship.EventPending, 0, at(30)
		equal(t, must[*miniship.Event](t)(tx.GetEvent(failed.ID)), &want)
		equal(t, must[*miniship.Event](t)(tx.GetEvent(delivered.ID)), delivered)
		_, err := tx.GetEvent(1 << 40)
		wantErr(t, err, miniship.ErrNotFound)
		for status, want := range map[string]int{miniship.EventPending: 2, miniship.EventDelivered: 1, miniship.EventFailed: 0} {
			if n := must[int](t)(tx.CountEvents(status)); n != want {
				t.Errorf("CountEvents(%s) = %d, want %d", status, n, want)
			}
		}
		if _, err := tx.CountEvents("x'; DROP TABLE events; --"); err == nil {
			t.Error("CountEvents of an unknown status: no error")
		}
		due := must[[]*miniship.Event](t)(tx.DueEvents(at(30), 10))
		if len(due) != 2 {
			t.Errorf("due after requeue: %d events, want 2 (the requeued and the pending)", len(due))
		}
		return nil
	})
}
