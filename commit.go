package miniship

import "time"

// CommitTx is what /wxa/commit reads in its single write transaction.
type CommitTx interface {
	// LockForCommit locks the mini program as LockAuthorizer does and reads,
	// in one statement, everything a commit checks before it writes: the
	// commit claim, the grants revision, the platform's grant to the mini
	// program and whether the template is in the platform's library.
	// ErrNotFound when the mini program does not exist.
	LockForCommit(platformAppID, authorizerAppID string, templateID int64) (*CommitState, error)
}

// CommitState is what LockForCommit read.
type CommitState struct {
	CommitUntil time.Time
	GrantsRev   int64
	// Authorization is nil when the platform has no grant from the mini
	// program (it carries no refresh token: a commit does not need it).
	Authorization *Authorization
	// TemplateFound is false when the platform has no template of that id;
	// TemplateDeleted when it has, deleted.
	TemplateFound, TemplateDeleted bool
}
