package sqlstore

import (
	"testing"

	"github.com/miniship/miniship"
)

// testGrantGenerations: a grant made again after a revoke has a higher
// generation than any before it, and a changed grant keeps its own;
// grants_rev moves only when the engine's grants change.
func testGrantGenerations(t *testing.T, s miniship.Store) {
	fixtures(t, s)
	put := func(a *miniship.Authorization) int64 {
		update(t, s, func(tx miniship.Tx) error { return tx.PutAuthorization(a) })
		return a.Generation
	}
	first := put(&miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", RefreshToken: "r1", CreatedAt: at(1), UpdatedAt: at(1)})
	if first <= 0 {
		t.Fatalf("first grant has generation %d", first)
	}
	// A change of the live grant (keeping its generation) is not a new one.
	same := put(&miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", PermissionSets: []int{18}, RefreshToken: "r1", CreatedAt: at(1), UpdatedAt: at(2), Generation: first})
	if same != first {
		t.Fatalf("changed grant: generation %d, want %d", same, first)
	}
	other := put(&miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxb", RefreshToken: "r2", CreatedAt: at(1), UpdatedAt: at(1)})
	update(t, s, func(tx miniship.Tx) error { return tx.DeleteAuthorization("wxp", "wxa") })
	// Same time as the first grant: only the generation tells them apart.
	again := put(&miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", RefreshToken: "r3", CreatedAt: at(1), UpdatedAt: at(1)})
	if again <= first {
		t.Fatalf("grant after revoke: generation %d, not above %d", again, first)
	}
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Authorization](t)(tx.GetAuthorization("wxp", "wxa")).Generation, again)
		equal(t, must[*miniship.Authorization](t)(tx.GetAuthorization("wxp", "wxb")).Generation, other)
		return nil
	})
	// Tokens keep the generation they were issued under.
	tok := &miniship.Token{Value: "t1", Kind: miniship.AuthorizerToken, PlatformAppID: "wxp", AuthorizerAppID: "wxa", ExpiresAt: at(9), CreatedAt: at(1), Generation: again}
	update(t, s, func(tx miniship.Tx) error { return tx.PutToken(tok) })
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Token](t)(tx.GetToken(miniship.AuthorizerToken, "t1")), tok)
		return nil
	})

	rev := func() int64 {
		var a *miniship.Authorizer
		view(t, s, func(tx miniship.Tx) (err error) { a, err = tx.GetAuthorizer("wxa"); return err })
		return a.GrantsRev
	}
	change := func(f func(a *miniship.Authorizer)) {
		update(t, s, func(tx miniship.Tx) error {
			a, err := tx.LockAuthorizer("wxa")
			if err != nil {
				return err
			}
			f(a)
			return tx.UpdateAuthorizer(a)
		})
	}
	r0 := rev()
	change(func(a *miniship.Authorizer) { a.Nickname, a.CommitUntil = "renamed", at(5) })
	equal(t, rev(), r0) // not a grant
	change(func(a *miniship.Authorizer) { a.PrivacyAPIs = []string{"getLocation"} })
	equal(t, rev(), r0+1)
	change(func(a *miniship.Authorizer) {
		a.Plugins = []miniship.PluginGrant{{AppID: "wxplugin", Versions: []string{"1.0.0"}}}
	})
	equal(t, rev(), r0+2)
	change(func(a *miniship.Authorizer) { a.SupportVersion = "3.0.0" })
	equal(t, rev(), r0+2)
}

// testLockForCommit: one statement reads the claim, grant revision, the
// platform's grant and the template's state.
func testLockForCommit(t *testing.T, s miniship.Store) {
	fixtures(t, s)
	var tplID int64
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.PutAuthorization(&miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", PermissionSets: []int{18, 30}, RefreshToken: "r", CreatedAt: at(3), UpdatedAt: at(3)}))
		d := &miniship.Draft{PlatformAppID: "wxp", Package: []byte("zip"), CreatedAt: at(1)}
		ok(t, tx.CreateDraft(d))
		tp := &miniship.Template{PlatformAppID: "wxp", DraftID: d.ID, CreatedAt: at(1)}
		ok(t, tx.CreateTemplate(tp))
		tplID = tp.ID
		return nil
	})
	update(t, s, func(tx miniship.Tx) error {
		st := must[*miniship.CommitState](t)(tx.LockForCommit("wxp", "wxa", tplID))
		if st.Authorization == nil {
			t.Fatal("grant not read")
		}
		equal(t, st.Authorization.PermissionSets, []int{18, 30})
		equal(t, st.Authorization.CreatedAt, at(3))
		equal(t, [3]any{st.TemplateFound, st.TemplateDeleted, st.CommitUntil.IsZero()}, [3]any{true, false, true})
		// No grant from wxb; another platform's template id is no template.
		st = must[*miniship.CommitState](t)(tx.LockForCommit("wxp", "wxb", tplID))
		equal(t, st.Authorization == nil, true)
		st = must[*miniship.CommitState](t)(tx.LockForCommit("other", "wxa", tplID))
		equal(t, [2]bool{st.Authorization == nil, st.TemplateFound}, [2]bool{true, false})
		_, err := tx.LockForCommit("wxp", "nope", tplID)
		wantErr(t, err, miniship.ErrNotFound)
		return tx.DeleteTemplate("wxp", tplID, at(9))
	})
	view(t, s, func(tx miniship.Tx) error { // a plain read in View
		st := must[*miniship.CommitState](t)(tx.LockForCommit("wxp", "wxa", tplID))
		equal(t, [2]bool{st.TemplateFound, st.TemplateDeleted}, [2]bool{true, true})
		return nil
	})
}
