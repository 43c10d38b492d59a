// Package miniship holds the domain types of a WeChat-compatible mini program
// code-management system and the contracts between its parts: the Store the
// service layer writes through, and the Clock every expiry follows.
//
// The packages around it are adapters: service (the WeChat semantics),
// sqlstore (SQLite and PostgreSQL), httpapi (the wire), wxcrypt (message
// encryption), extjson and template (the commit engine), wxa (the Go SDK).
package miniship

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotFound is returned by Store lookups that find nothing. The service
// layer turns it into the errcode the calling endpoint documents.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique key already exists.
var ErrConflict = errors.New("already exists")

// Clock is the time source. The server runs on the wall clock or, for tests
// and local twins, on a manual clock moved through the admin API.
type Clock interface {
	Now() time.Time
}

// Platform is a third-party platform (第三方平台): the component app.
type Platform struct {
	AppID          string    `json:"appid"`
	Secret         string    `json:"secret"`
	Token          string    `json:"token"`
	EncodingAESKey string    `json:"encoding_aes_key"`
	AuthEventURL   string    `json:"auth_event_url"`
	MessageURL     string    `json:"message_url"`
	VerifyTicket   string    `json:"component_verify_ticket,omitempty"`
	TicketAt       time.Time `json:"ticket_at,omitzero"`
	// AuditQuota and SpeedupQuota are the monthly allowances shared by all
	// of the platform's mini programs (queryquota).
	AuditQuota   int       `json:"audit_quota"`
	SpeedupQuota int       `json:"speedup_quota"`
	CreatedAt    time.Time `json:"created_at"`
}

// Category is a service category of a mini program, as get_category and
// submit_audit item_list spell it.
type Category struct {
	FirstClass  string `json:"first_class"`
	SecondClass string `json:"second_class"`
	ThirdClass  string `json:"third_class,omitempty"`
	FirstID     int64  `json:"first_id"`
	SecondID    int64  `json:"second_id"`
	ThirdID     int64  `json:"third_id,omitempty"`
}

// PluginGrant is a plugin the mini program may use, with the versions it
// may pin.
type PluginGrant struct {
	AppID    string   `json:"appid"`
	Versions []string `json:"versions"`
}

// Authorizer is a mini program (授权方) and its live state.
type Authorizer struct {
	AppID           string        `json:"appid"`
	Nickname        string        `json:"nickname"`
	OriginalID      string        `json:"original_id"`
	ProfileComplete bool          `json:"profile_complete"`
	Categories      []Category    `json:"categories"`
	PrivacyAPIs     []string      `json:"privacy_apis"`
	Plugins         []PluginGrant `json:"plugins"`
	// VisitStatus is 1 when serving, 0 when paused (change_visitstatus).
	VisitStatus    int    `json:"visit_status"`
	SupportVersion string `json:"support_version"`
	// Secret is the AppSecret the merchant signs in with on the consent page.
	Secret string `json:"secret"`
	// CommitUntil guards against concurrent commits (9402202): a commit
	// holds it until it finishes or the time passes.
	CommitUntil time.Time `json:"-"`
	CreatedAt   time.Time `json:"created_at"`

	// GrantsRev counts changes of PrivacyAPIs and Plugins (set by the store).
	GrantsRev int64 `json:"-"`
}

// Authorization is a mini program's grant to a platform.
type Authorization struct {
	PlatformAppID   string    `json:"component_appid"`
	AuthorizerAppID string    `json:"authorizer_appid"`
	PermissionSets  []int     `json:"permission_sets"`
	RefreshToken    string    `json:"authorizer_refresh_token"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`

	// Generation numbers the pair's grants: 0 asks PutAuthorization for
	// the next one (a new grant), which it stores and sets here.
	Generation int64 `json:"-"`
	// TokenSeq is the Seq of the newest authorizer token issued under the
	// grant (set by the store, IssueToken).
	TokenSeq int64 `json:"-"`
}

// TokenKind names the kind of an opaque credential.
type TokenKind string

