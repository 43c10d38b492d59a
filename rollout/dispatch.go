package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/miniship/miniship/wxerr"
)

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

// process takes one app as far as it goes without waiting, and leaves it
// waiting, failed or done, its row saved.
//
// Not every change is written at once. A step done that the worker follows
// with another call is carried by the next write (the mark before a
// commit, submit_audit or release, or the app's next save), since the
// writer keeps each app's writes in order: a crash in between leaves the
// row one step behind, and the step is looked at again, as after any
// crash. A scan or audit poll answered "not yet" is not written at all:
// the row already says what the app waits for, and a resumed run only
// looks again sooner. So a fleet costs six writes an app, not ten, and
// the worker waits only for the three marks.
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
			// Interrupted: a mark in flight is saved already; a step done
			// since the last write is saved now.
			if a.dirty {
				e.save(a)
			}
			return
		case err != nil:
			e.fail(a, st, err)
			return
		case w != WaitNone:
			// A poll changes nothing but the time of the next look.
			again := (st == StepPrivacyScan || st == StepWaitAudit) && a.Wait == w && !a.dirty
			if again {
				a.misses++
			} else {
				a.misses = 0
			}
			e.wait(a, st, w)
			if !again {
				e.save(a)
			}
			return
		}
		a.Done, a.Inflight, a.Tries, a.Attempts, a.Err, a.misses = st, 0, 0, 0, nil, 0
		a.NextAt, a.Wait, a.WaitSince = time.Time{}, WaitNone, time.Time{}
		// A scan or an audit just started is not over yet: the first look
		// comes one poll later, and the worker moves on meanwhile.
		w = e.firstPoll(st)
		if w == WaitNone {
			a.dirty = true // the next call's write carries it
		} else {
			e.wait(a, st, w)
			e.save(a)
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
	d *= backoff(a.misses)
	now := e.clock.Now()
	a.Wait, a.WaitSince, a.NextAt = w, now, now.Add(d)
	if next, ok := e.plan.next(a.Done); ok {
		at = next
	}
	e.log.Debug("rollout: waiting", "appid", a.ID, "step", at, "for", w.String(), "next_check", a.NextAt.Format(time.TimeOnly))
}

// backoff is how many polls long the next look at a scan or audit comes
// after the misses-th answer "not yet" in a row: 1, 1, 2, then 4. An
// audit decided within two polls is seen as soon as before; one that
// takes longer (a reviewer with a backlog, WeChat's hours) costs fewer
// looks, at most 4 polls late. A resumed run starts over at 1.
func backoff(misses int) time.Duration {
	return time.Duration(1 << min(max(misses-1, 0), 2))
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
	if err := e.writer.write(a); err != nil {
		return fmt.Errorf("%w: state file: %v", errLocal, err)
	}
	a.dirty = false
	return nil
}

// save queues a's row for the writer without waiting for it: only marks
// must be in the file before the worker goes on, and the writer keeps an
// app's writes in order, so a later mark commits after it (or with it).
func (e *engine) save(a *app) {
	e.writer.post(a)
	a.dirty = false
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
	e.save(a)
	if a.Status == "pending" {
		e.log.Debug("rollout: will retry", "appid", a.ID, "step", st, "err", err, "next_check", a.NextAt.Format(time.TimeOnly))
		return
	}
	e.log.Warn("rollout: failed", "appid", a.ID, "step", st, f.logAttr(), "errmsg", f.Msg)
	e.Observer.Failed(st, f.Kind)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
