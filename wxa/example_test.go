package wxa_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxa/redisstore"
	"github.com/miniship/miniship/wxerr"
)

// A platform's release of one mini program: tokens shared through Redis,
// pushes received over HTTP, commit → privacy scan → audit → release.
func Example() {
	c, err := wxa.NewClient(wxa.Options{
		BaseURL:        "http://127.0.0.1:8080", // a miniship server; omit for WeChat
		ComponentAppID: "wxdemocomponent01", ComponentSecret: "…",
		Token: "…", EncodingAESKey: "…",
		Store: redisstore.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}), "wxa:"),
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/wechat/auth", c.PushHandler(wxa.PushHandlers{
		Authorization: func(r *http.Request, e *wxa.AuthorizationEvent) error {
			if e.AuthorizationCode == "" {
				return nil
			}
			_, err := c.QueryAuth(r.Context(), e.AuthorizationCode) // stores the refresh token
			return err
		},
	}))

	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	app := c.App("wxdemoshop0000001")
	ext := map[string]any{"extAppid": app.AppID(), "ext": map[string]any{"shopName": "A"}}
	if err := app.Commit(ctx, wxa.CommitRequest{TemplateID: 1, ExtJSON: ext, UserVersion: "1.0.1", UserDesc: "spring"}); err != nil {
		log.Fatal(err)
	}
	if _, err := app.WaitPrivacyScan(ctx); err != nil {
		log.Fatal(err)
	}
	cats, err := app.Categories(ctx)
	if err != nil || len(cats) == 0 {
		log.Fatal(err)
	}
	item := cats[0].AuditItem()
	item.Address, item.Title = "pages/index/index", "Home"
	id, err := app.SubmitAudit(ctx, wxa.SubmitAuditRequest{ItemList: []wxa.AuditItem{item}})
	var we *wxa.Error
	switch {
	case errors.Is(err, wxerr.AuditQuotaReached):
		log.Fatal("no audits left this month")
	case errors.As(err, &we):
		log.Fatalf("submit_audit: %d %s (rid %s)", we.Code, we.Msg, we.RID)
	}
	if st, err := app.WaitAudit(ctx, id); err != nil || st.Status != wxa.AuditApproved {
		log.Fatal(st, err)
	}
	if err := app.Release(ctx); err != nil {
		log.Fatal(err)
	}
}
