package service

import (
	"context"
	"fmt"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxerr"
)

// Period keys of quota counters follow the service clock in UTC+8, the
// time zone WeChat resets its daily and monthly quotas in.
func (s *Service) day() string   { return s.Now().In(chinaTime).Format("2006-01-02") }
func (s *Service) month() string { return s.Now().In(chinaTime).Format("2006-01") }

// take adds one to a counter and fails with code, storing nothing, when the
// counter would pass limit. It runs inside the caller's transaction so a
// call that fails later does not spend the quota.
func take(tx miniship.Tx, key string, limit int, code wxerr.Code, detail string) error {
	n, err := tx.AddCounter(key, 1)
	if err != nil {
		return err
	}
	if n > limit {
		return wxerr.New(code, detail)
	}
	return nil
}

// CountCall enforces the optional per-call quotas of an endpoint: a daily
// quota (45009) and a per-minute limit (45011), counted per caller (the
// mini program, or the platform for component calls). A limit of 0 is off.
// Each limit keeps two counter rows per caller and path (takeWindow).
func (s *Service) CountCall(ctx context.Context, who, path string, daily, perMinute int) error {
	if daily <= 0 && perMinute <= 0 {
		return nil
	}
	return s.update(ctx, func(tx miniship.Tx) error {
		if daily > 0 {
			if err := takeWindow(tx, callKey(who, path), s.dayNumber(), daily, wxerr.DailyQuotaReached, ""); err != nil {
				return err
			}
		}
		if perMinute > 0 {
			return takeWindow(tx, fmt.Sprintf("min:%s:%s", who, path), s.Now().Unix()/60, perMinute, wxerr.MinuteQuotaReached, "")
		}
		return nil
	})
}

// callKey names the daily call counters; clearQuota deletes them by the
// prefix "call:<who>:".
func callKey(who, path string) string { return fmt.Sprintf("call:%s:%s", who, path) }

// dayNumber is the day in UTC+8 as a number, the period of daily quotas.
func (s *Service) dayNumber() int64 {
	y, m, d := s.Now().In(chinaTime).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}
