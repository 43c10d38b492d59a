package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship/mstest"
)

// The benchmarks of this file measure what one tenant's large requests do
// to another tenant and to the server's memory. They report times and
// ratios, never assert them: run with -benchtime 1x, the phases are timed
// inside (MINISHIP_BENCH_SECONDS, default 3).
//
//	go test ./httpapi -run '^$' -bench 'Fair|BodyMemory' -benchtime 1x -v

// fairTenants is a victim platform with one mini program and an attacker
// platform with eight, as the outside probe had them.
type fairTenants struct {
	s           *mstest.Server
	victim      string // the victim's authorizer token
	victimTpl   int64
	attackers   []string
	attackerTpl int64
}

func newFairTenants(b *testing.B, o mstest.Options) *fairTenants {
	s := mstest.New(b, o)
	f := &fairTenants{s: s}
	vp := s.Platform(b, nil)
	f.victimTpl = s.Template(b, vp.AppID, nil, 0)
	app, refresh := s.MiniProgram(b, vp.AppID, nil)
	f.victim = authorizerTokenB(b, s, componentTokenB(b, s, vp.AppID, vp.Secret), vp.AppID, app.AppID, refresh)
	ap := s.Platform(b, nil)
	f.attackerTpl = s.Template(b, ap.AppID, nil, 0)
	ctoken := componentTokenB(b, s, ap.AppID, ap.Secret)
	for range 8 {
		app, refresh := s.MiniProgram(b, ap.AppID, nil)
		f.attackers = append(f.attackers, authorizerTokenB(b, s, ctoken, ap.AppID, app.AppID, refresh))
	}
	return f
}

// padCommit is a commit's JSON body whose ext_json carries pad.
func padCommit(tpl int64, pad string) []byte {
	ext := `{"extAppid":"x","ext":{"pad":"` + pad + `"},"requiredPrivateInfos":[]}`
	return fmt.Appendf(nil, `{"template_id":%d,"ext_json":%s,"user_version":"1.0","user_desc":"fair"}`, tpl, extJSON(ext))
}

// bigExt is a pad that makes ext_json 1,000,021 bytes, the probe's size.
func bigExt() string {
	return strings.Repeat("a", 1_000_021-len(`{"extAppid":"x","ext":{"pad":""},"requiredPrivateInfos":[]}`))
}

// fairPost sends body and fails the benchmark on anything but errcode 0.
func fairPost(b *testing.B, hc *http.Client, url string, body []byte, ctype string) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	res, err := hc.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Contains(out, []byte(`"errcode":0`)) && bytes.Contains(out, []byte(`"errcode":`)) {
		b.Errorf("%s: %s", url[:strings.IndexByte(url, '?')], out)
	}
}

// victimLatencies runs the victim's commits and get_category, each back
// to back in a client of its own, for d; it returns their sorted latencies.
func (f *fairTenants) victimLatencies(b *testing.B, d time.Duration) (commit, category []time.Duration) {
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	body := padCommit(f.victimTpl, "v")
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	wg.Go(func() {
		for time.Now().Before(end) {
			t0 := time.Now()
			fairPost(b, hc, f.s.URL+"/wxa/commit?access_token="+f.victim, body, "application/json")
			commit = append(commit, time.Since(t0))
		}
	})
	wg.Go(func() {
		for time.Now().Before(end) {
			t0 := time.Now()
			res, err := hc.Get(f.s.URL + "/wxa/get_category?access_token=" + f.victim)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			category = append(category, time.Since(t0))
		}
	})
	wg.Wait()
	slices.Sort(commit)
	slices.Sort(category)
	return commit, category
}

// attack runs workers clients that commit body on the attacker's mini
// programs until stop is called, which returns how many commits were made.
func (f *fairTenants) attack(b *testing.B, workers int, body []byte) (stop func() int64) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			url := f.s.URL + "/wxa/commit?access_token=" + f.attackers[w%len(f.attackers)]
			for ctx.Err() == nil {
				fairPost(b, hc, url, body, "application/json")
				n.Add(1)
			}
		})
	}
	return func() int64 {
		cancel()
		wg.Wait()
		hc.CloseIdleConnections()
		return n.Load()
	}
}

func benchSeconds() time.Duration {
	return time.Duration(envIntB("MINISHIP_BENCH_SECONDS", 3)) * time.Second
}

// BenchmarkFairCommit measures the victim's small commits and get_category
// alone, then while the attacker's 16 clients commit ext_json of
// 1,000,021 bytes, then of 60,000 (several share the turns at the
// processors: turns.go), then "{}"-sized ones (the control: no turns).
// Read the *_x ratios: the victim's latency under each load over alone.
func BenchmarkFairCommit(b *testing.B) { fairCommit(b, mstest.Options{}) }

