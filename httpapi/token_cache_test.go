package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// The in-memory token cache and the one-transaction commit must not let a
// revoked or re-granted authorization through: the grant is read in the
// request's own transaction, and tokens carry the generation of the grant
// they were issued under.

// TestRevokeSameInstant: on a manual clock that never moves, a token issued
// before a revoke stays refused (40001) after the mini program authorizes
// the platform again, on every endpoint, including those that check the
// grant in their own transaction; the new grant's token works.
func TestRevokeSameInstant(t *testing.T) { mstest.Backends(t, testRevokeSameInstant) }

func testRevokeSameInstant(t *testing.T, database string) {
	f := newFixture(t, mstest.Options{Database: database}, arMiniProgram())
	s, ctx := f.s, context.Background()
	body := f.commitBody(f.tplID, `{}`, "1")
	// Used once first, so the token is in the server's cache.
	arWant(t, wx(t, s, "POST", "/wxa/commit", tok(f.atoken), body), 0)
	arWant(t, wx(t, s, "GET", "/wxa/get_category", tok(f.atoken), ""), 0)
	if err := s.Service.Unauthorize(ctx, f.p.AppID, f.app.AppID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/wxa/commit", body},
		{"POST", "/wxa/commit", ""}, // 44002 must not hide the revoke
		{"POST", "/wxa/commit", f.commitBody("999999", `{}`, "1")},
		{"GET", "/wxa/get_category", ""},
		{"POST", "/wxa/get_auditstatus", `{"auditid":1}`},
		{"POST", "/wxa/get_auditstatus", `[`},
		{"GET", "/wxa/get_page", ""},
	} {
		arWant(t, wx(t, s, c.method, c.path, tok(f.atoken), c.body), 61003)
	}
	auth, err := s.Service.Authorize(ctx, f.p.AppID, f.app.AppID, nil) // the clock has not moved
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/wxa/commit", body},
		{"POST", "/wxa/commit", ""},
		{"GET", "/wxa/get_category", ""},
		{"POST", "/wxa/get_auditstatus", `{"auditid":1}`},
		{"GET", "/wxa/get_page", ""},
	} {
		arWant(t, wx(t, s, c.method, c.path, tok(f.atoken), c.body), 40001)
	}
	fresh := authorizerToken(t, s, f.ctoken, f.p.AppID, f.app.AppID, auth.RefreshToken)
	arWant(t, wx(t, s, "POST", "/wxa/commit", tok(fresh), f.commitBody(f.tplID, `{}`, "2")), 0)
	arWant(t, wx(t, s, "GET", "/wxa/get_category", tok(fresh), ""), 0)
	// Narrowed permission sets apply at once to cached tokens too.
	if _, err := s.Service.Authorize(ctx, f.p.AppID, f.app.AppID, []int{30}); err != nil {
		t.Fatal(err)
	}
	arWant(t, wx(t, s, "POST", "/wxa/commit", tok(fresh), f.commitBody(f.tplID, `{}`, "3")), 61007)
	arWant(t, wx(t, s, "GET", "/wxa/get_page", tok(fresh), ""), 61007)
}

// TestMultiInstanceRevokeCached: both servers have the token and the mini
// program's grants in memory; a revoke, a re-grant and a change of plugin
// grants made on server 1 hold on server 0 at its next request.
func TestMultiInstanceRevokeCached(t *testing.T) {
	e := newPair(t, service.Config{}, httpapi.Limits{}, nil)
	a, refresh := e.s[0].MiniProgram(t, e.p.AppID, arMiniProgram())
	c0 := componentToken(t, e.s[0], e.p.AppID, e.p.Secret)
	at := authorizerToken(t, e.s[0], c0, e.p.AppID, a.AppID, refresh)
	withPlugin := func(v string) string {
		return fmt.Sprintf(`{"template_id":%d,"ext_json":%s,"user_version":%q,"user_desc":"multi"}`,
			e.tpl, extJSON(`{"plugins":{"p":{"provider":"wxplugin000000001","version":"1.0.0"}}}`), v)
	}
	for _, s := range e.s {
		arWant(t, wx(t, s, "POST", "/wxa/commit", tok(at), commitBody(e.tpl, "1.0")), 0)
		arWant(t, wx(t, s, "GET", "/wxa/get_category", tok(at), ""), 0)
		arWant(t, wx(t, s, "POST", "/wxa/commit", tok(at), withPlugin("1.1")), 80082)
	}
	patch := func(body string) {
		t.Helper()
		if st, m := admin(t, e.s[1], "PATCH", "/miniship/v1/authorizers/"+a.AppID, json.RawMessage(body)); st != http.StatusOK {
			t.Fatalf("patch: %d %v", st, m)
		}
	}
	// Granted on server 1: server 0, which judged with the old grants,
	// now accepts; revoked on server 1: server 0 refuses again.
	patch(`{"plugins":[{"appid":"wxplugin000000001","versions":["1.0.0"]}]}`)
	arWant(t, wx(t, e.s[0], "POST", "/wxa/commit", tok(at), withPlugin("1.2")), 0)
	patch(`{"plugins":[]}`)
	arWant(t, wx(t, e.s[0], "POST", "/wxa/commit", tok(at), withPlugin("1.3")), 80082)

	if err := e.s[1].Service.Unauthorize(context.Background(), e.p.AppID, a.AppID); err != nil {
		t.Fatal(err)
	}
	arWant(t, wx(t, e.s[0], "POST", "/wxa/commit", tok(at), commitBody(e.tpl, "2.0")), 61003)
	arWant(t, wx(t, e.s[0], "GET", "/wxa/get_category", tok(at), ""), 61003)
	if _, err := e.s[1].Service.Authorize(context.Background(), e.p.AppID, a.AppID, nil); err != nil {
		t.Fatal(err)
	}
	arWant(t, wx(t, e.s[0], "POST", "/wxa/commit", tok(at), commitBody(e.tpl, "2.1")), 40001)
	arWant(t, wx(t, e.s[0], "GET", "/wxa/get_category", tok(at), ""), 40001)
}
