package wxa

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Token is a stored credential: a ticket, an access token or a refresh
// token. ExpiresAt is when the SDK stops using it (for access tokens,
// expires_in minus the margin); zero means it does not expire (refresh
// tokens live until the mini program revokes the authorization).
type Token struct {
	Value     string
	ExpiresAt time.Time
}

// TokenStore keeps tokens by key. Implementations must be safe for
// concurrent use; a store shared by several processes (redisstore) lets
// them share tokens and serialize refreshes through Lock.
type TokenStore interface {
	// Get returns the token under key; ok is false when there is none.
	Get(ctx context.Context, key string) (t Token, ok bool, err error)
	Set(ctx context.Context, key string, t Token) error
	// Delete removes key if it still holds value, so a client dropping a
	// rejected token cannot delete the fresh one another client just
	// stored. An empty value deletes unconditionally.
	Delete(ctx context.Context, key, value string) error
	// Lock takes the lock named key, waiting until it is free or ctx ends.
	// ttl bounds how long a holder that died keeps it.
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(), err error)
}

// ErrNoTicket means no component_verify_ticket has been pushed (or set)
// yet: WeChat pushes one every 10 minutes to the authorization-event URL.
var ErrNoTicket = errors.New("wxa: no component_verify_ticket yet")

// ErrNoRefreshToken means the SDK has no refresh token for a mini program:
// run QueryAuth after it authorizes the platform, or SetRefreshToken.
var ErrNoRefreshToken = errors.New("wxa: no authorizer refresh token")

// Store keys. They carry the platform appid so one store can serve
// several platforms.
func (c *Client) ticketKey() string    { return "ticket:" + c.o.ComponentAppID }
func (c *Client) componentKey() string { return "component_token:" + c.o.ComponentAppID }
func (c *Client) authorizerKey(a string) string {
	return "authorizer_token:" + c.o.ComponentAppID + ":" + a
}
func (c *Client) refreshKey(a string) string {
	return "refresh_token:" + c.o.ComponentAppID + ":" + a
}

func (c *Client) tokenKey(r *request) string {
	if r.token == componentToken {
		return c.componentKey()
	}
	return c.authorizerKey(r.appid)
}

func (c *Client) accessToken(ctx context.Context, r *request) (string, error) {
	switch r.token {
	case componentToken:
		return c.ComponentAccessToken(ctx)
	case authorizerToken:
		return c.AuthorizerAccessToken(ctx, r.appid)
	}
	return "", nil
}

// ticketTTL is how long WeChat honours a pushed ticket; defaultExpiresIn
// is the lifetime of its access tokens in seconds.
const (
	ticketTTL        = 12 * time.Hour
	defaultExpiresIn = 7200
)

// SetTicket stores a component_verify_ticket obtained elsewhere (the push
// handler stores pushed ones itself).
func (c *Client) SetTicket(ctx context.Context, ticket string) error {
	return c.store.Set(ctx, c.ticketKey(), Token{Value: ticket, ExpiresAt: c.o.Now().Add(ticketTTL)})
}

// Ticket returns the stored component_verify_ticket, or ErrNoTicket.
func (c *Client) Ticket(ctx context.Context) (string, error) {
	t, ok, err := c.store.Get(ctx, c.ticketKey())
	if err != nil {
		return "", err
	}
	if !ok || t.Value == "" {
		return "", ErrNoTicket
	}
	// An old ticket is still sent: WeChat's 61005 says more than we could.
	return t.Value, nil
}

// SetRefreshToken stores a mini program's authorizer_refresh_token, e.g.
// one kept in the platform's database from before.
func (c *Client) SetRefreshToken(ctx context.Context, authorizer, refreshToken string) error {
	return c.store.Set(ctx, c.refreshKey(authorizer), Token{Value: refreshToken})
}

// RefreshToken returns the latest authorizer_refresh_token of a mini
// program, or ErrNoRefreshToken.
func (c *Client) RefreshToken(ctx context.Context, authorizer string) (string, error) {
	t, ok, err := c.store.Get(ctx, c.refreshKey(authorizer))
	if err != nil {
		return "", err
	}
	if !ok || t.Value == "" {
		return "", fmt.Errorf("%w for %s", ErrNoRefreshToken, authorizer)
	}
	return t.Value, nil
}

// ComponentAccessToken returns a valid component_access_token, fetching
// one with the stored ticket when none is cached.
func (c *Client) ComponentAccessToken(ctx context.Context) (string, error) {
	return c.cached(ctx, c.componentKey(), func(ctx context.Context) (Token, error) {
		ticket, err := c.Ticket(ctx)
		if err != nil {
			return Token{}, err
		}
		var res struct {
			Token     string `json:"component_access_token"`
			ExpiresIn int64  `json:"expires_in"`
		}
		err = c.call(ctx, &request{method: "POST", path: "/cgi-bin/component/api_component_token", body: map[string]string{
			"component_appid":         c.o.ComponentAppID,
			"component_appsecret":     c.o.ComponentSecret,
			"component_verify_ticket": ticket,
		}}, &res)
		if err != nil {
			return Token{}, err
		}
		c.log.Debug("wxa: fetched component_access_token", "component", c.o.ComponentAppID, "expires_in", res.ExpiresIn)
		return c.expiring(res.Token, res.ExpiresIn), nil
	})
}

