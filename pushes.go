package miniship

import "time"

// PushTx is the outbox's part of Tx beyond the basic event calls: a fair
// claim across platforms and an attempt counter that concurrent deliverers
// cannot make lose increments.
type PushTx interface {
	// DuePlatforms lists, oldest waiting first, up to limit platforms that
	// have pending events due at now.
	DuePlatforms(now time.Time, limit int) ([]string, error)
	// DuePlatformEvents is DueEvents for one platform: inside Update on
	// PostgreSQL it skips events another transaction holds.
	DuePlatformEvents(platformAppID string, now time.Time, limit int) ([]*Event, error)
	// IncrementEventAttempts adds one to the event's attempt counter in the
	// database (not from a value read earlier) and returns the new count
	// and the event's status; ErrNotFound when there is no such event.
	IncrementEventAttempts(id int64) (attempts int, status string, err error)
}
