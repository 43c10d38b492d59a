package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/rollout"
)

// TestRolloutFaultsAndResume takes 1,000 mini programs through the whole
// pipeline with injected -1 and 45011, answers lost after the server acted,
// and an interruption half-way; the second run with the same state file
// finishes. The server then holds exactly one commit, one audit and one
// release per mini program.
func TestRolloutFaultsAndResume(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	f := newFleet(t, n, mstest.Options{Faults: []httpapi.FaultRule{
		{Path: "/wxa/commit", Rate: 0.08, Errcode: -1},
		{Path: "/wxa/submit_audit", Rate: 0.05, Errcode: -1},
		{Path: "/wxa/release", Rate: 0.05, Errcode: -1},
		{Rate: 0.02, Errcode: 45011},
	}})
	p := f.plan(t, "")
	statePath := filepath.Join(f.dir, "rollout.db")
	loss := &lossy{rt: http.DefaultTransport, rate: 0.05,
		paths: map[string]bool{"/wxa/commit": true, "/wxa/submit_audit": true, "/wxa/release": true}}

	// Run 1: interrupted once half the fleet has committed.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := openState(t, statePath)
	cfg := f.config(t, p, st)
	cfg.HTTPClient = &http.Client{Transport: loss, Timeout: 30 * time.Second}
	cfg.Observer = &counter{after: int64(n / 2), cancel: cancel}
	rep, err := rollout.Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) || rep == nil || !rep.Interrupted {
		t.Fatalf("run 1: err = %v, report %+v; want an interrupted run", err, rep)
	}
	committed := rep.Steps[0].Done
	t.Logf("run 1 interrupted: %d/%d committed, %d released, %d answers lost", committed, n, rep.Succeeded, loss.dropped.Load())
	if committed < n/2 || committed == n {
		t.Fatalf("run 1 committed %d apps; want an interruption between %d and %d", committed, n/2, n)
	}
	st.Close()

	// Run 2: a new process, the same state file.
	st = openState(t, statePath)
	cfg = f.config(t, p, st)
	cfg.HTTPClient = &http.Client{Transport: loss, Timeout: 30 * time.Second}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel2()
	start := time.Now()
	rep, err = rollout.Run(ctx2, cfg)
	if err != nil {
		t.Fatalf("run 2: %v", err)
	}
	var b strings.Builder
	rep.PrintSummary(&b, 20)
	t.Logf("run 2 in %v:\n%s", time.Since(start).Round(time.Millisecond), b.String())
	if !rep.OK() || rep.Succeeded != n {
		t.Fatalf("run 2: %d of %d succeeded", rep.Succeeded, n)
	}
	if loss.dropped.Load() == 0 {
		t.Fatal("no answer was lost: the in-flight checks went untested")
	}

	versions, audits, releases := f.serverCounts(t)
	for _, id := range f.apps {
		if versions[id] != 1 || audits[id] != 1 || releases[id] != 1 {
			t.Errorf("%s: %d commits, %d audits, %d releases on the server; want 1 each", id, versions[id], audits[id], releases[id])
		}
	}
	a, err := st.App(context.Background(), f.apps[0])
	if err != nil || a.Status != "done" || a.Done != rollout.StepRelease || a.AuditID == 0 || a.Inflight != 0 {
		t.Errorf("state of %s = %+v, %v", f.apps[0], a, err)
	}

	// Run 3: nothing left to do, and nothing is done again.
	rep, err = rollout.Run(context.Background(), f.config(t, p, st))
	if err != nil || !rep.OK() {
		t.Fatalf("run 3: %v %+v", err, rep)
	}
	if v2, a2, r2 := f.serverCounts(t); len(v2) != n || sum(v2)+sum(a2)+sum(r2) != 3*n {
		t.Fatalf("run 3 changed the server: %d commits, %d audits, %d releases", sum(v2), sum(a2), sum(r2))
	}
}

