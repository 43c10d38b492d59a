package wxa_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxa/internal/fixture"
	"github.com/miniship/miniship/wxerr"
)

// TestWithoutRetry: under WithoutRetry a call is made once on -1 and
// 9402202, injected or the server's own, where the default retries it;
// the token fetches the call needs keep their retries.
func TestWithoutRetry(t *testing.T) {
	var sleeps atomic.Int64
	gate := &mstest.BuildGate{} // holds the server's own commit open below
	e, c, calls := fixture.Setup(t, mstest.Options{Config: service.Config{CommitBuild: gate.Build}},
		func(_ *fixture.Env, o *wxa.Options) {
			o.Retry = wxa.RetryPolicy{Attempts: 4}
			o.Sleep = func(ctx context.Context, _ time.Duration) error { sleeps.Add(1); return ctx.Err() }
		})
	app := c.App(e.AppID)
	commit := func(ctx context.Context, version string) error {
		return app.Commit(ctx, wxa.CommitRequest{TemplateID: e.Template, ExtJSON: `{"requiredPrivateInfos":[]}`, UserVersion: version})
	}
	// tried runs f and returns how many commit requests it sent, how many
	// backoffs it slept and its error.
	tried := func(f func() error) (int, int64, error) {
		n, s := calls.N("/wxa/commit"), sleeps.Load()
		err := f()
		return calls.N("/wxa/commit") - n, sleeps.Load() - s, err
	}
	if _, err := app.VersionInfo(bg); err != nil { // tokens first
		t.Fatal(err)
	}

	// Injected faults (answered before the server does anything).
	for _, code := range []wxerr.Code{wxerr.SystemError, wxerr.ConcurrentLimit} {
		setFaults(t, e.S, httpapi.FaultRule{Path: "/wxa/commit", Rate: 1, Errcode: int(code)})
		n, s, err := tried(func() error { return commit(bg, "f") })
		if !errors.Is(err, code) || n != 4 || s != 3 {
			t.Fatalf("%d by default: %v after %d attempts and %d backoffs, want 4 and 3", code, err, n, s)
		}
		n, s, err = tried(func() error { return commit(wxa.WithoutRetry(bg), "f") })
		if !errors.Is(err, code) || n != 1 || s != 0 {
			t.Fatalf("%d WithoutRetry: %v after %d attempts and %d backoffs, want 1 and 0", code, err, n, s)
		}
	}
	setFaults(t, e.S)

	// The server's own 9402202: a commit holds the mini program until the
	// gate is released.
	gate.Hold()
	done := make(chan error, 1)
	go func() { done <- commit(bg, "held") }()
	<-gate.Waiting()
	n, s, err := tried(func() error { return commit(wxa.WithoutRetry(bg), "second") })
	if !errors.Is(err, wxerr.ConcurrentLimit) || n != 1 || s != 0 {
		t.Fatalf("WithoutRetry during a commit: %v after %d attempts and %d backoffs, want 9402202 once", err, n, s)
	}
	n, s, err = tried(func() error { return commit(bg, "third") })
	if !errors.Is(err, wxerr.ConcurrentLimit) || n != 4 || s != 3 {
		t.Fatalf("default during a commit: %v after %d attempts and %d backoffs, want 9402202 4 times", err, n, s)
	}
	gate.Release()
	if err := <-done; err != nil {
		t.Fatalf("held commit: %v", err)
	}
	if vi, err := app.VersionInfo(bg); err != nil || vi.ExpInfo == nil || vi.ExpInfo.ExpVersion != "held" {
		t.Fatalf("experience version %+v, %v; want the held commit's", vi, err)
	}

	// Another process without tokens: WithoutRetry covers the call, not the
	// token fetch it needs (which other callers may share).
	c2, calls2 := e.Client(t, func(_ *fixture.Env, o *wxa.Options) { o.Retry = wxa.RetryPolicy{Attempts: 4} })
	if err := c2.SetTicket(bg, e.S.Ticket(t, e.P.AppID)); err != nil {
		t.Fatal(err)
	}
	if err := c2.SetRefreshToken(bg, e.AppID, e.Refresh); err != nil {
		t.Fatal(err)
	}
	setFaults(t, e.S, httpapi.FaultRule{Path: "/cgi-bin/component/api_authorizer_token", Rate: 1, Errcode: -1})
	_, err = c2.App(e.AppID).VersionInfo(wxa.WithoutRetry(bg))
	if tk, vi := calls2.N("/cgi-bin/component/api_authorizer_token"), calls2.N("/wxa/getversioninfo"); !errors.Is(err, wxerr.SystemError) || tk != 4 || vi != 0 {
		t.Fatalf("token fetch under WithoutRetry: %v after %d token attempts and %d calls, want 4 and 0", err, tk, vi)
	}
}
