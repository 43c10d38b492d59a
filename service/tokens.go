package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxcrypt"
	"github.com/miniship/miniship/wxerr"
)

// Caller is who a request's token says it comes from.
type Caller struct {
	Kind            miniship.TokenKind
	PlatformAppID   string
	AuthorizerAppID string // authorizer tokens only
	PermissionSets  []int  // authorizer tokens only

	pending *pendingGrant // the grant check AuthenticateInTx left (authcache.go)
}

// Authenticate resolves an access token of the wanted kind. For authorizer
// tokens it also checks that the mini program still authorizes the platform
// (61003) and granted one of the permission sets perms (61007; none given
// skips the check).
func (s *Service) Authenticate(ctx context.Context, token string, want miniship.TokenKind, perms ...int) (*Caller, error) {
	c, err := s.AuthenticateInTx(ctx, token, want, perms...)
	if err != nil || c.pending == nil {
		return c, err
	}
	err = s.read(ctx, func(tx miniship.Tx) error { return s.checkGrant(tx, c) })
	c.pending = nil
	return c, err
}

// wrongToken explains a token that is not of the wanted kind: a known token
// of the other kind gets the code WeChat gives for the mix-up, anything else
// 40001, which makes clients refresh.
func (s *Service) wrongToken(tx miniship.Tx, token string, want miniship.TokenKind) error {
	if want == miniship.ComponentToken {
		if _, err := tx.GetToken(miniship.AuthorizerToken, token); err == nil {
			return wxerr.New(wxerr.MustUseComponentToken, "")
		}
	}
	return wxerr.New(wxerr.InvalidCredential, "")
}

// How many credentials of a kind one owner keeps (a platform; a platform
// and a mini program for authorization codes and authorizer tokens):
// issuing one more deletes the oldest (Tx.IssueToken), so an owner that
// asks in a loop holds these many rows at most, whatever its rate. WeChat keeps a replaced
// access token working for a short overlap; here the older ones keep
// working until they expire or KeepAccessTokens newer ones were issued.
// One deleted so answers 40001 (WeChat's "invalid credential ... or not
// latest") on every server at once: component tokens are read from the
// store on every request (lookupToken), and an authorizer token is checked
// against its grant's count, which every request reads (grantValid).
const (
	KeepAccessTokens = 10   // component tokens per platform, authorizer tokens per grant
	KeepPreAuthCodes = 1000 // pre_auth_codes per platform (600 s each)
	KeepAuthCodes    = 10   // authorization codes per platform and mini program (one a consent)
	KeepTickets      = 100  // component_verify_tickets per platform (12 h of pushes every 10 min is 72)
)

// ComponentTokenResult is the answer of api_component_token.
type ComponentTokenResult struct {
	Token     string `json:"component_access_token"`
	ExpiresIn int    `json:"expires_in"`
}

