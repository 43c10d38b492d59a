package httpapi

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/miniship/miniship/service"
)

// Limits are the per-call quotas, by path ("*" for every path): Daily
// answers 45009 past the count in a day, PerMinute 45011 past the count in a
// minute. They are off unless configured, except DefaultDaily's; a path
// set to 0 turns its quota off.
type Limits struct {
	Daily     map[string]int `json:"daily,omitempty"`
	PerMinute map[string]int `json:"per_minute,omitempty"`
}

// DefaultDaily are the daily quotas per mini program that hold unless a
// limit names the path or "*": every uploadmedia call stores up to 10 MB.
var DefaultDaily = map[string]int{"/wxa/uploadmedia": 1000}

// Effective is l with the defaults that hold filled in, so that what an
// operator reads is what is enforced; set back, it changes nothing.
func (l Limits) Effective() Limits {
	out := Limits{Daily: map[string]int{}, PerMinute: l.PerMinute}
	for path := range DefaultDaily {
		out.Daily[path] = l.daily(path)
	}
	for path, n := range l.Daily {
		out.Daily[path] = n
	}
	return out
}

func (l Limits) of(m map[string]int, path string) int {
	if n, ok := m[path]; ok {
		return n
	}
	return m["*"]
}

// daily is the daily quota of the path: configured, else the default.
func (l Limits) daily(path string) int {
	_, set := l.Daily[path]
	_, all := l.Daily["*"]
	if !set && !all {
		return DefaultDaily[path]
	}
	return l.of(l.Daily, path)
}

func (l Limits) validate() error {
	for _, m := range []map[string]int{l.Daily, l.PerMinute} {
		for path, n := range m {
			if path != "*" && !strings.HasPrefix(path, "/") {
				return fmt.Errorf("limit path %q must start with / or be *", path)
			}
			if n < 0 {
				return fmt.Errorf("limit for %s must not be negative", path)
			}
		}
	}
	return nil
}

// ParseLimit reads the flag form "PATH=N" ("*=N" for every path).
func ParseLimit(s string) (path string, n int, err error) {
	path, v, ok := strings.Cut(s, "=")
	if n, err = strconv.Atoi(v); !ok || err != nil || n < 0 || (path != "*" && !strings.HasPrefix(path, "/")) {
		return "", 0, fmt.Errorf("limit %q: want PATH=N or *=N", s)
	}
	return path, n, nil
}

// limiter holds the limits, which the admin API may replace at run time.
type limiter struct {
	svc *service.Service
	mu  sync.RWMutex
	l   Limits
}

func (l *limiter) get() Limits {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.l
}

func (l *limiter) set(v Limits) error {
	if err := v.validate(); err != nil {
		return err
	}
	l.mu.Lock()
	l.l = v
	l.mu.Unlock()
	return nil
}

// limited reports whether a quota applies to path.
func (l *limiter) limited(path string) bool {
	lim := l.get()
	return lim.daily(path) > 0 || lim.of(lim.PerMinute, path) > 0
}

func (l *limiter) check(ctx context.Context, c *service.Caller, path string) error {
	lim := l.get()
	daily, minute := lim.daily(path), lim.of(lim.PerMinute, path)
	if daily == 0 && minute == 0 {
		return nil
	}
	who := c.PlatformAppID
	if c.AuthorizerAppID != "" {
		who = c.AuthorizerAppID
	}
	return l.svc.CountCall(ctx, who, path, daily, minute)
}
