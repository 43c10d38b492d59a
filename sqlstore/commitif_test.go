package sqlstore

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
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
	base := miniship.CommitCheck{GrantsRev: rev, Generation: gen, TokenCreatedAt: at(5), TokenSeqBelow: 1, Perm: 18}
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
		stored, err := s.CreateVersionIf(t.Context(), v, c)
		ok(t, err)
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
	cases := map[string]struct {
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
		"token no longer newest":  {"wxa", tplID, with(func(c *miniship.CommitCheck) { c.TokenSeqBelow = 0 }), false},
		"no grant from wxb":       {"wxb", tplID, base, false},
		"another platform's tpl":  {"wxa", otherTpl, base, false},
		"no such template":        {"wxa", 1 << 40, base, false},
		"no such mini program":    {"nope", tplID, base, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := try(tc.app, tc.tpl, tc.c); got != tc.want {
				t.Errorf("stored %v, want %v", got, tc.want)
			}
		})
	}

	// All of them at once: on PostgreSQL one combined statement, where
	// each row is judged by its own check alone.
	var names []string
	var reqs []versionCall
	for name, tc := range cases {
		names = append(names, name)
		reqs = append(reqs, versionCall{
			v: &miniship.Version{AuthorizerAppID: tc.app, PlatformAppID: "wxp", TemplateID: tc.tpl, UserVersion: name,
				UserDesc: "together", ExtJSON: `{"case":"` + name + `"}`, PageList: []string{"pages/a"}, CreatedAt: at(9), ScanDoneAt: at(10)},
			c: tc.c,
		})
	}
	together(t, s, reqs)
	ids := map[int64]bool{}
	for i, r := range reqs {
		tc := cases[names[i]]
		ok(t, r.err)
		if r.ok != tc.want {
			t.Errorf("together, %s: stored %v, want %v", names[i], r.ok, tc.want)
		}
		if !r.ok {
			continue
		}
		if ids[r.v.ID] {
			t.Errorf("together, %s: id %d given twice", names[i], r.v.ID)
		}
		ids[r.v.ID] = true
		view(t, s, func(tx miniship.Tx) error {
			equal(t, must[*miniship.Version](t)(tx.GetVersion(r.v.ID)), r.v)
			return nil
		})
	}

	// A row the statement cannot take fails alone: its callers run their
	// own statements, where only the bad one fails.
	good := func(desc string) versionCall {
		return versionCall{v: &miniship.Version{AuthorizerAppID: "wxa", PlatformAppID: "wxp", TemplateID: tplID, UserVersion: "2",
			UserDesc: desc, ExtJSON: "{}", CreatedAt: at(9), ScanDoneAt: at(10)}, c: base}
	}
	bad := map[string]func(*miniship.Version){
		"outside nanos, never sent": func(v *miniship.Version) { v.CreatedAt = time.Unix(0, 0).AddDate(1000, 0, 0) },
	}
	if s.(*Store).Backend() == "postgres" {
		bad["refused by PostgreSQL's text"] = func(v *miniship.Version) { v.ExtJSON = "{\"nul\":\"\x00\"}" }
	}
	for name, spoil := range bad {
		calls := []versionCall{good("a"), good("b"), good("c")}
		spoil(calls[1].v)
		together(t, s, calls)
		for i, r := range calls {
			if bad := i == 1; bad != (r.err != nil) || r.ok == bad {
				t.Errorf("together with a row %s, call %d: stored %v, error %v", name, i, r.ok, r.err)
			} else if r.ok {
				view(t, s, func(tx miniship.Tx) error {
					equal(t, must[*miniship.Version](t)(tx.GetVersion(r.v.ID)), r.v)
					return nil
				})
			}
		}
	}

	// A commit claim, then a deleted template.
	update(t, s, func(tx miniship.Tx) error {
		a := must[*miniship.Authorizer](t)(tx.LockAuthorizer("wxa"))
		a.CommitUntil = at(100)
		return tx.UpdateAuthorizer(a)
	})
	currentRev := func() (r int64) {
		view(t, s, func(tx miniship.Tx) error {
			r = must[*miniship.Authorizer](t)(tx.GetAuthorizer("wxa")).GrantsRev
			return nil
		})
		return r
	}
	base.GrantsRev = currentRev() // so that only the claim stands in the way
	if try("wxa", tplID, base) {
		t.Error("stored under a commit claim")
	}
	refused := func(what string) {
		t.Helper()
		calls := []versionCall{good("x"), good("y")}
		together(t, s, calls)
		for i, r := range calls {
			if ok(t, r.err); r.ok {
				t.Errorf("together, call %d: stored %s", i, what)
			}
		}
	}
	refused("under a commit claim")
	update(t, s, func(tx miniship.Tx) error {
		a := must[*miniship.Authorizer](t)(tx.LockAuthorizer("wxa"))
		a.CommitUntil = time.Time{}
		return tx.UpdateAuthorizer(a)
	})
	base.GrantsRev = currentRev()
	if !try("wxa", tplID, base) {
		t.Fatal("not stored once the claim was cleared")
	}
	update(t, s, func(tx miniship.Tx) error { return tx.DeleteTemplate("wxp", tplID, at(9)) })
	if try("wxa", tplID, base) {
		t.Error("stored from a deleted template")
	}
	refused("from a deleted template")

	// UpdateOne runs one statement, on both backends.
	err := s.(*Store).UpdateOne(t.Context(), func(tx miniship.Tx) error {
		if err := tx.CreatePlatform(&miniship.Platform{AppID: "wx1"}); err != nil {
			return err
		}
		return tx.CreatePlatform(&miniship.Platform{AppID: "wx2"})
	})
	if !errors.Is(err, errTwoStatements) {
		t.Errorf("two statements in UpdateOne: %v", err)
	}
}

