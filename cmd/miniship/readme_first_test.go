package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestReadmeFirstCommand runs the README's very first command as written
// (the harness skips that block because the server stays in the
// foreground): from the repository root, with the address and data
// directory moved by their environment fallbacks so it cannot collide with
// anything, it must answer /miniship/healthz; the second line must be the
// test command CI runs.
func TestReadmeFirstCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and starts the server")
	}
	needTools(t, "bash")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	secs, err := parseReadme(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if len(secs) == 0 || len(secs[0].blocks) == 0 {
		t.Fatal("the README does not start with a command block")
	}
	lines := strings.Split(strings.TrimSpace(secs[0].blocks[0].body), "\n")
	if len(lines) != 2 {
		t.Fatalf("the first block has %d lines, want the two commands", len(lines))
	}
	serve, _, _ := strings.Cut(lines[0], "#")
	serve = strings.TrimSpace(serve)
	if serve != "go run ./cmd/miniship serve --demo" {
		t.Fatalf("first command %q", serve)
	}
	if test, _, _ := strings.Cut(lines[1], "#"); strings.TrimSpace(test) != "go test ./..." {
		t.Fatalf("second command %q, want go test ./...", test)
	}

	addr := freeAddr(t)
	cmd := exec.Command("bash", "-c", serve)
	cmd.Dir = filepath.Dir(readmePath)
	cmd.Env = append(os.Environ(), "MINISHIP_ADDR="+addr, "MINISHIP_DATA="+t.TempDir(), "MINISHIP_LOG_LEVEL=error")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // go run's child too
	out := &syncBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	// Compiling can take a while on a busy machine: wait for the server or
	// for the command to end, not for a fixed time.
	for deadline := time.Now().Add(4 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the command ended (%v) before serving:\n%s", err, out.String())
		default:
		}
		if res, err := http.Get("http://" + addr + "/miniship/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer on %s after 4 minutes:\n%s", addr, out.String())
		}
	}
	if !strings.Contains(out.String(), "miniship demo data") {
		t.Errorf("serve --demo did not print the demo data:\n%s", out.String())
	}
}

// syncBuf collects a process's output for failure messages.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
