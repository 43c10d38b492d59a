package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	e := arSetup(b, mstest.Options{}, &miniship.Platform{AuditQuota: 1 << 30})
	e.commit("1.0.0", "")
	e.scanned()
	last := e.submit()
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