const (
	ComponentToken  TokenKind = "component_access_token"
	AuthorizerToken TokenKind = "authorizer_access_token"
	PreAuthCode     TokenKind = "pre_auth_code"
	AuthCode        TokenKind = "authorization_code"
	// VerifyTicket is a pushed component_verify_ticket; each stays valid
	// for 12 hours after it was pushed.
	VerifyTicket TokenKind = "component_verify_ticket"
)

// Token is an opaque credential: an access token or a single-use code.
type Token struct {
	Value           string
	Kind            TokenKind
	PlatformAppID   string
	AuthorizerAppID string
	ExpiresAt       time.Time
	Used            bool
	CreatedAt       time.Time

	// Generation is the grant generation an authorizer token was issued
	// under; a grant made again after a revoke has a higher one.
	Generation int64
	// Seq orders the tokens of one owner (IssueToken): higher is newer.
	Seq int64
}

// Draft is a code upload in the platform's draft box.
type Draft struct {
	ID            int64     `json:"draft_id"`
	PlatformAppID string    `json:"-"`
	UserVersion   string    `json:"user_version"`
	UserDesc      string    `json:"user_desc"`
	SourceAppID   string    `json:"source_miniprogram_appid"`
	SourceName    string    `json:"source_miniprogram"`
	Developer     string    `json:"developer"`
	Package       []byte    `json:"-"`
	CreatedAt     time.Time `json:"-"`
}

// Template types of the template library.
const (
	TemplateNormal   = 0
	TemplateStandard = 1
)

// Template is an entry of the platform's template library. Its code is the
// package of the draft it was made from.
type Template struct {
	ID            int64
	PlatformAppID string
	DraftID       int64
	Type          int
	UserVersion   string
	UserDesc      string
	SourceAppID   string
	SourceName    string
	Developer     string
	CreatedAt     time.Time
	Deleted       bool
}

// Version is one commit: the experience version it creates, with the
// effective configuration the engine produced.
type Version struct {
	ID              int64
	AuthorizerAppID string
	PlatformAppID   string
	TemplateID      int64
	UserVersion     string
	UserDesc        string
	ExtJSON         string
	// App, Pages and Ext are the engine's output: the effective app.json,
	// the page configs by page path, and the ext object (or null). App and
	// Pages are nil when not stored: the service derives them again.
	App   json.RawMessage
	Pages json.RawMessage
	Ext   json.RawMessage
	// PageList is the pages of the committed code, for get_page.
	PageList []string
	// UsedPrivacyAPIs is what the code calls; DeclaredPrivacyAPIs is the
	// effective requiredPrivateInfos.
	UsedPrivacyAPIs     []string
	DeclaredPrivacyAPIs []string
	// Derived is true when Ext, PageList and the privacy lists are not
	// stored: the service derives them from the template and ExtJSON when
	// it reads the version. Versions stored before are false and have them.
	Derived bool
	// ScanDoneAt is when the post-commit privacy scan finishes (61039 before).
	ScanDoneAt time.Time
	CreatedAt  time.Time
}

// AuditStatus values as get_auditstatus answers them.
type AuditStatus int

const (
	AuditApproved  AuditStatus = 0
	AuditRejected  AuditStatus = 1
	AuditPending   AuditStatus = 2
	AuditWithdrawn AuditStatus = 3
	AuditDelayed   AuditStatus = 4
)

// Audit is one submit_audit of a version.
type Audit struct {
	ID              int64
	AuthorizerAppID string
	PlatformAppID   string
	VersionID       int64
	Status          AuditStatus
	Reason          string
	ScreenShot      string
	// Request is the submit_audit body as received, kept for the reviewer.
	Request     json.RawMessage
	SpedUp      bool
	Released    bool
	SubmittedAt time.Time
	DecidedAt   time.Time
}

// Release is one version that went online, by release or by rollback.
type Release struct {
	ID              int64
	AuthorizerAppID string
	VersionID       int64
	AuditID         int64
	UserVersion     string
	UserDesc        string
	CommitTime      time.Time
	ReleasedAt      time.Time
	// Reverted marks a release that was rolled back; it cannot be the target
	// of another rollback (87012).
	Reverted bool
}

