// Package bench is `miniship bench`: a load generator that sizes a miniship
// deployment the way pgbench sizes a database. It creates its own platform,
// template and mini programs on the server, then measures the no-op
// endpoint, an authenticated read, commit, submit_audit and the whole
// commit→submit→approve→release life, reporting each as a multiple of the
// no-op measured in the same round, so a busy or slow machine shifts every
// row alike and the ratios stay comparable between machines.
//
// Closed loop (Concurrency clients, each waiting for its answer) measures
// capacity; open loop (Rate requests per second whatever the answers, paced
// by vegeta) measures latency at a given load. The client is its own
// process: the server's CPU use, read from /proc when its pid is known, is
// the server's alone.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes a run.
type Config struct {
	BaseURL  string
	AdminKey string
	// Concurrency is the number of closed-loop clients, each with its own
	// mini program (as a rollout drives them).
	Concurrency int
	// Rate > 0 switches to the open loop: this many requests per second.
	Rate     int
	Duration time.Duration // per scenario and round
	Warmup   time.Duration // per scenario, before measuring
	Rounds   int
	// Apps is the number of mini programs to create (at least Concurrency).
	Apps      int
	Scenarios []string
	// ServerPID, when known, lets the report show the server's CPU per
	// operation from /proc/<pid>/stat.
	ServerPID int
	// Progress, when set, receives a line per finished scenario.
	Progress io.Writer
}

// Scenarios are the names Config.Scenarios accepts, in the order they run.
var Scenarios = []string{"noop", "read", "status", "commit", "submit_audit", "life"}

