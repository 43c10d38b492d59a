package sqlstore

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// BenchmarkWriterFair measures, at the store, what one platform's large
// commits do to another's small ones: a victim platform commits a small
// version back to back, alone and then while an attacker platform's 16
// clients commit versions of a 1,000,021-byte ext_json, each request
// marked with its platform and size as the HTTP layer marks them. Without
// HTTP and JSON in the way, what is left is the writer (SQLite's group
// commit, PostgreSQL's shared statement) and the database's own I/O. It
// reports the victim's p50 and p99 under load over alone (*_x), never
// asserting them; MINISHIP_BENCH_SECONDS (default 3) times each phase.
//
//	go test ./sqlstore -run '^$' -bench WriterFair -benchtime 1x
func BenchmarkWriterFair(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		s, err := OpenSQLite(b.Context(), b.TempDir()+"/fair.db")
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		writerFair(b, s)
	})
	b.Run("postgres", func(b *testing.B) { writerFair(b, openPostgresT(b)) })
}

// fairCommitter is one platform's mini program, ready to commit.
type fairCommitter struct {
	platform, app string
	tpl           int64
	check         miniship.CommitCheck
}

// fairSetup makes a platform with a template and its mini programs,
// each granted code management.
func fairSetup(b testing.TB, s *Store, platform string, apps ...string) []fairCommitter {
	var fs []fairCommitter
	err := s.Update(b.Context(), func(tx miniship.Tx) error {
		fs = nil
		if err := tx.CreatePlatform(&miniship.Platform{AppID: platform, CreatedAt: at(0)}); err != nil {
			return err
		}
		d := &miniship.Draft{PlatformAppID: platform, Package: []byte("zip"), CreatedAt: at(1)}
		if err := tx.CreateDraft(d); err != nil {
			return err
		}
		tp := &miniship.Template{PlatformAppID: platform, DraftID: d.ID, CreatedAt: at(1)}
		if err := tx.CreateTemplate(tp); err != nil {
			return err
		}
		for _, app := range apps {
			if err := tx.CreateAuthorizer(&miniship.Authorizer{AppID: app, CreatedAt: at(0)}); err != nil {
				return err
			}
			g := &miniship.Authorization{PlatformAppID: platform, AuthorizerAppID: app, PermissionSets: []int{18}, CreatedAt: at(3), UpdatedAt: at(3)}
			if err := tx.PutAuthorization(g); err != nil {
				return err
			}
			a, err := tx.GetAuthorizer(app)
			if err != nil {
				return err
			}
			fs = append(fs, fairCommitter{platform: platform, app: app, tpl: tp.ID,
				check: miniship.CommitCheck{GrantsRev: a.GrantsRev, Generation: g.Generation, TokenCreatedAt: at(5), TokenSeqBelow: 1, Perm: 18}})
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return fs
}

// commit stores a version with ext, marked as its platform's request of
// its size, and returns how long it took.
func (f fairCommitter) commit(b testing.TB, s *Store, ext string) time.Duration {
	_, d := f.commitV(b, s, ext)
	return d
}

// commitV is commit, returning the version stored.
func (f fairCommitter) commitV(b testing.TB, s *Store, ext string) (*miniship.Version, time.Duration) {
	ctx := miniship.WithTenant(context.Background(), f.platform, int64(len(ext)+100))
	v := &miniship.Version{AuthorizerAppID: f.app, PlatformAppID: f.platform, TemplateID: f.tpl, UserVersion: "1", ExtJSON: ext,
		CreatedAt: at(9), ScanDoneAt: at(10), Derived: true}
	t0 := time.Now()
	stored, err := s.CreateVersionIf(ctx, v, f.check)
	if err != nil || !stored {
		b.Errorf("commit of %s: stored %v, %v", f.app, stored, err)
	}
	return v, time.Since(t0)
}

func writerFair(b *testing.B, s *Store) {
	d := time.Duration(3) * time.Second
	if n, err := strconv.Atoi(os.Getenv("MINISHIP_BENCH_SECONDS")); err == nil && n > 0 {
		d = time.Duration(n) * time.Second
	}
	victim := fairSetup(b, s, "wxvictim", "wxvictimapp")[0]
	var apps []string
	for i := range 8 {
		apps = append(apps, fmt.Sprintf("wxattackerapp%d", i))
	}
	attackers := fairSetup(b, s, "wxattacker", apps...)
	victimRun := func(d time.Duration) []time.Duration {
		var lat []time.Duration
		for end := time.Now().Add(d); time.Now().Before(end); {
			lat = append(lat, victim.commit(b, s, `{"ext":{"v":1}}`))
		}
		slices.Sort(lat)
		return lat
	}
	pct := func(lat []time.Duration, p float64) time.Duration {
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	victimRun(d / 3)
	alone := victimRun(d)
	big := `{"ext":{"pad":"` + strings.Repeat("a", 1_000_021-len(`{"ext":{"pad":""}}`)) + `"}}`
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for ctx.Err() == nil {
				attackers[w%len(attackers)].commit(b, s, big)
				n.Add(1)
			}
		})
	}
	time.Sleep(d / 6)
	loaded := victimRun(d)
	cancel()
	wg.Wait()
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	b.ReportMetric(ms(pct(alone, .5)), "alone_p50_ms")
	b.ReportMetric(ms(pct(alone, .99)), "alone_p99_ms")
	b.ReportMetric(ms(pct(loaded, .5)), "big_p50_ms")
	b.ReportMetric(ms(pct(loaded, .99)), "big_p99_ms")
	b.ReportMetric(float64(pct(loaded, .5))/float64(pct(alone, .5)), "big_p50_x")
	b.ReportMetric(float64(pct(loaded, .99))/float64(pct(alone, .99)), "big_p99_x")
	b.ReportMetric(float64(n.Load())/(d+d/6).Seconds(), "attacker_commits/s")
	b.ReportMetric(float64(len(loaded)), "victim_commits")
}
