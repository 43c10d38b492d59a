package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

// loadClients is the concurrency of the load benchmarks.
const loadClients = 32

// loadResult is one phase of a load benchmark: its wall time, the CPU
// time of the whole test process (clients and server) and the sorted
// latencies. CPU per call is the cost that holds when other jobs share
// the machine; calls per second is what a client sees.
type loadResult struct {
	wall, cpu time.Duration
	lat       []time.Duration
}

// load runs n requests from loadClients concurrent clients; req(i, k)
// builds the k-th request of client i. It fails on any answer that is not
// errcode 0.
func load(b *testing.B, n int, req func(client, k int) *http.Request) loadResult {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: loadClients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	lat := make([][]time.Duration, loadClients)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	cpu0 := processCPU()
	start := time.Now()
	for c := range loadClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				if next.Add(1) > int64(n) {
					return
				}
				t0 := time.Now()
				res, err := hc.Do(req(c, k))
				if err != nil {
					failed.Store(err.Error())
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				lat[c] = append(lat[c], time.Since(t0))
				if strings.Contains(string(body), `"errcode":`) && !strings.Contains(string(body), `"errcode":0`) {
					failed.Store(string(body))
				}
			}
		}()
	}
	wg.Wait()
	wall, cpu := time.Since(start), processCPU()-cpu0
	if f := failed.Load(); f != nil {
		b.Fatalf("a request failed: %v", f)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	return loadResult{wall: wall, cpu: cpu, lat: all}
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// BenchmarkCommitLoad measures /wxa/commit with 32 concurrent clients (one
// mini program each, as a rollout does) against the no-op /miniship/healthz
// on the same server in the same run. Read commit_per_s, p50/p99 and the
// ratio noop_per_s/commit_per_s (how many no-op calls one commit costs).
func BenchmarkCommitLoad(b *testing.B) { commitLoad(b, mstest.Options{}) }

// BenchmarkCommitLoadPostgres is BenchmarkCommitLoad on PostgreSQL
// (MINISHIP_TEST_POSTGRES).
func BenchmarkCommitLoadPostgres(b *testing.B) {
	commitLoad(b, mstest.Options{Database: mstest.PostgresDSN(b)})
}

func commitLoad(b *testing.B, o mstest.Options) {
	s := mstest.New(b, o)
	p := s.Platform(b, nil)
	tpl := s.Template(b, p.AppID, nil, 0)
	ctoken := componentTokenB(b, s, p.AppID, p.Secret)
	tokens := make([]string, loadClients)
	for i := range tokens {
		app, refresh := s.MiniProgram(b, p.AppID, nil)
		tokens[i] = authorizerTokenB(b, s, ctoken, p.AppID, app.AppID, refresh)
	}
	n := max(b.N, 200)
	noop := load(b, n, func(int, int) *http.Request {
		r, _ := http.NewRequest("GET", s.URL+"/miniship/healthz", nil)
		return r
	})
	b.ResetTimer()
	commit := load(b, n, func(c, k int) *http.Request {
		body := fmt.Sprintf(`{"template_id":%d,"ext_json":"{\"extAppid\":\"x\",\"ext\":{\"n\":%d},\"requiredPrivateInfos\":[]}","user_version":"1.%d","user_desc":"load"}`, tpl, k, k)
		r, _ := http.NewRequest("POST", s.URL+"/wxa/commit?access_token="+tokens[c], strings.NewReader(body))
		return r
	})
	b.StopTimer()
	commitRate := float64(n) / commit.wall.Seconds()
	noopRate := float64(n) / noop.wall.Seconds()
	b.ReportMetric(commitRate, "commit/s")
	b.ReportMetric(float64(pct(commit.lat, 0.50).Microseconds()), "p50_µs")
	b.ReportMetric(float64(pct(commit.lat, 0.99).Microseconds()), "p99_µs")
	b.ReportMetric(noopRate, "noop/s")
	b.ReportMetric(float64(pct(noop.lat, 0.99).Microseconds()), "noop_p99_µs")
	b.ReportMetric(noopRate/commitRate, "noop/commit")
	b.ReportMetric(commit.cpu.Seconds()/noop.cpu.Seconds(), "cpu_noop/commit")
}

// BenchmarkReadLoad measures the authenticated reads get_category and
// get_auditstatus with 32 concurrent clients against the no-op
// /miniship/healthz of the same server in the same run. Read
// noop/category and noop/status: how many no-op calls one read costs.
func BenchmarkReadLoad(b *testing.B) { readLoad(b, mstest.Options{}) }

// BenchmarkReadLoadPostgres is BenchmarkReadLoad on PostgreSQL
// (MINISHIP_TEST_POSTGRES).
func BenchmarkReadLoadPostgres(b *testing.B) {
	readLoad(b, mstest.Options{Database: mstest.PostgresDSN(b)})
}

func readLoad(b *testing.B, o mstest.Options) {
	e := arSetup(b, o, &miniship.Platform{AuditQuota: 1 << 30})
	tokens := make([]string, loadClients)
	audits := make([]int64, loadClients)
	for i := range tokens {
		_, tokens[i] = e.addMiniProgram(arMiniProgram())
		e.commit("1.0.0", "", tokens[i])
	}
	e.scanned()
	for i := range tokens {
		audits[i] = e.submit(tokens[i])
	}
	n := max(b.N, 200)
	noop := load(b, n, func(int, int) *http.Request {
		r, _ := http.NewRequest("GET", e.s.URL+"/miniship/healthz", nil)
		return r
	})
	b.ResetTimer()
	category := load(b, n, func(c, _ int) *http.Request {
		r, _ := http.NewRequest("GET", e.s.URL+"/wxa/get_category?access_token="+tokens[c], nil)
		return r
	})
	status := load(b, n, func(c, _ int) *http.Request {
		body := fmt.Sprintf(`{"auditid":%d}`, audits[c])
		r, _ := http.NewRequest("POST", e.s.URL+"/wxa/get_auditstatus?access_token="+tokens[c], strings.NewReader(body))
		return r
	})
	b.StopTimer()
	b.ReportMetric(float64(n)/noop.wall.Seconds(), "noop/s")
	b.ReportMetric(float64(pct(category.lat, 0.99).Microseconds()), "category_p99_µs")
	b.ReportMetric(category.wall.Seconds()/noop.wall.Seconds(), "noop/category")
	b.ReportMetric(status.wall.Seconds()/noop.wall.Seconds(), "noop/status")
	b.ReportMetric(category.cpu.Seconds()/noop.cpu.Seconds(), "cpu_noop/category")
	b.ReportMetric(status.cpu.Seconds()/noop.cpu.Seconds(), "cpu_noop/status")
}
