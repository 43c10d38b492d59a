package rollout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/rollout"
	"github.com/miniship/miniship/service"
)

// TestResumeWhileCommitProcessing: the process dies right after sending
// its commits, while the server is still processing them (CommitLatency
// holds each mini program for real time), and is started again at once.
// The apps are in flight; getversioninfo would not show the commits yet,
// and a repeated commit sent just as one ends would be a second commit. So
// the resumed run must not look before CommitWait after the mark: the
// test's clock only reaches that once the server has finished every
// commit, and run 2 must then send no commit at all. (Before the look
// waited, this test flaked under load: a commit ending between the look and
// the repeated commit was committed twice.)
func TestResumeWhileCommitProcessing(t *testing.T) {
	const n = 8
	f := newFleet(t, n, mstest.Options{Config: service.Config{CommitLatency: time.Second}})
	p := f.plan(t, "")
	statePath := filepath.Join(f.dir, "rollout.db")
	hole := f.commitsUnanswered(t, statePath, p)
	hole.wg.Wait() // every commit of run 1 processed
	if held := f.waitCommitting(t); held != 0 {
		t.Fatalf("%d commits still held after they ended", held)
	}

	st := openState(t, statePath)
	clk := newTestClock()
	answers := &commitAnswers{rt: http.DefaultTransport}
	cfg := f.config(t, p, st)
	cfg.HTTPClient = &http.Client{Transport: answers, Timeout: 30 * time.Second}
	cfg.Clock = clk
	cfg.CommitWait = time.Hour
	ran := make(chan error, 1)
	var rep *rollout.Report
	go func() {
		var err error
		rep, err = rollout.Run(context.Background(), cfg)
		ran <- err
	}()
	// Only the clock lets run 2 look: with it standing still, nothing is
	// sent, however long this takes.
	clk.Advance(time.Hour)
	if err := <-ran; err != nil || !rep.OK() || rep.Succeeded != n {
		t.Fatalf("run 2: %v, %+v", err, rep)
	}
	if answers.sent.Load() != 0 {
		t.Errorf("run 2 sent %d commits, %d answered 9402202: it committed again", answers.sent.Load(), answers.busy.Load())
	}
	f.onceEach(t)
}

// TestResumeCommitOutlastsWait: a commit whose answer was lost is still
// being processed after CommitWait (the server is slower than the setting
// says). The look finds no version, the repeated commit meets 9402202, and
// the app must wait CommitWait again, still in flight, rather than commit:
// with the clock standing still, no other commit is sent.
func TestResumeCommitOutlastsWait(t *testing.T) {
	const n = 8
	// The server holds each commit a minute: every repeated commit below
	// meets it, however slow the machine.
	f := newFleet(t, n, mstest.Options{Config: service.Config{CommitLatency: time.Minute}})
	p := f.plan(t, "")
	statePath := filepath.Join(f.dir, "rollout.db")
	f.commitsUnanswered(t, statePath, p)
	if held := f.waitCommitting(t); held != n {
		t.Fatalf("%d of %d commits held by the server, want all", held, n)
	}

	st := openState(t, statePath)
	clk := newTestClock()
	answers := &commitAnswers{rt: http.DefaultTransport, busyc: make(chan struct{}, n)}
	cfg := f.config(t, p, st)
	cfg.HTTPClient = &http.Client{Transport: answers, Timeout: 30 * time.Second}
	cfg.Clock = clk
	cfg.CommitWait = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		_, err := rollout.Run(ctx, cfg)
		ran <- err
	}()
	clk.Advance(time.Hour) // the look, then the repeated commit: 9402202
	for range n {
		<-answers.busyc
	}
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("run 2: %v, want it cancelled", err)
	}
	if sent, busy := answers.sent.Load(), answers.busy.Load(); sent != n || busy != n {
		t.Errorf("run 2 sent %d commits, %d answered 9402202; want %d, all refused", sent, busy, n)
	}
	for _, id := range f.apps {
		if a, err := st.App(context.Background(), id); err != nil || a.Inflight != rollout.StepCommit || a.Done != 0 || a.Status != "pending" {
			t.Errorf("after run 2, %s = %+v, %v; want its commit still in flight, pending", id, a, err)
		}
	}
}

// commitsUnanswered is run 1: every commit reaches the server, no answer
// comes back, and the process stops once the server holds (or has
// committed) every mini program. The apps are left in flight.
func (f *fleet) commitsUnanswered(t *testing.T, statePath string, p *rollout.Plan) *blackhole {
	t.Helper()
	hole := newBlackhole("/wxa/commit")
	t.Cleanup(func() { hole.cancel(); hole.wg.Wait() })
	st, err := rollout.OpenState(statePath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := f.config(t, p, st)
	cfg.HTTPClient = &http.Client{Transport: hole}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		_, err := rollout.Run(ctx, cfg)
		ran <- err
	}()
	f.waitCommitting(t)
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("run 1: %v, want it cancelled", err)
	}
	for _, id := range f.apps {
		if a, err := st.App(context.Background(), id); err != nil || a.Inflight != rollout.StepCommit || a.Done != 0 {
			t.Fatalf("after run 1, %s = %+v, %v; want its commit in flight", id, a, err)
		}
	}
	return hole
}

