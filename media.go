package miniship

import "time"

// MediaTx reads, sweeps and bounds uploads without their bytes: checking
// that a mediaid is live needs only who uploaded what and when.
type MediaTx interface {
	// MediaInfo is GetMedia without Data.
	MediaInfo(id string) (*Media, error)
	// DeleteMediaBefore deletes up to limit uploads made before the time,
	// bytes and all, and returns how many it deleted.
	DeleteMediaBefore(before time.Time, limit int) (int64, error)
	// PruneMedia deletes the mini program's media of the type except the
	// keep newest and those whose ids are in except; it returns how many
	// went.
	PruneMedia(authorizerAppID, typ string, keep int, except ...string) (int64, error)
}
