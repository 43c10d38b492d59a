package rollout

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Progress draws one bar per step (done of all apps, and the failures) on
// a terminal. It is an Observer.
type Progress struct {
	p      *mpb.Progress
	steps  []Step
	bars   map[Step]*mpb.Bar
	failed map[Step]*atomic.Int64

	mu    sync.Mutex
	waits func() []Waiting
	snap  []Waiting
	at    time.Time
}

// NewProgress draws on w, which should be a terminal.
func NewProgress(w io.Writer, steps []Step) *Progress {
	return newProgress(w, steps)
}

// newProgress takes more options for mpb: tests draw on a buffer with
// mpb.WithAutoRefresh, as NewProgress does on a terminal.
func newProgress(w io.Writer, steps []Step, opts ...mpb.ContainerOption) *Progress {
	pr := &Progress{
		p:      mpb.New(append([]mpb.ContainerOption{mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(150 * time.Millisecond)}, opts...)...),
		steps:  steps,
		bars:   map[Step]*mpb.Bar{},
		failed: map[Step]*atomic.Int64{},
	}
	for _, s := range steps {
		pr.failed[s] = new(atomic.Int64)
	}
	return pr
}

// Writer prints lines (e.g. logs) above the bars.
func (pr *Progress) Writer() io.Writer { return pr.p }

// Begin implements Observer: one bar per step, filled to what is done.
func (pr *Progress) Begin(total int, counts []StepCount) {
	for i, s := range pr.steps {
		failed := pr.failed[s]
		b := pr.p.AddBar(int64(total),
			mpb.PrependDecorators(
				decor.Name(s.String(), decor.WC{W: 14, C: decor.DindentRight}),
				decor.CountersNoUnit("%d/%d", decor.WCSyncWidth),
			),
			mpb.AppendDecorators(
				decor.Percentage(decor.WC{W: 5}),
				decor.Any(func(decor.Statistics) string {
					if n := failed.Load(); n > 0 {
						return fmt.Sprintf("  failed %d", n)
					}
					return ""
				}),
				decor.Any(func(st decor.Statistics) string {
					if st.Completed || st.Aborted {
						return "" // the last frame: nothing waits any more
					}
					return pr.waiting(s)
				}),
			),
		)
		b.SetCurrent(int64(counts[i].Done))
		pr.bars[s] = b
	}
}

// Watch implements WaitObserver.
func (pr *Progress) Watch(waits func() []Waiting) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.waits = waits
}

// waiting says what the apps at step s wait for and when the first is
// checked next, e.g. "  waiting 120: audit, next check 14:05:10 (in 4m50s)",
// so a long wait does not look like a hang.
func (pr *Progress) waiting(s Step) string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.waits == nil {
		return ""
	}
	now := time.Now()
	if now.Sub(pr.at) > 500*time.Millisecond { // a summary walks the schedule
		pr.snap, pr.at = pr.waits(), now
	}
	var b strings.Builder
	for _, w := range pr.snap {
		if w.Step != s {
			continue
		}
		in := max(w.Next.Sub(now), 0).Round(time.Second)
		fmt.Fprintf(&b, "  waiting %d: %s, next check %s (in %v)", w.Apps, w.What, w.Next.Format(time.TimeOnly), in)
	}
	return b.String()
}

// Advanced implements Observer.
func (pr *Progress) Advanced(s Step) {
	if b := pr.bars[s]; b != nil {
		b.Increment()
	}
}

// Failed implements Observer.
func (pr *Progress) Failed(s Step, _ string) {
	if n := pr.failed[s]; n != nil {
		n.Add(1)
	}
}

// End stops the bars that cannot complete (failures, interruption) and
// waits for the last frame.
func (pr *Progress) End() {
	for _, b := range pr.bars {
		b.Abort(false)
	}
	pr.p.Wait()
}
