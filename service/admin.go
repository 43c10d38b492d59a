package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/template"
)

// ErrInvalid marks admin input the admin API answers with 400.
var ErrInvalid = errors.New("invalid input")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

var (
	appIDPattern  = regexp.MustCompile(`^[A-Za-z0-9_]{2,64}$`)
	aesKeyPattern = regexp.MustCompile(`^[A-Za-z0-9]{43}$`)
)

// checkPushURL refuses a push URL WeChat's console would not take: it
// must be empty (no pushes) or an absolute http or https URL.
func checkPushURL(field, s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return invalidf("%s must be an http:// or https:// URL, got %q", field, s)
	}
	return nil
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (s *Service) alnum(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		panic("miniship: random source failed: " + err.Error())
	}
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)] // the slight bias is harmless for tokens
	}
	return string(b)
}

// CreatePlatform registers a third-party platform, generating the secret,
// message token and EncodingAESKey it was not given, and issues its first
// component_verify_ticket at once so a client can fetch a token right away.
func (s *Service) CreatePlatform(ctx context.Context, p *miniship.Platform) (*miniship.Platform, error) {
	if !appIDPattern.MatchString(p.AppID) {
		return nil, invalidf("appid must be 2-64 letters, digits or _")
	}
	if p.EncodingAESKey != "" && !aesKeyPattern.MatchString(p.EncodingAESKey) {
		return nil, invalidf("encoding_aes_key must be 43 letters or digits")
	}
	if err := checkPushURL("auth_event_url", p.AuthEventURL); err != nil {
		return nil, err
	}
	if err := checkPushURL("message_url", p.MessageURL); err != nil {
		return nil, err
	}
	if p.Secret == "" {
		p.Secret = s.newHex(16)
	}
	if p.Token == "" {
		p.Token = s.alnum(32)
	}
	if p.EncodingAESKey == "" {
		p.EncodingAESKey = s.alnum(43)
	}
	if p.AuditQuota <= 0 {
		p.AuditQuota = s.cfg.AuditQuota
	}
	if p.SpeedupQuota <= 0 {
		p.SpeedupQuota = s.cfg.SpeedupQuota
	}
	p.CreatedAt = s.Now()
	err := s.update(ctx, func(tx miniship.Tx) error {
		if err := tx.CreatePlatform(p); err != nil {
			return err
		}
		_, err := s.issueTicket(tx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// CreateAuthorizer registers a mini program with its grants.
func (s *Service) CreateAuthorizer(ctx context.Context, a *miniship.Authorizer) (*miniship.Authorizer, error) {
	if !appIDPattern.MatchString(a.AppID) {
		return nil, invalidf("appid must be 2-64 letters, digits or _")
	}
	for _, api := range a.PrivacyAPIs {
		if !template.IsLocationAPI(api) {
			return nil, invalidf("privacy_apis: %q is not one of the 8 location APIs", api)
		}
	}
	if a.Secret == "" {
		a.Secret = s.newHex(16) // 32 hex digits, like WeChat's AppSecrets
	} else if err := checkSecret(a.Secret); err != nil {
		return nil, err
	}
	if a.OriginalID == "" {
		a.OriginalID = "gh_" + s.newHex(6)
	}
	if a.Nickname == "" {
		a.Nickname = a.AppID
	}
	if a.Categories == nil {
		a.Categories = []miniship.Category{}
	}
	if a.PrivacyAPIs == nil {
		a.PrivacyAPIs = []string{}
	}
	if a.Plugins == nil {
		a.Plugins = []miniship.PluginGrant{}
	}
	a.VisitStatus = 1
	a.CreatedAt = s.Now()
	if err := s.update(ctx, func(tx miniship.Tx) error { return tx.CreateAuthorizer(a) }); err != nil {
		return nil, err
	}
	return a, nil
}

// Authorize records (or renews) a mini program's grant to a platform, as the
// consent page does, and returns the authorization with its refresh token.
// Exclusive sets another platform holds are left out (see Grant).
func (s *Service) Authorize(ctx context.Context, platform, authorizer string, sets []int) (*miniship.Authorization, error) {
	g, err := s.Grant(ctx, platform, authorizer, sets)
	if err != nil {
		return nil, err
	}
	return g.Authorization, nil
}

// Grant is Authorize telling which requested sets were withheld.
func (s *Service) Grant(ctx context.Context, platform, authorizer string, sets []int) (*GrantResult, error) {
	if err := checkPermissionSets(sets); err != nil {
		return nil, invalidf("%s", err.Msg)
	}
	var g *GrantResult
	err := s.update(ctx, func(tx miniship.Tx) error {
		var err error
		g, _, err = s.authorize(tx, platform, authorizer, sets)
		return err
	})
	return g, err
}

// authorize grants or updates; prev is the earlier grant (nil when there
// was none), for the caller to tell authorized from updateauthorized.
// sets must have passed checkPermissionSets.
func (s *Service) authorize(tx miniship.Tx, platform, authorizer string, sets []int) (g *GrantResult, prev *miniship.Authorization, err error) {
	if _, err := tx.GetPlatform(platform); err != nil {
		return nil, nil, fmt.Errorf("platform %s: %w", platform, err)
	}
	// Locked so that grants racing for a new authorization agree on one
	// refresh token instead of each minting one the next overwrites, and so
	// that two platforms racing for an exclusive set cannot both get it.
	if _, err := tx.LockAuthorizer(authorizer); err != nil {
		return nil, nil, fmt.Errorf("authorizer %s: %w", authorizer, err)
	}
	if len(sets) == 0 {
		sets = s.cfg.DefaultPermissionSets
	}
	sets = slices.Clone(sets)
	slices.Sort(sets)
	sets = slices.Compact(sets)
	held, others, err := heldElsewhere(tx, platform, authorizer)
	if err != nil {
		return nil, nil, err
	}
	prev, err = tx.GetAuthorization(platform, authorizer)
	switch {
	case errors.Is(err, miniship.ErrNotFound):
		prev = nil
		if others >= MaxPlatformsPerApp {
			return nil, nil, tooManyPlatforms(others)
		}
	case err != nil:
		return nil, nil, err
	}
	g = &GrantResult{Withheld: []HeldSet{}}
	sets = slices.DeleteFunc(sets, func(id int) bool {
		if by, ok := held[id]; ok {
			g.Withheld = append(g.Withheld, HeldSet{ID: id, HeldBy: by})
			return true
		}
		return false
	})
	if len(sets) == 0 {
		return nil, nil, &ConsentError{Sets: true, Conflict: true, Msg: "every permission set asked for is exclusive and held by another platform: " + describeHeld(g.Withheld)}
	}
	now := s.Now()
	var a *miniship.Authorization
	if prev == nil {
		a = &miniship.Authorization{PlatformAppID: platform, AuthorizerAppID: authorizer, CreatedAt: now, RefreshToken: "refreshtoken@@@" + s.newToken(36)}
	} else {
		cp := *prev
		a = &cp
	}
	a.PermissionSets, a.UpdatedAt = sets, now
	g.Authorization = a
	return g, prev, tx.PutAuthorization(a)
}

// Unauthorize removes a grant, as a merchant revoking it would, and pushes
// the unauthorized event.
func (s *Service) Unauthorize(ctx context.Context, platform, authorizer string) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		p, err := tx.GetPlatform(platform)
		if err != nil {
			return err
		}
		if _, err := tx.GetAuthorization(platform, authorizer); err != nil {
			return err
		}
		if err := tx.DeleteAuthorization(platform, authorizer); err != nil {
			return err
		}
		return s.enqueue(tx, authorizationEvent(p, "unauthorized", s.Now(), authorizer, "", time.Time{}, ""))
	})
}
