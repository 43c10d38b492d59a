package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/internal/bigtemplate"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/sqlstore"
)

// BenchmarkCommit200Pages measures Service.Commit of a 200-page template
// with a 20 KB ext_json on SQLite (engine, encoding, one write
// transaction), against json.Unmarshal of that ext_json in the same run,
// and reports the bytes the version stores.
func BenchmarkCommit200Pages(b *testing.B) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	svc := service.New(service.Options{Store: store})
	p, err := svc.CreatePlatform(ctx, &miniship.Platform{AppID: "wxbenchplatform01"})
	if err != nil {
		b.Fatal(err)
	}
	a, err := svc.CreateAuthorizer(ctx, &miniship.Authorizer{AppID: "wxbenchapp0000001"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Authorize(ctx, p.AppID, a.AppID, nil); err != nil {
		b.Fatal(err)
	}
	pkg, ext := bigtemplate.Zip(), bigtemplate.ExtJSON("wx0123456789abcdef", "")
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
	c := &service.Caller{Kind: miniship.AuthorizerToken, PlatformAppID: p.AppID, AuthorizerAppID: a.AppID}
	commit := func(i int) {
		if err := svc.Commit(ctx, c, service.CommitRequest{TemplateID: ts[0].TemplateID, ExtJSON: ext, UserVersion: fmt.Sprint(i)}); err != nil {
			b.Fatal(err)
		}
	}
	commit(0) // the template is parsed and cached once
	baseline := func(n int) time.Duration {
		start := time.Now()
		for range n {
			var m map[string]any
			json.Unmarshal([]byte(ext), &m)
		}
		return time.Since(start)
	}
	const n = 200
	before := baseline(n)
	start := time.Now()
	i := 0
	for b.Loop() {
		i++
		commit(i)
	}
	per := time.Since(start) / time.Duration(b.N)
	base := (before + baseline(n)) / (2 * n)
	var v *miniship.Version
	if err := store.View(ctx, func(tx miniship.Tx) (err error) { v, err = tx.LatestVersion(a.AppID); return err }); err != nil {
		b.Fatal(err)
	}
	stored := len(v.ExtJSON) + len(v.App) + len(v.Pages) + len(v.Ext) + len(strings.Join(v.PageList, "  "))
	b.ReportMetric(float64(per)/float64(base), "x-unmarshal")
	b.ReportMetric(float64(stored), "stored-bytes")
	b.ReportMetric(float64(len(ext)), "ext-bytes")
}