func sum(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

// TestRolloutGray releases a first version, then rolls a second one out
// through gray 10% and 50% before release; the state file of the first
// rollout refuses the second.
func TestRolloutGray(t *testing.T) {
	f := newFleet(t, 12, mstest.Options{})
	p1 := f.plan(t, "gray: {percentages: [10, 50], wait: 30ms}")
	st := openState(t, filepath.Join(f.dir, "v1.db"))
	// No online version yet: 85079 at gray, released directly.
	if rep, err := rollout.Run(context.Background(), f.config(t, p1, st)); err != nil || !rep.OK() {
		t.Fatalf("v1: %v %+v", err, rep)
	}

	y := strings.Replace(`
template: {id: TPL}
user_version: "2.1.0"
targets_file: targets.csv
ext_json: '{"ext": {"v": 2}}'
audit:
  item_list: [{address: pages/index/index, tag: shop, title: Home, first_class: 工具, second_class: 效率, first_id: 287, second_id: 612}]
steps: [commit, privacy_scan, submit_audit, wait_audit, gray, release]
gray: {percentages: [10, 50], wait: 30ms}
poll: {privacy_scan: 10ms, audit: 10ms}
`, "TPL", strconv.FormatInt(f.tplID, 10), 1)
	p2, err := rollout.ParsePlan([]byte(y), f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rollout.Run(context.Background(), f.config(t, p2, st)); err == nil || !strings.Contains(err.Error(), "belongs to") {
		t.Fatalf("v2 on v1's state file: err = %v", err)
	}
	st2 := openState(t, filepath.Join(f.dir, "v2.db"))
	rep, err := rollout.Run(context.Background(), f.config(t, p2, st2))
	if err != nil || !rep.OK() {
		t.Fatalf("v2: %v %+v", err, rep)
	}
	err = f.srv.Store.View(context.Background(), func(tx miniship.Tx) error {
		for _, id := range f.apps {
			g, err := tx.GetGrayPlan(id)
			if err != nil {
				return err
			}
			rs, err := tx.ListReleases(id, 10)
			if err != nil {
				return err
			}
			if g.Status != miniship.GrayFinished || g.Percentage != 50 || len(rs) != 2 || rs[0].UserVersion != "2.1.0" {
				t.Errorf("%s: gray plan %+v, %d releases", id, g, len(rs))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRolloutFailures: a rejected ext_json and a missing refresh token
// stop their apps with the errcode; the others are released, and the
// report says which failed where.
func TestRolloutFailures(t *testing.T) {
	f := newFleet(t, 6, mstest.Options{})
	p, err := rollout.ParsePlan([]byte(strings.ReplaceAll(`
template: {id: TPL}
user_version: "3.0.0"
targets_file: targets.csv
targets: [{appid: wxnorefreshtoken}]
ext_json: '{"extPages": {{if eq .appid "wxr0000002"}}{"pages/nope/nope": {}}{{else}}{}{{end}}}'
poll: {privacy_scan: 10ms, audit: 10ms}
`, "TPL", strconv.FormatInt(f.tplID, 10))), f.dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := rollout.Run(context.Background(), f.config(t, p, openState(t, filepath.Join(f.dir, "s.db"))))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Succeeded != 5 || rep.Failed != 2 || len(rep.Failures) != 2 {
		t.Fatalf("report %+v", rep)
	}
	got := map[string]string{}
	for _, fl := range rep.Failures {
		got[fl.AppID] = fl.Step + " " + fl.Label()
	}
	if got["wxr0000002"] != "commit 85045" || got["wxnorefreshtoken"] != "commit no_refresh_token" {
		t.Fatalf("failures %v", got)
	}
	if c := rep.Steps[0]; c.Done != 5 || c.Failed["85045"] != 1 || c.Failed["no_refresh_token"] != 1 || c.Pending != 0 {
		t.Fatalf("commit step %+v", c)
	}
	// The report names every app's outcome, the successes too.
	outcomes := map[string]string{}
	for _, o := range rep.Outcomes {
		outcomes[o.AppID] = fmt.Sprintf("%s %s %d", o.Status, o.Done, o.Code)
	}
	if len(rep.Outcomes) != 7 || outcomes["wxr0000002"] != "failed none 85045" || outcomes["wxr0000000"] != "done release 0" {
		t.Fatalf("outcomes %v", outcomes)
	}
}
