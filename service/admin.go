package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/template"
	"github.com/miniship/miniship/wxerr"
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
func (s *Service) Authorize(ctx context.Context, platform, authorizer string, sets []int) (*miniship.Authorization, error) {
	var a *miniship.Authorization
	err := s.update(ctx, func(tx miniship.Tx) error {
		var err error
		a, _, err = s.authorize(tx, platform, authorizer, sets)
		return err
	})
	return a, err
}

// authorize grants or updates; prev is the earlier grant (nil when there
// was none), for the caller to tell authorized from updateauthorized.
func (s *Service) authorize(tx miniship.Tx, platform, authorizer string, sets []int) (a *miniship.Authorization, prev *miniship.Authorization, err error) {
	if _, err := tx.GetPlatform(platform); err != nil {
		return nil, nil, fmt.Errorf("platform %s: %w", platform, err)
	}
	// Locked so that grants racing for a new authorization agree on one
	// refresh token instead of each minting one the next overwrites.
	if _, err := tx.LockAuthorizer(authorizer); err != nil {
		return nil, nil, fmt.Errorf("authorizer %s: %w", authorizer, err)
	}
	if len(sets) == 0 {
		sets = s.cfg.DefaultPermissionSets
	}
	sets = slices.Clone(sets)
	slices.Sort(sets)
	sets = slices.Compact(sets)
	now := s.Now()
	prev, err = tx.GetAuthorization(platform, authorizer)
	switch {
	case errors.Is(err, miniship.ErrNotFound):
		prev = nil
		a = &miniship.Authorization{PlatformAppID: platform, AuthorizerAppID: authorizer, CreatedAt: now, RefreshToken: "refreshtoken@@@" + s.newToken(36)}
	case err != nil:
		return nil, nil, err
	default:
		cp := *prev
		a = &cp
	}
	a.PermissionSets, a.UpdatedAt = sets, now
	return a, prev, tx.PutAuthorization(a)
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

// ConsentChoice is a mini program the consent page offers.
type ConsentChoice struct {
	AppID    string
	Nickname string
}

// ConsentPage checks a pre-auth code and lists the mini programs a merchant
// may pick from on the consent page.
func (s *Service) ConsentPage(ctx context.Context, platform, preAuthCode string) (*miniship.Platform, []ConsentChoice, error) {
	var p *miniship.Platform
	var choices []ConsentChoice
	err := s.view(ctx, func(tx miniship.Tx) error {
		var err error
		if p, err = s.checkPreAuthCode(tx, platform, preAuthCode); err != nil {
			return err
		}
		as, err := tx.ListAuthorizers()
		for _, a := range as {
			choices = append(choices, ConsentChoice{AppID: a.AppID, Nickname: a.Nickname})
		}
		return err
	})
	return p, choices, err
}

func (s *Service) checkPreAuthCode(tx miniship.Tx, platform, code string) (*miniship.Platform, error) {
	p, err := tx.GetPlatform(platform)
	if err != nil {
		return nil, notFound(err, wxerr.InvalidComponent, "")
	}
	t, err := tx.GetToken(miniship.PreAuthCode, code)
	if err != nil || t.PlatformAppID != platform || t.Used || !s.Now().Before(t.ExpiresAt) {
		return nil, notFound(errors.Join(err, miniship.ErrNotFound), wxerr.InvalidArgs, "pre_auth_code invalid, expired or used")
	}
	return p, nil
}

// ConsentResult is where the consent page sends the merchant back.
type ConsentResult struct {
	AuthCode  string
	ExpiresIn int
}

// Consent completes the consent page: it uses up the pre-auth code, grants
// the platform the permission sets, issues an authorization code and pushes
// the authorized (or updateauthorized) event.
func (s *Service) Consent(ctx context.Context, platform, preAuthCode, authorizer string, sets []int) (*ConsentResult, error) {
	res := &ConsentResult{AuthCode: "queryauthcode@@@" + s.newToken(36), ExpiresIn: int(s.cfg.AuthCodeTTL.Seconds())}
	err := s.update(ctx, func(tx miniship.Tx) error {
		p, err := s.checkPreAuthCode(tx, platform, preAuthCode)
		if err != nil {
			return err
		}
		if ok, err := tx.UseToken(miniship.PreAuthCode, preAuthCode); err != nil || !ok {
			return notFound(errors.Join(err, miniship.ErrNotFound), wxerr.InvalidArgs, "pre_auth_code already used")
		}
		a, prev, err := s.authorize(tx, platform, authorizer, sets)
		if err != nil {
			return notFound(err, wxerr.InvalidAppID, "unknown mini program")
		}
		if err := tx.PutToken(s.token(miniship.AuthCode, res.AuthCode, platform, authorizer, s.cfg.AuthCodeTTL)); err != nil {
			return err
		}
		now := s.Now()
		info := "authorized"
		if prev != nil {
			if slices.Equal(prev.PermissionSets, a.PermissionSets) {
				return nil // WeChat pushes no update when nothing changed
			}
			info = "updateauthorized"
		}
		return s.enqueue(tx, authorizationEvent(p, info, now, authorizer, res.AuthCode, now.Add(s.cfg.AuthCodeTTL), preAuthCode))
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
