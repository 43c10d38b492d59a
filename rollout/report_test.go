package rollout_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/rollout"
)

// TestLeanReport: a report whose outcomes are streamed from the state file
// is the same JSON, byte for byte, as the one holding them in memory.
func TestLeanReport(t *testing.T) {
	f := newFleet(t, 3, mstest.Options{})
	p := f.plan(t, `targets: [{appid: wxnorefreshtoken}]`)
	st := openState(t, filepath.Join(f.dir, "s.db"))
	rep, err := rollout.Run(context.Background(), f.config(t, p, st))
	if err != nil || rep.Failed != 1 || len(rep.Outcomes) != 4 {
		t.Fatalf("run: %v, %+v", err, rep)
	}
	var want, got bytes.Buffer
	if err := rep.WriteJSON(&want); err != nil {
		t.Fatal(err)
	}
	lean := *rep
	lean.Outcomes = nil
	if err := st.WriteReport(context.Background(), &got, &lean); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Fatalf("streamed report:\n%s\nwant:\n%s", got.String(), want.String())
	}
}

// TestFailedLogLine: the warning for an app that failed gives WeChat's
// errcode when there is one and the failure's kind otherwise, never
// errcode=0 (WeChat's "ok").
func TestFailedLogLine(t *testing.T) {
	f := newFleet(t, 1, mstest.Options{})
	_, noGrant := f.srv.MiniProgram(t, f.platform.AppID, &miniship.Authorizer{AppID: "wxnogrant"})
	_, netFail := f.srv.MiniProgram(t, f.platform.AppID, &miniship.Authorizer{AppID: "wxnetfail", PrivacyAPIs: []string{"getLocation"}})
	p := f.plan(t, fmt.Sprintf(`targets:
  - {appid: wxnorefreshtoken, values: {name: A}}
  - {appid: wxnogrant, refresh_token: %q, values: {name: B}}
  - {appid: wxnetfail, refresh_token: %q, values: {name: C}}`, noGrant, netFail))
	cfg := f.config(t, p, openState(t, filepath.Join(f.dir, "s.db")))
	cfg.MaxAttempts = 1
	cfg.HTTPClient = &http.Client{Transport: commitFails{"wxnetfail"}}
	var log bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
	if _, err := rollout.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ appid, want, not string }{
		{"wxnorefreshtoken", " kind=no_refresh_token ", "errcode="},
		{"wxnetfail", " kind=network ", "errcode="},
		{"wxnogrant", " errcode=85312 ", "kind="},
	} {
		var line string
		for l := range strings.Lines(log.String()) {
			if strings.Contains(l, `msg="rollout: failed" appid=`+c.appid+" ") {
				line = l
			}
		}
		if !strings.Contains(line, c.want) || strings.Contains(line, c.not) {
			t.Errorf("%s: log line %q, want %q and no %q\nlog:\n%s", c.appid, line, c.want, c.not, log.String())
		}
	}
}

// commitFails loses every commit of one appid (named in its ext_json) to
// a network error.
type commitFails struct{ appid string }

func (c commitFails) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/wxa/commit" {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		if bytes.Contains(body, []byte(c.appid)) {
			return nil, errors.New("commitFails: connection reset")
		}
		r = r.Clone(r.Context()) // a RoundTripper leaves the request as it is
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestConfigNegative: Run refuses a negative setting, naming it, before it
// touches the state file, rather than take the default as for 0.
func TestConfigNegative(t *testing.T) {
	p, err := rollout.ParsePlan([]byte("template: {id: 1}\nuser_version: \"1\"\next_json: '{}'\ntargets: [{appid: wxa}]"), ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set  func(*rollout.Config)
		want string
	}{
		{func(c *rollout.Config) { c.Concurrency = -1 }, "Config.Concurrency -1: must not be negative"},
		{func(c *rollout.Config) { c.Rate = -0.5 }, "Config.Rate -0.5: must not be negative"},
		{func(c *rollout.Config) { c.MaxAttempts = -1 }, "Config.MaxAttempts -1: must not be negative"},
		{func(c *rollout.Config) { c.CommitWait = -time.Second }, "Config.CommitWait -1s: must not be negative"},
	} {
		st := openState(t, filepath.Join(t.TempDir(), "s.db"))
		cfg := rollout.Config{Plan: p, State: st, BaseURL: "http://127.0.0.1:1", ComponentAppID: "wxc"}
		c.set(&cfg)
		if _, err := rollout.Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
		if a, err := st.App(context.Background(), "wxa"); err == nil {
			t.Errorf("the refused run imported its targets: %+v", a)
		}
	}
}
