package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

// BenchmarkAuditThroughput measures, over the real listener and SQLite,
// one client's rate of submit_audit and of get_auditstatus against
// get_category (authenticate, read one row: the cheapest real endpoint) on
// the same server in the same run. Each iteration makes one call of each,
// interleaved so that drift in the machine hits all three alike; the
// reviewer's approval between two submissions is outside the timings.
// Read submit/noop and status/noop: the share of the no-op rate each keeps.
func BenchmarkAuditThroughput(b *testing.B) {
	e, last := benchAudit(b)
	e.approve(last)

	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	q := "?" + url.Values{"access_token": {e.tok}}.Encode()
	call := func(method, path, body string) (time.Duration, map[string]any) {
		req, _ := http.NewRequest(method, e.s.URL+path+q, bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		res, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		d := time.Since(t0)
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil || arCode(m) != 0 {
			b.Fatalf("%s: %s", path, raw)
		}
		return d, m
	}
	submitBody := `{"item_list":[` + arItem + `]}`
	statusBody := fmt.Sprintf(`{"auditid":%d}`, last)

	var noop, status, submit time.Duration
	b.ResetTimer()
	for range b.N {
		d, _ := call("GET", "/wxa/get_category", "")
		noop += d
		d, _ = call("POST", "/wxa/get_auditstatus", statusBody)
		status += d
		d, m := call("POST", "/wxa/submit_audit", submitBody)
		submit += d
		b.StopTimer()
		e.approve(arInt(b, m, "auditid"))
		b.StartTimer()
	}
	b.StopTimer()
	rate := func(d time.Duration) float64 { return float64(b.N) / d.Seconds() }
	b.ReportMetric(rate(noop), "noop/s")
	b.ReportMetric(rate(status), "status/s")
	b.ReportMetric(rate(submit), "submit/s")
	b.ReportMetric(rate(status)/rate(noop), "status/noop")
	b.ReportMetric(rate(submit)/rate(noop), "submit/noop")
	b.ReportMetric(0, "ns/op") // the three rates above are the result; ns/op mixes them
}

// benchAudit is a mini program with an audit pending, on a platform whose
// audit quota the benchmark cannot run out of.
func benchAudit(b *testing.B) (*arEnv, int64) {
	e := arSetup(b, mstest.Options{}, &miniship.Platform{AuditQuota: 1 << 30})
	e.commit("1.0.0", "")
	e.scanned()
	return e, e.submit()
}

// BenchmarkWeChatLayer prices what miniship adds to net/http on a hot
// read, without the listener and the client: ServeHTTP of the no-op, of
// get_auditstatus, and the service call get_auditstatus makes (the store
// read). status − service − noop is the WeChat layer: token, limits,
// query, body, JSON in and out, metrics, rid. Read allocs/op beside ns/op.
func BenchmarkWeChatLayer(b *testing.B) {
	e, audit := benchAudit(b)
	body := fmt.Sprintf(`{"auditid":%d}`, audit)
	target := "/wxa/get_auditstatus?access_token=" + url.QueryEscape(e.tok)

	serve := func(b *testing.B, method, target, body string, want string) {
		w := &discardWriter{h: http.Header{}}
		for b.Loop() {
			r, err := http.NewRequest(method, target, strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/json")
			clear(w.h)
			w.buf.Reset()
			e.s.API.ServeHTTP(w, r)
		}
		if !strings.Contains(w.buf.String(), want) {
			b.Fatalf("answer %s, want %s in it", w.buf.String(), want)
		}
	}
	b.Run("noop", func(b *testing.B) { serve(b, "GET", "/miniship/healthz", "", `"ok"`) })
	b.Run("status", func(b *testing.B) { serve(b, "POST", target, body, `"errcode":0`) })
	b.Run("status_service", func(b *testing.B) {
		ctx := context.Background()
		c, err := e.s.Service.Authenticate(ctx, e.tok, miniship.AuthorizerToken)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := e.s.Service.AuditStatus(ctx, c, audit); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// discardWriter is the least a ResponseWriter can be: the benchmark
// prices the handler, not a recorder.
type discardWriter struct {
	h    http.Header
	buf  bytes.Buffer
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }
