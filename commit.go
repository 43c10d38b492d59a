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
	// CreateVersionIf is CreateVersion in one statement that stores v only
	// if, as it runs, c holds; ok is false when it stored nothing, and the
	// caller takes the path that tells why (LockForCommit).
	CreateVersionIf(v *Version, c CommitCheck) (ok bool, err error)
}

// GrantReadTx reads, in one statement each, the platform's grant to a mini
// program together with the row a hot read answers with: one round trip
// on PostgreSQL instead of two. The grant is nil when there is none (it
// carries no refresh token).
type GrantReadTx interface {
	// CategoriesWithGrant is the mini program's categories and the
	// platform's grant; ErrNotFound when the mini program does not exist.
	CategoriesWithGrant(platformAppID, authorizerAppID string) ([]Category, *Authorization, error)
	// AuditWithGrant is the status of the mini program's audit of that id
	// (ID, AuthorizerAppID, Status, Reason and ScreenShot; nothing else is
	// read) and the platform's grant; ErrNotFound when the mini program has
	// no such audit (the grant is then not read).
	AuditWithGrant(platformAppID, authorizerAppID string, auditID int64) (*Audit, *Authorization, error)
}

// CommitCheck is what the common commit finds, checked by CreateVersionIf
// in its statement: no commit claim, the grants revision the engine ran on,
// the template undeleted in the platform's library, and the platform's
// grant the one the caller's token came from, holding Perm (0: any),
// which has issued fewer tokens than TokenSeqBelow (so that the caller's
// is still among its newest).
type CommitCheck struct {
	GrantsRev      int64
	Generation     int64
	TokenCreatedAt time.Time
	TokenSeqBelow  int64
	Perm           int
	// KeepVersions > 0 trims the mini program's versions in the same
	// write once v is stored (RetentionTx.TrimVersions).
	KeepVersions int
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
