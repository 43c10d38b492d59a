package rollout_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/rollout"
)

// BenchmarkRollout runs the whole pipeline over a local in-process server
// with auto-approval, at the sizes in ROLLOUT_BENCH_SIZES (default
// "1000"; e.g. "1000,5000,10000"), and reports apps/s and the peak heap in
// use during the run (sampled every 5 ms; the server shares the process,
// so this bounds the rollout's from above). Run it once per size:
//
//	ROLLOUT_BENCH_SIZES=1000,5000,10000 go test ./rollout -run '^$' -bench Rollout -benchtime 1x
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
				f := newFleet(b, n, mstest.Options{})
				p := f.plan(b, "")
				cfg := f.config(b, p, openState(b, filepath.Join(f.dir, "rollout.db")))
				if c, err := strconv.Atoi(os.Getenv("ROLLOUT_BENCH_CONCURRENCY")); err == nil {
					cfg.Concurrency = c
				}
				runtime.GC()
				var base runtime.MemStats
				runtime.ReadMemStats(&base)
				peak, stop := sampleHeap()
				b.StartTimer()
				start := time.Now()
				rep, err := rollout.Run(context.Background(), cfg)
				elapsed := time.Since(start)
				b.StopTimer()
				stop()
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
// the CLI alone are measured; sizes as for BenchmarkRollout.
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
				f := newFleet(b, n, mstest.Options{})
				plan := filepath.Join(f.dir, "plan.yaml")
				if err := os.WriteFile(plan, []byte(f.planYAML("")), 0o600); err != nil {
					b.Fatal(err)
				}
				cmd := exec.Command(bin, "rollout", plan, "--base-url", f.srv.URL, "--admin-key", f.srv.AdminKey,
					"--component-appid", f.platform.AppID, "--state", filepath.Join(f.dir, "rollout.db"),
					"--rate", "0", "--no-progress", "--report", filepath.Join(f.dir, "report.json"))
				cmd.Env = append(os.Environ(), "MINISHIP_ROLLOUT_COMPONENT_SECRET="+f.platform.Secret)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				b.StartTimer()
				start := time.Now()
				err := cmd.Start()
				var hwm int64
				if err == nil {
					hwm, err = peakRSS(cmd)
				}
				elapsed := time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatalf("rollout: %v\n%s", err, out.String())
				}
				b.ReportMetric(float64(n)/elapsed.Seconds(), "apps/s")
				b.ReportMetric(float64(hwm)/1024, "peak-rss-MB")
				// The CLI's own CPU (user+system, from its rusage), apart
				// from the server's that shares the machine.
				cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cli-cpu-µs/app")
				b.StartTimer()
			}
		})
	}
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
