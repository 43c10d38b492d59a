package sqlstore

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// testVersionBound: however many commits a mini program makes, and however
// they reach the store, it keeps its newest keep versions and, older, only
// those an audit or a release names; other mini programs keep theirs. The
// prune applies the same count to versions stored without a trim.
func testVersionBound(t *testing.T, s miniship.Store) {
	fixtures(t, s)
	const keep, more = 4, 7
	var tpl int64
	update(t, s, func(tx miniship.Tx) error {
		tpl = newTemplate(t, tx, "wxp").ID
		return nil
	})
	// app registers a mini program granted to wxp and returns what its
	// commits check.
	app := func(t *testing.T, appid string) miniship.CommitCheck {
		c := miniship.CommitCheck{TokenCreatedAt: at(5), TokenSeqBelow: 1, Perm: 18, KeepVersions: keep}
		update(t, s, func(tx miniship.Tx) error {
			ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: appid, CreatedAt: at(0)}))
			g := &miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: appid, PermissionSets: []int{18}, CreatedAt: at(1)}
			ok(t, tx.PutAuthorization(g))
			c.Generation = g.Generation
			c.GrantsRev = must[*miniship.Authorizer](t)(tx.GetAuthorizer(appid)).GrantsRev
			return nil
		})
		return c
	}
	version := func(appid string, i int) *miniship.Version {
		return &miniship.Version{AuthorizerAppID: appid, PlatformAppID: "wxp", TemplateID: tpl,
			UserVersion: fmt.Sprint(i), ExtJSON: "{}", CreatedAt: at(10 + i)}
	}
	lone := func(t *testing.T, c miniship.CommitCheck, vs []*miniship.Version) {
		for _, v := range vs {
			if stored, err := s.CreateVersionIf(t.Context(), v, c); err != nil || !stored {
				t.Fatalf("CreateVersionIf: %v %v", stored, err)
			}
		}
	}
	for _, tc := range []struct {
		name string
		// commit stores vs in order, trimming as a commit does.
		commit func(t *testing.T, c miniship.CommitCheck, vs []*miniship.Version)
	}{
		{"a statement each", lone},
		{"shared statements", func(t *testing.T, c miniship.CommitCheck, vs []*miniship.Version) {
			if len(vs) < 3 {
				lone(t, c, vs)
				return
			}
			for batch := range slices.Chunk(vs, 3) {
				calls := make([]versionCall, len(batch))
				for i, v := range batch {
					calls[i] = versionCall{v: v, c: c}
				}
				together(t, s, calls)
				for _, r := range calls {
					if !r.ok || r.err != nil {
						t.Fatalf("shared CreateVersionIf: %v %v", r.ok, r.err)
					}
				}
			}
		}},
		{"a transaction each", func(t *testing.T, c miniship.CommitCheck, vs []*miniship.Version) {
			for _, v := range vs {
				update(t, s, func(tx miniship.Tx) error {
					ok(t, tx.CreateVersion(v))
					_, err := tx.TrimVersions(v.AuthorizerAppID, keep)
					return err
				})
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			appid, neighbour := "wx"+tc.name, "wxn"+tc.name
			c, cn := app(t, appid), app(t, neighbour)
			// v0 released (a rollback target), v1 in review, v2 neither.
			var vs []*miniship.Version
			for i := range keep + more {
				vs = append(vs, version(appid, i))
			}
			tc.commit(t, c, vs[:3])
			update(t, s, func(tx miniship.Tx) error {
				a0 := &miniship.Audit{AuthorizerAppID: appid, VersionID: vs[0].ID, Status: miniship.AuditApproved, SubmittedAt: at(20)}
				ok(t, tx.CreateAudit(a0))
				ok(t, tx.CreateRelease(&miniship.Release{AuthorizerAppID: appid, VersionID: vs[0].ID, AuditID: a0.ID, ReleasedAt: at(21)}))
				return tx.CreateAudit(&miniship.Audit{AuthorizerAppID: appid, VersionID: vs[1].ID, Status: miniship.AuditPending, SubmittedAt: at(22)})
			})
			var ns []*miniship.Version
			for i := range keep - 1 {
				ns = append(ns, version(neighbour, i))
			}
			tc.commit(t, cn, ns)
			tc.commit(t, c, vs[3:])
			// Newest by id: the calls of a shared statement run in any order.
			byID := slices.SortedFunc(slices.Values(vs), func(a, b *miniship.Version) int { return int(a.ID - b.ID) })
			kept := append([]*miniship.Version{vs[0], vs[1]}, byID[len(vs)-keep:]...)
			view(t, s, func(tx miniship.Tx) error {
				for i, v := range vs {
					_, err := tx.GetVersion(v.ID)
					if want := slices.Contains(kept, v); want != (err == nil) {
						t.Errorf("version %d of %d: %v, want kept %v", i, len(vs), err, want)
					}
				}
				for i, v := range ns {
					if _, err := tx.GetVersion(v.ID); err != nil {
						t.Errorf("neighbour's version %d: %v", i, err)
					}
				}
				return nil
			})
		})
	}

	t.Run("prune", func(t *testing.T) {
		const appid = "wxpruned"
		var vs []*miniship.Version
		update(t, s, func(tx miniship.Tx) error {
			for i := range keep + more {
				v := version(appid, i)
				ok(t, tx.CreateVersion(v))
				vs = append(vs, v)
			}
			return tx.CreateAudit(&miniship.Audit{AuthorizerAppID: appid, VersionID: vs[2].ID, Status: miniship.AuditRejected, SubmittedAt: at(30)})
		})
		count := func(before time.Time, keep, n int) (d int64) {
			update(t, s, func(tx miniship.Tx) (err error) {
				d, err = tx.PruneVersions(before, keep, n)
				return err
			})
			return d
		}
		equal(t, count(time.Time{}, 0, 100), int64(0)) // neither an age nor a count
		// In batches: of the more older ones, the audited one stays.
		equal(t, count(time.Time{}, keep, 2), int64(2))
		equal(t, count(time.Time{}, keep, 100), int64(more-3))
		equal(t, count(time.Time{}, keep, 100), int64(0))
		view(t, s, func(tx miniship.Tx) error {
			for i, v := range vs {
				_, err := tx.GetVersion(v.ID)
				if want := i == 2 || i >= more; want != (err == nil) {
					t.Errorf("version %d: %v, want kept %v", i, err, want)
				}
			}
			return nil
		})
	})
}