// AuthorizerAccessToken returns a valid authorizer_access_token for a mini
// program, refreshing it with the stored refresh token when needed.
func (c *Client) AuthorizerAccessToken(ctx context.Context, authorizer string) (string, error) {
	return c.cached(ctx, c.authorizerKey(authorizer), func(ctx context.Context) (Token, error) {
		res, err := c.RefreshAuthorizerToken(ctx, authorizer)
		if err != nil {
			return Token{}, err
		}
		return c.expiring(res.AccessToken, res.ExpiresIn), nil
	})
}

// expiring is a token good for expiresIn seconds less the margin, which is
// capped at half the lifetime so short-lived tokens stay usable. An answer
// without expires_in gets WeChat's 7200 s, not a token that is stale at
// once (and fetched again by every call).
func (c *Client) expiring(value string, expiresIn int64) Token {
	if expiresIn <= 0 {
		expiresIn = defaultExpiresIn
	}
	life := time.Duration(expiresIn) * time.Second
	return Token{Value: value, ExpiresAt: c.o.Now().Add(life - min(c.o.TokenMargin, life/2))}
}

func (c *Client) fresh(t Token) bool {
	return t.Value != "" && (t.ExpiresAt.IsZero() || c.o.Now().Before(t.ExpiresAt))
}

// Bounds of one refresh: lockTTL frees the lock of a process that died
// mid-refresh; fetchTimeout ends a fetch stuck behind retries while the
// lock is still held (were it longer, another process could take the
// expired lock and fetch a second token meanwhile); lockWait lets a waiter
// outlast a dead holder's lock.
const (
	lockTTL      = 2 * time.Minute
	fetchTimeout = lockTTL - 15*time.Second
	lockWait     = lockTTL + 15*time.Second
)

// cached returns the fresh token under key or runs fetch, once at a time:
// goroutines of this process share one flight, processes sharing the store
// queue on its lock and re-read the store when they get it, so only the
// first of them fetches.
func (c *Client) cached(ctx context.Context, key string, fetch func(context.Context) (Token, error)) (string, error) {
	if t, ok, err := c.store.Get(ctx, key); err != nil {
		return "", err
	} else if ok && c.fresh(t) {
		return t.Value, nil
	}
	ch := c.flight.DoChan(key, func() (any, error) {
		// The flight outlives any one caller's cancellation: others wait on it.
		base := context.WithoutCancel(ctx)
		lctx, cancel := context.WithTimeout(base, lockWait)
		unlock, err := c.store.Lock(lctx, "lock:"+key, lockTTL)
		cancel()
		if err != nil {
			return "", fmt.Errorf("wxa: lock %s: %w", key, err)
		}
		defer unlock()
		fctx, cancel := context.WithTimeout(base, fetchTimeout)
		defer cancel()
		if t, ok, err := c.store.Get(fctx, key); err != nil {
			return "", err
		} else if ok && c.fresh(t) {
			return t.Value, nil
		}
		t, err := fetch(fctx)
		if err != nil {
			return "", err
		}
		return t.Value, c.store.Set(fctx, key, t)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// MemoryStore is the default TokenStore: a map in this process.
type MemoryStore struct {
	mu    sync.Mutex
	m     map[string]Token
	locks map[string]chan struct{}
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{m: map[string]Token{}, locks: map[string]chan struct{}{}}
}

// Get implements TokenStore.
func (s *MemoryStore) Get(_ context.Context, key string) (Token, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[key]
	return t, ok, nil
}

// Set implements TokenStore.
func (s *MemoryStore) Set(_ context.Context, key string, t Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = t
	return nil
}

// Delete implements TokenStore.
func (s *MemoryStore) Delete(_ context.Context, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.m[key]; ok && (value == "" || t.Value == value) {
		delete(s.m, key)
	}
	return nil
}

// Lock ignores ttl: its holders are in this process and always unlock.
func (s *MemoryStore) Lock(ctx context.Context, key string, _ time.Duration) (func(), error) {
	for {
		s.mu.Lock()
		held, busy := s.locks[key]
		if !busy {
			ch := make(chan struct{})
			s.locks[key] = ch
			s.mu.Unlock()
			return sync.OnceFunc(func() {
				s.mu.Lock()
				delete(s.locks, key)
				s.mu.Unlock()
				close(ch)
			}), nil
		}
		s.mu.Unlock()
		select {
		case <-held:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
