package rollout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"github.com/miniship/miniship/wxa"
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

	// Concurrency bounds the apps worked on at once (0: 32): the requests
	// in flight, since a waiting app holds no worker; Rate the requests
	// per second over all of them, token calls included (0: no limit). Run
	// refuses a negative value here, in MaxAttempts and in CommitWait.
	Concurrency int
	Rate        float64
	// MaxAttempts is how often a step may fail with a transient error (the
	// SDK's own retries of -1, 45011, 9402202 done) in a run before its app
	// fails (0: 5). Retry paces those attempts and the SDK's retries.
	MaxAttempts int
	Retry       wxa.RetryPolicy
	// CommitWait is how long an app waits when its repeated commit (after
	// one whose answer was lost) is answered 9402202, a commit under way,
	// before getversioninfo is asked again (0: 30 s). Make it longer
	// than a commit takes on the server, so that the look after it sees
	// that commit's result.
	CommitWait time.Duration
	// Reset forgets the apps of another rollout in the state file.
	Reset bool
	// LeanReport leaves Report.Outcomes nil, for State.WriteReport to
	// stream from the file: a report in memory grows with the fleet.
	LeanReport bool

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
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Concurrency == 0 {
		// Waits hold no worker, so this is the requests in flight: at
		// 400 apps/s, eight calls an app and a server answering in 5-10
		// ms under that load, 16-32 (Little's law); more only queues at
		// the server, whose writes are serial.
		c.Concurrency = 32
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.CommitWait == 0 {
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
	if e.writer, err = newWriter(e.state.db, e.log); err != nil {
		return nil, err
	}
	c.Observer.Begin(total, counts)
	if w, ok := c.Observer.(WaitObserver); ok {
		w.Watch(func() []Waiting { return e.sched.waits(e.plan, e.clock.Now()) })
	}
	e.state.tokens.group.Store(e.writer)
	e.state.worked = true // from here the file may hold progress: never Discard it
	runErr := e.dispatch(ctx)
	e.state.tokens.group.Store(nil)
	e.writer.close()
	c.Observer.End()
	// The report reads the file on a fresh context: an interrupted run
	// still says where it stopped.
	rep, err := e.state.report(context.WithoutCancel(ctx), e.plan, started, c.LeanReport)
	if err != nil {
		return nil, errors.Join(runErr, err)
	}
	rep.Interrupted = runErr != nil
	return rep, runErr
}

// check refuses negative settings: 0 is a setting's default (no limit for
// Rate), a negative value means nothing.
func (c *Config) check() error {
	for _, f := range []struct {
		name     string
		negative bool
		value    any
	}{
		{"Concurrency", c.Concurrency < 0, c.Concurrency},
		{"Rate", c.Rate < 0, c.Rate},
		{"MaxAttempts", c.MaxAttempts < 0, c.MaxAttempts},
		{"CommitWait", c.CommitWait < 0, c.CommitWait},
	} {
		if f.negative {
			return fmt.Errorf("rollout: Config.%s %v: must not be negative (0: the default)", f.name, f.value)
		}
	}
	return nil
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

type nopObserver struct{}

func (nopObserver) Begin(int, []StepCount) {}
func (nopObserver) Advanced(Step)          {}
func (nopObserver) Failed(Step, string)    {}
func (nopObserver) End()                   {}
