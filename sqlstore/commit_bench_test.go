package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miniship/miniship"
)

// BenchmarkCommitWriter measures a commit's own statement at the store, 32
// goroutines each committing a small version of its own mini program (as
// bench's commit does, without HTTP and the engine), with the trim every
// TrimEvery-th commit of each as the service asks for it. Read ns/op: the
// writer's time per commit, which bounds what one server commits a second
// on SQLite; commits/tx is the group commit's batch.
//
//	go test ./sqlstore -run '^$' -bench CommitWriter
func BenchmarkCommitWriter(b *testing.B) { benchBackends(b, commitWriter) }

func commitWriter(b *testing.B, s *Store) {
	const clients, trimEvery, keep = 32, 16, 20 // service.TrimEvery, service.MaxVersions
	apps := make([]string, clients)
	for i := range apps {
		apps[i] = fmt.Sprintf("wxcommitapp%d", i)
	}
	cs := fairSetup(b, s, "wxcommit", apps...)
	var next atomic.Int64
	var wg sync.WaitGroup
	var txs0 int64 // the setup's transactions
	if s.batch != nil {
		txs0 = s.batch.txs.Load()
	}
	b.ResetTimer()
	for _, c := range cs {
		wg.Go(func() {
			for k := 1; next.Add(1) <= int64(b.N); k++ {
				check := c.check
				if k%trimEvery == 0 {
					check.KeepVersions = keep
				}
				ctx := miniship.WithTenant(context.Background(), c.platform, 200)
				v := &miniship.Version{AuthorizerAppID: c.app, PlatformAppID: c.platform, TemplateID: c.tpl, UserVersion: "1.0." + strconv.Itoa(k),
					ExtJSON: `{"extAppid":"` + c.app + `","ext":{"n":` + strconv.Itoa(k) + `}}`, CreatedAt: at(9), ScanDoneAt: at(10), Derived: true}
				if stored, err := s.CreateVersionIf(ctx, v, check); err != nil || !stored {
					b.Errorf("commit of %s: stored %v, %v", c.app, stored, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if s.batch != nil {
		b.ReportMetric(float64(b.N)/float64(s.batch.txs.Load()-txs0), "commits/tx")
	}
}
