package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// open paces the scenario's requests at Rate per second with vegeta,
// whatever the answers take: latencies under a given load, including the
// queueing a closed loop hides.
func (r *runner) open(ctx context.Context, name string, _ op) (Result, error) {
	var k atomic.Int64
	targeter := func(t *vegeta.Target) error {
		app := int(k.Add(1)) % r.cfg.Apps
		tok := tokenQuery(r.f.tokens[app])
		switch name {
		case "noop":
			t.Method, t.URL, t.Body = "GET", r.c.base+"/miniship/healthz", nil
		case "read":
			t.Method, t.URL, t.Body = "GET", r.c.base+"/wxa/get_category?"+tok, nil
		case "status":
			t.Method, t.URL = "POST", r.c.base+"/wxa/get_auditstatus?"+tok
			t.Body = r.statusBody(app)
		case "commit":
			t.Method, t.URL = "POST", r.c.base+"/wxa/commit?"+tok
			t.Body = r.commitBody(app, r.seq.Add(1))
		default:
			return fmt.Errorf("scenario %s has no open-loop form", name)
		}
		t.Header = http.Header{"Content-Type": {"application/json"}}
		return nil
	}
	if name == "status" {
		if err := r.ensureAudits(ctx); err != nil {
			return Result{}, err
		}
	}
	// An attacker stops for good when its attack ends, so each attack
	// needs its own: one reused after the warm-up sends a hit or two.
	workers := max(r.cfg.Concurrency, 1) * 8
	attacker := func() *vegeta.Attacker {
		return vegeta.NewAttacker(vegeta.Client(r.c.hc), vegeta.MaxWorkers(uint64(workers)))
	}
	pace := vegeta.ConstantPacer{Freq: r.cfg.Rate, Per: time.Second}
	if r.cfg.Warmup > 0 {
		warm := attacker()
		for range warm.Attack(targeter, pace, r.cfg.Warmup, name+"-warmup") {
			if ctx.Err() != nil {
				warm.Stop()
			}
		}
	}
	atk := attacker()
	cpu0, own0 := cpuTime(r.cfg.ServerPID), cpuTime(os.Getpid())
	var lat []time.Duration
	res := Result{Scenario: name}
	for hit := range atk.Attack(targeter, pace, r.cfg.Duration, name) {
		if ctx.Err() != nil {
			atk.Stop()
			continue
		}
		err := hitError(hit)
		if err != nil {
			res.Errors++
			if res.FirstErr == "" {
				res.FirstErr = trimErr(err)
			}
			continue
		}
		lat = append(lat, hit.Latency)
	}
	cpu1, own1 := cpuTime(r.cfg.ServerPID), cpuTime(os.Getpid())
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	s := summarize(name, lat)
	s.Errors, s.FirstErr = res.Errors, res.FirstErr
	// The pacer sends for Duration; answers that come after it count too.
	s.PerSec = float64(s.Ops) / r.cfg.Duration.Seconds()
	s.perOp(cpu1-cpu0, own1-own0)
	s.Warning = rateWarning(s.Ops+s.Errors, r.cfg.Rate, r.cfg.Duration, workers)
	if s.Ops == 0 {
		return s, fmt.Errorf("no request succeeded: %s", s.FirstErr)
	}
	return s, nil
}

// rateWarning says when the pacer sent under 90% of what the rate asks over
// d: vegeta waits once all its workers wait for answers, so past that
// point the run is a closed loop of that many clients, and its latencies
// leave out the queueing an open loop is for.
func rateWarning(sent, rate int, d time.Duration, workers int) string {
	want := float64(rate) * d.Seconds()
	if float64(sent) >= 0.9*want {
		return ""
	}
	return fmt.Sprintf("sent %.0f/s of the %d/s asked: all %d pacer workers were waiting for answers, so the latencies leave out the queueing past that rate",
		float64(sent)/d.Seconds(), rate, workers)
}

// hitError is a failed vegeta hit: transport error, non-200, or errcode.
func hitError(hit *vegeta.Result) error {
	switch {
	case hit.Error != "":
		return errors.New(hit.Error)
	case hit.Code != http.StatusOK:
		return fmt.Errorf("HTTP %d: %.200s", hit.Code, hit.Body)
	}
	return checkWX(hit.Body, nil)
}

// cpuTime is the user+system CPU time of a process from /proc/<pid>/stat;
// 0 when the pid is unknown or /proc is not there.
func cpuTime(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces) in parentheses.
	s := string(raw)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	// utime and stime are fields 14 and 15 of the file, 12 and 13 here
	// (counting from 1 after the command), in clock ticks of 1/100 s,
	// USER_HZ on every Linux.
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
