package mstest

import (
	"context"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/sqlstore"
)

// Seed is what SeedApps writes: Apps mini programs named wxbench%08d
// ("Shop i"), each with Versions versions (and an approved audit of each
// with Audits), granted to Platform when it is set.
type Seed struct {
	Apps, Versions int
	Audits         bool
	Platform       string
	PermissionSets []int
	Categories     []miniship.Category
}

// benchSeeder is the store's bulk writer, outside miniship.Tx.
type benchSeeder interface {
	SeedBench(sqlstore.BenchSeed) error
}

// seedBatch is the mini programs of one transaction.
const seedBatch = 50000

// SeedApps writes the mini programs straight into the store in bulk
// statements, one transaction per batch, for the scale benchmarks; it
// returns how long that took.
func (s *Server) SeedApps(t testing.TB, o Seed) time.Duration {
	t.Helper()
	start := time.Now()
	// Every row is older than the clock (the i-th grant i ms after the
	// first), so tokens issued now are newer than their grants.
	at := s.Clock.Now().Add(-time.Duration(o.Apps+1) * time.Millisecond)
	for i := 0; i < o.Apps; i += seedBatch {
		err := s.Store.Update(context.Background(), func(tx miniship.Tx) error {
			return tx.(benchSeeder).SeedBench(sqlstore.BenchSeed{
				From: i, To: min(i+seedBatch, o.Apps), Platform: o.Platform, PermissionSets: o.PermissionSets,
				Categories: o.Categories, Versions: o.Versions, Audits: o.Audits, CreatedAt: at})
		})
		if err != nil {
			t.Fatalf("mstest: seed: %v", err)
		}
	}
	return time.Since(start)
}
