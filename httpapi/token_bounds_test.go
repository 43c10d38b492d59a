package httpapi_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// Tokens are bounded per owner: however many a platform asks for, it
// holds the newest few of each kind; every one of those keeps working and
// each older one answers what WeChat answers for a token that is not the
// latest (40001), even on a server that holds it in memory.

// TestTokenBounds issues a kind's bound and a few more through the API:
// the first one, used (and so cached) before, is refused and gone, the
// newest bound all work, and no more rows are kept.
func TestTokenBounds(t *testing.T) { mstest.Backends(t, testTokenBounds) }

func testTokenBounds(t *testing.T, database string) {
	f := newFixture(t, mstest.Options{Database: database}, arMiniProgram())
	s, ctx := f.s, context.Background()
	var refresh string
	_ = s.Store.View(ctx, func(tx miniship.Tx) error {
		a, err := tx.GetAuthorization(f.p.AppID, f.app.AppID)
		if err == nil {
			refresh = a.RefreshToken
		}
		return err
	})
	preAuth := func() string {
		m := wx(t, s, "POST", "/cgi-bin/component/api_create_preauthcode", tok(f.ctoken), `{"component_appid":"`+f.p.AppID+`"}`)
		return arStr(m, "pre_auth_code")
	}
	version := 0
	for _, tc := range []struct {
		name  string
		kind  miniship.TokenKind
		keep  int
		issue func() string
		// use checks that a token works (refused false) or answers as a
		// token that is no longer valid.
		use func(t *testing.T, token string, refused bool)
	}{
		{"authorizer tokens", miniship.AuthorizerToken, service.KeepAccessTokens,
			func() string { return authorizerToken(t, s, f.ctoken, f.p.AppID, f.app.AppID, refresh) },
			func(t *testing.T, token string, refused bool) {
				version++
				// Each way a request checks the grant: the one-statement
				// commit, a read of its own, and the shared read.
				arWant(t, wx(t, s, "POST", "/wxa/commit", tok(token), f.commitBody(f.tplID, `{}`, "1."+strconv.Itoa(version))), pick(refused, 40001, 0))
				arWant(t, wx(t, s, "GET", "/wxa/get_page", tok(token), ""), pick(refused, 40001, 0))
				arWant(t, wx(t, s, "GET", "/wxa/get_category", tok(token), ""), pick(refused, 40001, 0))
			}},
		{"pre_auth codes", miniship.PreAuthCode, service.KeepPreAuthCodes, preAuth,
			func(t *testing.T, code string, refused bool) {
				var ce *service.ConsentError
				if err := s.Service.ConsentPage(ctx, f.p.AppID, code); refused != errors.As(err, &ce) {
					t.Fatalf("consent page of code %s: %v, want refused %v", code, err, refused)
				}
			}},
		// Last: the others use the fixture's component token.
		{"component tokens", miniship.ComponentToken, service.KeepAccessTokens,
			func() string { return componentToken(t, s, f.p.AppID, f.p.Secret) },
			func(t *testing.T, token string, refused bool) {
				arWant(t, wx(t, s, "GET", "/wxa/gettemplatelist", tok(token), ""), pick(refused, 40001, 0))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := tc.issue()
			tc.use(t, first, false)
			var issued []string
			for range tc.keep + 3 {
				issued = append(issued, tc.issue())
			}
			tc.use(t, first, true)
			for _, token := range []string{issued[3], issued[len(issued)-1]} { // the oldest and the newest kept
				tc.use(t, token, false)
			}
			_ = s.Store.View(ctx, func(tx miniship.Tx) error {
				for i, token := range append([]string{first}, issued...) {
					_, err := tx.GetToken(tc.kind, token)
					if kept := i > 3; kept != (err == nil) {
						t.Errorf("token %d of %d: %v, want kept %v", i, len(issued)+1, err, kept)
					}
				}
				return nil
			})
		})
	}
}

func pick(refused bool, yes, no int) int {
	if refused {
		return yes
	}
	return no
}

// TestMultiInstanceTokenBounds: both servers have used the tokens (and
// hold the authorizer token in memory); server 1 issues enough newer ones
// to push them out, and server 0 refuses them at its next request.
func TestMultiInstanceTokenBounds(t *testing.T) {
	e := newPair(t, service.Config{}, httpapi.Limits{}, nil)
	a, refresh := e.s[0].MiniProgram(t, e.p.AppID, arMiniProgram())
	c := componentToken(t, e.s[0], e.p.AppID, e.p.Secret)
	at := authorizerToken(t, e.s[0], c, e.p.AppID, a.AppID, refresh)
	for _, s := range e.s {
		arWant(t, wx(t, s, "GET", "/wxa/gettemplatelist", tok(c), ""), 0)
		arWant(t, wx(t, s, "GET", "/wxa/get_category", tok(at), ""), 0)
		arWant(t, wx(t, s, "POST", "/wxa/commit", tok(at), commitBody(e.tpl, "1.0")), 0)
	}
	var c1 string
	for range service.KeepAccessTokens {
		c1 = componentToken(t, e.s[1], e.p.AppID, e.p.Secret)
		authorizerToken(t, e.s[1], c1, e.p.AppID, a.AppID, refresh)
	}
	arWant(t, wx(t, e.s[0], "GET", "/wxa/gettemplatelist", tok(c), ""), 40001)
	arWant(t, wx(t, e.s[0], "GET", "/wxa/get_category", tok(at), ""), 40001)
	arWant(t, wx(t, e.s[0], "GET", "/wxa/get_page", tok(at), ""), 40001)
	arWant(t, wx(t, e.s[0], "POST", "/wxa/commit", tok(at), commitBody(e.tpl, "1.1")), 40001)
	arWant(t, wx(t, e.s[0], "GET", "/wxa/gettemplatelist", tok(c1), ""), 0)
}
