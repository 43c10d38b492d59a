package sqlstore

import (
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// testPruneQuotaCounters: monthly and daily quota counters of past
// periods go, the current and previous ones stay, and a failed sign-in
// counter lives as long as its pre-auth code.
func testPruneQuotaCounters(t *testing.T, s miniship.Store) {
	fixtures(t, s)
	keep := []string{"audit:wxp:2026-11", "audit:wxp:2026-10", "undo:wxa:2026-11-23", "undo:wxa:2026-11-24",
		"consent-fail:live", "privacyext:wxa", "min:wxa:/wxa/commit:2026-11-01T10:00"}
	gone := []string{"audit:wxp:2026-09", "catadd:wxa:2025-12", "undo:wxa:2026-11-22", "undo:wxa:2026-10-30",
		"consent-fail:expired"}
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.PutToken(&miniship.Token{Kind: miniship.PreAuthCode, Value: "live", PlatformAppID: "wxp",
			ExpiresAt: at(0).Add(time.Hour), CreatedAt: at(0)}))
		for _, k := range append(append([]string{}, keep...), gone...) {
			if _, err := tx.AddCounter(k, 1); err != nil {
				return err
			}
		}
		return nil
	})
	var n int64
	update(t, s, func(tx miniship.Tx) (err error) {
		n, err = tx.PruneQuotaCounters("2026-10", "2026-11-23", 2) // a batch
		return err
	})
	equal(t, n, int64(2))
	update(t, s, func(tx miniship.Tx) (err error) {
		n, err = tx.PruneQuotaCounters("2026-10", "2026-11-23", 100)
		return err
	})
	equal(t, n, int64(len(gone)-2))
	view(t, s, func(tx miniship.Tx) error {
		for _, k := range keep {
			if _, err := tx.GetCounter(k); err != nil {
				t.Errorf("%s: %v, want kept", k, err)
			}
		}
		for _, k := range gone {
			_, err := tx.GetCounter(k)
			wantErr(t, err, miniship.ErrNotFound)
		}
		return nil
	})
}
