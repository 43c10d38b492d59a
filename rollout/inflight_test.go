package rollout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/rollout"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxa"
)

// TestResumeWhileCommitProcessing: the process dies right after sending
// its commits, while the server is still processing them (CommitLatency
// holds each mini program for real time). The next run finds the apps in
// flight, getversioninfo does not show the commits yet, and the repeated
// commit is answered 9402202. It must wait and look again rather than
// retry: the SDK's retries here outlast the processing, so a retried
// commit would land after the first one and commit a second version.
func TestResumeWhileCommitProcessing(t *testing.T) {
	const n = 8
	const latency = time.Second
	f := newFleet(t, n, mstest.Options{Config: service.Config{CommitLatency: latency}})
	p := f.plan(t, "")
	statePath := filepath.Join(f.dir, "rollout.db")
	retry := wxa.RetryPolicy{Attempts: 10, Base: 100 * time.Millisecond, Max: 400 * time.Millisecond}

	// Run 1: every commit reaches the server, no answer comes back, and the
	// process stops once the server holds every mini program.
	hole := &blackhole{rt: http.DefaultTransport, path: "/wxa/commit"}
	defer hole.wg.Wait()
	st := openState(t, statePath)
	cfg := f.config(t, p, st)
	cfg.HTTPClient = &http.Client{Transport: hole}
	cfg.Retry = retry
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		_, err := rollout.Run(ctx, cfg)
		ran <- err
	}()
	held := f.waitCommitting(t)
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("run 1: %v, want it cancelled", err)
	}
	st.Close()
	if held == 0 {
		t.Fatalf("no commit was still being processed after run 1: CommitLatency %v is too short here", latency)
	}

	// Run 2, at once: the server is still processing the commits of run 1.
	st = openState(t, statePath)
	for _, id := range f.apps {
		if a, err := st.App(context.Background(), id); err != nil || a.Inflight != rollout.StepCommit || a.Done != 0 {
			t.Fatalf("after run 1, %s = %+v, %v; want its commit in flight", id, a, err)
		}
	}
	answers := &commitAnswers{rt: http.DefaultTransport}
	cfg = f.config(t, p, st)
	cfg.HTTPClient = &http.Client{Transport: answers, Timeout: 30 * time.Second}
	cfg.Retry = retry
	cfg.CommitWait = latency + latency/2 // the look after a 9402202 comes after the commit ended
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel2()
	start := time.Now()
	rep, err := rollout.Run(ctx2, cfg)
	if err != nil || !rep.OK() || rep.Succeeded != n {
		t.Fatalf("run 2: %v, %d of %d succeeded: %+v", err, rep.Succeeded, n, rep.Failures)
	}
	hole.wg.Wait()
	t.Logf("run 1 stopped with %d of %d commits still being processed; run 2 in %v: %d commit requests, %d answered 9402202",
		held, n, time.Since(start).Round(time.Millisecond), answers.sent.Load(), answers.busy.Load())
	if answers.busy.Load() == 0 {
		t.Fatal("no repeated commit met 9402202: the case went untested")
	}
	if answers.sent.Load() != answers.busy.Load() {
		t.Errorf("run 2 sent %d commits, %d answered 9402202: it committed again", answers.sent.Load(), answers.busy.Load())
	}
	versions, audits, releases := f.serverCounts(t)
	for _, id := range f.apps {
		if versions[id] != 1 || audits[id] != 1 || releases[id] != 1 {
			t.Errorf("%s: %d commits, %d audits, %d releases on the server; want 1 each", id, versions[id], audits[id], releases[id])
		}
	}
	err = f.srv.Store.View(context.Background(), func(tx miniship.Tx) error {
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
// right after sending.
type blackhole struct {
	rt   http.RoundTripper
	path string
	wg   sync.WaitGroup
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
	sent := r.Clone(context.WithoutCancel(r.Context()))
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

// commitAnswers counts commit requests and those answered 9402202.
type commitAnswers struct {
	rt         http.RoundTripper
	sent, busy atomic.Int64
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
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	return res, nil
}
