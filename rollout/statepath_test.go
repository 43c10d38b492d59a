package rollout_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/miniship/miniship/rollout"
)

// TestDefaultStatePath: a plan's state file is under $XDG_STATE_HOME, the
// same for the same plan (so running it again resumes), another for
// another plan of the same name.
func TestDefaultStatePath(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", dir)
	a, err := rollout.DefaultStatePath("examples/plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := rollout.DefaultStatePath("./examples/../examples/plan.yaml")
	other, _ := rollout.DefaultStatePath("other/plan.yaml")
	if !strings.HasPrefix(a, filepath.Join(dir, "miniship", "rollout", "plan-")) || !strings.HasSuffix(a, ".db") {
		t.Fatalf("state path %s, want it under %s", a, dir)
	}
	if again != a || other == a {
		t.Fatalf("same plan: %s and %s; other plan: %s", a, again, other)
	}
}
