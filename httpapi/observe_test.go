package httpapi_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/miniship/miniship/mstest"
)

// syncBuffer is a log sink the server's goroutines write to while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestMetricsAndAccessLog makes WeChat and admin calls, then reads /metrics
// and the access log: counts by route and errcode, the outbox gauges, the
// pool and runtime metrics, and a log line whose rid is the errmsg's.
func TestMetricsAndAccessLog(t *testing.T) {
	var logs syncBuffer
	e := arSetup(t, mstest.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, nil)
	e.commit("1.0.0", "")
	bad := e.call("POST", "/wxa/commit", `{"template_id":99999}`, "not-a-token-secret")
	rid := regexp.MustCompile(`rid: (\S+)`).FindStringSubmatch(arStr(bad, "errmsg"))
	if rid == nil {
		t.Fatalf("no rid in %v", bad)
	}
	e.admin("GET", "/miniship/v1/events", nil)

	res, err := http.Get(e.s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`miniship_http_requests_total{errcode="0",path="/wxa/commit",status="200"} 1`,
		`miniship_http_requests_total{errcode="40001",path="/wxa/commit",status="200"} 1`,
		`miniship_http_requests_total{errcode="",path="GET /miniship/v1/events",status="200"} 1`,
		`miniship_http_request_duration_seconds_count{path="/wxa/commit"} 2`,
		`miniship_outbox_events{status="failed"} 0`,
		`miniship_commit_engine_seconds_count 1`, // the good commit; the bad token never reached the engine
		`miniship_outbox_scrape_ok 1`,
		`go_sql_open_connections{db_name="writer"}`,
		`go_goroutines `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !regexp.MustCompile(`miniship_outbox_events\{status="pending"\} \d`).Match(body) {
		t.Error("/metrics lacks the pending count")
	}

	log := logs.String()
	line := ""
	for l := range strings.Lines(log) {
		if strings.Contains(l, "rid="+rid[1]) && strings.Contains(l, "msg=http") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no access log line with rid %s in:\n%s", rid[1], log)
	}
	for _, want := range []string{"level=INFO", "method=POST", "path=/wxa/commit", "errcode=40001", "status=200", "duration="} {
		if !strings.Contains(line, want) {
			t.Errorf("access log line lacks %s: %s", want, line)
		}
	}
	for _, secret := range []string{"not-a-token-secret", e.tok, e.s.AdminKey} {
		if strings.Contains(log, secret) {
			t.Errorf("the log contains a secret %q", secret)
		}
	}
}
