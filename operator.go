package miniship

import "time"

// OperatorTx is what the operator's tools (the console, redelivery, the
// runtime package) need beyond the WeChat calls: keyset-paginated listings
// that stay fast with 100,000 mini programs, and putting a failed push back.
type OperatorTx interface {
	// SearchAuthorizers lists mini programs whose appid or nickname starts
	// with prefix (every one when prefix is empty), in appid order, after
	// the appid given (keyset pagination), at most limit of them.
	SearchAuthorizers(prefix, after string, limit int) ([]*Authorizer, error)
	// ListVersions lists the mini program's versions newest first, those
	// with an id below before (all when before <= 0), at most limit.
	ListVersions(authorizerAppID string, before int64, limit int) ([]*Version, error)
	// GetEvent returns one outbox event.
	GetEvent(id int64) (*Event, error)
	// RequeueEvent puts a failed event back to pending, due at next, with
	// its attempt count reset: the attempts made stay recorded. An event
	// that is not failed is ErrConflict and nothing changes.
	RequeueEvent(id int64, next time.Time) error
	// CountEvents counts the outbox's events with the status.
	CountEvents(status string) (int, error)
}
