package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Server is a temporary `miniship serve` in its own process.
type Server struct {
	URL      string
	AdminKey string
	PID      int
	cmd      *exec.Cmd
	dir      string
	done     chan error
}

// StartServer runs exe (a miniship binary) as `serve` on a free local port
// with a fresh data directory, database (empty for SQLite in that
// directory) and extra serve flags, and waits until it answers.
func StartServer(ctx context.Context, exe, database string, extra []string, log io.Writer) (*Server, error) {
	dir, err := os.MkdirTemp("", "miniship-bench-")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{URL: "http://" + addr, AdminKey: randomHex(16), dir: dir, done: make(chan error, 1)}
	args := []string{"serve", "--addr", addr, "--data", filepath.Join(dir, "data"), "--admin-key", s.AdminKey, "--log-level", "error",
		// A short privacy scan so that submit_audit follows a commit at once.
		"--scan-duration", "1ms"}
	if database != "" {
		args = append(args, "--database", database)
	}
	args = append(args, extra...)
	s.cmd = exec.Command(exe, args...)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.PID = s.cmd.Process.Pid
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.URL + "/miniship/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("server exited before answering: %v", err)
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("server did not answer on %s within 30 s", addr)
		}
	}
}

// Stop ends the server (SIGTERM, then SIGKILL after 10 s) and removes its
// data directory.
func (s *Server) Stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		err = <-s.done
	}
	os.RemoveAll(s.dir)
	return err
}

// freeAddr picks a free loopback port. Another process could take it before
// the server binds it; the server then fails to start and says so.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}
