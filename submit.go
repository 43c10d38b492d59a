package miniship

// SubmitTx is what /wxa/submit_audit reads once LockAuthorizer holds the
// mini program.
type SubmitTx interface {
	// SubmitReads reads, in one statement, the mini program's latest
	// version, its latest audit and the platform: three round trips fewer
	// on PostgreSQL. It must run after the lock, in a statement of its own:
	// a statement that waits for a row lock re-checks only the locked row,
	// and would join the version and audit of its older snapshot.
	// ErrNotFound when any of the three is missing; the caller then reads
	// each on its own, for the answer that tells which.
	SubmitReads(platformAppID, authorizerAppID string) (*SubmitState, error)
}

// SubmitState is what SubmitReads read.
type SubmitState struct {
	Version  *Version
	Audit    *Audit
	Platform *Platform
}
