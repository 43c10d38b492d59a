package service

import (
	"context"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/template"
)

// PlatformUpdate changes a platform; nil fields stay as they are.
type PlatformUpdate struct {
	Secret         *string `json:"secret"`
	Token          *string `json:"token"`
	EncodingAESKey *string `json:"encoding_aes_key"`
	AuthEventURL   *string `json:"auth_event_url"`
	MessageURL     *string `json:"message_url"`
	AuditQuota     *int    `json:"audit_quota"`
	SpeedupQuota   *int    `json:"speedup_quota"`
}

// UpdatePlatform applies u. A new EncodingAESKey or token takes effect for
// the next push attempt, as when a platform changes them in WeChat's console.
func (s *Service) UpdatePlatform(ctx context.Context, appid string, u PlatformUpdate) (*miniship.Platform, error) {
	if u.EncodingAESKey != nil && !aesKeyPattern.MatchString(*u.EncodingAESKey) {
		return nil, invalidf("encoding_aes_key must be 43 letters or digits")
	}
	for _, p := range []*string{u.Secret, u.Token} {
		if p != nil && *p == "" {
			return nil, invalidf("secret and token must not be empty")
		}
	}
	if u.AuthEventURL != nil {
		if err := checkPushURL("auth_event_url", *u.AuthEventURL); err != nil {
			return nil, err
		}
	}
	if u.MessageURL != nil {
		if err := checkPushURL("message_url", *u.MessageURL); err != nil {
			return nil, err
		}
	}
	for _, q := range []*int{u.AuditQuota, u.SpeedupQuota} {
		if q != nil && *q < 0 {
			return nil, invalidf("quotas must not be negative")
		}
	}
	var p *miniship.Platform
	err := s.update(ctx, func(tx miniship.Tx) error {
		var err error
		if p, err = tx.LockPlatform(appid); err != nil {
			return err
		}
		set(&p.Secret, u.Secret)
		set(&p.Token, u.Token)
		set(&p.EncodingAESKey, u.EncodingAESKey)
		set(&p.AuthEventURL, u.AuthEventURL)
		set(&p.MessageURL, u.MessageURL)
		set(&p.AuditQuota, u.AuditQuota)
		set(&p.SpeedupQuota, u.SpeedupQuota)
		return tx.UpdatePlatform(p)
	})
	return p, err
}

// AuthorizerUpdate changes a mini program's profile and grants; nil fields
// stay as they are.
type AuthorizerUpdate struct {
	Nickname        *string                 `json:"nickname"`
	ProfileComplete *bool                   `json:"profile_complete"`
	Categories      *[]miniship.Category    `json:"categories"`
	PrivacyAPIs     *[]string               `json:"privacy_apis"`
	Plugins         *[]miniship.PluginGrant `json:"plugins"`
	// Secret replaces the AppSecret the merchant signs in with.
	Secret *string `json:"secret"`
}

// UpdateAuthorizer applies u; grants apply to the next commit and submit.
func (s *Service) UpdateAuthorizer(ctx context.Context, appid string, u AuthorizerUpdate) (*miniship.Authorizer, error) {
	if u.PrivacyAPIs != nil {
		for _, api := range *u.PrivacyAPIs {
			if !template.IsLocationAPI(api) {
				return nil, invalidf("privacy_apis: %q is not one of the 8 location APIs", api)
			}
		}
	}
	if u.Secret != nil {
		if err := checkSecret(*u.Secret); err != nil {
			return nil, err
		}
	}
	var a *miniship.Authorizer
	err := s.update(ctx, func(tx miniship.Tx) error {
		var err error
		if a, err = tx.LockAuthorizer(appid); err != nil {
			return err
		}
		set(&a.Nickname, u.Nickname)
		set(&a.ProfileComplete, u.ProfileComplete)
		set(&a.Categories, u.Categories)
		set(&a.PrivacyAPIs, u.PrivacyAPIs)
		set(&a.Plugins, u.Plugins)
		set(&a.Secret, u.Secret)
		return tx.UpdateAuthorizer(a)
	})
	return a, err
}

// set copies *v into *dst when v is given.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
