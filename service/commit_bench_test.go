package service_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/internal/bigtemplate"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/sqlstore"
)

// BenchmarkCommit200Pages measures Service.Commit of a 200-page template
// with a 17.5 KB ext_json on SQLite (engine, encoding, one write
// transaction), against json.Unmarshal of that ext_json in the same run,
// and reports the bytes the version stores.
func BenchmarkCommit200Pages(b *testing.B) {
	benchCommit(b, bigtemplate.Zip(), bigtemplate.ExtJSON("wx0123456789abcdef", ""))
}

// BenchmarkCommitDemo is the same for the demo template and the README's
// ext_json.
func BenchmarkCommitDemo(b *testing.B) {
	benchCommit(b, demo.TemplateZip(), `{"extAppid":"wxdemoshop0000001","ext":{"shopName":"Shop A"}}`)
}

// benchCommit reports, besides the time per commit as a multiple of
// json.Unmarshal of the ext_json:
//   - ext-bytes: the commit's own input (its ext_json);
//   - row-bytes: the bytes of the last version row's values (text columns
//     as stored, 8 per integer column);
//   - table-bytes/version: the pages of the versions table and its index
//     (SQLite's dbstat), per version, which adds page slack and overflow.
//
// The commits go to benchApps mini programs in turn, as a rollout's do, so
// that the table holds what they stored: each mini program keeps only
// service.KeepVersions.
func benchCommit(b *testing.B, pkg []byte, ext string) {
	svc, cs, tplID, path := benchSetup(b, pkg, benchApps)
	commit := func(i int) {
		c := cs[i%len(cs)]
		if err := svc.Commit(context.Background(), c, service.CommitRequest{TemplateID: tplID, ExtJSON: ext, UserVersion: fmt.Sprint(i)}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range cs {
		commit(i) // the template is parsed and cached once, the grants once each
	}
	const n = 200
	before := unmarshals(ext, n)
	start := time.Now()
	i := 0
	for b.Loop() {
		i++
		commit(i)
	}
	per := time.Since(start) / time.Duration(b.N)
	base := (before + unmarshals(ext, n)) / (2 * n)
	row, table := versionBytes(b, path)
	b.ReportMetric(float64(per)/float64(base), "x-unmarshal")
	b.ReportMetric(float64(len(ext)), "ext-bytes")
	b.ReportMetric(float64(row), "row-bytes")
	b.ReportMetric(table, "table-bytes/version")
}

// benchApps is how many mini programs benchCommit commits to.
const benchApps = 100

// benchSetup opens a service on a new SQLite file with a platform, apps
// mini programs granted getLocation and the template; it returns the mini
// programs' callers, the template id and the file.
func benchSetup(b *testing.B, pkg []byte, apps int) (*service.Service, []*service.Caller, int64, string) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.db")
	store, err := sqlstore.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	svc := service.New(service.Options{Store: store})
	p, err := svc.CreatePlatform(ctx, &miniship.Platform{AppID: "wxbenchplatform01"})
	if err != nil {
		b.Fatal(err)
	}
	var cs []*service.Caller
	for i := range apps {
		a, err := svc.CreateAuthorizer(ctx, &miniship.Authorizer{AppID: fmt.Sprintf("wxbenchapp%07d", i+1), PrivacyAPIs: []string{"getLocation"}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Authorize(ctx, p.AppID, a.AppID, nil); err != nil {
			b.Fatal(err)
		}
		cs = append(cs, &service.Caller{Kind: miniship.AuthorizerToken, PlatformAppID: p.AppID, AuthorizerAppID: a.AppID})
	}
	d := &miniship.Draft{PlatformAppID: p.AppID, UserVersion: "1", Package: pkg}
	if err := svc.CreateDraft(ctx, d); err != nil {
		b.Fatal(err)
	}
	pc := &service.Caller{Kind: miniship.ComponentToken, PlatformAppID: p.AppID}
	if err := svc.AddToTemplate(ctx, pc, d.ID, 0); err != nil {
		b.Fatal(err)
	}
	ts, err := svc.ListTemplates(ctx, pc, -1)
	if err != nil || len(ts) != 1 {
		b.Fatal(ts, err)
	}
	return svc, cs, ts[0].TemplateID, path
}

// unmarshals is how long n json.Unmarshal of the ext_json take: the floor.
func unmarshals(ext string, n int) time.Duration {
	start := time.Now()
	for range n {
		var m map[string]any
		json.Unmarshal([]byte(ext), &m)
	}
	return time.Since(start)
}

// BenchmarkGetPage200Pages measures get_page of a version of the 200-page
// template, which derives the page list from the template and ext_json:
// "derive" the first read of a version (its answers not cached yet),
// "cached" every later one; both as multiples of json.Unmarshal of the
// ext_json in the same run.
func BenchmarkGetPage200Pages(b *testing.B) {
	ext := bigtemplate.ExtJSON("wx0123456789abcdef", "")
	svc, cs, tplID, _ := benchSetup(b, bigtemplate.Zip(), 1)
	c := cs[0]
	ctx := context.Background()
	if err := svc.Commit(ctx, c, service.CommitRequest{TemplateID: tplID, ExtJSON: ext, UserVersion: "1"}); err != nil {
		b.Fatal(err)
	}
	for _, cold := range []bool{true, false} {
		name := map[bool]string{true: "derive", false: "cached"}[cold]
		b.Run(name, func(b *testing.B) {
			const n = 200
			before := unmarshals(ext, n)
			start := time.Now()
			for b.Loop() {
				if cold {
					svc.ForgetDerived()
				}
				if pages, err := svc.GetPage(ctx, c); err != nil || len(pages) != bigtemplate.Pages {
					b.Fatal(len(pages), err)
				}
			}
			per := time.Since(start) / time.Duration(b.N)
			base := (before + unmarshals(ext, n)) / (2 * n)
			b.ReportMetric(float64(per)/float64(base), "x-unmarshal")
		})
	}
}

// versionBytes measures the versions table of the SQLite file: the values
// of the last row, and the table and index pages per row.
func versionBytes(b *testing.B, path string) (row int64, perVersion float64) {
	db, err := sql.Open("sqlite", path) // the driver sqlstore registers
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var text, rows, pages int64
	err = db.QueryRow(`SELECT `+sumLengths("authorizer_appid", "platform_appid", "user_version", "user_desc",
		"ext_json", "app", "pages", "ext", "page_list", "used_privacy_apis", "declared_privacy_apis")+
		`, (SELECT count(*) FROM versions) FROM versions ORDER BY id DESC LIMIT 1`).Scan(&text, &rows)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.QueryRow(`SELECT sum(pgsize) FROM dbstat WHERE name IN ('versions', 'versions_authorizer', 'versions_template')`).Scan(&pages); err != nil {
		b.Fatal(err)
	}
	const ints = 5 // id, template_id, scan_done_at, created_at, derived
	return text + 8*ints, float64(pages) / float64(rows)
}

func sumLengths(cols ...string) string {
	out := "0"
	for _, c := range cols {
		out += " + coalesce(length(CAST(" + c + " AS BLOB)), 0)"
	}
	return out
}
