// Package mstestdemo shows a platform's own code tested against miniship
// in-process: a real server on a random port, a temporary database and a
// manual clock, gone when the test ends. go test ./examples/mstestdemo
package mstestdemo

import (
	"errors"
	"testing"

	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxerr"
)

func TestCommitThenSubmitDuringScan(t *testing.T) {
	s := mstest.New(t, mstest.Options{})
	p := s.Platform(t, nil)                                 // a platform with a generated secret
	app, refresh := s.MiniProgram(t, p.AppID, nil)          // authorized, with its refresh token
	tpl := s.Template(t, p.AppID, nil, 0)                   // the demo template, in the template library
	s.GrantPrivacyAPI(t, p.AppID, app.AppID, "getLocation") // what the demo template requires

	c, err := wxa.NewClient(wxa.Options{BaseURL: s.URL, ComponentAppID: p.AppID, ComponentSecret: p.Secret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := c.SetTicket(ctx, s.Ticket(t, p.AppID)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetRefreshToken(ctx, app.AppID, refresh); err != nil {
		t.Fatal(err)
	}
	a := c.App(app.AppID)
	ext := map[string]any{"extAppid": app.AppID, "ext": map[string]any{"shopName": "Test"}}
	if err := a.Commit(ctx, wxa.CommitRequest{TemplateID: tpl, ExtJSON: ext, UserVersion: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	// The privacy scan runs on the server's clock, which stands still
	// until the test moves it: submitting now is 61039, every time.
	_, err = a.SubmitAudit(ctx, wxa.SubmitAuditRequest{})
	if !errors.Is(err, wxerr.PrivacyScanRunning) {
		t.Fatalf("submit_audit during the scan: %v, want 61039", err)
	}
}
