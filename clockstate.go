package miniship

import "time"

// ClockTx keeps the manual clock's position, so that a restart resumes at
// the time tokens, audits and pushes were last judged by instead of at the
// wall clock (which would revive expired tokens or stall due events).
type ClockTx interface {
	// GetClock returns the stored position; ErrNotFound when none was.
	GetClock() (time.Time, error)
	PutClock(t time.Time) error
}
