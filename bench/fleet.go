package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/sqlstore"
)

// FleetPlatform owns the mini programs a fleet seeds.
const FleetPlatform = "wxbenchfleetowner"

// MaxFleet is the largest fleet: its appids are wxbench and eight digits.
const MaxFleet = 99_999_999

// seedFleet writes n mini programs straight into the database at dsn (as
// the scale benchmarks do): wxbench%08d, each granted to FleetPlatform with
// one version and its approved audit, so that a run measures a server of
// that size. Through the API the same fleet would take hours.
func seedFleet(ctx context.Context, dsn string, n int, progress io.Writer) (err error) {
	if n > MaxFleet {
		return fmt.Errorf("%d mini programs: at most %d", n, MaxFleet)
	}
	store, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	start := time.Now()
	// Every row is older than the server's clock: tokens issued later are
	// newer than their grants.
	at := start.Add(-time.Duration(n+1) * time.Millisecond)
	err = store.Update(ctx, func(tx miniship.Tx) error {
		return tx.CreatePlatform(&miniship.Platform{AppID: FleetPlatform, Secret: "fleet", CreatedAt: at})
	})
	if errors.Is(err, miniship.ErrConflict) {
		return fmt.Errorf("the database already holds a fleet (platform %s): give bench a fresh one", FleetPlatform)
	}
	if err != nil {
		return err
	}
	last := start
	return store.Seed(ctx, sqlstore.BenchSeed{From: 0, To: n, Platform: FleetPlatform, PermissionSets: []int{18},
		Versions: 1, Audits: true, CreatedAt: at}, func(done int) {
		if progress != nil && (done == n || time.Since(last) >= 5*time.Second) {
			last = time.Now()
			fmt.Fprintf(progress, "fleet: %d of %d mini programs seeded (%s)\n", done, n, time.Since(start).Round(time.Second))
		}
	})
}
