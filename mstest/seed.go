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

// seeder is the SQL store's bulk writer, outside miniship.Store.
type seeder interface {
	Seed(context.Context, sqlstore.BenchSeed, func(int)) error
}

// SeedApps writes the mini programs straight into the store in bulk
// statements, one transaction per 50,000, for the scale benchmarks; it
// returns how long that took.
func (s *Server) SeedApps(t testing.TB, o Seed) time.Duration {
	t.Helper()
	start := time.Now()
	// Every row is older than the clock (the i-th grant i ms after the
	// first), so tokens issued now are newer than their grants.
	at := s.Clock.Now().Add(-time.Duration(o.Apps+1) * time.Millisecond)
	err := s.Store.(seeder).Seed(context.Background(), sqlstore.BenchSeed{
		From: 0, To: o.Apps, Platform: o.Platform, PermissionSets: o.PermissionSets,
		Categories: o.Categories, Versions: o.Versions, Audits: o.Audits, CreatedAt: at}, nil)
	if err != nil {
		t.Fatalf("mstest: seed: %v", err)
	}
	return time.Since(start)
}
