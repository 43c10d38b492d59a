package miniship

import (
	"strings"
	"time"
)

// PushTx is the outbox's part of Tx beyond the basic event calls: a fair
// claim across platforms, an attempt counter that concurrent deliverers
// cannot make lose increments, and the bounds of a platform's backlog.
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
	// DropPendingEvents deletes the platform's pending events of the kind,
	// with their attempts, and returns how many it deleted: the push about
	// to be queued supersedes them. An attempt in flight on one of them
	// finds it gone when it records its outcome.
	DropPendingEvents(platformAppID, kind string) (int64, error)
	// CapPendingEvents leaves the platform keep pending events at most: it
	// fails those that have waited longest for their next attempt (the
	// oldest of those never tried), records on each an attempt at at with
	// reason as its error, and returns how many it failed. Transactions
	// queuing pushes of one platform at the same moment may each leave
	// keep.
	CapPendingEvents(platformAppID string, keep int, at time.Time, reason string) (int64, error)
}

// PushURL is where a push of p goes now: platform notices to its
// auth_event_url, pushes about a mini program to its message_url with
// $APPID$ filled in. Each attempt asks again, so that a platform's change
// of URL applies to the retries of pushes already queued, as it does to its
// key. Platform notices always follow the platform; a push about a mini
// program whose appid is unknown (queued before events kept it, and left
// unnamed by migration 00090) goes to the URL it was queued with.
func (p *Platform) PushURL(e *Event) string {
	switch {
	case e.EnvelopeKind == EnvelopeAppID:
		return p.AuthEventURL
	case e.AuthorizerAppID != "":
		return strings.ReplaceAll(p.MessageURL, "$APPID$", e.AuthorizerAppID)
	}
	return e.URL
}
