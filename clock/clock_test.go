package clock

import (
	"testing"
	"time"
)

func TestManual(t *testing.T) {
	start := time.Date(2026, 11, 23, 23, 59, 0, 0, time.UTC)
	m := NewManual(start)
	if !m.Now().Equal(start) {
		t.Fatalf("Now = %v, want %v", m.Now(), start)
	}
	if got := m.Advance(2 * time.Minute); !got.Equal(start.Add(2 * time.Minute)) {
		t.Fatalf("Advance = %v", got)
	}
	m.Advance(-time.Hour)
	if !m.Now().Equal(start.Add(2 * time.Minute)) {
		t.Fatalf("negative advance moved the clock to %v", m.Now())
	}
}
