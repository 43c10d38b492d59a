package sqlstore

import (
	"fmt"
	"testing"

	"github.com/miniship/miniship"
)

// testSeed: Seed writes every mini program of its range in transactions of
// Batch, each with its grant, versions and their approved audits, and
// reports its progress after each transaction.
func testSeed(t *testing.T, s miniship.Store) {
	update(t, s, func(tx miniship.Tx) error { return tx.CreatePlatform(&miniship.Platform{AppID: "wxfleet"}) })
	var steps []int
	err := s.(*Store).Seed(t.Context(), BenchSeed{From: 3, To: 23, Platform: "wxfleet", PermissionSets: []int{18},
		Versions: 2, Audits: true, CreatedAt: at(1), Batch: 7}, func(done int) { steps = append(steps, done) })
	ok(t, err)
	equal(t, steps, []int{7, 14, 20})
	view(t, s, func(tx miniship.Tx) error {
		grants, err := tx.ListAuthorizations("wxfleet")
		ok(t, err)
		equal(t, len(grants), 20)
		for _, i := range []int{3, 9, 10, 22} { // each transaction's ends
			appid := fmt.Sprintf("wxbench%08d", i)
			g, err := tx.GetAuthorization("wxfleet", appid)
			ok(t, err)
			equal(t, g.PermissionSets, []int{18})
			v, err := tx.LatestVersion(appid)
			ok(t, err)
			equal(t, v.UserVersion, "1.0.1")
			a, err := tx.LatestAudit(appid)
			ok(t, err)
			equal(t, [2]any{a.VersionID, a.Status}, [2]any{v.ID, miniship.AuditApproved})
		}
		for _, i := range []int{2, 23} { // outside the range
			_, err := tx.GetAuthorizer(fmt.Sprintf("wxbench%08d", i))
			wantErr(t, err, miniship.ErrNotFound)
		}
		return nil
	})
}
