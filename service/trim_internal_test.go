package service

import (
	"fmt"
	"testing"
)

// TestTrimCounter: each mini program's every TrimEvery-th commit trims,
// whatever the others do, and the counts' memory stays bounded.
func TestTrimCounter(t *testing.T) {
	var c trimCounter
	for i := 1; i <= 3*TrimEvery; i++ {
		for _, app := range []string{"wxa", "wxb"} {
			if got, want := c.due(app), i%TrimEvery == 0; got != want {
				t.Fatalf("%s commit %d: due %v, want %v", app, i, got, want)
			}
		}
		if i%5 == 0 {
			c.due(fmt.Sprintf("wxother%d", i)) // others between them change nothing
		}
	}
	for i := range maxTrimCounts + 10 {
		c.due(fmt.Sprintf("wxmany%d", i))
	}
	if n := len(c.n); n > maxTrimCounts {
		t.Fatalf("%d counts held, want at most %d", n, maxTrimCounts)
	}
}
