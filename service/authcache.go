package service

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxerr"
)

// Authorizer access tokens are immutable once issued (a value is random
// and never reissued), so each server keeps the ones it has seen in memory
// and reads the store only for a token it does not know. What can change,
// the grant behind an authorizer token, is never cached: every request
// reads it from the store (in Authenticate, or, for the endpoints that take
// it, in the endpoint's own transaction or Read), so a revoke on any
// instance is refused on every instance at once. So is a token that fell
// out of the grant's newest KeepAccessTokens: the grant read carries its
// count (grantValid). Component tokens have no such read to ride on and
// are not cached: one deleted by a newer issuance, on any server, must not
// keep working on another.

// cacheSize bounds each in-memory cache; past it an arbitrary entry goes,
// and a request for it reads the store again.
const cacheSize = 1 << 16

type tokenKey struct {
	kind  miniship.TokenKind
	value string
}

// tokenCache holds access tokens by kind and value.
type tokenCache struct {
	mu sync.RWMutex
	m  map[tokenKey]*miniship.Token
}

func (c *tokenCache) get(kind miniship.TokenKind, value string) *miniship.Token {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[tokenKey{kind, value}]
}

func (c *tokenCache) put(t *miniship.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[tokenKey]*miniship.Token{}
	}
	if len(c.m) >= cacheSize {
		for k := range c.m { // map order is random: a random victim
			delete(c.m, k)
			break
		}
	}
	c.m[tokenKey{t.Kind, t.Value}] = t
}

// grantsEntry is a mini program's privacy-API and plugin grants as of a
// revision; commit runs the engine on them and checks the revision in its
// transaction.
type grantsEntry struct {
	rev int64
	a   *miniship.Authorizer
}

type grantsCache struct {
	mu sync.Mutex
	m  map[string]grantsEntry
}

func (c *grantsCache) get(appid string) (grantsEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[appid]
	return e, ok
}

func (c *grantsCache) put(a *miniship.Authorizer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]grantsEntry{}
	}
	if len(c.m) >= cacheSize {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	// Only what the engine reads, so an entry stays small.
	c.m[a.AppID] = grantsEntry{rev: a.GrantsRev, a: &miniship.Authorizer{AppID: a.AppID, PrivacyAPIs: a.PrivacyAPIs, Plugins: a.Plugins}}
}

// pendingGrant is the grant check of an authorizer token that
// AuthenticateInTx left to the endpoint's own transaction.
type pendingGrant struct {
	token *miniship.Token
	perms []int
}

// AuthenticateInTx is Authenticate for endpoints whose service method
// checks the grant inside its own transaction (checkGrant): one
// transaction per request instead of two. Only those methods may be given
// the caller it returns; GrantFirst must wrap the request so that an error
// found before that transaction does not hide a revoked grant.
func (s *Service) AuthenticateInTx(ctx context.Context, token string, want miniship.TokenKind, perms ...int) (*Caller, error) {
	t, err := s.lookupToken(ctx, token, want)
	if err != nil {
		return nil, err
	}
	c := &Caller{Kind: t.Kind, PlatformAppID: t.PlatformAppID, AuthorizerAppID: t.AuthorizerAppID}
	if want == miniship.AuthorizerToken {
		c.pending = &pendingGrant{token: t, perms: perms}
	}
	return c, nil
}

// lookupToken finds a live access token of the wanted kind, in memory when
// it can (authorizer tokens).
func (s *Service) lookupToken(ctx context.Context, token string, want miniship.TokenKind) (*miniship.Token, error) {
	if token == "" {
		return nil, wxerr.New(wxerr.AccessTokenMissing, "")
	}
	var t *miniship.Token
	if want == miniship.AuthorizerToken {
		t = s.tokens.get(want, token)
	}
	if t != nil && !s.Now().Before(t.ExpiresAt) {
		// Expired: the store says whether it is still there (42001) or
		// already swept (40001, as for any unknown token).
		t = nil
	}
	if t == nil {
		err := s.read(ctx, func(tx miniship.Tx) (err error) {
			t, err = tx.GetToken(want, token)
			if errors.Is(err, miniship.ErrNotFound) {
				return s.wrongToken(tx, token, want)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if want == miniship.AuthorizerToken {
			s.tokens.put(t)
		}
	}
	if !s.Now().Before(t.ExpiresAt) {
		return nil, wxerr.New(wxerr.AccessTokenExpired, "")
	}
	return t, nil
}

// checkGrant checks, inside tx, the grant behind a caller from
// AuthenticateInTx, and fills its permission sets; a no-op for any other
// caller.
func (s *Service) checkGrant(tx miniship.Tx, c *Caller) error {
	if c.pending == nil {
		return nil
	}
	a, err := tx.GetAuthorization(c.PlatformAppID, c.AuthorizerAppID)
	if err != nil {
		return notFound(err, wxerr.ComponentNotAuthorized, "")
	}
	return c.grant(a)
}

// checkGrantOf is checkGrant on a grant the request read with its own row
// (GrantReadTx) rather than on its own.
func (c *Caller) checkGrantOf(a *miniship.Authorization) error {
	if c.pending == nil {
		return nil
	}
	return c.grant(a)
}

// grant judges the authorization found for the caller's token.
func (c *Caller) grant(a *miniship.Authorization) error {
	if a == nil {
		return wxerr.New(wxerr.ComponentNotAuthorized, "")
	}
	p := c.pending
	if err := grantValid(p.token, a, p.perms); err != nil {
		return err
	}
	c.PermissionSets = a.PermissionSets
	return nil
}

// grantValid is the rule both Authenticate and the in-transaction check
// apply: the token must come from this grant, not from one revoked before
// it (a generation, which always advances, not a time, which a manual
// clock may not move), and be among the grant's newest KeepAccessTokens
// (older ones are deleted, but another server may hold this one in
// memory); and the grant must hold one of perms.
func grantValid(t *miniship.Token, a *miniship.Authorization, perms []int) error {
	if t.Generation != a.Generation || t.CreatedAt.Before(a.CreatedAt) || a.TokenSeq >= t.Seq+KeepAccessTokens {
		return wxerr.New(wxerr.InvalidCredential, "")
	}
	if len(perms) > 0 && !slices.ContainsFunc(perms, func(p int) bool { return slices.Contains(a.PermissionSets, p) }) {
		return wxerr.Errorf(wxerr.APIUnauthorizedToComponent, "permission set %v not granted", perms)
	}
	return nil
}

// GrantFirst, deferred around a request of a caller from AuthenticateInTx,
// replaces an error the request met with the grant's, as Authenticate
// would have answered before anything else ran.
func (s *Service) GrantFirst(ctx context.Context, c *Caller, err *error) {
	if *err == nil || c == nil || c.pending == nil {
		return
	}
	if gerr := s.view(ctx, func(tx miniship.Tx) error { return s.checkGrant(tx, c) }); gerr != nil {
		*err = gerr
	}
}
