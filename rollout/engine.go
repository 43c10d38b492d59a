package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxerr"
)

// Config is one run of a rollout.
type Config struct {
	Plan  *Plan
	State *State

	// BaseURL is WeChat's (default) or a miniship server's.
	BaseURL         string
	ComponentAppID  string
	ComponentSecret string
	// Ticket is the current component_verify_ticket.
	Ticket string
	// RefreshTokens streams refresh tokens beyond those in the plan's
	// targets (see ReadTargets); nil for none.
	RefreshTokens func(func(Target) error) error

	// Concurrency bounds the apps worked on at once (default 16); Rate the
	// requests per second over all of them, token calls included (0: no
	// limit).
	Concurrency int
	Rate        float64
	// MaxAttempts is how often a step may fail with a transient error (the
	// SDK's own retries of -1, 45011, 9402202 done) in a run before its app
	// fails (default 5). Retry paces those attempts and the SDK's retries.
	MaxAttempts int
	Retry       wxa.RetryPolicy
	// CommitWait is how long an app waits when its repeated commit (after
	// one whose answer was lost) is answered 9402202, a commit under way,
	// before getversioninfo is asked again (default 30 s). Make it longer
	// than a commit takes on the server, so that the look after it sees
	// that commit's result.
	CommitWait time.Duration
	// Reset forgets the apps of another rollout in the state file.
	Reset bool

	HTTPClient *http.Client
	// Clock schedules the waits (default the wall clock).
	Clock Clock
	// WXA adjusts the SDK options, e.g. to follow a test server's clock.
	WXA      func(*wxa.Options)
	Observer Observer
	Logger   *slog.Logger
}

// Observer follows a run, e.g. progress bars. Calls come from several
// goroutines.
type Observer interface {
	// Begin gives the state before any work: apps and per-step counts.
	Begin(total int, steps []StepCount)
	// Advanced reports an app that completed a step.
	Advanced(s Step)
	// Failed reports an app that stopped at a step for this run.
	Failed(s Step, kind string)
	End()
}

// WaitObserver is an Observer that also shows what the waiting apps wait
// for: after Begin, Watch gives it a summary to call when it redraws.
type WaitObserver interface {
	Observer
	Watch(waits func() []Waiting)
}

type engine struct {
	Config
	plan   *Plan
	state  *State
	client *wxa.Client
	log    *slog.Logger
	clock  Clock
	sched  *schedule
	writer *writer
}

