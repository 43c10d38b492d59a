package httpapi

import (
	"context"

	"miniship/service"
)

// Limits are the optional per-call quotas, by path ("*" for every path):
// Daily answers 45009 past the count in a day, PerMinute 45011 past the
// count in a minute. Both are off unless configured.
type Limits struct {
	Daily     map[string]int `json:"daily,omitempty"`
	PerMinute map[string]int `json:"per_minute,omitempty"`
}

func (l Limits) of(m map[string]int, path string) int {
	if n, ok := m[path]; ok {
		return n
	}
	return m["*"]
}

type limiter struct {
	svc *service.Service
	Limits
}

func (l *limiter) check(ctx context.Context, c *service.Caller, path string) error {
	daily, minute := l.of(l.Daily, path), l.of(l.PerMinute, path)
	if daily == 0 && minute == 0 {
		return nil
	}
	who := c.PlatformAppID
	if c.AuthorizerAppID != "" {
		who = c.AuthorizerAppID
	}
	return l.svc.CountCall(ctx, who, path, daily, minute)
}
