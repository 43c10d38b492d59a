package httpapi_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

// BenchmarkScale shows that a request costs the same with 1,000 mini
// programs as with 1,000,000: for each size in MINISHIP_BENCH_APPS
// (comma-separated, default 1000 so that CI stays fast) it seeds that many
// mini programs in bulk (a grant, a version and an approved audit each),
// then runs each call from loadClients clients on mini programs spread over
// the whole range and reports its cost in no-op calls (/miniship/healthz)
// of the same round. MINISHIP_BENCH_DATABASE=postgres runs it on
// MINISHIP_TEST_POSTGRES; MINISHIP_BENCH_ROUNDS (default 3) and
// MINISHIP_BENCH_REQUESTS (per call and round, default 3000) tune it. Run
// with -benchtime 1x: the rounds are inside.
func BenchmarkScale(b *testing.B) {
	sizes := []int{1000}
	if v := os.Getenv("MINISHIP_BENCH_APPS"); v != "" {
		sizes = nil
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < loadClients {
				b.Fatalf("MINISHIP_BENCH_APPS: %q is not a size of at least %d", f, loadClients)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("apps=%d", n), func(b *testing.B) { scaleRun(b, n) })
	}
}

func scaleRun(b *testing.B, apps int) {
	dsn := filepath.Join(b.TempDir(), "scale.db")
	if os.Getenv("MINISHIP_BENCH_DATABASE") == "postgres" {
		dsn = mstest.PostgresDSN(b)
	}
	s := mstest.New(b, mstest.Options{Database: dsn})
	p := s.Platform(b, nil)
	tpl := s.Template(b, p.AppID, nil, 0)
	// One mini program made the ordinary way gives the grant and the
	// profile the seeded ones copy.
	model, _ := s.MiniProgram(b, p.AppID, nil)
	var sets []int
	if err := s.Store.View(context.Background(), func(tx miniship.Tx) error {
		a, err := tx.GetAuthorization(p.AppID, model.AppID)
		if err == nil {
			sets = a.PermissionSets
		}
		return err
	}); err != nil {
		b.Fatal(err)
	}
	took := s.SeedApps(b, mstest.Seed{Apps: apps, Versions: 1, Audits: true, Platform: p.AppID,
		PermissionSets: sets, Categories: model.Categories})
	b.Logf("seeded %d mini programs (grant, version, audit each) in %s; database %.1f MB",
		apps, took.Round(time.Millisecond), float64(dbSize(b, dsn))/1e6)

	// The clients' mini programs, spread evenly over the seeded range.
	ctoken := componentTokenB(b, s, p.AppID, p.Secret)
	ids := make([]string, loadClients)
	tokens := make([]string, loadClients)
	audits := make([]int64, loadClients)
	step := apps / loadClients
	for c := range loadClients {
		ids[c] = fmt.Sprintf("wxbench%08d", c*step+step/2)
		tokens[c] = authorizerTokenB(b, s, ctoken, p.AppID, ids[c], "r"+ids[c])
		if err := s.Store.View(context.Background(), func(tx miniship.Tx) error {
			a, err := tx.LatestAudit(ids[c])
			if err == nil {
				audits[c] = a.ID
			}
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	post := func(path, body string) *http.Request {
		r, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(body))
		return r
	}
	calls := []struct {
		name string
		req  func(c, k int) *http.Request
	}{
		{"noop", func(int, int) *http.Request { r, _ := http.NewRequest("GET", s.URL+"/miniship/healthz", nil); return r }},
		{"get_category", func(c, _ int) *http.Request {
			r, _ := http.NewRequest("GET", s.URL+"/wxa/get_category?access_token="+tokens[c], nil)
			return r
		}},
		{"get_auditstatus", func(c, _ int) *http.Request {
			return post("/wxa/get_auditstatus?access_token="+tokens[c], fmt.Sprintf(`{"auditid":%d}`, audits[c]))
		}},
		{"commit", func(c, k int) *http.Request {
			return post("/wxa/commit?access_token="+tokens[c], fmt.Sprintf(`{"template_id":%d,"ext_json":"{\"extAppid\":\"x\",\"ext\":{\"n\":%d},\"requiredPrivateInfos\":[]}","user_version":"1.%d","user_desc":"scale"}`, tpl, k, k))
		}},
		{"authorizer_token", func(c, k int) *http.Request {
			// A different mini program every call, anywhere in the range
			// but not a client's: a new token replaces the one it holds.
			i := (c*7919 + k*104729) % apps
			if i%step == step/2 {
				i = (i + 1) % apps
			}
			id := fmt.Sprintf("wxbench%08d", i)
			return post("/cgi-bin/component/api_authorizer_token?component_access_token="+ctoken,
				`{"component_appid":"`+p.AppID+`","authorizer_appid":"`+id+`","authorizer_refresh_token":"r`+id+`"}`)
		}},
	}
	rounds, n := envIntB("MINISHIP_BENCH_ROUNDS", 3), envIntB("MINISHIP_BENCH_REQUESTS", 3000)
	costs := map[string][]float64{}
	for r := range rounds {
		avg, _ := os.ReadFile("/proc/loadavg")
		line := fmt.Sprintf("round %d (load %s):", r+1, strings.Join(strings.Fields(string(avg))[:3], " "))
		var noop float64
		for _, c := range calls {
			res := load(b, n, c.req)
			wall, lat := res.wall, res.lat
			per := float64(wall) / float64(n)
			if c.name == "noop" {
				noop = per
				line += fmt.Sprintf(" noop %.0f/s p50 %s;", float64(n)/wall.Seconds(), pct(lat, .5).Round(time.Microsecond))
				continue
			}
			costs[c.name] = append(costs[c.name], per/noop)
			line += fmt.Sprintf(" %s %.1f p50 %s;", c.name, per/noop, pct(lat, .5).Round(time.Microsecond))
		}
		b.Log(line)
	}
	for name, cs := range costs {
		slices.Sort(cs)
		b.ReportMetric(cs[len(cs)/2], name+"/noop")
	}
}

// dbSize is the size of the database: the SQLite file and its WAL, or the
// PostgreSQL schema's tables with their indexes.
func dbSize(b *testing.B, dsn string) int64 {
	if !strings.HasPrefix(dsn, "postgres") {
		var n int64
		for _, f := range []string{dsn, dsn + "-wal"} {
			if st, err := os.Stat(f); err == nil {
				n += st.Size()
			}
		}
		return n
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(`SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
		JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = current_schema() AND c.relkind = 'r'`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

func envIntB(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
		return n
	}
	return def
}
