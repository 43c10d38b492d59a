package sqlstore

import (
	"errors"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// testCreateVersionIf: the one-statement commit stores a version exactly
// when every condition of its CommitCheck holds, and nothing otherwise.
func testCreateVersionIf(t *testing.T, s miniship.Store) {
	fixtures(t, s)
	var tplID, otherTpl, gen, rev int64
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxq", CreatedAt: at(0)}))
		g := &miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", PermissionSets: []int{1, 18, 30}, CreatedAt: at(3), UpdatedAt: at(3)}
		ok(t, tx.PutAuthorization(g))
		gen = g.Generation
		for _, p := range []string{"wxp", "wxq"} {
			d := &miniship.Draft{PlatformAppID: p, Package: []byte("zip"), CreatedAt: at(1)}
			ok(t, tx.CreateDraft(d))
			tp := &miniship.Template{PlatformAppID: p, DraftID: d.ID, CreatedAt: at(1)}
			ok(t, tx.CreateTemplate(tp))
			tplID, otherTpl = tp.ID, tplID
		}
		tplID, otherTpl = otherTpl, tplID // wxp's, wxq's
		rev = must[*miniship.Authorizer](t)(tx.GetAuthorizer("wxa")).GrantsRev
		return nil
	})
	base := miniship.CommitCheck{GrantsRev: rev, Generation: gen, TokenCreatedAt: at(5), Perm: 18}
	try := func(app string, tpl int64, c miniship.CommitCheck) bool {
		t.Helper()
		v := &miniship.Version{AuthorizerAppID: app, PlatformAppID: "wxp", TemplateID: tpl, UserVersion: "1", ExtJSON: "{}",
			PageList: []string{"pages/a"}, CreatedAt: at(9), ScanDoneAt: at(10)}
		latest := func() (v *miniship.Version) {
			view(t, s, func(tx miniship.Tx) (err error) {
				v, err = tx.LatestVersion(app)
				if errors.Is(err, miniship.ErrNotFound) {
					v, err = &miniship.Version{}, nil
				}
				return err
			})
			return v
		}
		before := latest().ID
		var stored bool
		ok(t, s.UpdateOne(t.Context(), func(tx miniship.Tx) (err error) {
			stored, err = tx.CreateVersionIf(v, c)
			return err
		}))
		after := latest()
		switch {
		case stored && after.ID != v.ID:
			t.Fatalf("CreateVersionIf stored version %d, latest is %d", v.ID, after.ID)
		case stored:
			equal(t, after, v)
		case after.ID != before:
			t.Fatalf("CreateVersionIf said false, yet version %d appeared", after.ID)
		}
		return stored
	}
	with := func(f func(*miniship.CommitCheck)) miniship.CommitCheck { c := base; f(&c); return c }
	for name, tc := range map[string]struct {
		app  string
		tpl  int64
		c    miniship.CommitCheck
		want bool
	}{
		"all hold":                {"wxa", tplID, base, true},
		"any permission":          {"wxa", tplID, with(func(c *miniship.CommitCheck) { c.Perm = 0 }), true},
		"first permission":        {"wxa", tplID, with(func(c *miniship.CommitCheck) { c.Perm = 1 }), true},
		"last permission":         {"wxa", tplID, with(func(c *miniship.CommitCheck) { c.Perm = 30 }), true},
		"token as old as grant":   {"wxa", tplID, with(func(c *miniship.CommitCheck) { c.TokenCreatedAt = at(3) }), true},
		"permission not held":     {"wxa", tplID, with(func(c *miniship.CommitCheck) { c.Perm = 8 }), false},
		"permission prefix":       {"wxa", tplID, with(func(c *miniship.CommitCheck) { c.Perm = 3 }), false},
		"grants moved":            {"wxa", tplID, with(func(c *miniship.CommitCheck) { c.GrantsRev++ }), false},
		"token of an older grant": {"wxa", tplID, with(func(c *miniship.CommitCheck) { c.Generation-- }), false},
		"token before the grant":  {"wxa", tplID, with(func(c *miniship.CommitCheck) { c.TokenCreatedAt = at(2) }), false},
		"no grant from wxb":       {"wxb", tplID, base, false},
		"another platform's tpl":  {"wxa", otherTpl, base, false},
		"no such template":        {"wxa", 1 << 40, base, false},
		"no such mini program":    {"nope", tplID, base, false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := try(tc.app, tc.tpl, tc.c); got != tc.want {
				t.Errorf("stored %v, want %v", got, tc.want)
			}
		})
	}

	// A commit claim, then a deleted template.
	update(t, s, func(tx miniship.Tx) error {
		a := must[*miniship.Authorizer](t)(tx.LockAuthorizer("wxa"))
		a.CommitUntil = at(100)
		return tx.UpdateAuthorizer(a)
	})
	if try("wxa", tplID, base) {
		t.Error("stored under a commit claim")
	}
	update(t, s, func(tx miniship.Tx) error {
		a := must[*miniship.Authorizer](t)(tx.LockAuthorizer("wxa"))
		a.CommitUntil = time.Time{}
		return tx.UpdateAuthorizer(a)
	})
	base.GrantsRev = func() (r int64) {
		view(t, s, func(tx miniship.Tx) error {
			r = must[*miniship.Authorizer](t)(tx.GetAuthorizer("wxa")).GrantsRev
			return nil
		})
		return r
	}()
	if !try("wxa", tplID, base) {
		t.Fatal("not stored once the claim was cleared")
	}
	update(t, s, func(tx miniship.Tx) error { return tx.DeleteTemplate("wxp", tplID) })
	if try("wxa", tplID, base) {
		t.Error("stored from a deleted template")
	}

	// UpdateOne runs one statement, on both backends.
	err := s.UpdateOne(t.Context(), func(tx miniship.Tx) error {
		if err := tx.CreatePlatform(&miniship.Platform{AppID: "wx1"}); err != nil {
			return err
		}
		return tx.CreatePlatform(&miniship.Platform{AppID: "wx2"})
	})
	if !errors.Is(err, errTwoStatements) {
		t.Errorf("two statements in UpdateOne: %v", err)
	}
}
