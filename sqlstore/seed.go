package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/miniship/miniship"
)

// BenchSeed describes mini programs SeedBench writes for the scale
// benchmarks: appids wxbench%08d for i in [From, To), nickname "Shop i".
type BenchSeed struct {
	From, To int
	// Platform, when set, gets a grant of each (refresh token "r" + appid,
	// authorized i milliseconds after CreatedAt, PermissionSets as given).
	Platform       string
	PermissionSets []int
	// Categories are each mini program's (nil for none).
	Categories []miniship.Category
	// Versions per mini program, user_version 1.0.k; with Audits each
	// version gets an approved audit.
	Versions int
	Audits   bool
	// CreatedAt is the time of every row (Unix nanoseconds in the store).
	CreatedAt time.Time
	// Batch is the mini programs of one transaction of Store.Seed (0:
	// 50,000: large enough for the bulk statements to pay off, small
	// enough that SQLite's writer is not held for long).
	Batch int
}

// SeedBench writes a batch of benchmark mini programs with a handful of
// INSERT … SELECT statements over a generated series, which is what makes
// a million of them take seconds rather than the hours of one statement per
// row. It is not part of miniship.Tx: tests reach it by a type assertion.
func (t *tx) SeedBench(s BenchSeed) error {
	series := `WITH RECURSIVE n(i) AS (SELECT CAST(? AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)`
	appid := `printf('wxbench%08d', n.i)`
	if t.d.name == "postgres" {
		appid = `'wxbench' || lpad(n.i::text, 8, '0')`
	}
	at := nanos(s.CreatedAt)
	stmts := []seedStmt{{`INSERT INTO authorizers (appid, nickname, original_id, profile_complete, categories, privacy_apis,
			plugins, visit_status, support_version, commit_until, created_at, secret) ` + series + `
		SELECT ` + appid + `, 'Shop ' || n.i, 'gh_' || n.i, TRUE, ?, NULL, NULL, 1, '', ?, ?, '' FROM n`,
		[]any{s.From, s.To, jsonText{s.Categories}, at, at}}}
	if s.Platform != "" {
		stmts = append(stmts, seedStmt{`INSERT INTO authorizations (platform_appid, authorizer_appid, permission_sets, refresh_token,
				created_at, updated_at, generation) ` + series + `
			SELECT ?, ` + appid + `, ?, 'r' || ` + appid + `, ? + n.i * 1000000, ?, 1 FROM n`,
			[]any{s.From, s.To, s.Platform, jsonText{s.PermissionSets}, at, at}}, seedStmt{`INSERT INTO grant_generations (platform_appid, authorizer_appid, generation) ` + series + `
			SELECT ?, ` + appid + `, 1 FROM n`, []any{s.From, s.To, s.Platform}})
	}
	for k := range s.Versions {
		stmts = append(stmts, seedStmt{`INSERT INTO versions (authorizer_appid, platform_appid, template_id, user_version, user_desc,
				ext_json, app, pages, ext, page_list, used_privacy_apis, declared_privacy_apis, scan_done_at, created_at) ` + series + `
			SELECT ` + appid + `, ?, 1, ?, 'seed', '{}', ?, '{}', 'null', NULL, NULL, NULL, ?, ? FROM n`,
			[]any{s.From, s.To, s.Platform, fmt.Sprintf("1.0.%d", k),
				`{"pages":["pages/index/index","pages/store/store"],"window":{"navigationBarTitleText":"Shop"}}`, at, at}})
	}
	for _, st := range stmts {
		if _, err := t.exec(st.q, st.args...); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	if s.Audits && s.Versions > 0 {
		// One audit per version just written: the batch's versions are
		// those of its appids.
		lo, hi := fmt.Sprintf("wxbench%08d", s.From), fmt.Sprintf("wxbench%08d", s.To)
		if _, err := t.exec(`INSERT INTO audits (authorizer_appid, platform_appid, version_id, status, reason,
				screenshot, request, sped_up, released, submitted_at, decided_at)
			SELECT authorizer_appid, platform_appid, id, 0, '', '', NULL, FALSE, FALSE, created_at, created_at
			FROM versions WHERE authorizer_appid >= ? AND authorizer_appid < ?`, lo, hi); err != nil {
			return fmt.Errorf("seed audits: %w", err)
		}
	}
	return nil
}

// Seed writes s's mini programs in transactions of s.Batch, calling
// progress (when set) with how many are written after each; the scale
// benchmarks and `miniship bench --fleet` fill a database with it.
func (st *Store) Seed(ctx context.Context, s BenchSeed, progress func(done int)) error {
	batch := s.Batch
	if batch <= 0 {
		batch = 50000
	}
	for from := s.From; from < s.To; from += batch {
		b := s
		b.From, b.To = from, min(from+batch, s.To)
		if err := st.Update(ctx, func(t miniship.Tx) error { return t.(*tx).SeedBench(b) }); err != nil {
			return err
		}
		if progress != nil {
			progress(b.To - s.From)
		}
	}
	return nil
}

type seedStmt struct {
	q    string
	args []any
}
