package rollout

import (
	"fmt"
	"io"
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
}

// NewProgress draws on w, which should be a terminal.
func NewProgress(w io.Writer, steps []Step) *Progress {
	pr := &Progress{
		p:      mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(150*time.Millisecond)),
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
			),
		)
		b.SetCurrent(int64(counts[i].Done))
		pr.bars[s] = b
	}
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