// GrayPlan statuses (getgrayreleaseplan).
const (
	GrayInitial  = 0
	GrayRunning  = 1
	GrayPaused   = 2
	GrayFinished = 3
	GrayDeleted  = 4
)

// GrayPlan is the phased release of an approved version.
type GrayPlan struct {
	AuthorizerAppID  string
	Status           int
	Percentage       int
	DebugerFirst     bool
	ExperiencerFirst bool
	AuditID          int64
	CreatedAt        time.Time
}

// Media is an upload for preview_info or feedback_stuff.
type Media struct {
	ID              string
	AuthorizerAppID string
	Type            string
	Data            []byte
	CreatedAt       time.Time
}

// Event statuses of the outbox.
const (
	EventPending   = "pending"
	EventDelivered = "delivered"
	EventFailed    = "failed" // gave up after the last retry
)

// Envelope kinds: which outer XML field names the receiver.
const (
	EnvelopeAppID      = "AppId"      // platform notices, to the auth-event URL
	EnvelopeToUserName = "ToUserName" // mini program events, to the message URL
)

// Event is a push waiting in, or delivered from, the outbox. Payload is the
// plaintext inner XML; it is encrypted at each delivery attempt with a fresh
// timestamp and nonce, as WeChat does.
type Event struct {
	ID            int64  `json:"id"`
	PlatformAppID string `json:"platform_appid"`
	// AuthorizerAppID names the mini program of a push to the message URL
	// (its $APPID$); empty for platform notices.
	AuthorizerAppID string    `json:"authorizer_appid,omitempty"`
	URL             string    `json:"url"` // where the last attempt went (or the first will)
	Kind            string    `json:"kind"`
	EnvelopeKind    string    `json:"envelope_kind"`
	EnvelopeTo      string    `json:"envelope_to"`
	Payload         string    `json:"payload"`
	Status          string    `json:"status"`
	Attempts        int       `json:"attempts"`
	NextAttemptAt   time.Time `json:"next_attempt_at"`
	CreatedAt       time.Time `json:"created_at"`
}

// EventAttempt is one delivery attempt and the receiver's answer.
type EventAttempt struct {
	EventID    int64     `json:"event_id"`
	At         time.Time `json:"at"`
	HTTPStatus int       `json:"http_status"`
	Response   string    `json:"response"`
	Error      string    `json:"error,omitempty"`
}

