package wxa

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"github.com/miniship/miniship/wxerr"
)

// RetryPolicy bounds the retries of calls answered with -1 (system busy),
// 45011 (per-minute quota) or 9402202 (concurrent operation), and, for
// read-only calls, of transport errors and 5xx answers.
type RetryPolicy struct {
	// Attempts is the total number of tries, the first included (default
	// 4; 1 disables retries).
	Attempts int
	// Base is the first backoff (default 250 ms); it doubles per attempt up
	// to Max (default 30 s), with jitter.
	Base time.Duration
	Max  time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 4
	}
	if p.Base <= 0 {
		p.Base = 250 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 30 * time.Second
	}
	return p
}

// Backoff is the wait after the attempt-th failure with code: exponential
// with "equal jitter" (half fixed, half random), so many clients hitting
// the same limit spread out. 45011 says "retry next minute", so it waits
// the longest step, Max.
func (p RetryPolicy) Backoff(attempt int, code wxerr.Code) time.Duration {
	p = p.withDefaults()
	d := p.Max
	if code != wxerr.MinuteQuotaReached {
		d = p.Base << min(max(attempt-1, 0), 30)
		if d <= 0 || d > p.Max {
			d = p.Max
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

type noRetryKey struct{}

// WithoutRetry returns a context under which calls are tried once: an
// answer of -1, 45011 or 9402202, a transport error or a 5xx comes back to
// the caller as it is, whatever the RetryPolicy. Use it for a call whose
// repetition needs a decision first, e.g. a commit that may repeat one
// still being processed: 9402202 then means "check getversioninfo", not
// "commit again". Two things still happen: a call whose token is rejected
// (40001, 40014, 42001) is made once more with a fresh token, since the
// rejected attempt did nothing; and the token fetches a call needs keep
// their retries (they are shared with concurrent callers).
func WithoutRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey{}, true)
}

// retriesAllowed reports whether ctx allows the retry policy, i.e. it was
// not made by WithoutRetry.
func retriesAllowed(ctx context.Context) bool {
	off, _ := ctx.Value(noRetryKey{}).(bool)
	return !off
}

// Retryable reports whether err is worth repeating the same call for:
// -1, 45011 and 9402202.
func Retryable(err error) bool {
	switch wxerrCode(err) {
	case wxerr.SystemError, wxerr.MinuteQuotaReached, wxerr.ConcurrentLimit:
		return true
	}
	return false
}

// retryable adds transport failures for calls that are safe to repeat: a
// lost answer to commit or submit_audit may mean the call took effect.
func retryable(err error, idempotent bool) bool {
	if Retryable(err) {
		return true
	}
	if !idempotent || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.StatusCode >= 500 || he.StatusCode == 429
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
