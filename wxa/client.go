package wxa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/miniship/miniship/wxcrypt"
	"github.com/miniship/miniship/wxerr"
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// Error is the one error type of WeChat answers (errcode, errmsg, rid).
type Error = wxerr.Error

// Options configure a Client. Only ComponentAppID and ComponentSecret are
// needed for API calls; Token and EncodingAESKey for PushHandler.
type Options struct {
	// BaseURL replaces https://api.weixin.qq.com, e.g. a miniship server.
	BaseURL string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// Logger receives retries and token refreshes at Debug and Warn; nil
	// discards them.
	Logger *slog.Logger

	ComponentAppID  string
	ComponentSecret string
	// Token and EncodingAESKey are the platform's message-check token and
	// key; PreviousEncodingAESKey keeps pushes readable across a rotation.
	Token                  string
	EncodingAESKey         string
	PreviousEncodingAESKey string
	// PushMaxAge, when set, refuses pushes whose signed timestamp is
	// further than this from Now (answered 403, never "success"), so a
	// captured push cannot be replayed later: an old unauthorized notice
	// would drop a refresh token, an old ticket replace the current one.
	// WeChat stamps every push, retries included, when it sends it; 5 min
	// is a sensible value. Zero accepts any timestamp (e.g. behind a test
	// server's manual clock while Now is the wall clock).
	PushMaxAge time.Duration

	// Store holds tickets and tokens; default an in-memory store. Share a
	// wxa/redisstore.Store between processes to share tokens.
	Store TokenStore
	// TokenMargin is how long before expires_in a token stops being used
	// (default 10 min, capped at half the lifetime).
	TokenMargin time.Duration
	Retry       RetryPolicy

	// PollInterval paces WaitPrivacyScan (default 10 s); AuditPollInterval
	// paces WaitAudit (default 5 min).
	PollInterval      time.Duration
	AuditPollInterval time.Duration

	// LoginPageURL is the consent page AuthorizationURL points at; the
	// default is WeChat's, or BaseURL's own page when BaseURL is set.
	LoginPageURL string

	// Now and Sleep replace the wall clock for token expiry, backoff and
	// polling; tests use them to drive a server's manual clock.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls the API for one third-party platform. It is safe for
// concurrent use.
type Client struct {
	o      Options
	base   string
	http   *http.Client
	log    *slog.Logger
	store  TokenStore
	crypt  *wxcrypt.Crypter // nil without Token and EncodingAESKey
	flight singleflight.Group
}

// NewClient returns a Client.
func NewClient(o Options) (*Client, error) {
	if o.ComponentAppID == "" {
		return nil, errors.New("wxa: ComponentAppID is required")
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	base := strings.TrimRight(o.BaseURL, "/")
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("wxa: BaseURL: %w", err)
	}
	if o.LoginPageURL == "" {
		o.LoginPageURL = "https://mp.weixin.qq.com/cgi-bin/componentloginpage"
		if base != DefaultBaseURL {
			o.LoginPageURL = base + "/cgi-bin/componentloginpage"
		}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Store == nil {
		o.Store = NewMemoryStore()
	}
	if o.TokenMargin <= 0 {
		o.TokenMargin = 10 * time.Minute
	}
	o.Retry = o.Retry.withDefaults()
	if o.PollInterval <= 0 {
		o.PollInterval = 10 * time.Second
	}
	if o.AuditPollInterval <= 0 {
		o.AuditPollInterval = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	c := &Client{o: o, base: base, http: o.HTTPClient, log: o.Logger, store: o.Store}
	if o.EncodingAESKey != "" {
		var opts []wxcrypt.Option
		if o.PreviousEncodingAESKey != "" {
			opts = append(opts, wxcrypt.WithPreviousKey(o.PreviousEncodingAESKey))
		}
		var err error
		if c.crypt, err = wxcrypt.New(o.Token, o.EncodingAESKey, o.ComponentAppID, opts...); err != nil {
			return nil, fmt.Errorf("wxa: %w", err)
		}
	}
	return c, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ComponentAppID is the platform's appid.
func (c *Client) ComponentAppID() string { return c.o.ComponentAppID }

// HTTPError is a non-200 answer, which WeChat itself never gives (its
// errors are HTTP 200 with an errcode) but proxies and gateways do.
type HTTPError struct {
	StatusCode int
	Body       string
}

// Error implements error; Body is cut to 256 bytes.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("wxa: HTTP %d: %s", e.StatusCode, e.Body)
}

type tokenKind int

const (
	noToken tokenKind = iota
	componentToken
	authorizerToken
)

// request is one API call.
type request struct {
	method string
	path   string
	query  url.Values
	body   any // JSON-encoded; nil sends no body
	// media is a multipart upload (uploadmedia) instead of a JSON body.
	media *mediaFile
	token tokenKind
	appid string // the authorizer, for authorizerToken
	// idempotent calls are also retried after transport errors and 5xx.
	idempotent bool
}

type mediaFile struct {
	field, name string
	data        []byte
}

// response is a 200 answer.
type response struct {
	header http.Header
	body   []byte
}

// maxResponse bounds a read answer; the largest (a QR code) is ~100 KB.
const maxResponse = 16 << 20

// call sends r and decodes a JSON answer into out (nil to ignore it).
func (c *Client) call(ctx context.Context, r *request, out any) error {
	_, err := c.send(ctx, r, func(res *response) error { return decodeResponse(res.body, out) })
	return err
}

// send runs r with its token, the refresh-once rule and the retry policy;
// handle turns a 200 answer into the call's result or error.
func (c *Client) send(ctx context.Context, r *request, handle func(*response) error) (*response, error) {
	body, ctype, err := r.encode()
	if err != nil {
		return nil, err
	}
	// Under WithoutRetry the call is tried once; the token it needs is
	// fetched (and retried) as for any call: the fetch may be shared.
	retry, tokCtx := retriesAllowed(ctx), ctx
	if !retry {
		tokCtx = context.WithValue(ctx, noRetryKey{}, false)
	}
	refreshed := false
	for attempt := 1; ; attempt++ {
		tok, err := c.accessToken(tokCtx, r)
		if err != nil {
			return nil, err
		}
		res, err := c.roundTrip(ctx, r, tok, body, ctype)
		if err == nil {
			if err = handle(res); err == nil {
				return res, nil
			}
		}
		if r.token != noToken && !refreshed && isTokenError(err) {
			// The token was revoked, superseded or expired early: drop it
			// and try once more with a fresh one; that try is free.
			refreshed = true
			attempt--
			c.log.Debug("wxa: token rejected, refreshing", "path", r.path, "appid", r.appid, "err", err)
			if derr := c.store.Delete(ctx, c.tokenKey(r), tok); derr != nil {
				return nil, errors.Join(err, derr)
			}
			continue
		}
		if !retry || attempt >= c.o.Retry.Attempts || !retryable(err, r.idempotent) || ctx.Err() != nil {
			return nil, err
		}
		d := c.o.Retry.Backoff(attempt, wxerr.CodeOf(err))
		c.log.Warn("wxa: retrying", "path", r.path, "appid", r.appid, "attempt", attempt, "wait", d, "err", err)
		if serr := c.o.Sleep(ctx, d); serr != nil {
			return nil, fmt.Errorf("%w (not retried: %w)", err, serr)
		}
	}
}

// isTokenError reports the codes that mean "this token is no good".
func isTokenError(err error) bool {
	switch wxerrCode(err) {
	case wxerr.InvalidCredential, wxerr.InvalidAccessToken, wxerr.AccessTokenExpired:
		return true
	}
	return false
}

// wxerrCode is the errcode of a WeChat answer, OK for other errors.
func wxerrCode(err error) wxerr.Code {
	var e *wxerr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return wxerr.OK
}

func (r *request) encode() ([]byte, string, error) {
	switch {
	case r.media != nil:
		return r.media.encode()
	case r.body != nil:
		b, err := marshal(r.body)
		return b, "application/json; charset=utf-8", err
	}
	return nil, "", nil
}

// marshal encodes JSON without HTML escaping: WeChat stores ext_json and
// descriptions as sent, and "<" must not arrive as "\u003c".
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("wxa: encode request: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// noReplay is an empty request body that net/http cannot rewind, so it
// never repeats the request on its own (see roundTrip).
type noReplay struct{}

func (noReplay) Read([]byte) (int, error) { return 0, io.EOF }

func (c *Client) roundTrip(ctx context.Context, r *request, tok string, body []byte, ctype string) (*response, error) {
	q := url.Values{}
	for k, v := range r.query {
		q[k] = v
	}
	if tok != "" {
		q.Set(r.tokenParam(), tok)
	}
	u := c.base + r.path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	switch {
	case body != nil:
		rd = bytes.NewReader(body)
	case !r.idempotent:
		// net/http resends a body-less GET by itself when a reused
		// connection fails after the request went out; a body it cannot
		// rewind stops that. Nothing is sent: the body is empty.
		rd = noReplay{}
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("wxa: %s: %w", r.path, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL carries the token: report the path only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("wxa: %s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("wxa: %s: read answer: %w", r.path, err)
	}
	if len(data) > maxResponse {
		return nil, fmt.Errorf("wxa: %s: answer exceeds %d bytes", r.path, maxResponse)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &HTTPError{StatusCode: resp.StatusCode, Body: snippet(data)}
	}
	return &response{header: resp.Header, body: data}, nil
}

// tokenParam names the token in the query: the component endpoints take
// component_access_token (the name every SDK in production uses for them),
// everything else access_token.
func (r *request) tokenParam() string {
	if r.token == componentToken && strings.HasPrefix(r.path, "/cgi-bin/component/") {
		return "component_access_token"
	}
	return "access_token"
}

func snippet(b []byte) string {
	const n = 256
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
