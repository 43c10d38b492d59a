package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// ServerConfig describes a temporary server.
type ServerConfig struct {
	Exe      string   // the miniship binary it runs
	Database string   // empty for SQLite in its own data directory
	Extra    []string // more serve flags
	// Fleet, when positive, is how many mini programs are written straight
	// into the database before the server starts (seedFleet).
	Fleet int
	Log   io.Writer // the server's output, and the fleet's progress
}

// StartServer runs c.Exe as `serve` on a free local port with a fresh data
// directory, the database and extra serve flags, and waits until it
// answers.
func StartServer(ctx context.Context, c ServerConfig) (*Server, error) {
	dir, err := os.MkdirTemp("", "miniship-bench-")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if c.Fleet > 0 {
		dsn := c.Database
		if dsn == "" {
			if err := os.MkdirAll(data, 0o700); err != nil {
				os.RemoveAll(dir)
				return nil, err
			}
			dsn = filepath.Join(data, "miniship.db") // where serve keeps it
		}
		if err := seedFleet(ctx, dsn, c.Fleet, c.Log); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("fleet: %w", err)
		}
	}
	s := &Server{URL: "http://" + addr, AdminKey: randomHex(16), dir: dir, done: make(chan error, 1)}
	args := []string{"serve", "--addr", addr, "--data", data, "--admin-key", s.AdminKey, "--log-level", "error",
		// A short privacy scan so that submit_audit follows a commit at once.
		"--scan-duration", "1ms"}
	if c.Database != "" {
		args = append(args, "--database", c.Database)
	}
	args = append(args, c.Extra...)
	s.cmd = exec.Command(c.Exe, args...)
	s.cmd.Env = serverEnv(os.Environ())
	s.cmd.Stdout, s.cmd.Stderr = c.Log, c.Log
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
			if err == nil {
				return nil, errors.New("server exited with status 0 before answering (its output, if any, is above)")
			}
			return nil, fmt.Errorf("server exited before answering: %w", err)
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

// serverEnv is env without serve's MINISHIP_* fallbacks: the temporary
// server is configured by bench's flags alone, and must not pick up the
// operator's database, clock or faults from the environment.
func serverEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "MINISHIP_") })
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