// BenchmarkFairCommitPostgres is BenchmarkFairCommit on PostgreSQL
// (MINISHIP_TEST_POSTGRES).
func BenchmarkFairCommitPostgres(b *testing.B) {
	fairCommit(b, mstest.Options{Database: mstest.PostgresDSN(b)})
}

func fairCommit(b *testing.B, o mstest.Options) {
	f := newFairTenants(b, o)
	d := benchSeconds()
	f.victimLatencies(b, d/3) // warm the caches and connections
	alone, aloneCat := f.victimLatencies(b, d)
	report := func(name string, commit, cat []time.Duration) {
		ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
		b.ReportMetric(ms(pct(commit, .5)), name+"_commit_p50_ms")
		b.ReportMetric(ms(pct(commit, .99)), name+"_commit_p99_ms")
		b.ReportMetric(ms(pct(cat, .5)), name+"_category_p50_ms")
		b.ReportMetric(ms(pct(cat, .99)), name+"_category_p99_ms")
		if name != "alone" {
			b.ReportMetric(float64(pct(commit, .5))/float64(pct(alone, .5)), name+"_commit_p50_x")
			b.ReportMetric(float64(pct(commit, .99))/float64(pct(alone, .99)), name+"_commit_p99_x")
			b.ReportMetric(float64(pct(cat, .5))/float64(pct(aloneCat, .5)), name+"_category_p50_x")
			b.ReportMetric(float64(pct(cat, .99))/float64(pct(aloneCat, .99)), name+"_category_p99_x")
		}
	}
	report("alone", alone, aloneCat)
	for _, load := range []struct {
		name string
		body []byte
	}{
		{"big", padCommit(f.attackerTpl, bigExt())},
		{"medium", padCommit(f.attackerTpl, strings.Repeat("a", 60_000))}, // takes a turn of its 60 KB
		{"small", padCommit(f.attackerTpl, "a")},
	} {
		stop := f.attack(b, 16, load.body)
		time.Sleep(d / 6) // let the attack reach its pace
		commit, cat := f.victimLatencies(b, d)
		n := stop()
		report(load.name, commit, cat)
		b.ReportMetric(float64(n)/(d+d/6).Seconds(), load.name+"_attacker_commits/s")
	}
}

// heapPeak samples the Go heap's bytes in use until stopped and returns
// the highest sample, and the process's peak RSS (VmHWM, reset at start
// where the kernel allows it).
func heapPeak() (stop func() (heap, rss uint64)) {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() (uint64, uint64) {
		close(done)
		wg.Wait()
		return peak, vmStatus("VmHWM")
	}
}

// vmStatus is a size of /proc/self/status in bytes, VmRSS or VmHWM (0 off
// Linux).
func vmStatus(key string) uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkBodyMemory measures the server's memory with many large bodies
// in flight at once: 64 concurrent commits of 1.9 MB bodies (an ext_json
// of escaped quotes), then 48 concurrent uploadmedia of a 10 MB video,
// all from the attacker's mini programs. It reports the highest Go heap
// (objects) seen and the process's peak RSS, both less what they were
// before; the clients share one copy of each body, so nearly all of it is
// the server's.
func BenchmarkBodyMemory(b *testing.B) {
	f := newFairTenants(b, mstest.Options{})
	video := make([]byte, 10<<20)
	copy(video, "\x00\x00\x00\x18ftypmp42")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("media", "v.mp4")
	fw.Write(video)
	mw.Close()
	upload, uploadType := buf.Bytes(), mw.FormDataContentType()
	video = nil
	quotes := padCommit(f.attackerTpl, strings.Repeat(`\"`, 475_000))
	for _, c := range []struct {
		name, path, ctype string
		n                 int
		body              []byte
	}{
		{"commit", "/wxa/commit", "application/json", 64, quotes},
		{"upload", "/wxa/uploadmedia", uploadType, 48, upload},
	} {
		debug.FreeOSMemory()
		base := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(base)
		stop := heapPeak()
		rss0 := vmStatus("VmRSS")
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.n}}
		start := time.Now()
		var wg sync.WaitGroup
		for i := range c.n {
			wg.Go(func() {
				fairPost(b, hc, f.s.URL+c.path+"?access_token="+f.attackers[i%len(f.attackers)], c.body, c.ctype)
			})
		}
		wg.Wait()
		took := time.Since(start)
		heap, rss := stop()
		hc.CloseIdleConnections()
		b.ReportMetric(float64(heap-min(heap, base[0].Value.Uint64()))/(1<<20), c.name+"_heap_peak_MiB")
		b.ReportMetric(float64(rss-min(rss, rss0))/(1<<20), c.name+"_rss_growth_MiB")
		b.ReportMetric(took.Seconds(), c.name+"_s")
		b.Logf("%s: %d bodies of %.2f MB in %s", c.name, c.n, float64(len(c.body))/1e6, took.Round(time.Millisecond))
	}
}
