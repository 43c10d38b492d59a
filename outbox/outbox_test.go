package outbox

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second},
		{7, 320 * time.Second}, {8, 10 * time.Minute}, {30, 10 * time.Minute},
	} {
		if got := Backoff(tc.n); got != tc.want {
			t.Errorf("Backoff(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
	// Twelve attempts (the default) span about an hour: a receiver down
	// for less than that still gets its events.
	var total time.Duration
	for n := 1; n < 12; n++ {
		total += Backoff(n)
	}
	if total < 50*time.Minute || total > 2*time.Hour {
		t.Fatalf("12 attempts span %v", total)
	}
}