// newTemplate adds a template of a draft of its own to the platform.
func newTemplate(t *testing.T, tx miniship.Tx, platform string) *miniship.Template {
	t.Helper()
	d := &miniship.Draft{PlatformAppID: platform, Package: []byte("zip"), CreatedAt: at(0)}
	ok(t, tx.CreateDraft(d))
	m := &miniship.Template{PlatformAppID: platform, DraftID: d.ID, CreatedAt: at(0)}
	ok(t, tx.CreateTemplate(m))
	return m
}

// testPruneTemplates: a deleted template goes once it was deleted before
// the time and no version names it; live templates, and deleted ones a
// version still names, stay.
func testPruneTemplates(t *testing.T, s miniship.Store) {
	fixtures(t, s)
	tpl := map[string]*miniship.Template{}
	var used *miniship.Version
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxq", CreatedAt: at(0)}))
		for _, name := range []string{"live", "deleted", "deleted late", "used", "other platform's"} {
			platform := "wxp"
			if name == "other platform's" {
				platform = "wxq"
			}
			tpl[name] = newTemplate(t, tx, platform)
			deletedAt := at(1)
			switch name {
			case "live":
				continue
			case "deleted late":
				deletedAt = at(5)
			}
			ok(t, tx.DeleteTemplate(platform, tpl[name].ID, deletedAt))
		}
		used = &miniship.Version{AuthorizerAppID: "wxa", PlatformAppID: "wxp", TemplateID: tpl["used"].ID, CreatedAt: at(0)}
		return tx.CreateVersion(used)
	})
	for _, step := range []struct {
		name     string
		first    func(tx miniship.Tx) // before the prune, if set
		platform string
		before   time.Time
		pruned   int64
		gone     []string
	}{
		{"nothing deleted before the time", nil, "", at(1), 0, nil},
		{"one platform's", nil, "wxp", at(2), 1, []string{"deleted"}},
		{"every platform's", nil, "", at(2), 1, []string{"deleted", "other platform's"}},
		{"deleted later", nil, "", at(6), 1, []string{"deleted", "other platform's", "deleted late"}},
		{"no longer used", func(tx miniship.Tx) {
			// A newer version lets the one that names the template go.
			ok(t, tx.CreateVersion(&miniship.Version{AuthorizerAppID: "wxa", PlatformAppID: "wxp", TemplateID: tpl["live"].ID, CreatedAt: at(7)}))
			equal(t, must[int64](t)(tx.PruneVersions(at(100), 0, 100)), int64(1))
		}, "", at(6), 1, []string{"deleted", "other platform's", "deleted late", "used"}},
	} {
		t.Run(step.name, func(t *testing.T) {
			update(t, s, func(tx miniship.Tx) error {
				if step.first != nil {
					step.first(tx)
				}
				equal(t, must[int64](t)(tx.PruneTemplates(step.platform, step.before, 100)), step.pruned)
				return nil
			})
			view(t, s, func(tx miniship.Tx) error {
				for name, m := range tpl {
					_, err := tx.GetTemplate(m.PlatformAppID, m.ID)
					if gone := slices.Contains(step.gone, name); gone != errors.Is(err, miniship.ErrNotFound) {
						t.Errorf("template %s: %v, want gone %v", name, err, gone)
					}
				}
				return nil
			})
		})
	}
}
