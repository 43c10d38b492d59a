package console_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship/mstest"
)

// BenchmarkConsolePages times the console's pages server-side (the whole
// request on a local listener, nothing else on it) with many mini programs
// and versions seeded straight through the store. Sizes default to the
// target, 100,000 mini programs and 1,000,000 versions;
// CONSOLE_BENCH_APPS and CONSOLE_BENCH_VERSIONS choose others (seeding the
// full size takes minutes).
func BenchmarkConsolePages(b *testing.B) {
	apps, versions := envInt("CONSOLE_BENCH_APPS", 100000), envInt("CONSOLE_BENCH_VERSIONS", 1000000)
	s := mstest.New(b, mstest.Options{Database: os.Getenv("CONSOLE_BENCH_DATABASE")})
	seed(b, s, apps, versions)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	res, err := hc.PostForm(s.URL+"/console/signin", url.Values{"admin_key": {s.AdminKey}})
	if err != nil || res.StatusCode != 200 {
		b.Fatalf("sign in: %v %v", res, err)
	}
	res.Body.Close()
	mid := fmt.Sprintf("wxbench%08d", apps/2)
	pages := []struct{ name, path string }{
		{"apps-first", "/console/apps"},
		{"apps-middle", "/console/apps?after=" + mid},
		{"apps-search-appid", "/console/apps?q=" + mid[:len(mid)-2]},
		{"apps-search-nickname", "/console/apps?q=Shop+" + strconv.Itoa(apps/2)},
		{"app-detail", "/console/apps/" + mid},
		{"audits-queue", "/console/audits"},
		{"pushes", "/console/pushes"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			sum0, n0 := serverTime(b, s.URL)
			for b.Loop() {
				res, err := hc.Get(s.URL + p.path)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || !strings.Contains(string(body), "</main>") {
					b.Fatalf("%s: %d", p.path, res.StatusCode)
				}
			}
			// Server time is the server's own latency histogram: the time
			// from request to answer inside the handler, without the client.
			sum1, n1 := serverTime(b, s.URL)
			if n1 > n0 {
				b.ReportMetric((sum1-sum0)/(n1-n0)*1000, "server-ms/op")
			}
		})
	}
}

// serverTime reads the console's latency sum (seconds) and count from
// /metrics.
func serverTime(b *testing.B, base string) (sum, count float64) {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for line := range strings.Lines(string(body)) {
		for _, m := range []struct {
			prefix string
			v      *float64
		}{
			{`miniship_http_request_duration_seconds_sum{path="/console/"} `, &sum},
			{`miniship_http_request_duration_seconds_count{path="/console/"} `, &count},
		} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), m.prefix); ok {
				*m.v, _ = strconv.ParseFloat(v, 64)
			}
		}
	}
	return sum, count
}

func envInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
		return n
	}
	return def
}

// seed writes apps mini programs with versions/apps versions each (at
// least one), in bulk statements of one transaction per batch.
func seed(b *testing.B, s *mstest.Server, apps, versions int) {
	took := s.SeedApps(b, mstest.Seed{Apps: apps, Versions: max(1, versions/apps)})
	b.Logf("seeded %d mini programs and %d versions in %s", apps, max(1, versions/apps)*apps, took.Round(time.Second))
}
