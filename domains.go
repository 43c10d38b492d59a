package miniship

import "time"

// ServerDomains are the six server-domain lists of a mini program, under
// the names modify_domain and get_effective_domain use. Entries carry their
// scheme ("https://a.example.com", "wss://…", "udp://…", "tcp://…").
type ServerDomains struct {
	Request   []string `json:"requestdomain"`
	WsRequest []string `json:"wsrequestdomain"`
	Upload    []string `json:"uploaddomain"`
	Download  []string `json:"downloaddomain"`
	UDP       []string `json:"udpdomain"`
	TCP       []string `json:"tcpdomain"`
}

// AuthorizerDomains is a mini program's domain state in its layers:
// console (MP), set by the platform (Third, modify_domain), set directly
// (Direct, modify_domain_directly) and in force since the last release
// (Effective). The business (web-view) domains have the same layers.
type AuthorizerDomains struct {
	AuthorizerAppID  string        `json:"-"`
	MP               ServerDomains `json:"mp"`
	Third            ServerDomains `json:"third"`
	Direct           ServerDomains `json:"direct"`
	Effective        ServerDomains `json:"effective"`
	MPWebview        []string      `json:"mp_webview"`
	ThirdWebview     []string      `json:"third_webview"`
	DirectWebview    []string      `json:"direct_webview"`
	EffectiveWebview []string      `json:"effective_webview"`
	UpdatedAt        time.Time     `json:"-"`
}

// PlatformDomains are a platform's own registered hosts (bare, no scheme):
// the testing value and the published ("全网发布") value of the server-domain
// list and of the business-domain list. A nil published list means the
// platform never published one.
type PlatformDomains struct {
	PlatformAppID   string    `json:"-"`
	TestingServer   []string  `json:"testing_server"`
	PublishedServer []string  `json:"published_server"`
	TestingJump     []string  `json:"testing_jump"`
	PublishedJump   []string  `json:"published_jump"`
	UpdatedAt       time.Time `json:"-"`
}

// DomainTx stores domain state. Getters return ErrNotFound for an account
// whose domains were never written.
type DomainTx interface {
	GetAuthorizerDomains(appid string) (*AuthorizerDomains, error)
	PutAuthorizerDomains(d *AuthorizerDomains) error
	GetPlatformDomains(appid string) (*PlatformDomains, error)
	PutPlatformDomains(d *PlatformDomains) error
}

// Tester is a WeChat user bound as a tester (体验者) of a mini program.
// UserStr is the opaque per-person id WeChat answers instead of the ID.
type Tester struct {
	AuthorizerAppID string    `json:"authorizer_appid"`
	WechatID        string    `json:"wechatid"`
	UserStr         string    `json:"userstr"`
	CreatedAt       time.Time `json:"created_at"`
}

// TesterTx stores testers.
type TesterTx interface {
	// AddTester binds a tester; ErrConflict when the ID is bound already.
	AddTester(t *Tester) error
	// DeleteTester unbinds by userstr; ErrNotFound when not bound.
	DeleteTester(authorizerAppID, userStr string) error
	// ListTesters lists a mini program's testers, oldest first.
	ListTesters(authorizerAppID string) ([]*Tester, error)
	// CountTesterBindings counts the mini programs a userstr tests.
	CountTesterBindings(userStr string) (int, error)
	// CountTesters counts a mini program's testers.
	CountTesters(authorizerAppID string) (int, error)
}

// UtilityTx serves the component-level utilities: the paginated
// authorizer list, authorizer options and quota resets.
type UtilityTx interface {
	// PageAuthorizations lists the platform's grants in authorization
	// order (created_at, then appid) from offset, at most limit of them.
	PageAuthorizations(platformAppID string, offset, limit int) ([]*Authorization, error)
	CountAuthorizations(platformAppID string) (int, error)
	// CountAuthorizationsRev is the count with the revision of the order,
	// which moves whenever a grant goes or comes anywhere but last: while
	// it stays, the grant at each offset stays.
	CountAuthorizationsRev(platformAppID string) (n int, rev int64, err error)
	// PageAuthorizationsFrom is PageAuthorizations from the grant after
	// (afterCreated, afterAppID) in the same order, not from an offset.
	PageAuthorizationsFrom(platformAppID string, afterCreated time.Time, afterAppID string, limit int) ([]*Authorization, error)
	// ListAuthorizationsAfter lists at most limit of the platform's grants
	// in authorizer appid order, from the first appid after afterAppID
	// ("" for the first page): a keyset page, the same cost at any depth.
	ListAuthorizationsAfter(platformAppID, afterAppID string, limit int) ([]*Authorization, error)
	// GetAuthorizerOption returns ErrNotFound for an option never set.
	GetAuthorizerOption(authorizerAppID, name string) (string, error)
	PutAuthorizerOption(authorizerAppID, name, value string) error
	// DeleteCounters deletes the counters whose name starts with prefix.
	DeleteCounters(prefix string) (int64, error)
}