// ComponentToken exchanges the platform's credentials and a pushed ticket
// for a component_access_token.
func (s *Service) ComponentToken(ctx context.Context, appid, secret, ticket string) (*ComponentTokenResult, error) {
	switch {
	case appid == "":
		return nil, wxerr.New(wxerr.InvalidAppID, "component_appid missing")
	case secret == "":
		return nil, wxerr.New(wxerr.AppSecretMissing, "component_appsecret missing")
	}
	res := &ComponentTokenResult{ExpiresIn: int(s.cfg.TokenTTL / time.Second)}
	err := s.update(ctx, func(tx miniship.Tx) error {
		p, err := tx.GetPlatform(appid)
		if err != nil {
			return notFound(err, wxerr.InvalidAppID, "")
		}
		if subtle.ConstantTimeCompare([]byte(secret), []byte(p.Secret)) != 1 {
			return wxerr.New(wxerr.InvalidAppSecret, "")
		}
		t, err := tx.GetToken(miniship.VerifyTicket, ticket)
		if err == nil && t.PlatformAppID != appid {
			err = miniship.ErrNotFound // another platform's ticket is no ticket of this one
		}
		if err != nil {
			return notFound(err, wxerr.ComponentTicketInvalid, "")
		}
		if !s.Now().Before(t.ExpiresAt) {
			return wxerr.New(wxerr.ComponentTicketExpired, "")
		}
		res.Token = s.newToken(48)
		return tx.IssueToken(s.token(miniship.ComponentToken, res.Token, appid, "", s.cfg.TokenTTL), KeepAccessTokens)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Service) token(kind miniship.TokenKind, value, platform, authorizer string, ttl time.Duration) *miniship.Token {
	now := s.Now()
	return &miniship.Token{Value: value, Kind: kind, PlatformAppID: platform, AuthorizerAppID: authorizer, CreatedAt: now, ExpiresAt: now.Add(ttl)}
}

// checkComponentAppID rejects a body's component_appid that is not the
// token's platform: a component token works only for its own platform.
func checkComponentAppID(c *Caller, appid string) error {
	if appid != c.PlatformAppID {
		return wxerr.Errorf(wxerr.InvalidAppID, "component_appid %q does not match the token", appid)
	}
	return nil
}

// PreAuthCodeResult is the answer of api_create_preauthcode.
type PreAuthCodeResult struct {
	Code      string `json:"pre_auth_code"`
	ExpiresIn int    `json:"expires_in"`
}

// CreatePreAuthCode issues a single-use pre-authorization code; the
// platform's oldest beyond KeepPreAuthCodes go.
func (s *Service) CreatePreAuthCode(ctx context.Context, c *Caller, appid string) (*PreAuthCodeResult, error) {
	if err := checkComponentAppID(c, appid); err != nil {
		return nil, err
	}
	res := &PreAuthCodeResult{Code: "preauthcode@@@" + s.newToken(36), ExpiresIn: int(s.cfg.PreAuthTTL / time.Second)}
	err := s.update(ctx, func(tx miniship.Tx) error {
		return tx.IssueToken(s.token(miniship.PreAuthCode, res.Code, appid, "", s.cfg.PreAuthTTL), KeepPreAuthCodes)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// FuncInfo is one granted permission set as api_query_auth lists it.
type FuncInfo struct {
	Category struct {
		ID int `json:"id"`
	} `json:"funcscope_category"`
}

func funcInfo(sets []int) []FuncInfo {
	out := make([]FuncInfo, len(sets))
	for i, id := range sets {
		out[i].Category.ID = id
	}
	return out
}

// AuthorizationInfo is the authorization_info object of api_query_auth.
type AuthorizationInfo struct {
	AuthorizerAppID string     `json:"authorizer_appid"`
	AccessToken     string     `json:"authorizer_access_token"`
	ExpiresIn       int        `json:"expires_in"`
	RefreshToken    string     `json:"authorizer_refresh_token"`
	FuncInfo        []FuncInfo `json:"func_info"`
}

// QueryAuth exchanges an authorization code from the consent redirect for
// the mini program's first access token and its refresh token.
func (s *Service) QueryAuth(ctx context.Context, c *Caller, appid, code string) (*AuthorizationInfo, error) {
	if err := checkComponentAppID(c, appid); err != nil {
		return nil, err
	}
	if code == "" {
		return nil, wxerr.New(wxerr.InvalidArgs, "authorization_code missing")
	}
	var info *AuthorizationInfo
	err := s.update(ctx, func(tx miniship.Tx) error {
		t, err := tx.GetToken(miniship.AuthCode, code)
		if err == nil && (t.PlatformAppID != appid || !s.Now().Before(t.ExpiresAt)) {
			err = miniship.ErrNotFound
		}
		if err != nil {
			return notFound(err, wxerr.InvalidArgs, "authorization_code invalid or expired")
		}
		if ok, err := tx.UseToken(miniship.AuthCode, code); err != nil || !ok {
			return notFound(errors.Join(err, miniship.ErrNotFound), wxerr.InvalidArgs, "authorization_code already used")
		}
		a, err := tx.GetAuthorization(appid, t.AuthorizerAppID)
		if err != nil {
			return notFound(err, wxerr.ComponentNotAuthorized, "")
		}
		info = &AuthorizationInfo{
			AuthorizerAppID: a.AuthorizerAppID,
			AccessToken:     s.newToken(48),
			ExpiresIn:       int(s.cfg.TokenTTL / time.Second),
			RefreshToken:    a.RefreshToken,
			FuncInfo:        funcInfo(a.PermissionSets),
		}
		at := s.token(miniship.AuthorizerToken, info.AccessToken, appid, a.AuthorizerAppID, s.cfg.TokenTTL)
		at.Generation = a.Generation
		return tx.IssueToken(at, KeepAccessTokens)
	})
	return info, err
}

// AuthorizerTokenResult is the answer of api_authorizer_token.
type AuthorizerTokenResult struct {
	AccessToken  string `json:"authorizer_access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"authorizer_refresh_token"`
}

// AuthorizerToken issues a fresh authorizer_access_token from the refresh
// token. Earlier access tokens stay valid until they expire or
// KeepAccessTokens newer ones were issued.
func (s *Service) AuthorizerToken(ctx context.Context, c *Caller, appid, authorizer, refresh string) (*AuthorizerTokenResult, error) {
	if err := checkComponentAppID(c, appid); err != nil {
		return nil, err
	}
	var res *AuthorizerTokenResult
	err := s.update(ctx, func(tx miniship.Tx) error {
		a, err := tx.GetAuthorization(appid, authorizer)
		if err != nil {
			return notFound(err, wxerr.ComponentNotAuthorized, "")
		}
		if refresh == "" || subtle.ConstantTimeCompare([]byte(refresh), []byte(a.RefreshToken)) != 1 {
			return wxerr.New(wxerr.InvalidRefreshToken, "")
		}
		res = &AuthorizerTokenResult{AccessToken: s.newToken(48), ExpiresIn: int(s.cfg.TokenTTL / time.Second), RefreshToken: a.RefreshToken}
		t := s.token(miniship.AuthorizerToken, res.AccessToken, appid, authorizer, s.cfg.TokenTTL)
		t.Generation = a.Generation
		return tx.IssueToken(t, KeepAccessTokens)
	})
	return res, err
}

// AuthorizerInfo is the answer of api_get_authorizer_info.
type AuthorizerInfo struct {
	AuthorizerInfo struct {
		NickName        string `json:"nick_name"`
		HeadImg         string `json:"head_img"`
		ServiceTypeInfo struct {
			ID int `json:"id"`
		} `json:"service_type_info"`
		VerifyTypeInfo struct {
			ID int `json:"id"`
		} `json:"verify_type_info"`
		UserName      string         `json:"user_name"`
		PrincipalName string         `json:"principal_name"`
		Signature     string         `json:"signature"`
		BusinessInfo  map[string]int `json:"business_info"`
		QRCodeURL     string         `json:"qrcode_url"`
		Alias         string         `json:"alias"`
		Idc           int            `json:"idc"`
		RegisterType  int            `json:"register_type"`
		AccountStatus int            `json:"account_status"`
		BasicConfig   struct {
			IsPhoneConfigured bool `json:"is_phone_configured"`
			IsEmailConfigured bool `json:"is_email_configured"`
		} `json:"basic_config"`
		MiniProgramInfo struct {
			Network     map[string][]string `json:"network"`
			Categories  []map[string]string `json:"categories"`
			VisitStatus int                 `json:"visit_status"`
		} `json:"MiniProgramInfo"`
	} `json:"authorizer_info"`
	AuthorizationInfo struct {
		AuthorizerAppID string     `json:"authorizer_appid"`
		RefreshToken    string     `json:"authorizer_refresh_token"`
		FuncInfo        []FuncInfo `json:"func_info"`
	} `json:"authorization_info"`
}

// GetAuthorizerInfo describes an authorized mini program.
func (s *Service) GetAuthorizerInfo(ctx context.Context, c *Caller, appid, authorizer string) (*AuthorizerInfo, error) {
	if err := checkComponentAppID(c, appid); err != nil {
		return nil, err
	}
	res := &AuthorizerInfo{}
	err := s.view(ctx, func(tx miniship.Tx) error {
		a, err := tx.GetAuthorization(appid, authorizer)
		if err != nil {
			return notFound(err, wxerr.ComponentNotAuthorized, "")
		}
		m, err := tx.GetAuthorizer(authorizer)
		if err != nil {
			return notFound(err, wxerr.InvalidAppID, "")
		}
		ai := &res.AuthorizerInfo
		ai.NickName, ai.UserName, ai.PrincipalName = m.Nickname, m.OriginalID, m.Nickname
		ai.VerifyTypeInfo.ID = -1
		ai.BusinessInfo = map[string]int{"open_store": 0, "open_scan": 0, "open_pay": 0, "open_card": 0, "open_shake": 0}
		if ai.MiniProgramInfo.Network, err = s.network(tx, authorizer); err != nil {
			return err
		}
		ai.Idc, ai.AccountStatus = 1, 1
		ai.MiniProgramInfo.Categories = []map[string]string{}
		for _, cat := range m.Categories {
			ai.MiniProgramInfo.Categories = append(ai.MiniProgramInfo.Categories, map[string]string{"first": cat.FirstClass, "second": cat.SecondClass})
		}
		ai.MiniProgramInfo.VisitStatus = m.VisitStatus
		res.AuthorizationInfo.AuthorizerAppID = authorizer
		res.AuthorizationInfo.RefreshToken = a.RefreshToken
		res.AuthorizationInfo.FuncInfo = funcInfo(a.PermissionSets)
		return nil
	})
	return res, err
}

// CurrentTicket returns the platform's latest component_verify_ticket.
func (s *Service) CurrentTicket(ctx context.Context, appid string) (string, error) {
	var ticket string
	err := s.view(ctx, func(tx miniship.Tx) error {
		p, err := tx.GetPlatform(appid)
		if err != nil {
			return err
		}
		ticket = p.VerifyTicket
		return nil
	})
	return ticket, err
}

// IssueTicket makes a new component_verify_ticket and queues its push to
// the platform's authorization-event URL.
func (s *Service) IssueTicket(ctx context.Context, appid string) (string, error) {
	var ticket string
	err := s.update(ctx, func(tx miniship.Tx) error {
		p, err := tx.LockPlatform(appid)
		if err != nil {
			return err
		}
		ticket, err = s.issueTicket(tx, p)
		return err
	})
	return ticket, err
}

// issueTicket rewrites the platform row: p must have been read under
// lockPlatform (or just created), or a concurrent update is lost.
func (s *Service) issueTicket(tx miniship.Tx, p *miniship.Platform) (string, error) {
	now := s.Now()
	ticket := "ticket@@@" + s.newToken(64)
	if err := tx.IssueToken(s.token(miniship.VerifyTicket, ticket, p.AppID, "", s.cfg.TicketTTL), KeepTickets); err != nil {
		return "", err
	}
	p.VerifyTicket, p.TicketAt = ticket, now
	if err := tx.UpdatePlatform(p); err != nil {
		return "", err
	}
	if p.AuthEventURL == "" {
		return ticket, nil
	}
	return ticket, s.enqueue(tx, platformNotice(p, wxcrypt.InfoTypeComponentVerifyTicket, wxcrypt.NewComponentVerifyTicket(p.AppID, now.Unix(), ticket)))
}

// PushTickets issues a new ticket to every platform whose last one is older
// than the push interval. The server calls it every second; it follows the
// service clock, so a manual clock moved 10 minutes triggers a push.
func (s *Service) PushTickets(ctx context.Context) error {
	var due []string
	err := s.view(ctx, func(tx miniship.Tx) error {
		ps, err := tx.ListPlatforms()
		for _, p := range ps {
			if !s.Now().Before(p.TicketAt.Add(s.cfg.TicketEvery)) {
				due = append(due, p.AppID)
			}
		}
		return err
	})
	for _, appid := range due {
		err = errors.Join(err, s.update(ctx, func(tx miniship.Tx) error {
			// Lock, then re-check: another instance may have pushed since
			// the listing (TestMultiInstanceTicketPush).
			p, err := tx.LockPlatform(appid)
			if err != nil || s.Now().Before(p.TicketAt.Add(s.cfg.TicketEvery)) {
				return err // another instance pushed it meanwhile
			}
			_, err = s.issueTicket(tx, p)
			return err
		}))
	}
	if err != nil {
		return fmt.Errorf("push tickets: %w", err)
	}
	return nil
}

// Tick runs the work that follows the clock: ticket pushes now, and every
// other timed transition the service has. The server calls it every second
// and right after the manual clock moves.
func (s *Service) Tick(ctx context.Context) {
	if err := s.PushTickets(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("tick", "err", err)
	}
	if err := s.AutoDecide(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("tick", "err", err)
	}
	if err := s.AutoGrant(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("tick", "err", err)
	}
	s.sweepTokens(ctx)
	s.sweepMedia(ctx)
	s.prune(ctx)
}

// sweepTokens deletes credentials that expired a day ago, at most once a
// minute of service time: kept a while so a late caller still gets 42001
// rather than 40001 for a token that merely expired.
func (s *Service) sweepTokens(ctx context.Context) {
	now := s.Now()
	if last := s.lastSweep.Load(); last != 0 && now.Sub(time.Unix(0, last)) < time.Minute {
		return
	}
	s.lastSweep.Store(now.UnixNano())
	err := s.update(ctx, func(tx miniship.Tx) error {
		_, err := tx.DeleteExpiredTokens(now.Add(-24 * time.Hour))
		return err
	})
	if err != nil && ctx.Err() == nil {
		s.log.Error("sweep tokens", "err", err)
	}
}
