package rollout_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/rollout"
)

// BenchmarkRollout runs the whole pipeline over a local in-process server
// with auto-approval, at the sizes in ROLLOUT_BENCH_SIZES (default
// "1000"; e.g. "1000,5000,10000"), and reports apps/s, the server calls per
// app and the peak heap in use during the run (sampled every 5 ms; the
// server shares the process, so this bounds the rollout's from above). Run
// it once per size:
//
//	ROLLOUT_BENCH_SIZES=1000,5000,10000 go test ./rollout -run '^$' -bench Rollout -benchtime 1x
//
// ROLLOUT_BENCH_WAITS=1s runs the server like `miniship serve
// --scan-duration 1s --auto-approve 1s` (wall clock, a reviewer tick a
// second) with the plan polling every 1s; by default the server clock runs
// fast and scans and audits take a millisecond. ROLLOUT_BENCH_CPUPROFILE
// names a file for a CPU profile of the run alone (not the fleet's setup).
func BenchmarkRollout(b *testing.B) {
	sizes := os.Getenv("ROLLOUT_BENCH_SIZES")
	if sizes == "" {
		sizes = "1000"
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				f := newBenchFleet(b, n)
				p := f.plan(b, "")
				cfg := f.config(b, p, openState(b, filepath.Join(f.dir, "rollout.db")))
				if c, err := strconv.Atoi(os.Getenv("ROLLOUT_BENCH_CONCURRENCY")); err == nil {
					cfg.Concurrency = c
				}
				runtime.GC()
				var base runtime.MemStats
				runtime.ReadMemStats(&base)
				peak, stop := sampleHeap()
				calls := f.serverCalls(b)
				stopProfile := startProfile(b, "ROLLOUT_BENCH_CPUPROFILE")
				b.StartTimer()
				start := time.Now()
				rep, err := rollout.Run(context.Background(), cfg)
				elapsed := time.Since(start)
				b.StopTimer()
				stopProfile()
				stop()
				f.reportCalls(b, calls, n)
				if err != nil || !rep.OK() {
					b.Fatalf("run: %v, %d/%d succeeded", err, rep.Succeeded, n)
				}
				b.ReportMetric(float64(n)/elapsed.Seconds(), "apps/s")
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(base.HeapInuse)/(1<<20), "start-heap-MB")
				b.StartTimer()
			}
		})
	}
}

// sampleHeap records the largest HeapInuse until stop is called.
func sampleHeap() (*atomic.Uint64, func()) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return &peak, func() { close(done); wg.Wait() }
}

// BenchmarkRolloutCLI runs `miniship rollout` as its own process against
// the in-process server, so the peak resident memory and the CPU time of
// the CLI alone are measured; sizes and variables as for BenchmarkRollout
// (ROLLOUT_BENCH_CPUPROFILE profiles the CLI, ROLLOUT_BENCH_SERVER_CPUPROFILE
// this process: the server).
func BenchmarkRolloutCLI(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "github.com/miniship/miniship")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/miniship/miniship/cmd/miniship").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	sizes := os.Getenv("ROLLOUT_BENCH_SIZES")
	if sizes == "" {
		sizes = "1000"
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				f := newBenchFleet(b, n)
				plan := filepath.Join(f.dir, "plan.yaml")
				if err := os.WriteFile(plan, []byte(f.planYAML("")), 0o600); err != nil {
					b.Fatal(err)
				}
				cmd := exec.Command(bin, "rollout", plan, "--base-url", f.srv.URL, "--admin-key", f.srv.AdminKey,
					"--component-appid", f.platform.AppID, "--state", filepath.Join(f.dir, "rollout.db"),
					"--rate", "0", "--no-progress", "--report", filepath.Join(f.dir, "report.json"))
				if prof := os.Getenv("ROLLOUT_BENCH_CPUPROFILE"); prof != "" {
					cmd.Args = append(cmd.Args, "--cpuprofile", prof)
				}
				if c := os.Getenv("ROLLOUT_BENCH_CONCURRENCY"); c != "" {
					cmd.Args = append(cmd.Args, "--concurrency", c)
				}
				cmd.Env = append(os.Environ(), "MINISHIP_ROLLOUT_COMPONENT_SECRET="+f.platform.Secret)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				calls := f.serverCalls(b)
				var before syscall.Rusage
				syscall.Getrusage(syscall.RUSAGE_SELF, &before)
				stopProfile := startProfile(b, "ROLLOUT_BENCH_SERVER_CPUPROFILE")
				b.StartTimer()
				start := time.Now()
				err := cmd.Start()
				var hwm int64
				if err == nil {
					hwm, err = peakRSS(cmd)
				}
				elapsed := time.Since(start)
				b.StopTimer()
				stopProfile()
				if err != nil {
					b.Fatalf("rollout: %v\n%s", err, out.String())
				}
				f.reportCalls(b, calls, n)
				b.ReportMetric(float64(n)/elapsed.Seconds(), "apps/s")
				b.ReportMetric(float64(hwm)/1024, "peak-rss-MB")
				// The CLI's own CPU (user+system, from its rusage), apart
				// from the server's that shares the machine.
				cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cli-cpu-µs/app")
				// The server's: this process's, its clock's ticks included.
				var after syscall.Rusage
				syscall.Getrusage(syscall.RUSAGE_SELF, &after)
				b.ReportMetric(float64(cpuµs(after)-cpuµs(before))/float64(n), "server-cpu-µs/app")
				b.StartTimer()
			}
		})
	}
}

