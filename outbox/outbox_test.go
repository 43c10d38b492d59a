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
	// The default attempts span an hour, as Span's comment says: 5 s
	// doubling to 320 s (635 s), then 10 min five times.
	if got, want := Span(DefaultMaxAttempts), time.Hour+35*time.Second; got != want {
		t.Fatalf("Span(%d) = %v, want %v", DefaultMaxAttempts, got, want)
	}
}
