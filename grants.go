package miniship

import (
	"encoding/json"
	"time"
)

// The grants a mini program applies for around the core: privacy APIs,
// service categories and plugins. Each application is decided by the
// reviewer (admin API or the automatic rule, or the plugin's developer);
// an approved one is copied into the Authorizer's PrivacyAPIs, Categories
// or Plugins, which is what commit and submit_audit check.

// Application statuses, shared by the three kinds; each endpoint maps them
// to its own wire codes.
const (
	ApplyPending  = 1
	ApplyRejected = 2
	ApplyApproved = 3
)

// PrivacySetting is one version of a mini program's user-privacy guide:
// Ver 1 is live, 2 development. Doc is the guide as setprivacysetting
// spells it (setting_list, owner_setting, sdk_privacy_info_list).
type PrivacySetting struct {
	AuthorizerAppID string
	Ver             int
	Doc             json.RawMessage
	UpdatedAt       time.Time
}

// PrivacyApplication is an apply_privacy_interface request. A mini program
// has at most one per API: applying again replaces a rejected one.
type PrivacyApplication struct {
	ID              int64 // the audit_id
	AuthorizerAppID string
	PlatformAppID   string
	APIName         string // without the wx. prefix
	Status          int
	Content         string
	URLList         []string
	PicList         []string
	VideoList       []string
	Reason          string // the reviewer's, on rejection
	AppliedAt       time.Time
	DecidedAt       time.Time
}

// Certificate is a qualification sent with addcategory ("certicates").
type Certificate struct {
	Key         string `json:"key"`
	Value       string `json:"value"`
	ExpireTime  int64  `json:"expire_time,omitempty"`
	IsPermanent int    `json:"is_permanent,omitempty"`
}

// CategoryApplication is a category added with addcategory, keyed by the
// mini program and the (first, second) ids.
type CategoryApplication struct {
	AuthorizerAppID string
	PlatformAppID   string
	First, Second   int64
	Status          int
	Reason          string
	Certificates    []Certificate
	AppliedAt       time.Time
	DecidedAt       time.Time
}

// PluginApplication is a mini program's request to use a plugin (/wxa/plugin
// apply), decided by the plugin's developer (/wxa/devplugin) or the reviewer.
type PluginApplication struct {
	AuthorizerAppID string
	PluginAppID     string
	PlatformAppID   string
	Status          int
	ApplyReason     string
	RefuseReason    string
	UserVersion     string // set by the update action
	AppliedAt       time.Time
	DecidedAt       time.Time
}

// GrantTx is the part of Tx that keeps privacy guides and the three kinds
// of applications. Getters return ErrNotFound. List filters: "" and 0 match
// everything; limit <= 0 is no limit; oldest first.
type GrantTx interface {
	PutPrivacySetting(p *PrivacySetting) error
	GetPrivacySetting(authorizerAppID string, ver int) (*PrivacySetting, error)

	CreatePrivacyApplication(a *PrivacyApplication) error // sets a.ID
	GetPrivacyApplication(id int64) (*PrivacyApplication, error)
	UpdatePrivacyApplication(a *PrivacyApplication) error
	DeletePrivacyApplication(id int64) error
	ListPrivacyApplications(authorizerAppID string, status, limit int) ([]*PrivacyApplication, error)

	// PutCategoryApplication inserts or replaces the application.
	PutCategoryApplication(c *CategoryApplication) error
	GetCategoryApplication(authorizerAppID string, first, second int64) (*CategoryApplication, error)
	DeleteCategoryApplication(authorizerAppID string, first, second int64) error
	ListCategoryApplications(authorizerAppID string, status, limit int) ([]*CategoryApplication, error)

	// PutPluginApplication inserts or replaces the application.
	PutPluginApplication(p *PluginApplication) error
	GetPluginApplication(authorizerAppID, pluginAppID string) (*PluginApplication, error)
	DeletePluginApplication(authorizerAppID, pluginAppID string) error
	// ListPluginApplications filters by the applying mini program, the
	// plugin, or both.
	ListPluginApplications(authorizerAppID, pluginAppID string, status, limit int) ([]*PluginApplication, error)
}
