package sqlstore

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/miniship/miniship"
)

// testIssueToken: however many tokens of a kind an owner is issued, it
// keeps the newest keep, older rows (those from before tokens were
// numbered first) deleted; other owners and other kinds keep theirs.
func testIssueToken(t *testing.T, s miniship.Store) {
	fixtures(t, s)
	grant := &miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", CreatedAt: at(0)}
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxq", CreatedAt: at(0)}))
		ok(t, tx.PutAuthorization(&miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxb", CreatedAt: at(0)}))
		return tx.PutAuthorization(grant)
	})
	grantOf := func(t *testing.T) (a *miniship.Authorization) {
		view(t, s, func(tx miniship.Tx) (err error) {
			a, err = tx.GetAuthorization("wxp", "wxa")
			return err
		})
		return a
	}
	const keep, more = 3, 4
	for _, tc := range []struct {
		name string
		kind miniship.TokenKind
		// authorizer names the mini program of the i-th token.
		authorizer func(i int) string
		// neighbour is a token of another owner the issuances leave alone.
		neighbour miniship.Token
	}{
		{"component tokens", miniship.ComponentToken, func(int) string { return "" },
			miniship.Token{PlatformAppID: "wxq"}},
		{"pre_auth codes", miniship.PreAuthCode, func(int) string { return "" },
			miniship.Token{PlatformAppID: "wxq"}},
		{"tickets", miniship.VerifyTicket, func(int) string { return "" },
			miniship.Token{PlatformAppID: "wxq"}},
		{"authorization codes", miniship.AuthCode, func(int) string { return "wxa" },
			miniship.Token{PlatformAppID: "wxp", AuthorizerAppID: "wxb"}},
		{"authorizer tokens", miniship.AuthorizerToken, func(int) string { return "wxa" },
			miniship.Token{PlatformAppID: "wxp", AuthorizerAppID: "wxb", Generation: 1, Seq: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gen := grantOf(t).Generation
			legacy := &miniship.Token{Value: tc.name + "-legacy", Kind: tc.kind, PlatformAppID: "wxp",
				AuthorizerAppID: tc.authorizer(0), Generation: gen, ExpiresAt: at(100)}
			neighbour := tc.neighbour
			neighbour.Value, neighbour.Kind, neighbour.ExpiresAt = tc.name+"-neighbour", tc.kind, at(100)
			update(t, s, func(tx miniship.Tx) error {
				ok(t, tx.PutToken(legacy))
				return tx.PutToken(&neighbour)
			})
			var issued []*miniship.Token
			for i := range keep + more {
				k := &miniship.Token{Value: fmt.Sprintf("%s-%d", tc.name, i), Kind: tc.kind, PlatformAppID: "wxp",
					AuthorizerAppID: tc.authorizer(i), Generation: gen, CreatedAt: at(i), ExpiresAt: at(100)}
				update(t, s, func(tx miniship.Tx) error { return tx.IssueToken(k, keep) })
				if len(issued) > 0 && k.Seq <= issued[len(issued)-1].Seq {
					t.Fatalf("token %d has seq %d after %d", i, k.Seq, issued[len(issued)-1].Seq)
				}
				issued = append(issued, k)
			}
			view(t, s, func(tx miniship.Tx) error {
				for i, k := range issued {
					got, err := tx.GetToken(tc.kind, k.Value)
					if i < more {
						wantErr(t, err, miniship.ErrNotFound)
						continue
					}
					ok(t, err)
					equal(t, got, k)
				}
				_, err := tx.GetToken(tc.kind, legacy.Value)
				wantErr(t, err, miniship.ErrNotFound)
				equal(t, must[*miniship.Token](t)(tx.GetToken(tc.kind, neighbour.Value)), &neighbour)
				if tc.kind == miniship.AuthorizerToken {
					// The grant counts its tokens: requests read the count with it.
					equal(t, must[*miniship.Authorization](t)(tx.GetAuthorization("wxp", "wxa")).TokenSeq, issued[len(issued)-1].Seq)
				}
				return nil
			})
		})
	}
	t.Run("authorizer tokens of an earlier grant", func(t *testing.T) {
		update(t, s, func(tx miniship.Tx) error {
			ok(t, tx.DeleteAuthorization("wxp", "wxa"))
			return tx.PutAuthorization(&miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", CreatedAt: at(1)})
		})
		a := grantOf(t)
		equal(t, a.TokenSeq, int64(0)) // a new grant counts afresh
		k := &miniship.Token{Value: "regranted", Kind: miniship.AuthorizerToken, PlatformAppID: "wxp", AuthorizerAppID: "wxa",
			Generation: a.Generation, ExpiresAt: at(100)}
		update(t, s, func(tx miniship.Tx) error { return tx.IssueToken(k, keep) })
		equal(t, k.Seq, int64(1))
		view(t, s, func(tx miniship.Tx) error {
			// The earlier grant's tokens, numbered higher, do not push it out.
			_, err := tx.GetToken(miniship.AuthorizerToken, "regranted")
			ok(t, err)
			_, err = tx.GetToken(miniship.AuthorizerToken, "authorizer tokens-6")
			wantErr(t, err, miniship.ErrNotFound)
			return nil
		})
	})
	t.Run("no owner", func(t *testing.T) {
		err := s.Update(t.Context(), func(tx miniship.Tx) error {
			return tx.IssueToken(&miniship.Token{Value: "x", Kind: miniship.ComponentToken, PlatformAppID: "nope"}, keep)
		})
		wantErr(t, err, miniship.ErrNotFound)
		err = s.Update(t.Context(), func(tx miniship.Tx) error {
			return tx.IssueToken(&miniship.Token{Value: "x", Kind: miniship.AuthorizerToken, PlatformAppID: "wxq", AuthorizerAppID: "wxa"}, keep)
		})
		wantErr(t, err, miniship.ErrNotFound)
	})
}

// testIssueTokenConcurrent: concurrent issuances of one owner, from any
// number of connections, still leave it its newest keep and no more.
func testIssueTokenConcurrent(t *testing.T, s miniship.Store) {
	fixtures(t, s)
	const keep = 5
	var n atomic.Int64
	hammer(t, func() error {
		v := fmt.Sprintf("tok-%d", n.Add(1))
		return s.Update(t.Context(), func(tx miniship.Tx) error {
			return tx.IssueToken(&miniship.Token{Value: v, Kind: miniship.ComponentToken, PlatformAppID: "wxp", ExpiresAt: at(100)}, keep)
		})
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[map[string]int64](t)(tx.TableSizes())["tokens"], int64(keep))
		return nil
	})
}
