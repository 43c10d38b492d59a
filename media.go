package miniship

import "time"

// MediaPrivacyExt is the type of a privacy guide's supplementary file
// (uploadprivacyextfile). Unlike uploadmedia's, its media id does not
// expire: a guide names it for as long as the guide stands, so a mini
// program keeps its newest files and those its guides use (PruneMedia).
const MediaPrivacyExt = "privacy_ext"

// MediaTx reads, sweeps and bounds uploads without their bytes: checking
// that a mediaid is live needs only who uploaded what and when.
type MediaTx interface {
	// MediaInfo is GetMedia without Data.
	MediaInfo(id string) (*Media, error)
	// DeleteMediaBefore deletes up to limit uploads made before the time,
	// bytes and all, and returns how many it deleted. Files of
	// MediaPrivacyExt are not among them: they do not expire.
	DeleteMediaBefore(before time.Time, limit int) (int64, error)
	// PruneMedia deletes the mini program's media of the type except the
	// keep newest and those whose ids are in except; it returns how many
	// went.
	PruneMedia(authorizerAppID, typ string, keep int, except ...string) (int64, error)
}
