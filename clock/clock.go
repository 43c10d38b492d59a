// Package clock provides the two time sources of the server: the wall clock,
// and a manual clock that stands still until a test moves it, so token
// expiry, privacy scans, audit delays and quota periods can be tested
// without waiting.
package clock

import (
	"sync"
	"time"
)

// Real is the wall clock.
type Real struct{}

// Now returns the current time.
func (Real) Now() time.Time { return time.Now() }

// Manual is a clock that only moves when told to.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

// NewManual returns a manual clock standing at start.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now returns the clock's current time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the clock forward by d (negative d is ignored: time never
// runs backwards, or expiry checks would resurrect tokens).
func (m *Manual) Advance(d time.Duration) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d > 0 {
		m.now = m.now.Add(d)
	}
	return m.now
}
