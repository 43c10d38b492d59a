package rollout_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship/rollout"
)

// TestProgressLastFrame: once the run ends, no bar says that apps wait,
// neither a bar whose step every app completed nor one stopped short
// (failures, an interruption), even though the last summary of the waits
// had apps waiting at both.
func TestProgressLastFrame(t *testing.T) {
	var out bytes.Buffer
	steps := []rollout.Step{rollout.StepGray, rollout.StepRelease}
	pr := rollout.NewProgressOn(&out, steps)
	pr.Begin(2, []rollout.StepCount{{Step: "gray"}, {Step: "release"}})
	pr.Watch(func() []rollout.Waiting {
		return []rollout.Waiting{
			{Step: rollout.StepGray, What: rollout.WaitGray, Apps: 2, Next: time.Now()},
			{Step: rollout.StepRelease, What: rollout.WaitRetry, Apps: 1, Next: time.Now()},
		}
	})
	pr.Advanced(rollout.StepGray)
	pr.Advanced(rollout.StepGray)
	pr.End()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	last := lines[max(len(lines)-len(steps), 0):]
	if len(last) != len(steps) || !strings.HasPrefix(last[0], "gray") || !strings.Contains(last[0], "2/2") ||
		!strings.HasPrefix(last[1], "release") {
		t.Fatalf("last frame %q, want the gray bar complete and the release bar", last)
	}
	for _, l := range last {
		if strings.Contains(l, "waiting") {
			t.Errorf("the last frame says apps wait: %q", l)
		}
	}
}