// Result is one scenario of one round.
type Result struct {
	Round    int           `json:"round"`
	Scenario string        `json:"scenario"`
	Ops      int           `json:"ops"`
	Errors   int           `json:"errors"`
	FirstErr string        `json:"first_error,omitempty"`
	PerSec   float64       `json:"ops_per_s"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
	P999     time.Duration `json:"p999_ns"`
	// Cost is how many no-op calls of the same round one operation costs:
	// the no-op rate over this rate in the closed loop, the ratio of server
	// CPU per operation in the open loop (where rates are the pacer's).
	Cost float64 `json:"cost_noops"`
	// CPUPerOp is the server's CPU time per operation, when its pid is known.
	CPUPerOp time.Duration `json:"server_cpu_per_op_ns,omitempty"`
	// ClientCPUPerOp is bench's own CPU time per operation: on a shared
	// machine what the load generator takes is not the server's.
	ClientCPUPerOp time.Duration `json:"client_cpu_per_op_ns,omitempty"`
	// Warning says why the row may not mean what it seems to, e.g. an
	// open loop that could not send at the rate asked.
	Warning string `json:"warning,omitempty"`
}

// minCPU is the least CPU time over a window that the report divides per
// operation: /proc counts in 10 ms ticks, so 20 of them bound the error to
// 5%.
const minCPU = 200 * time.Millisecond

// OpenLoop are the scenarios the open loop can pace (each a single call),
// and what it runs when Config.Scenarios is empty.
var OpenLoop = []string{"noop", "read", "status", "commit"}

// MaxRate bounds Config.Rate: vegeta's pacer divides a second by it.
const MaxRate = 1_000_000

// Validate refuses a configuration Run cannot carry out as asked. Zero
// values take Run's defaults (32 clients, 5 s, one round, the closed
// loop, one mini program per client); negative ones are refused.
func (c Config) Validate() error {
	clients := c.Concurrency
	if clients == 0 {
		clients = 32
	}
	switch {
	case c.Concurrency < 0:
		return fmt.Errorf("concurrency %d: want 0 (the default, 32) or more", c.Concurrency)
	case c.Rate < 0 || c.Rate > MaxRate:
		return fmt.Errorf("rate %d: want 0 (closed loop) to %d requests per second", c.Rate, MaxRate)
	case c.Duration < 0:
		return fmt.Errorf("duration %s: want 0 (the default, 5s) or more", c.Duration)
	case c.Warmup < 0:
		return fmt.Errorf("warm-up %s: want 0 or more", c.Warmup)
	case c.Rounds < 0:
		return fmt.Errorf("rounds %d: want 0 (the default, 1) or more", c.Rounds)
	case c.Apps < 0 || (c.Apps > 0 && c.Apps < clients):
		return fmt.Errorf("apps %d: want 0 (one per client) or at least the %d clients", c.Apps, clients)
	}
	for _, s := range c.Scenarios {
		if !slices.Contains(Scenarios, s) {
			return fmt.Errorf("unknown scenario %q (have %s)", s, strings.Join(Scenarios, ", "))
		}
		if c.Rate > 0 && !slices.Contains(OpenLoop, s) {
			return fmt.Errorf("scenario %s is a sequence of calls: run it in the closed loop (without --rate); the open loop paces %s", s, strings.Join(OpenLoop, ", "))
		}
	}
	return nil
}

// Run sets up the fixture and runs every round of every scenario.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 32
	}
	if cfg.Apps < cfg.Concurrency {
		cfg.Apps = cfg.Concurrency
	}
	if cfg.Rounds == 0 {
		cfg.Rounds = 1
	}
	if cfg.Duration == 0 {
		cfg.Duration = 5 * time.Second
	}
	if len(cfg.Scenarios) == 0 {
		cfg.Scenarios = Scenarios
		if cfg.Rate > 0 {
			cfg.Scenarios = OpenLoop
		}
	}
	// Keep-alive connections, one per client; requests never share one.
	tr := &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency + setupParallel, MaxIdleConns: 0, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	c := &client{base: strings.TrimSuffix(cfg.BaseURL, "/"), adminKey: cfg.AdminKey, hc: &http.Client{Transport: tr, Timeout: time.Minute}}
	f, err := setup(ctx, c, cfg.Apps)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	r := &runner{cfg: cfg, c: c, f: f, tr: tr, audits: make([]atomic.Int64, cfg.Apps)}
	// The noop always runs: it is what the others are divided by.
	names := cfg.Scenarios
	if !slices.Contains(names, "noop") {
		names = append([]string{"noop"}, names...)
	}
	var out []Result
	for round := 1; round <= cfg.Rounds; round++ {
		var noop *Result
		for _, name := range Scenarios {
			if !slices.Contains(names, name) {
				continue
			}
			res, err := r.scenario(ctx, name)
			if err != nil {
				return out, fmt.Errorf("%s: %w", name, err)
			}
			res.Round = round
			if name == "noop" {
				noop = &res
			}
			res.Cost = cost(noop, &res, cfg.Rate > 0)
			if name == "noop" {
				noop.Cost = 1
			}
			if cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "round %d %-12s %8.0f/s  p50 %-9s p99 %-9s cost %s noops\n", round, name, res.PerSec, round2(res.P50), round2(res.P99), costText(res.Cost))
				if res.Warning != "" {
					fmt.Fprintf(cfg.Progress, "round %d %s: %s\n", round, name, res.Warning)
				}
			}
			out = append(out, res)
		}
	}
	return out, nil
}

// cost is an operation's price in no-op calls of the same round.
func cost(noop, r *Result, open bool) float64 {
	if noop == nil {
		return 0
	}
	if open {
		if noop.CPUPerOp <= 0 || r.CPUPerOp <= 0 {
			return 0 // unknown: no pid, or too few clock ticks (perOp)
		}
		return float64(r.CPUPerOp) / float64(noop.CPUPerOp)
	}
	if r.PerSec <= 0 {
		return 0
	}
	return noop.PerSec / r.PerSec
}

// runner holds what the scenarios share.
type runner struct {
	cfg    Config
	c      *client
	f      *fixture
	tr     *http.Transport
	audits []atomic.Int64 // the last auditid of each mini program
	seq    atomic.Int64   // makes every commit's ext_json distinct
}

// op is one measured operation of a closed-loop client. It returns how
// long the measured part took; work around it (approving an audit so the
// next submit_audit is possible) is not counted.
type op func(ctx context.Context, app int) (time.Duration, error)

func (r *runner) scenario(ctx context.Context, name string) (Result, error) {
	var o op
	switch name {
	case "noop":
		o = r.timed(func(ctx context.Context, _ int) error {
			_, err := r.c.do(ctx, "GET", "/miniship/healthz", "", nil, false)
			return err
		})
	case "read":
		o = r.timed(func(ctx context.Context, app int) error {
			return r.c.wechat(ctx, "GET", "/wxa/get_category", tokenQuery(r.f.tokens[app]), nil, nil)
		})
	case "status":
		if err := r.ensureAudits(ctx); err != nil {
			return Result{}, err
		}
		o = r.timed(func(ctx context.Context, app int) error {
			return r.c.wechat(ctx, "POST", "/wxa/get_auditstatus", tokenQuery(r.f.tokens[app]), rawJSON(r.statusBody(app)), nil)
		})
	case "commit":
		o = r.timed(r.commit)
	case "submit_audit":
		o = r.submitAudit
	case "life":
		o = r.timed(r.life)
	}
	if r.cfg.Rate > 0 {
		return r.open(ctx, name, o)
	}
	return r.closed(ctx, name, o)
}

func (r *runner) timed(f func(ctx context.Context, app int) error) op {
	return func(ctx context.Context, app int) (time.Duration, error) {
		t0 := time.Now()
		err := f(ctx, app)
		return time.Since(t0), err
	}
}

func (r *runner) commit(ctx context.Context, app int) error {
	return r.c.wechat(ctx, "POST", "/wxa/commit", tokenQuery(r.f.tokens[app]), rawJSON(r.commitBody(app, r.seq.Add(1))), nil)
}

// commitBody is a commit of the template with an ext_json of its own (the
// mini program's appid and n), built by appending: json.Marshal of a map
// cost the load generator as much as a no-op call.
func (r *runner) commitBody(app int, n int64) []byte {
	ext := make([]byte, 0, 128)
	ext = append(ext, `{"extAppid":"`...)
	ext = append(ext, r.f.apps[app]...)
	ext = append(ext, `","ext":{"n":`...)
	ext = strconv.AppendInt(ext, n, 10)
	ext = append(ext, `},"requiredPrivateInfos":["getLocation"]}`...)
	b := make([]byte, 0, 256)
	b = append(b, `{"template_id":`...)
	b = strconv.AppendInt(b, r.f.templateID, 10)
	b = append(b, `,"ext_json":`...)
	b = strconv.AppendQuote(b, string(ext)) // ASCII without control characters: JSON's quoting too
	b = append(b, `,"user_version":"1.0.`...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, `","user_desc":"bench"}`...)
}

// statusBody asks for the app's latest audit.
func (r *runner) statusBody(app int) []byte {
	b := strconv.AppendInt(append(make([]byte, 0, 32), `{"auditid":`...), r.audits[app].Load(), 10)
	return append(b, '}')
}

// submit submits the latest commit for audit, waiting out the privacy scan
// (61039) and withdrawing nothing: the caller approves what it submitted.
func (r *runner) submit(ctx context.Context, app int) (int64, error) {
	for {
		var res struct {
			AuditID int64 `json:"auditid"`
		}
		err := r.c.wechat(ctx, "POST", "/wxa/submit_audit", tokenQuery(r.f.tokens[app]), rawJSON(`{"item_list":[`+benchItem+`]}`), &res)
		var we *wxError
		if errors.As(err, &we) && we.Code == 61039 { // the scan after a commit is still running
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(time.Millisecond):
			}
			continue
		}
		if err == nil {
			r.audits[app].Store(res.AuditID)
		}
		return res.AuditID, err
	}
}