// Run runs the plan's pipeline over its targets until every app is done or
// failed, or ctx ends, and reports. On interruption it returns the partial
// report and ctx's error; running again with the same state file resumes.
func Run(ctx context.Context, c Config) (*Report, error) {
	if c.Concurrency <= 0 {
		c.Concurrency = 16
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.CommitWait <= 0 {
		c.CommitWait = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	if c.Clock == nil {
		c.Clock = wallClock{}
	}
	e := &engine{Config: c, plan: c.Plan, state: c.State, log: c.Logger, clock: c.Clock, sched: &schedule{}}
	o := wxa.Options{
		BaseURL: c.BaseURL, ComponentAppID: c.ComponentAppID, ComponentSecret: c.ComponentSecret,
		HTTPClient: e.httpClient(), Logger: c.Logger, Store: c.State.TokenStore(), Retry: c.Retry,
	}
	if c.WXA != nil {
		c.WXA(&o)
	}
	var err error
	if e.client, err = wxa.NewClient(o); err != nil {
		return nil, err
	}
	if c.Ticket != "" {
		if err := e.client.SetTicket(ctx, c.Ticket); err != nil {
			return nil, err
		}
	}
	started := time.Now()
	if err := e.state.begin(ctx, e.plan, c.Reset); err != nil {
		return nil, err
	}
	if err := e.state.importTargets(ctx, e.plan, e.client, c.RefreshTokens); err != nil {
		return nil, err
	}
	total, counts, err := e.state.counts(ctx, e.plan.steps)
	if err != nil {
		return nil, err
	}
	if e.writer, err = newWriter(e.state.db); err != nil {
		return nil, err
	}
	c.Observer.Begin(total, counts)
	if w, ok := c.Observer.(WaitObserver); ok {
		w.Watch(func() []Waiting { return e.sched.waits(e.plan, e.clock.Now()) })
	}
	runErr := e.dispatch(ctx)
	e.writer.close()
	c.Observer.End()
	// The report reads the file on a fresh context: an interrupted run
	// still says where it stopped.
	rep, err := e.state.report(context.WithoutCancel(ctx), e.plan, started)
	if err != nil {
		return nil, errors.Join(runErr, err)
	}
	rep.Interrupted = runErr != nil
	return rep, runErr
}

func (e *engine) httpClient() *http.Client {
	hc := e.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 2 * e.Concurrency // reuse connections, not TIME_WAIT them
		hc = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	if e.Rate <= 0 {
		return hc
	}
	cp := *hc
	cp.Transport = &limited{rt: hc.Transport, lim: rate.NewLimiter(rate.Limit(e.Rate), max(1, int(e.Rate)/10))}
	return &cp
}

// limited waits for the global rate limiter before every request.
type limited struct {
	rt  http.RoundTripper
	lim *rate.Limiter
}

func (l *limited) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := l.lim.Wait(r.Context()); err != nil {
		if r.Body != nil {
			r.Body.Close() // a RoundTripper closes the body, errors included
		}
		return nil, err
	}
	rt := l.rt
	if rt == nil {
		rt = http.DefaultTransport
	}
	return rt.RoundTrip(r)
}

// dispatch hands due apps from the in-memory schedule to a fixed pool of
// workers. A worker takes an app as far as it goes without waiting and
// gives it back; an app that waits (privacy scan, audit, gray) goes back
// into the schedule with a time and frees its worker. The state file is
// read once for the apps under way and then in windows of new apps: never
// to find out what is due.
func (e *engine) dispatch(ctx context.Context) error {
	if err := e.loadStarted(ctx); err != nil {
		return err
	}
	n := e.Concurrency
	jobs := make(chan *app, n)
	finished := make(chan *app, n)
	for range n {
		go func() {
			for a := range jobs {
				if ctx.Err() == nil {
					e.process(ctx, a)
				}
				finished <- a
			}
		}()
	}
	held := 0 // apps with a worker: at most n
	defer func() {
		close(jobs)
		for range held {
			<-finished
		}
	}()
	var after int64 // the window of new apps reaches this far in target order
	more := true    // the file may hold new apps beyond it
	window := max(256, 4*n)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	back := func(a *app) {
		held--
		if a.Status == "pending" && ctx.Err() == nil {
			e.sched.push(a)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, fresh := e.sched.len(); more && fresh < 2*n {
			batch, err := e.state.freshApps(ctx, after, window)
			if err != nil {
				return err
			}
			for _, a := range batch {
				e.sched.push(a)
				after = a.Seq
			}
			more = len(batch) == window
		}
		// Moved before Now: a jump in between still wakes the select.
		moved := e.clock.Moved()
		now := e.clock.Now()
		for held < n {
			a := e.sched.pop(now)
			if a == nil {
				break
			}
			held++
			jobs <- a
		}
		wake := e.sched.wake()
		if held == 0 && wake.IsZero() {
			if !more {
				return nil
			}
			continue // the next window
		}
		var tc <-chan time.Time
		if !wake.IsZero() && held < n {
			timer.Reset(wake.Sub(now)) // Go ≥ 1.23 timers: no stale tick to drain
			tc = timer.C
		}
		select {
		case a := <-finished:
			back(a)
		drain:
			for {
				select {
				case a := <-finished:
					back(a)
				default:
					break drain
				}
			}
		case <-tc:
		case <-moved:
		case <-ctx.Done():
		}
	}
}

// loadStarted puts the apps under way into the schedule, their waits
// recomputed from the plan as it is now: a wait shortened (or lengthened)
// in the plan applies to apps that were already waiting.
func (e *engine) loadStarted(ctx context.Context) error {
	return e.state.startedApps(ctx, func(a *app) {
		if d, ok := e.length(a.Wait); ok && !a.WaitSince.IsZero() {
			a.NextAt = a.WaitSince.Add(d)
		}
		e.sched.push(a)
	})
}

// process takes one app as far as it goes without waiting, saving after
// every step, and leaves it waiting, failed or done.
func (e *engine) process(ctx context.Context, a *app) {
	for {
		st, ok := e.plan.next(a.Done)
		if !ok {
			a.Status, a.Err = "done", nil
			a.NextAt, a.Wait, a.WaitSince = time.Time{}, WaitNone, time.Time{}
			e.save(a)
			return
		}
		w, err := e.step(ctx, a, st)
		switch {
		case err != nil && ctx.Err() != nil:
			// Interrupted: what is known (inflight) is saved already.
			return
		case err != nil:
			e.fail(a, st, err)
			return
		case w != WaitNone:
			e.wait(a, st, w)
			e.save(a)
			return
		}
		a.Done, a.Inflight, a.Tries, a.Attempts, a.Err = st, 0, 0, 0, nil
		a.NextAt, a.Wait, a.WaitSince = time.Time{}, WaitNone, time.Time{}
		// A scan or an audit just started is not over yet: the first look
		// comes one poll later, and the worker moves on meanwhile.
		w = e.firstPoll(st)
		if w != WaitNone {
			e.wait(a, st, w)
		}
		if !e.save(a) {
			return
		}
		e.Observer.Advanced(st)
		e.log.Debug("rollout: step done", "appid", a.ID, "step", st)
		if w != WaitNone {
			return
		}
	}
}

// wait schedules a's next visit after the plan's wait for w, and says so
// with --verbose.
func (e *engine) wait(a *app, at Step, w Wait) {
	d, _ := e.length(w)
	now := e.clock.Now()
	a.Wait, a.WaitSince, a.NextAt = w, now, now.Add(d)
	if next, ok := e.plan.next(a.Done); ok {
		at = next
	}
	e.log.Debug("rollout: waiting", "appid", a.ID, "step", at, "for", w.String(), "next_check", a.NextAt.Format(time.TimeOnly))
}

func (e *engine) firstPoll(done Step) Wait {
	next, _ := e.plan.next(done)
	switch {
	case done == StepCommit && next == StepPrivacyScan:
		return WaitScan
	case done == StepSubmitAudit && next == StepWaitAudit:
		return WaitAudit
	}
	return WaitNone
}

// markInflight marks a before a call with effects; a failure to record it
// stops the app, since the call would then be unguarded. A commit's mark
// also schedules the look after it no earlier than CommitWait: should its
// answer be lost (a crash, a timeout), the look at getversioninfo comes
// once that commit must have ended on the server, so a commit still under
// way is never mistaken for one that did not happen.
func (e *engine) markInflight(a *app, st Step) error {
	a.Inflight = st
	if st == StepCommit {
		now := e.clock.Now()
		a.Wait, a.WaitSince, a.NextAt = WaitCommit, now, now.Add(e.CommitWait)
	}
	if err := e.writer.write(a, true); err != nil {
		return fmt.Errorf("%w: state file: %v", errLocal, err)
	}
	return nil
}

func (e *engine) save(a *app) bool {
	if err := e.writer.write(a, false); err != nil {
		e.log.Error("rollout: save state", "appid", a.ID, "err", err)
		return false
	}
	return true
}

// fail records a failed step: retried later in this run when transient
// and attempts remain, else the app stops for this run.
func (e *engine) fail(a *app, st Step, err error) {
	f, retry := classify(err)
	f.AppID, f.Step = a.ID, st.String()
	a.Err = &f
	a.Attempts++
	a.Tries++
	a.Status = "failed"
	var we *wxerr.Error
	if !retry && errors.As(err, &we) {
		// WeChat answered with an error: the call had no effect, there is
		// nothing to look for before trying again.
		a.Inflight = 0
	}
	now := e.clock.Now()
	if a.Inflight != StepCommit || a.Wait != WaitCommit {
		a.Wait, a.WaitSince, a.NextAt = WaitNone, time.Time{}, time.Time{}
	}
	if retry && a.Tries < e.MaxAttempts {
		a.Status = "pending"
		next := now.Add(e.Retry.Backoff(a.Tries, wxerr.Code(f.Code)))
		if a.Wait == WaitCommit {
			// The commit may still be under way: its wait (from the mark)
			// outlasts a short backoff.
			next = later(next, a.NextAt)
		} else {
			a.Wait, a.WaitSince = WaitRetry, now
		}
		a.NextAt = next
	}
	if !e.save(a) {
		return
	}
	if a.Status == "pending" {
		e.log.Debug("rollout: will retry", "appid", a.ID, "step", st, "err", err, "next_check", a.NextAt.Format(time.TimeOnly))
		return
	}
	e.log.Warn("rollout: failed", "appid", a.ID, "step", st, "errcode", f.Code, "errmsg", f.Msg)
	e.Observer.Failed(st, f.Kind)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// auditError is an audit that ended other than approved.
type auditError struct{ st *wxa.AuditStatus }

func (e *auditError) Error() string {
	return fmt.Sprintf("audit %d %s: %s", e.st.AuditID, e.st.Status, e.st.Reason)
}

// classify names a failure and says whether trying again may help.
func classify(err error) (Failure, bool) {
	f := Failure{Msg: err.Error()}
	var we *wxerr.Error
	var he *wxa.HTTPError
	var re *RenderError
	var ae *auditError
	switch {
	case errors.As(err, &we):
		f.Code, f.Kind, f.Msg = int(we.Code), itoa(int(we.Code)), we.Msg
		return f, wxa.Retryable(err)
	case errors.As(err, &ae):
		f.Kind = ae.st.Status.String()
		return f, false
	case errors.As(err, &re):
		f.Kind = "ext_json"
		return f, false
	case errors.Is(err, wxa.ErrNoRefreshToken):
		f.Kind = "no_refresh_token"
		return f, false
	case errors.Is(err, wxa.ErrNoTicket):
		f.Kind = "no_ticket"
		return f, false
	case errors.As(err, &he):
		f.Kind = "http_" + itoa(he.StatusCode)
		return f, he.StatusCode >= 500 || he.StatusCode == http.StatusTooManyRequests
	case errors.Is(err, errLocal):
		f.Kind = "error"
		return f, false
	}
	f.Kind = "network"
	return f, true
}

var errLocal = errors.New("rollout")

// step runs one step of an app. It returns WaitNone, nil when the step is
// done, what the app waits for when it must come back later, or the
// failure.
func (e *engine) step(ctx context.Context, a *app, st Step) (Wait, error) {
	w := e.client.App(a.ID)
	switch st {
	case StepCommit:
		return e.commit(ctx, w, a)
	case StepPrivacyScan:
		// Polled here rather than with WaitPrivacyScan: a waiting app must
		// not hold a worker.
		_, err := w.PrivacyInfo(ctx)
		if errors.Is(err, wxerr.PrivacyScanRunning) {
			return WaitScan, nil
		}
		return WaitNone, err
	case StepSubmitAudit:
		return e.submit(ctx, w, a)
	case StepWaitAudit:
		res, err := w.AuditStatus(ctx, a.AuditID)
		switch {
		case err != nil:
			return WaitNone, err
		case !res.Status.Done():
			return WaitAudit, nil
		case res.Status != wxa.AuditApproved:
			if res.AuditID == 0 {
				res.AuditID = a.AuditID
			}
			return WaitNone, &auditError{res}
		}
		return WaitNone, nil
	case StepGray:
		return e.gray(ctx, w, a)
	case StepRelease:
		return WaitNone, e.release(ctx, w, a)
	}
	return WaitNone, fmt.Errorf("%w: unknown step %v", errLocal, st)
}

// commit never commits twice: when an earlier commit may have gone through
// unseen (inflight), the experience version tells whether it did. One the
// server is still processing does not show yet; the repeated commit then
// meets 9402202, so it is made without the SDK's retries (a retry after the
// earlier commit ends would be a second commit), and 9402202 sends the app
// back to wait CommitWait, to look at the experience version again before
// any new commit.
func (e *engine) commit(ctx context.Context, w *wxa.App, a *app) (Wait, error) {
	again := a.Inflight == StepCommit
	if again {
		if ok, err := e.versionIs(ctx, w, false); err != nil || ok {
			return WaitNone, err
		}
	}
	raw, err := e.state.vals(ctx, a.ID)
	if err != nil {
		return WaitNone, fmt.Errorf("%w: state file: %v", errLocal, err)
	}
	var vals map[string]any
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &vals); err != nil {
			return WaitNone, fmt.Errorf("%w: values: %v", errLocal, err)
		}
	}
	ext, err := e.plan.Render(a.ID, vals)
	if err != nil {
		return WaitNone, err
	}
	if err := e.markInflight(a, StepCommit); err != nil {
		return WaitNone, err
	}
	cctx := ctx
	if again {
		cctx = wxa.WithoutRetry(ctx)
	}
	err = w.Commit(cctx, wxa.CommitRequest{TemplateID: e.plan.Template.ID, ExtJSON: ext, UserVersion: e.plan.UserVersion, UserDesc: e.plan.UserDesc})
	if again && errors.Is(err, wxerr.ConcurrentLimit) {
		// A commit is being processed, most likely the earlier one: still
		// in flight, the app is checked again at the next visit.
		e.log.Debug("rollout: a commit is under way, waiting for it", "appid", a.ID, "wait", e.CommitWait)
		return WaitCommit, nil
	}
	return WaitNone, err
}

// versionIs reports whether the experience (or, with released, the online)
// version is this rollout's.
func (e *engine) versionIs(ctx context.Context, w *wxa.App, released bool) (bool, error) {
	vi, err := w.VersionInfo(ctx)
	if err != nil {
		return false, err
	}
	if released {
		return vi.ReleaseInfo != nil && vi.ReleaseInfo.ReleaseVersion == e.plan.UserVersion, nil
	}
	return vi.ExpInfo != nil && vi.ExpInfo.ExpVersion == e.plan.UserVersion, nil
}

func (e *engine) submit(ctx context.Context, w *wxa.App, a *app) (Wait, error) {
	if a.Inflight == StepSubmitAudit {
		if ok, err := e.adoptAudit(ctx, w, a); err != nil || ok {
			return WaitNone, err
		}
	}
	req := e.plan.Audit
	if len(req.ItemList) == 0 {
		cats, err := w.Categories(ctx)
		if err != nil {
			return WaitNone, err
		}
		if len(cats) == 0 {
			return WaitNone, fmt.Errorf("%w: no category to submit under: set audit.item_list", errLocal)
		}
		req.ItemList = []wxa.AuditItem{cats[0].AuditItem()}
	}
	if err := e.markInflight(a, StepSubmitAudit); err != nil {
		return WaitNone, err
	}
	id, err := w.SubmitAudit(ctx, req)
	switch {
	case err == nil:
		a.AuditID = id
		return WaitNone, nil
	case errors.Is(err, wxerr.PrivacyScanRunning):
		// The scan is not over after all: wait for it, never re-commit.
		a.Inflight = 0
		return WaitScan, nil
	case errors.Is(err, wxerr.AlreadyAuditing):
		// Maybe ours, from an answer that got lost.
		if ok, aerr := e.adoptAudit(ctx, w, a); aerr == nil && ok {
			return WaitNone, nil
		}
	}
	return WaitNone, err
}

// adoptAudit takes the latest audit as this app's when it is of this
// rollout's version and not the one already known (a rejected earlier try).
func (e *engine) adoptAudit(ctx context.Context, w *wxa.App, a *app) (bool, error) {
	st, err := w.LatestAuditStatus(ctx)
	var we *wxerr.Error
	if errors.As(err, &we) && !wxa.Retryable(err) {
		return false, nil // no audit at all
	}
	if err != nil {
		return false, err
	}
	if st.AuditID == 0 || st.AuditID == a.AuditID || st.UserVersion != e.plan.UserVersion {
		return false, nil
	}
	a.AuditID = st.AuditID
	return true, nil
}

func (e *engine) gray(ctx context.Context, w *wxa.App, a *app) (Wait, error) {
	wait := time.Duration(e.plan.Gray.Wait)
	for _, pct := range e.plan.Gray.Percentages {
		if pct <= a.GrayPct {
			continue
		}
		err := w.GrayRelease(ctx, wxa.GrayReleaseRequest{GrayPercentage: pct})
		if errors.Is(err, wxerr.NoOnlineRelease) && a.GrayPct == 0 {
			// A first release has no users to phase in: release directly.
			return WaitNone, nil
		}
		if errors.Is(err, wxerr.GrayPercentageTooLow) {
			// An earlier call whose answer was lost may have set it.
			if g, gerr := w.GrayReleasePlan(ctx); gerr == nil && g.GrayPercentage >= pct {
				err = nil
			}
		}
		if err != nil {
			return WaitNone, err
		}
		a.GrayPct = pct
		if wait > 0 {
			return WaitGray, nil // the step completes at the next visit
		}
	}
	return WaitNone, nil
}

func (e *engine) release(ctx context.Context, w *wxa.App, a *app) error {
	if a.Inflight == StepRelease {
		if ok, err := e.versionIs(ctx, w, true); err != nil || ok {
			return err
		}
	}
	if err := e.markInflight(a, StepRelease); err != nil {
		return err
	}
	err := w.Release(ctx)
	if errors.Is(err, wxerr.AlreadyReleased) {
		if ok, verr := e.versionIs(ctx, w, true); verr == nil && ok {
			return nil
		}
	}
	return err
}

type nopObserver struct{}

func (nopObserver) Begin(int, []StepCount) {}
func (nopObserver) Advanced(Step)          {}
func (nopObserver) Failed(Step, string)    {}
func (nopObserver) End()                   {}
