// Package redisstore is a wxa.TokenStore in Redis, so several processes
// share one component token and one token per mini program, and refresh
// each once at a time (a SET NX PX lock).
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniship/miniship/wxa"
)

// Store keeps each token in a hash {v: value, e: unix ms of ExpiresAt}.
// Keys get no Redis expiry: refreshes overwrite them and the unauthorized
// push deletes them, and the SDK's clock (which may be a test's) judges
// expiry, not Redis's.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	// Poll is how often Lock retries a held lock (default 50 ms).
	Poll time.Duration
}

var _ wxa.TokenStore = (*Store)(nil)

// New returns a Store whose keys start with prefix (e.g. "wxa:").
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix, Poll: 50 * time.Millisecond}
}

// Get implements wxa.TokenStore.
func (s *Store) Get(ctx context.Context, key string) (wxa.Token, bool, error) {
	v, err := s.rdb.HMGet(ctx, s.prefix+key, "v", "e").Result()
	if err != nil {
		return wxa.Token{}, false, err
	}
	val, ok := v[0].(string)
	if !ok {
		return wxa.Token{}, false, nil
	}
	t := wxa.Token{Value: val}
	if e, _ := v[1].(string); e != "" && e != "0" {
		ms, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			return wxa.Token{}, false, errors.New("redisstore: bad expiry in " + key)
		}
		t.ExpiresAt = time.UnixMilli(ms)
	}
	return t, true, nil
}

// Set implements wxa.TokenStore.
func (s *Store) Set(ctx context.Context, key string, t wxa.Token) error {
	var e int64
	if !t.ExpiresAt.IsZero() {
		e = t.ExpiresAt.UnixMilli()
	}
	// One HSET writes both fields atomically.
	return s.rdb.HSet(ctx, s.prefix+key, "v", t.Value, "e", e).Err()
}

var deleteIf = redis.NewScript(`
if ARGV[1] == "" or redis.call("HGET", KEYS[1], "v") == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// Delete implements wxa.TokenStore: a script compares and deletes atomically.
func (s *Store) Delete(ctx context.Context, key, value string) error {
	return deleteIf.Run(ctx, s.rdb, []string{s.prefix + key}, value).Err()
}

var unlockIf = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// Lock takes key with SET NX PX, polling while another holder has it. The
// random value makes unlock remove only its own lock, not one taken after
// the ttl passed.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	b := make([]byte, 16)
	rand.Read(b)
	id, k := hex.EncodeToString(b), s.prefix+key
	poll := s.Poll
	if poll <= 0 {
		poll = 50 * time.Millisecond
	}
	for {
		ok, err := s.rdb.SetNX(ctx, k, id, ttl).Result()
		if err != nil {
			return nil, err
		}
		if ok {
			return func() {
				// The caller's context may be done; the lock must go anyway.
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				unlockIf.Run(ctx, s.rdb, []string{k}, id)
			}, nil
		}
		t := time.NewTimer(poll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}
