// Package wxa is a Go SDK for the WeChat Open Platform mini program
// code-management API (third-party platform, 第三方平台): the component
// token flow, the template library, commit, audit, release, gray release,
// rollback, visit status and support version. It speaks to
// https://api.weixin.qq.com by default and to a miniship server when
// Options.BaseURL points at one.
//
// A Client holds the platform's credentials and manages tokens: it keeps
// the pushed component_verify_ticket (see PushHandler), fetches and caches
// the component_access_token and each mini program's
// authorizer_access_token until shortly before they expire, keeps the
// latest refresh token, and on 40001, 40014 or 42001 drops the token,
// refreshes it once and retries once. Tokens live in a TokenStore: the
// in-memory one by default, or a shared one (wxa/redisstore) so several
// processes use one token; a refresh runs once per token at a time, inside
// a process (singleflight) and across processes (the store's lock, which
// outlives the refresh: a refresh still running near the lock's expiry is
// cut short). A call whose store fails (Redis down) fails with the store's
// error: the SDK does not fetch tokens behind the store's back, which
// would spend the token endpoints' daily quota on every call.
//
// Calls answered with -1, 45011 or 9402202 are retried with backoff and
// jitter (RetryPolicy), bounded and context-aware; a context from
// WithoutRetry makes a single call try once. Each call is retried on
// its own: the SDK never repeats commit together with submit_audit, which
// would restart the post-commit privacy scan every time and keep
// submit_audit at 61039. Wait for the scan instead (App.WaitPrivacyScan).
//
// Every errcode other than 0 comes back as a *wxerr.Error carrying the
// errcode, the errmsg and the rid; test it with errors.Is(err,
// wxerr.ConcurrentLimit) and friends.
//
//	c, err := wxa.NewClient(wxa.Options{
//		ComponentAppID: "wx...", ComponentSecret: "...",
//		Token: "...", EncodingAESKey: "...",
//	})
//	http.Handle("/wechat/auth", c.PushHandler(wxa.PushHandlers{}))
//	app := c.App("wxauthorizer...")
//	err = app.Commit(ctx, wxa.CommitRequest{TemplateID: 12, ExtJSON: ext, UserVersion: "1.0.1"})
//	_, err = app.WaitPrivacyScan(ctx)
//	auditID, err := app.SubmitAudit(ctx, wxa.SubmitAuditRequest{...})
package wxa