// versionCall is one CreateVersionIf of together, and its outcome.
type versionCall struct {
	v   *miniship.Version
	c   miniship.CommitCheck
	ok  bool
	err error
}

// together runs the calls concurrently; on PostgreSQL it holds the
// combiner until all of them queue, so that they run as one statement.
func together(t *testing.T, s miniship.Store, calls []versionCall) {
	t.Helper()
	release, check := func(*atomic.Int32) {}, func() int64 { return 1 }
	if b := s.(*Store).combine; b != nil {
		release, check = holdGroup(&b.group, len(calls))
	}
	var wg sync.WaitGroup
	var ended atomic.Int32
	for i := range calls {
		wg.Go(func() {
			defer ended.Add(1)
			r := &calls[i]
			r.ok, r.err = s.CreateVersionIf(t.Context(), r.v, r.c)
		})
	}
	release(&ended)
	wg.Wait()
	if n := check(); n != 1 {
		t.Errorf("%d calls ran in %d shared statements, want 1", len(calls), n)
	}
}

// holdGroup takes every place of g, so that the requests that come queue.
// release waits until n of them have, or until one of their callers has
// ended (it failed before it queued, which check then shows), and runs
// them as one batch; check, once they are done, counts the shared batches
// run since the hold.
func holdGroup[R any](g *group[R], n int) (release func(ended *atomic.Int32), check func() int64) {
	g.mu.Lock()
	g.running += g.flight
	before := g.batches.Load()
	g.mu.Unlock()
	return func(ended *atomic.Int32) {
			for queued := 0; queued < n && ended.Load() == 0; runtime.Gosched() {
				g.mu.Lock()
				queued = len(g.queue)
				g.mu.Unlock()
			}
			g.handOn() // as a batch that ends
			g.mu.Lock()
			g.running -= g.flight - 1 // the handed batch gives its place back itself
			g.mu.Unlock()
		}, func() int64 {
			return g.batches.Load() - before
		}
}

// commitFixtures gives wxa a grant from wxp (permission 18) and wxp a
// template, and returns what a CommitCheck of them holds.
func commitFixtures(t *testing.T, tx miniship.Tx) (tpl, gen, rev int64) {
	g := &miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", PermissionSets: []int{18}, CreatedAt: at(3), UpdatedAt: at(3)}
	ok(t, tx.PutAuthorization(g))
	d := &miniship.Draft{PlatformAppID: "wxp", Package: []byte("zip"), CreatedAt: at(1)}
	ok(t, tx.CreateDraft(d))
	tp := &miniship.Template{PlatformAppID: "wxp", DraftID: d.ID, CreatedAt: at(1)}
	ok(t, tx.CreateTemplate(tp))
	return tp.ID, g.Generation, must[*miniship.Authorizer](t)(tx.GetAuthorizer("wxa")).GrantsRev
}

// testCreateVersionIfConcurrent: many concurrent commits, some of them
// refused by their checks, each answered for itself: every one that said
// ok is stored as sent under the id it was given, and nothing else is. On
// PostgreSQL most of them share statements.
func testCreateVersionIfConcurrent(t *testing.T, s miniship.Store) {
	fixtures(t, s)
	var tplID, gen, rev int64
	update(t, s, func(tx miniship.Tx) error {
		tplID, gen, rev = commitFixtures(t, tx)
		return nil
	})
	const clients, each = 16, 12
	calls := make([][]versionCall, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for k := range each {
				check := miniship.CommitCheck{GrantsRev: rev, Generation: gen, TokenCreatedAt: at(5), TokenSeqBelow: 1, Perm: 18}
				if (c+k)%5 == 0 {
					check.Perm = 19 // not granted: stores nothing
				}
				v := &miniship.Version{AuthorizerAppID: "wxa", PlatformAppID: "wxp", TemplateID: tplID,
					UserVersion: fmt.Sprintf("%d.%d", c, k), UserDesc: "stress", ExtJSON: "{}", CreatedAt: at(9), ScanDoneAt: at(10)}
				stored, err := s.CreateVersionIf(t.Context(), v, check)
				calls[c] = append(calls[c], versionCall{v: v, c: check, ok: stored, err: err})
			}
		})
	}
	wg.Wait()
	if b := s.(*Store).combine; b != nil {
		t.Logf("%d commits, %d combined statements", clients*each, b.batches.Load())
	}
	want := map[int64]*miniship.Version{}
	for _, cs := range calls {
		for _, r := range cs {
			ok(t, r.err)
			if r.ok != (r.c.Perm == 18) {
				t.Errorf("%s: stored %v with permission %d", r.v.UserVersion, r.ok, r.c.Perm)
			}
			if r.ok {
				if want[r.v.ID] != nil {
					t.Fatalf("id %d given twice", r.v.ID)
				}
				want[r.v.ID] = r.v
			}
		}
	}
	view(t, s, func(tx miniship.Tx) error {
		latest := must[*miniship.Version](t)(tx.LatestVersion("wxa"))
		for id := latest.ID; id > 0; id-- {
			v, err := tx.GetVersion(id)
			if errors.Is(err, miniship.ErrNotFound) {
				continue
			}
			ok(t, err)
			if want[id] == nil {
				t.Errorf("version %d (%s) stored, but nobody was told", id, v.UserVersion)
				continue
			}
			equal(t, v, want[id])
			delete(want, id)
		}
		return nil
	})
	for id, v := range want {
		t.Errorf("version %d (%s) said stored, not found", id, v.UserVersion)
	}
}
