package rollout

import (
	"container/heap"
	"sync"
	"time"
)

// Clock is the time a run schedules by: the wall clock by default; tests
// pass one they move, so waits are proven without sleeping.
type Clock interface {
	Now() time.Time
	// Moved is closed when the clock jumps (and then replaced), so the
	// dispatcher looks at its agenda again; nil for the wall clock.
	Moved() <-chan struct{}
}

type wallClock struct{}

func (wallClock) Now() time.Time         { return time.Now() }
func (wallClock) Moved() <-chan struct{} { return nil }

// Wait is what a waiting app waits for. The file records it with the time
// the wait began, so a resumed run applies the plan's current waits.
type Wait int

const (
	WaitNone   Wait = iota
	WaitCommit      // a commit whose answer was lost may still be under way (CommitWait)
	WaitScan        // the privacy scan (poll.privacy_scan)
	WaitAudit       // the audit (poll.audit)
	WaitGray        // a gray phase (gray.wait)
	WaitRetry       // a transient failure, retried after a backoff
)

var waitNames = [...]string{"", "commit under way", "privacy scan", "audit", "gray phase", "retry"}

func (w Wait) String() string {
	if w >= 0 && int(w) < len(waitNames) {
		return waitNames[w]
	}
	return "wait(" + itoa(int(w)) + ")"
}

// length is how long the plan (as it is now) makes an app wait w.
func (e *engine) length(w Wait) (time.Duration, bool) {
	switch w {
	case WaitCommit:
		return e.CommitWait, true
	case WaitScan:
		return time.Duration(e.plan.Poll.PrivacyScan), true
	case WaitAudit:
		return time.Duration(e.plan.Poll.Audit), true
	case WaitGray:
		return time.Duration(e.plan.Gray.Wait), true
	}
	return 0, false
}

// schedule is the run's agenda in memory; the state file stays the
// durable record. It holds the apps under way (a few dozen bytes each,
// their ext values left in the file) and a window of not yet started apps
// streamed from the file in target order, so the dispatcher never asks the
// file what is due.
type schedule struct {
	mu      sync.Mutex // the dispatcher changes it, Waits reads it
	started appHeap
	fresh   appHeap
}

// push adds an app that waits for its NextAt (zero: due now).
func (s *schedule) push(a *app) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Done == 0 {
		heap.Push(&s.fresh, a)
	} else {
		heap.Push(&s.started, a)
	}
}

// pop takes the next due app, those under way before new ones, so
// started apps finish (and the first releases come) before the whole
// fleet is committed.
func (s *schedule) pop(now time.Time) *app {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range []*appHeap{&s.started, &s.fresh} {
		if h.Len() > 0 && !(*h)[0].NextAt.After(now) {
			return heap.Pop(h).(*app)
		}
	}
	return nil
}

// wake is the earliest NextAt, zero when nothing waits.
func (s *schedule) wake() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t time.Time
	for _, h := range []*appHeap{&s.started, &s.fresh} {
		if h.Len() > 0 && (t.IsZero() || (*h)[0].NextAt.Before(t)) {
			t = (*h)[0].NextAt
		}
	}
	return t
}

func (s *schedule) len() (started, fresh int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started.Len(), s.fresh.Len()
}

// Waiting is how many apps wait at a step, for what, and when the first
// of them is next checked.
type Waiting struct {
	Step Step
	What Wait
	Apps int
	Next time.Time
}

// waits summarises the waiting apps per step and kind of wait, in step
// order.
func (s *schedule) waits(p *Plan, now time.Time) []Waiting {
	s.mu.Lock()
	defer s.mu.Unlock()
	type key struct {
		st Step
		w  Wait
	}
	m := map[key]*Waiting{}
	for _, h := range []*appHeap{&s.started, &s.fresh} {
		for _, a := range *h {
			if !a.NextAt.After(now) {
				continue
			}
			st, _ := p.next(a.Done)
			k := key{st, a.Wait}
			w := m[k]
			if w == nil {
				w = &Waiting{Step: st, What: a.Wait, Next: a.NextAt}
				m[k] = w
			}
			w.Apps++
			if a.NextAt.Before(w.Next) {
				w.Next = a.NextAt
			}
		}
	}
	out := make([]Waiting, 0, len(m))
	for _, w := range m {
		out = append(out, *w)
	}
	sortWaiting(out)
	return out
}

func sortWaiting(ws []Waiting) {
	for i := 1; i < len(ws); i++ {
		for j := i; j > 0 && (ws[j].Step < ws[j-1].Step || ws[j].Step == ws[j-1].Step && ws[j].What < ws[j-1].What); j-- {
			ws[j], ws[j-1] = ws[j-1], ws[j]
		}
	}
}

// appHeap orders apps by NextAt, then target order.
type appHeap []*app

func (h appHeap) Len() int { return len(h) }
func (h appHeap) Less(i, j int) bool {
	if !h[i].NextAt.Equal(h[j].NextAt) {
		return h[i].NextAt.Before(h[j].NextAt)
	}
	return h[i].Seq < h[j].Seq
}
func (h appHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *appHeap) Push(x any)   { *h = append(*h, x.(*app)) }
func (h *appHeap) Pop() any {
	old := *h
	a := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return a
}