// Store is the persistence contract. All work runs in transactions: View
// for reads, Update for writes (serialised per database on SQLite, row
// locked on PostgreSQL). A function returning an error rolls back, so an
// errcode answered leaves nothing stored half-way.
type Store interface {
	View(ctx context.Context, fn func(Tx) error) error
	// Read runs fn's reads each on its own, without a transaction: cheaper
	// than View, for reads that need not see one snapshot.
	Read(ctx context.Context, fn func(Tx) error) error
	// CreateVersionIf is Tx.CreateVersionIf as a single statement, which
	// needs no transaction around it to be atomic; concurrent calls may
	// share one statement, each row under its own check.
	CreateVersionIf(ctx context.Context, v *Version, c CommitCheck) (ok bool, err error)
	Update(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is the set of operations inside one transaction. Getters return
// ErrNotFound when nothing matches.
type Tx interface {
	DomainTx
	TesterTx
	UtilityTx
	GrantTx // privacy guides and applications (grants.go)
	MediaTx // upload pruning (media.go)

	CommitTx    // commit.go
	GrantReadTx // commit.go
	SubmitTx    // submit.go
	PushTx
	MediaTx
	RetentionTx
	CreatePlatform(p *Platform) error
	GetPlatform(appid string) (*Platform, error)
	// LockPlatform reads the platform for update: the serialisation point of
	// changes to the platform row and of its template library.
	LockPlatform(appid string) (*Platform, error)
	ListPlatforms() ([]*Platform, error)
	UpdatePlatform(p *Platform) error

	PutToken(t *Token) error
	// IssueToken stores a new token as its owner's newest of its kind and
	// deletes that owner's older ones of the kind beyond the newest keep,
	// so that an owner never holds more than keep. An authorizer token's
	// owner is its grant (ErrNotFound when there is none): the grant's
	// TokenSeq becomes the token's Seq, and the grant's tokens of another
	// generation go too. Every other kind's owner is its platform (and,
	// for an authorization code, its mini program); ErrNotFound when there
	// is no such platform. Sets t.Seq.
	IssueToken(t *Token, keep int) error
	GetToken(kind TokenKind, value string) (*Token, error)
	// UseToken marks a single-use code used; false when it was already.
	UseToken(kind TokenKind, value string) (bool, error)
	DeleteExpiredTokens(before time.Time) (int64, error)

	CreateAuthorizer(a *Authorizer) error
	GetAuthorizer(appid string) (*Authorizer, error)
	// LockAuthorizer reads the mini program for update: the per-mini-program
	// serialisation point of every state change.
	LockAuthorizer(appid string) (*Authorizer, error)
	ListAuthorizers() ([]*Authorizer, error)
	UpdateAuthorizer(a *Authorizer) error

	PutAuthorization(a *Authorization) error
	GetAuthorization(platformAppID, authorizerAppID string) (*Authorization, error)
	ListAuthorizations(platformAppID string) ([]*Authorization, error)
	DeleteAuthorization(platformAppID, authorizerAppID string) error

	CreateDraft(d *Draft) error // sets d.ID
	GetDraft(platformAppID string, id int64) (*Draft, error)
	ListDrafts(platformAppID string) ([]*Draft, error)

	CreateTemplate(t *Template) error // sets t.ID
	GetTemplate(platformAppID string, id int64) (*Template, error)
	// ListTemplates lists live templates; typ < 0 means every type.
	ListTemplates(platformAppID string, typ int) ([]*Template, error)
	// DeleteTemplate marks a live template deleted at the time.
	DeleteTemplate(platformAppID string, id int64, at time.Time) error

	CreateVersion(v *Version) error // sets v.ID
	GetVersion(id int64) (*Version, error)
	LatestVersion(authorizerAppID string) (*Version, error)
	// HasVersion reports whether anything was committed, without reading it.
	HasVersion(authorizerAppID string) (bool, error)

	CreateAudit(a *Audit) error // sets a.ID
	GetAudit(id int64) (*Audit, error)
	LatestAudit(authorizerAppID string) (*Audit, error)
	UpdateAudit(a *Audit) error
	// ListAudits lists audits with the status, oldest first; status < 0 for all.
	ListAudits(status AuditStatus, limit int) ([]*Audit, error)
	// AuditsDue lists, oldest first, at most limit audits with the status
	// and an id above after whose clock started no later than dueBy (for
	// a sped-up audit: halfDueBy). An audit's clock starts when it was
	// submitted, a delayed one's when it was delayed (its DecidedAt).
	AuditsDue(status AuditStatus, dueBy, halfDueBy time.Time, after int64, limit int) ([]*Audit, error)

	CreateRelease(r *Release) error // sets r.ID
	UpdateRelease(r *Release) error
	// ListReleases lists releases newest first.
	ListReleases(authorizerAppID string, limit int) ([]*Release, error)

	GetGrayPlan(authorizerAppID string) (*GrayPlan, error)
	PutGrayPlan(g *GrayPlan) error

	// AddCounter adds delta to a named counter and returns the new value.
	// Quotas name counters by scope and period ("undo:wx…:2026-11-23").
	AddCounter(key string, delta int) (int, error)
	GetCounter(key string) (int, error)

	PutMedia(m *Media) error
	GetMedia(id string) (*Media, error)

	EnqueueEvent(e *Event) error // sets e.ID
	// DueEvents returns pending events whose next attempt is due.
	DueEvents(now time.Time, limit int) ([]*Event, error)
	// UpdateEvent writes a pending event; a delivered or failed one is
	// final (ErrConflict, nothing written).
	UpdateEvent(e *Event) error
	AddEventAttempt(a *EventAttempt) error
	// ListEvents lists events newest first, with their attempts.
	ListEvents(platformAppID string, limit int) ([]*Event, error)
	ListEventAttempts(eventID int64) ([]*EventAttempt, error)

	AuthorizationListTx
	ClockTx
	OperatorTx
}
