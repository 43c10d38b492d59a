package sqlstore

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/miniship/miniship"
)

// TestVersionDerivedMigration: a version stored before 00080 (ext, page
// list and privacy lists in their columns) reads as stored after it, not
// Derived; one stored after keeps only what its commit sent.
func TestVersionDerivedMigration(t *testing.T) {
	migrated(t, 79, func(t *testing.T, db *sql.DB) {
		// The INSERT of the code before 00080.
		q := `INSERT INTO versions (authorizer_appid, platform_appid, template_id, user_version,
			user_desc, ext_json, app, pages, ext, page_list, used_privacy_apis,
			declared_privacy_apis, scan_done_at, created_at)
			VALUES ('wxold', 'wxplat', 1, '1.0', 'd', '{"ext":{"a":1}}', NULL, NULL, '{"a":1}',
			'["pages/index/index"]', '["getLocation"]', NULL, 1, 1)`
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}, func(t *testing.T, s *Store) {
		var old, fresh *miniship.Version
		err := s.Update(t.Context(), func(tx miniship.Tx) (err error) {
			if old, err = tx.LatestVersion("wxold"); err != nil {
				return err
			}
			nv := &miniship.Version{AuthorizerAppID: "wxnew", PlatformAppID: "wxplat", TemplateID: 1, ExtJSON: `{}`, Derived: true}
			if err := tx.CreateVersion(nv); err != nil {
				return err
			}
			fresh, err = tx.GetVersion(nv.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if old.Derived || string(old.Ext) != `{"a":1}` || !slices.Equal(old.PageList, []string{"pages/index/index"}) ||
			!slices.Equal(old.UsedPrivacyAPIs, []string{"getLocation"}) || old.DeclaredPrivacyAPIs != nil {
			t.Fatalf("old row read as %+v", old)
		}
		if !fresh.Derived || fresh.Ext != nil || fresh.PageList != nil || fresh.App != nil || fresh.ExtJSON != `{}` {
			t.Fatalf("new row read as %+v", fresh)
		}
	})
}

// migrated runs, on each backend, the migrations up to version, then seed
// on the bare database (the code of that time), then opens a Store, which
// migrates the rest of the way, and hands it to check.
func migrated(t *testing.T, version int64, seed func(t *testing.T, db *sql.DB), check func(t *testing.T, s *Store)) {
	for _, b := range []struct {
		name, driver, dir string
		dialect           goose.Dialect
		dsn               func(t *testing.T) string
		open              func(t *testing.T, dsn string) (*Store, error)
	}{
		{"sqlite", "sqlite", "sqlite", goose.DialectSQLite3,
			func(t *testing.T) string { return filepath.Join(t.TempDir(), "miniship.db") },
			func(t *testing.T, dsn string) (*Store, error) { return OpenSQLite(t.Context(), dsn) }},
		{"postgres", "pgx", "postgres", goose.DialectPostgres,
			func(t *testing.T) string { return postgresSchema(t) },
			func(t *testing.T, dsn string) (*Store, error) { return OpenPostgres(t.Context(), dsn) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			db, err := sql.Open(b.driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			fsys, _ := fs.Sub(migrations, "migrations/"+b.dir)
			p, err := goose.NewProvider(b.dialect, db, fsys, goose.WithLogger(goose.NopLogger()))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(t.Context(), version); err != nil {
				t.Fatal(err)
			}
			seed(t, db)
			s, err := b.open(t, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			check(t, s)
		})
	}
}