// onceEach checks that the server committed, audited and released each
// mini program once, with the plan's version.
func (f *fleet) onceEach(t *testing.T) {
	t.Helper()
	versions, audits, releases := f.serverCounts(t)
	for _, id := range f.apps {
		if versions[id] != 1 || audits[id] != 1 || releases[id] != 1 {
			t.Errorf("%s: %d commits, %d audits, %d releases on the server; want 1 each", id, versions[id], audits[id], releases[id])
		}
	}
	err := f.srv.Store.View(context.Background(), func(tx miniship.Tx) error {
		for _, id := range f.apps {
			v, err := tx.LatestVersion(id)
			if err != nil {
				return err
			}
			if v.UserVersion != userVersion {
				t.Errorf("%s: latest version %q", id, v.UserVersion)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitCommitting waits until the server has every mini program either
// held by a commit being processed or committed, and returns how many are
// held.
func (f *fleet) waitCommitting(tb testing.TB) int {
	tb.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		held, committed := 0, 0
		err := f.srv.Store.View(context.Background(), func(tx miniship.Tx) error {
			for _, id := range f.apps {
				a, err := tx.GetAuthorizer(id)
				if err != nil {
					return err
				}
				switch _, err := tx.LatestVersion(id); {
				case !a.CommitUntil.IsZero():
					held++
				case err == nil:
					committed++
				case !errors.Is(err, miniship.ErrNotFound):
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
		if held+committed == len(f.apps) {
			return held
		}
	}
	tb.Fatal("the commits never reached the server")
	return 0
}

// blackhole passes the requests to path on to the server on a context of
// their own and never returns the answers: the server carries on with
// them, the client waits until it is cancelled, as a process that dies
// right after sending. cancel closes the connections of those still
// pending.
type blackhole struct {
	rt     http.RoundTripper
	path   string
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

func newBlackhole(path string) *blackhole {
	b := &blackhole{rt: http.DefaultTransport, path: path}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

func (b *blackhole) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != b.path {
		return b.rt.RoundTrip(r)
	}
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
	}
	sent := r.Clone(b.ctx)
	sent.Body = io.NopCloser(bytes.NewReader(body))
	b.wg.Go(func() {
		if res, err := b.rt.RoundTrip(sent); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
	<-r.Context().Done()
	return nil, r.Context().Err()
}

// commitAnswers counts commit requests and those answered 9402202, and
// signals each of the latter on busyc when set.
type commitAnswers struct {
	rt         http.RoundTripper
	sent, busy atomic.Int64
	busyc      chan struct{}
}

func (c *commitAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := c.rt.RoundTrip(r)
	if err != nil || r.URL.Path != "/wxa/commit" {
		return res, err
	}
	c.sent.Add(1)
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	var ans struct {
		Errcode int `json:"errcode"`
	}
	if json.Unmarshal(b, &ans) == nil && ans.Errcode == 9402202 {
		c.busy.Add(1)
		if c.busyc != nil {
			c.busyc <- struct{}{}
		}
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	return res, nil
}

// TestResumeAppliesCurrentWaits: apps left waiting for their audit under a
// plan that polls hourly are checked at the new plan's pace after a resume,
// not an hour after they were submitted.
func TestResumeAppliesCurrentWaits(t *testing.T) {
	const n = 4
	f := newFleet(t, n, mstest.Options{})
	slow, err := rollout.ParsePlan([]byte(strings.Replace(f.planYAML(""), "audit: 10ms", "audit: 1h", 1)), f.dir)
	if err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(f.dir, "rollout.db")
	st := openState(t, statePath)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := f.config(t, slow, st)
	cfg.Observer = &stepCounter{step: rollout.StepSubmitAudit, after: n, cancel: cancel}
	if _, err := rollout.Run(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("run 1: %v, want it cancelled once every app waits for its audit", err)
	}
	st.Close()

	st = openState(t, statePath)
	cfg = f.config(t, f.plan(t, ""), st)
	// A failure is this run waiting the hour it would have waited before.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel2()
	rep, err := rollout.Run(ctx2, cfg)
	if err != nil || !rep.OK() {
		t.Fatalf("run 2: %v, %+v", err, rep)
	}
}

// stepCounter cancels the run once n apps have completed step.
type stepCounter struct {
	rollout.Observer
	step   rollout.Step
	n      atomic.Int64
	after  int64
	cancel context.CancelFunc
}

func (c *stepCounter) Begin(int, []rollout.StepCount) {}
func (c *stepCounter) Failed(rollout.Step, string)    {}
func (c *stepCounter) End()                           {}
func (c *stepCounter) Advanced(s rollout.Step) {
	if s == c.step && c.n.Add(1) == c.after {
		c.cancel()
	}
}