func cpuµs(r syscall.Rusage) int64 {
	return r.Utime.Sec*1e6 + r.Utime.Usec + r.Stime.Sec*1e6 + r.Stime.Usec
}

// peakRSS waits for cmd and returns its VmHWM in KiB, sampled from /proc
// every 10 ms (getrusage's maxrss would be the forking test's: Linux keeps
// it across exec).
func peakRSS(cmd *exec.Cmd) (int64, error) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	var hwm int64
	for {
		if b, err := os.ReadFile(status); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
					hwm = max(hwm, kb)
				}
			}
		}
		select {
		case err := <-done:
			return hwm, err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// newBenchFleet is the fleet of ROLLOUT_BENCH_WAITS (see BenchmarkRollout).
func newBenchFleet(b *testing.B, n int) *fleet {
	var waits time.Duration
	if v := os.Getenv("ROLLOUT_BENCH_WAITS"); v != "" {
		var err error
		if waits, err = time.ParseDuration(v); err != nil {
			b.Fatal(err)
		}
	}
	return newFleetWaits(b, n, mstest.Options{}, waits)
}

// startProfile starts a CPU profile of this process into the file the
// variable env names, if set; the returned func stops it.
func startProfile(b *testing.B, env string) func() {
	path := os.Getenv(env)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// serverCalls reads the server's request counters and time per route from
// /metrics.
func (f *fleet) serverCalls(b *testing.B) map[string][2]float64 {
	res, err := http.Get(f.srv.URL + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string][2]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := 0
		switch {
		case strings.HasPrefix(line, "miniship_http_requests_total{"):
		case strings.HasPrefix(line, "miniship_http_request_duration_seconds_sum{"):
			i = 1
		default:
			continue
		}
		_, rest, _ := strings.Cut(line, `path="`)
		path, _, _ := strings.Cut(rest, `"`)
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			b.Fatal(err)
		}
		c := out[path]
		c[i] += v
		out[path] = c
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}

// reportCalls reports the server calls per app since before (from
// serverCalls) and logs them by route with the server's time per app.
func (f *fleet) reportCalls(b *testing.B, before map[string][2]float64, n int) {
	after := f.serverCalls(b)
	paths := make([]string, 0, len(after))
	total := 0.0
	for p, c := range after {
		c[0] -= before[p][0]
		c[1] -= before[p][1]
		after[p] = c
		if c[0] > 0 && p != "/metrics" {
			paths = append(paths, p)
			total += c[0]
		}
	}
	slices.SortFunc(paths, func(x, y string) int { return cmp.Compare(after[y][1], after[x][1]) })
	var sb strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&sb, "\n  %-45s %6.2f calls/app %7.0f µs/app server time", p, after[p][0]/float64(n), after[p][1]*1e6/float64(n))
	}
	b.Logf("server calls by route:%s", sb.String())
	b.ReportMetric(total/float64(n), "calls/app")
}
