package miniship

// MediaTx bounds the uploads kept for a mini program.
type MediaTx interface {
	// PruneMedia deletes the mini program's media of the type except the
	// keep newest and those whose ids are in except; it returns how many
	// went.
	PruneMedia(authorizerAppID, typ string, keep int, except ...string) (int64, error)
}
