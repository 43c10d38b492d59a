package main

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMWithSlowClient: a client stalled in the middle of its request
// body does not turn SIGTERM into a failure. After the shutdown timeout
// the server closes the connection and exits 0; it used to exit non-zero
// with "context deadline exceeded".
func TestSIGTERMWithSlowClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "miniship")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	srv := exec.Command(bin, "serve", "--data", filepath.Join(dir, "data"), "--addr", addr, "--admin-key", "killkey",
		"--log-level", "error", "--shutdown-timeout", "200ms")
	srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill() })
	waitUp(t, addr)

	// The handler is reading the body (it asked for it with 100 Continue)
	// when the signal comes; the client never sends the rest.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /miniship/v1/platforms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer killkey\r\n" +
		"Content-Type: application/json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("want 100 Continue, got %q %v", line, err)
	}
	conn.Write([]byte(`{"appid":`))

	srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Fatalf("SIGTERM with a stalled client: %v (want exit status 0)", err)
	}
	if _, err := r.ReadString('\n'); err == nil {
		// The blank line after 100 Continue; the connection must then end.
		if rest, err := r.ReadString('\n'); err == nil {
			t.Fatalf("the connection stayed open after exit: %q", rest)
		}
	}
}

// waitUp polls the health endpoint until the server answers.
func waitUp(t *testing.T, addr string) {
	t.Helper()
	for range 200 {
		if res, err := http.Get("http://" + addr + "/miniship/healthz"); err == nil {
			res.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server did not come up")
}