func (r *runner) approve(ctx context.Context, audit int64) error {
	return r.c.admin(ctx, "POST", fmt.Sprintf("/miniship/v1/audits/%d/decision", audit), map[string]string{"result": "approve"}, nil)
}

// submitAudit times one submit_audit; the approval that makes the next one
// possible (85009 while one is in review) is not timed.
func (r *runner) submitAudit(ctx context.Context, app int) (time.Duration, error) {
	if r.audits[app].Load() == 0 {
		if err := r.commit(ctx, app); err != nil {
			return 0, err
		}
	}
	t0 := time.Now()
	id, err := r.submit(ctx, app)
	d := time.Since(t0)
	if err != nil {
		return d, err
	}
	return d, r.approve(ctx, id)
}

// life is a version's whole way out: commit, submit_audit (after the
// scan), the reviewer's approval, release.
func (r *runner) life(ctx context.Context, app int) error {
	if err := r.commit(ctx, app); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	id, err := r.submit(ctx, app)
	if err != nil {
		return fmt.Errorf("submit_audit: %w", err)
	}
	if err := r.approve(ctx, id); err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	if err := r.c.wechat(ctx, "POST", "/wxa/release", tokenQuery(r.f.tokens[app]), rawJSON(`{}`), nil); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

// ensureAudits gives every mini program an audit for get_auditstatus.
func (r *runner) ensureAudits(ctx context.Context) error {
	return r.each(ctx, func(ctx context.Context, app int) error {
		if r.audits[app].Load() != 0 {
			return nil
		}
		if err := r.commit(ctx, app); err != nil {
			return err
		}
		id, err := r.submit(ctx, app)
		if err != nil {
			return err
		}
		return r.approve(ctx, id)
	})
}

// each runs f for every client's mini program, all at once.
func (r *runner) each(ctx context.Context, f func(ctx context.Context, app int) error) error {
	errs := make([]error, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range r.cfg.Concurrency {
		wg.Go(func() { errs[i] = f(ctx, i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// closed runs Concurrency clients for Warmup, then Duration, each calling
// o back to back on its own mini program.
func (r *runner) closed(ctx context.Context, name string, o op) (Result, error) {
	n := r.cfg.Concurrency
	lat := make([][]time.Duration, n)
	busy := make([]time.Duration, n) // in counted operations, failed ones too
	errCount := make([]int, n)
	firstErr := make([]error, n)
	var measuring, stop atomic.Bool
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for !stop.Load() && ctx.Err() == nil {
				// An operation counts when it started in the measured
				// window, however long it takes to finish: long ones
				// (life) are then counted too when the window is short.
				counted := measuring.Load()
				d, err := o(ctx, i)
				if !counted {
					continue
				}
				busy[i] += d
				if err != nil {
					errCount[i]++
					if firstErr[i] == nil {
						firstErr[i] = err
					}
					continue
				}
				lat[i] = append(lat[i], d)
			}
		})
	}
	sleep(ctx, r.cfg.Warmup)
	cpu0, own0 := cpuTime(r.cfg.ServerPID), cpuTime(os.Getpid())
	measuring.Store(true)
	sleep(ctx, r.cfg.Duration)
	stop.Store(true)
	measuring.Store(false)
	wg.Wait()
	cpu1, own1 := cpuTime(r.cfg.ServerPID), cpuTime(os.Getpid())
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	res := summarize(name, slices.Concat(lat...))
	var sum time.Duration
	for _, d := range busy {
		sum += d
	}
	// Little's law: n clients each busy for sum/n of the time on this
	// operation, failed calls included, so that the rate is of successes
	// over all the time spent. For a single call it is the wall rate; for
	// submit_audit it leaves out the untimed approvals.
	if sum > 0 {
		res.PerSec = float64(res.Ops) * float64(n) / sum.Seconds()
	}
	for i := range n {
		res.Errors += errCount[i]
		if res.FirstErr == "" && firstErr[i] != nil {
			res.FirstErr = trimErr(firstErr[i])
		}
	}
	res.perOp(cpu1-cpu0, own1-own0)
	if res.Ops == 0 {
		return res, fmt.Errorf("no operation succeeded: %s", res.FirstErr)
	}
	return res, nil
}

// perOp sets the CPU times per operation from the server's and bench's
// CPU time over the measured window. A time under minCPU is too few ticks
// to divide: its share per operation stays unknown (0).
func (r *Result) perOp(server, own time.Duration) {
	n := time.Duration(r.Ops + r.Errors)
	if n == 0 {
		return
	}
	if server >= minCPU {
		r.CPUPerOp = server / n
	}
	if own >= minCPU {
		r.ClientCPUPerOp = own / n
	}
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// summarize sorts the latencies and reads the percentiles.
func summarize(name string, lat []time.Duration) Result {
	slices.Sort(lat)
	return Result{Scenario: name, Ops: len(lat), P50: percentile(lat, 0.50), P99: percentile(lat, 0.99), P999: percentile(lat, 0.999)}
}

// percentile is the nearest-rank percentile of sorted latencies: the
// smallest value at least p of them do not exceed.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p+0.999999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// rawJSON is a body sent as it is: the client neither marshals nor
// checks it.
type rawJSON []byte

func round2(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
