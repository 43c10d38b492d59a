// Command sdkdemo releases the demo's shop A with the Go SDK against a
// running `miniship serve --demo`: commit → privacy scan → submit_audit →
// approve → release. Run it from the repository root: go run ./examples/sdkdemo
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/miniship/miniship/wxa"
)

func main() {
	key, err := os.ReadFile("miniship-data/admin.key") // written by serve --demo
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, "http://127.0.0.1:8080", strings.TrimSpace(string(key)), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, base, adminKey string, out io.Writer) error {
	// The demo platform has no push receiver, so its secret, ticket and
	// refresh token come from the admin API. A real platform mounts
	// c.PushHandler(…) to receive tickets, and QueryAuth stores refresh tokens.
	admin := func(method, path, body string, v any) error {
		req, _ := http.NewRequestWithContext(ctx, method, base+"/miniship/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 300 {
			return fmt.Errorf("admin %s %s: %s", method, path, bytes.TrimSpace(b))
		}
		return json.Unmarshal(b, v)
	}
	var p struct{ Secret string }
	var t struct {
		Ticket string `json:"component_verify_ticket"`
	}
	var a struct {
		Refresh string `json:"authorizer_refresh_token"`
	}
	if err := admin("GET", "/platforms/wxdemocomponent01", "", &p); err != nil {
		return err
	}
	if err := admin("GET", "/platforms/wxdemocomponent01/ticket", "", &t); err != nil {
		return err
	}
	if err := admin("POST", "/platforms/wxdemocomponent01/authorizations", `{"authorizer_appid":"wxdemoshop0000001"}`, &a); err != nil {
		return err
	}

	c, err := wxa.NewClient(wxa.Options{
		BaseURL:        base, // omit for WeChat itself
		ComponentAppID: "wxdemocomponent01", ComponentSecret: p.Secret,
		PollInterval: time.Second, AuditPollInterval: time.Second, // WeChat: the defaults, 10 s and 5 min
	})
	if err != nil {
		return err
	}
	if err := c.SetTicket(ctx, t.Ticket); err != nil {
		return err
	}
	if err := c.SetRefreshToken(ctx, "wxdemoshop0000001", a.Refresh); err != nil {
		return err
	}
	app := c.App("wxdemoshop0000001")

	ext := map[string]any{"extAppid": app.AppID(), "ext": map[string]any{"shopName": "Shop A"}}
	if err := app.Commit(ctx, wxa.CommitRequest{TemplateID: 1, ExtJSON: ext, UserVersion: "1.1.0", UserDesc: "from the SDK"}); err != nil {
		return err
	}
	fmt.Fprintln(out, "committed 1.1.0")
	if _, err := app.WaitPrivacyScan(ctx); err != nil { // submitting during the scan is 61039
		return err
	}
	cats, err := app.Categories(ctx)
	if err != nil {
		return err
	}
	item := cats[0].AuditItem()
	item.Address, item.Tag, item.Title = "pages/index/index", "shop", "Home"
	id, err := app.SubmitAudit(ctx, wxa.SubmitAuditRequest{ItemList: []wxa.AuditItem{item}})
	if err != nil {
		return err // a *wxa.Error: errors.Is(err, wxerr.AlreadyAuditing) and friends
	}
	fmt.Fprintf(out, "submitted for audit in %s/%s\n", item.FirstClass, item.SecondClass)
	// The reviewer's part, done through the admin API (or serve --auto-approve).
	var decided struct{ Status int }
	if err := admin("POST", fmt.Sprintf("/audits/%d/decision", id), `{"result":"approve"}`, &decided); err != nil {
		return err
	}
	st, err := app.WaitAudit(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "audit", st.Status)
	if err := app.Release(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "released 1.1.0")
	return nil
}
