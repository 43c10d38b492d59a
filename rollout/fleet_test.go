package rollout_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/rollout"
	"github.com/miniship/miniship/wxa"
)

// fleet is an in-process miniship with a platform, the demo template and
// n authorized mini programs, listed in targets.csv, and a clock that runs
// by itself so privacy scans finish and audits are auto-approved.
type fleet struct {
	srv      *mstest.Server
	platform *miniship.Platform
	tplID    int64
	apps     []string
	dir      string
	dbPath   string
	poll     string // the plan's poll durations
}

func newFleet(tb testing.TB, n int, o mstest.Options) *fleet {
	return newFleetWaits(tb, n, o, 0)
}

// newFleetWaits with waits > 0 is a fleet like `miniship serve
// --scan-duration waits --auto-approve waits`: the server clock follows
// the wall clock and the automatic reviewer runs once a second, as serve's
// tick does; the plan polls every waits.
func newFleetWaits(tb testing.TB, n int, o mstest.Options, waits time.Duration) *fleet {
	tb.Helper()
	f := &fleet{dir: tb.TempDir(), poll: "{privacy_scan: 10ms, audit: 10ms}"}
	f.dbPath = filepath.Join(f.dir, "server.db")
	o.Database = f.dbPath
	o.Config.ScanDuration = time.Millisecond
	o.Config.AutoApprove = time.Millisecond
	if waits > 0 {
		o.Config.ScanDuration, o.Config.AutoApprove = waits, waits
		f.poll = fmt.Sprintf("{privacy_scan: %s, audit: %s}", waits, waits)
	}
	f.srv = mstest.New(tb, o)
	f.platform = f.srv.Platform(tb, &miniship.Platform{AuditQuota: 2*n + 10})
	f.tplID = f.srv.Template(tb, f.platform.AppID, nil, 0)
	var csv strings.Builder
	csv.WriteString("appid,refresh_token,name\n")
	for i := range n {
		// The demo template declares getLocation: grant it, or commit is 85312.
		a, refresh := f.srv.MiniProgram(tb, f.platform.AppID, &miniship.Authorizer{
			AppID: fmt.Sprintf("wxr%07d", i), PrivacyAPIs: []string{"getLocation"}})
		f.apps = append(f.apps, a.AppID)
		fmt.Fprintf(&csv, "%s,%s,Shop %d\n", a.AppID, refresh, i)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "targets.csv"), []byte(csv.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	// The server clock runs at 4× real time: scans (1 ms) end and audits are
	// decided at the next tick; tokens and tickets last half an hour or more.
	// With waits, it runs at real time and decides once a second.
	stop := make(chan struct{})
	var ticked sync.WaitGroup
	every := func(d time.Duration, fn func(elapsed time.Duration)) {
		ticked.Go(func() {
			t := time.NewTicker(d)
			defer t.Stop()
			last := time.Now()
			for {
				select {
				case <-stop:
					return
				case now := <-t.C:
					fn(now.Sub(last))
					last = now
				}
			}
		})
	}
	if waits <= 0 {
		every(5*time.Millisecond, func(time.Duration) { f.srv.Advance(20 * time.Millisecond) })
	} else {
		every(5*time.Millisecond, func(d time.Duration) { f.srv.Clock.Advance(d) })
		every(time.Second, func(time.Duration) { f.srv.Service.Tick(context.Background()) })
	}
	tb.Cleanup(func() { close(stop); ticked.Wait() })
	return f
}

const userVersion = "2.0.0"

func (f *fleet) plan(tb testing.TB, extra string) *rollout.Plan {
	tb.Helper()
	p, err := rollout.ParsePlan([]byte(f.planYAML(extra)), f.dir)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// planYAML is the fleet's plan: every step, polls fast enough for the
// server's running clock, and extra lines.
func (f *fleet) planYAML(extra string) string {
	return fmt.Sprintf(`
template: {id: %d}
user_version: %q
user_desc: rollout test
targets_file: targets.csv
ext_json: '{"extAppid": {{json .appid}}, "ext": {"name": {{json .name}}}, "window": {"navigationBarTitleText": {{json .name}}}}'
poll: %s
%s`, f.tplID, userVersion, f.poll, extra)
}

func (f *fleet) config(tb testing.TB, p *rollout.Plan, st *rollout.State) rollout.Config {
	return rollout.Config{
		Plan: p, State: st, BaseURL: f.srv.URL,
		ComponentAppID: f.platform.AppID, ComponentSecret: f.platform.Secret,
		Ticket:      f.srv.Ticket(tb, f.platform.AppID),
		Concurrency: 16,
		Retry:       wxa.RetryPolicy{Base: 5 * time.Millisecond, Max: 40 * time.Millisecond},
	}
}

func openState(tb testing.TB, path string) *rollout.State {
	tb.Helper()
	st, err := rollout.OpenState(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// serverCounts reads, on the server's side, how many versions (commits),
// audits (submissions) and releases each mini program has.
func (f *fleet) serverCounts(tb testing.TB) (versions, audits, releases map[string]int) {
	tb.Helper()
	db, err := sql.Open("sqlite", f.dbPath+"?_pragma=query_only(1)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	count := func(table string) map[string]int {
		m := map[string]int{}
		rows, err := db.Query(`SELECT authorizer_appid, count(*) FROM ` + table + ` GROUP BY authorizer_appid`)
		if err != nil {
			tb.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				tb.Fatal(err)
			}
			m[id] = n
		}
		return m
	}
	versions = count("versions")
	audits = map[string]int{}
	releases = map[string]int{}
	err = f.srv.Store.View(context.Background(), func(tx miniship.Tx) error {
		as, err := tx.ListAudits(-1, 0)
		if err != nil {
			return err
		}
		for _, a := range as {
			audits[a.AuthorizerAppID]++
		}
		for _, id := range f.apps {
			rs, err := tx.ListReleases(id, 10)
			if err != nil {
				return err
			}
			for _, r := range rs {
				if r.UserVersion != userVersion {
					return fmt.Errorf("%s released %q", id, r.UserVersion)
				}
			}
			releases[id] = len(rs)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return versions, audits, releases
}

// lossy loses the answers of calls that took effect: the server did the
// work, the client sees a network error. This is the case resuming must
// not turn into a duplicate.
type lossy struct {
	rt      http.RoundTripper
	paths   map[string]bool
	rate    float64
	dropped atomic.Int64
}

func (l *lossy) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := l.rt.RoundTrip(r)
	if err == nil && l.paths[r.URL.Path] && rand.Float64() < l.rate {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		l.dropped.Add(1)
		return nil, errors.New("lossy: connection reset after the request was processed")
	}
	return res, err
}

// counter cancels the run after n apps have committed.
type counter struct {
	rollout.Observer
	commits atomic.Int64
	after   int64
	cancel  context.CancelFunc
}

func (c *counter) Begin(int, []rollout.StepCount) {}
func (c *counter) Failed(rollout.Step, string)    {}
func (c *counter) End()                           {}
func (c *counter) Advanced(s rollout.Step) {
	if s == rollout.StepCommit && c.commits.Add(1) == c.after && c.cancel != nil {
		c.cancel()
	}
}
