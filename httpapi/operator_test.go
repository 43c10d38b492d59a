package httpapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/outbox"
	"github.com/miniship/miniship/service"
)

// runtimeGet fetches the runtime package and returns the answer, its body
// read.
func runtimeGet(e *arEnv, appid, user, etag string) (*http.Response, []byte) {
	e.t.Helper()
	var h map[string]string
	if etag != "" {
		h = map[string]string{"If-None-Match": etag}
	}
	return e.adminRaw("GET", "/miniship/v1/runtime/"+appid+"/package?user="+user, nil, h)
}

// release commits, audits, approves and releases a version.
func (e *arEnv) releaseVersion(version string) {
	e.t.Helper()
	e.commit(version, "")
	e.scanned()
	e.decide(e.submit(), "approve", "", "")
	e.ok("POST", "/wxa/release", `{}`)
}

// TestRuntimePackage follows a mini program from nothing released through
// a release, a gray release at 10% and 50%, and a pause.
func TestRuntimePackage(t *testing.T) { mstest.Backends(t, testRuntimePackage) }

func testRuntimePackage(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	app := e.mp.AppID

	if res, b := runtimeGet(e, app, "u1", ""); res.StatusCode != 404 || !bytes.Contains(b, []byte(`"error"`)) {
		t.Fatalf("nothing released: %d %s", res.StatusCode, b)
	}
	if res, _ := runtimeGet(e, "wxnosuchapp00000", "u1", ""); res.StatusCode != 404 {
		t.Fatalf("unknown mini program: %d", res.StatusCode)
	}
	if res, _ := runtimeGet(e, app, "", ""); res.StatusCode != 400 {
		t.Fatalf("no user: %d", res.StatusCode)
	}

	e.releaseVersion("1.0.0")
	res, b := runtimeGet(e, app, "u1", "")
	if res.StatusCode != 200 || res.Header.Get("X-Miniship-Version") != "1.0.0" || res.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("released: %d %v", res.StatusCode, res.Header)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("package is not a zip: %v", err)
	}
	if f, err := zr.Open("app.json"); err != nil {
		t.Fatalf("package has no app.json: %v", err)
	} else {
		f.Close()
	}
	etag := res.Header.Get("ETag")
	if res, b := runtimeGet(e, app, "u1", etag); res.StatusCode != 304 || len(b) != 0 || res.Header.Get("ETag") != etag {
		t.Fatalf("If-None-Match %s: %d %q", etag, res.StatusCode, b)
	}
	if res, _ := runtimeGet(e, app, "u1", `"other", `+etag); res.StatusCode != 304 {
		t.Fatalf("If-None-Match list: %d", res.StatusCode)
	}
	if res, _ := runtimeGet(e, app, "u1", `"stale"`); res.StatusCode != 200 {
		t.Fatalf("stale If-None-Match: %d", res.StatusCode)
	}

	// Version 1.0.1 approved and phased in.
	e.commit("1.0.1", "")
	e.scanned()
	e.decide(e.submit(), "approve", "", "")
	// The share and the stability are properties of the bucket rule, checked
	// over 10,000 users in TestGrayShare; here the server must follow the
	// rule for every user asked.
	share := func(pct int) map[string]bool {
		t.Helper()
		e.ok("POST", "/wxa/grayrelease", fmt.Sprintf(`{"gray_percentage":%d}`, pct))
		plan := &miniship.GrayPlan{Status: miniship.GrayRunning, Percentage: pct}
		in := map[string]bool{}
		for i := range 300 {
			u := fmt.Sprintf("user-%d", i)
			p, err := e.s.Service.RuntimePackage(context.Background(), app, u)
			if err != nil {
				t.Fatal(err)
			}
			if want := service.InGray(plan, service.Bucket(app, u), false); p.Gray != want || p.Gray != (p.UserVersion == "1.0.1") {
				t.Fatalf("%s at %d%%: gray %v (version %s), want %v", u, pct, p.Gray, p.UserVersion, want)
			}
			if p.Gray {
				in[u] = true
			}
		}
		return in
	}
	at10 := share(10)
	at50 := share(50)
	for u := range at10 {
		if !at50[u] {
			t.Fatalf("%s was in the gray at 10%% but not at 50%%: users must not flip back", u)
		}
	}
	// Over HTTP, a gray user gets the new version under a new ETag.
	var grayUser, stableUser string
	for i := 0; grayUser == "" || stableUser == ""; i++ {
		if u := fmt.Sprintf("user-%d", i); at50[u] {
			grayUser = u
		} else {
			stableUser = u
		}
	}
	if res, _ := runtimeGet(e, app, grayUser, etag); res.StatusCode != 200 || res.Header.Get("X-Miniship-Version") != "1.0.1" || res.Header.Get("ETag") == etag {
		t.Fatalf("gray user: %d %v", res.StatusCode, res.Header)
	}
	if res, _ := runtimeGet(e, app, stableUser, etag); res.StatusCode != 304 || res.Header.Get("X-Miniship-Version") != "1.0.0" {
		t.Fatalf("stable user: %d %v", res.StatusCode, res.Header)
	}

	// Testers first: a bound tester outside the 50% bucket gets the gray
	// version once the plan puts experiencers first, by WeChat ID or userstr.
	plan60 := &miniship.GrayPlan{Status: miniship.GrayRunning, Percentage: 60}
	var outside []string // users outside the gray even at 60%
	for i := 0; len(outside) < 2; i++ {
		if u := fmt.Sprintf("testerwx%02d", i); !service.InGray(plan60, service.Bucket(app, u), false) {
			outside = append(outside, u)
		}
	}
	tester, other := outside[0], outside[1]
	if res, _ := runtimeGet(e, app, tester, ""); res.Header.Get("X-Miniship-Version") != "1.0.0" {
		t.Fatalf("%s before binding: %v", tester, res.Header)
	}
	e.ok("POST", "/wxa/bind_tester", fmt.Sprintf(`{"wechatid":%q}`, tester))
	if res, _ := runtimeGet(e, app, tester, ""); res.Header.Get("X-Miniship-Version") != "1.0.0" {
		t.Fatalf("a tester without testers-first: %v", res.Header)
	}
	e.ok("POST", "/wxa/grayrelease", `{"gray_percentage":60,"support_experiencer_first":true}`)
	if res, _ := runtimeGet(e, app, tester, ""); res.Header.Get("X-Miniship-Version") != "1.0.1" {
		t.Fatalf("a tester with testers-first: %v", res.Header)
	}
	if res, _ := runtimeGet(e, app, service.UserStr(tester), ""); res.Header.Get("X-Miniship-Version") != "1.0.1" {
		t.Fatalf("a tester named by userstr: %v", res.Header)
	}
	if res, _ := runtimeGet(e, app, other, ""); res.Header.Get("X-Miniship-Version") != "1.0.0" {
		t.Fatalf("a user who is no tester: %v", res.Header)
	}

	e.ok("POST", "/wxa/change_visitstatus", `{"action":"close"}`)
	if res, b := runtimeGet(e, app, "u1", ""); res.StatusCode != 403 || !bytes.Contains(b, []byte("paused")) {
		t.Fatalf("paused: %d %s", res.StatusCode, b)
	}
}

// TestGrayShare simulates 10,000 users of each of three mini programs as a
// gray release goes 10% → 50%: the share is within 2 points of the
// percentage, and nobody in the gray at 10% is out of it at 50%.
func TestGrayShare(t *testing.T) {
	const users = 10000
	for _, app := range []string{"wx0123456789abcdef", "wxshopA000000001", "wx1"} {
		var prev map[string]bool
		for _, pct := range []int{10, 50} {
			g := &miniship.GrayPlan{Status: miniship.GrayRunning, Percentage: pct}
			in := map[string]bool{}
			for i := range users {
				u := fmt.Sprintf("o%08d", i)
				if service.InGray(g, service.Bucket(app, u), false) {
					in[u] = true
				}
				if b := service.Bucket(app, u); b < 0 || b > 99 {
					t.Fatalf("Bucket(%s, %s) = %d, outside 0–99", app, u, b)
				}
			}
			if got := float64(len(in)) * 100 / users; got < float64(pct)-2 || got > float64(pct)+2 {
				t.Errorf("%s at %d%%: %.2f%% of users in the gray, want within 2 points", app, pct, got)
			}
			for u := range prev {
				if !in[u] {
					t.Fatalf("%s: user %s left the gray when it rose to %d%%", app, u, pct)
				}
			}
			prev = in
		}
	}
}

// TestInGray covers the gray rule itself, with testers first.
func TestInGray(t *testing.T) {
	running := func(pct int, first bool) *miniship.GrayPlan {
		return &miniship.GrayPlan{Status: miniship.GrayRunning, Percentage: pct, DebugerFirst: first}
	}
	tests := []struct {
		name   string
		g      *miniship.GrayPlan
		bucket int
		tester bool
		want   bool
	}{
		{"no plan", nil, 0, true, false},
		{"below", running(10, false), 9, false, true},
		{"at", running(10, false), 10, false, false},
		{"all", running(100, false), 99, false, true},
		{"tester without first", running(0, false), 50, true, false},
		{"tester first at 0%", running(0, true), 50, true, true},
		{"experiencer first", &miniship.GrayPlan{Status: miniship.GrayRunning, ExperiencerFirst: true}, 50, true, true},
		{"non-tester at 0%", running(0, true), 0, false, false},
		{"paused keeps its users", &miniship.GrayPlan{Status: miniship.GrayPaused, Percentage: 30}, 29, false, true},
		{"finished", &miniship.GrayPlan{Status: miniship.GrayFinished, Percentage: 30}, 1, false, false},
		{"reverted", &miniship.GrayPlan{Status: miniship.GrayDeleted, Percentage: 30}, 1, false, false},
	}
	for _, tc := range tests {
		if got := service.InGray(tc.g, tc.bucket, tc.tester); got != tc.want {
			t.Errorf("%s: InGray = %v, want %v", tc.name, got, tc.want)
		}
	}
	if b := service.Bucket("wxa", "u"); b != service.Bucket("wxa", "u") || b == service.Bucket("wxb", "u") && service.Bucket("wxa", "v") == service.Bucket("wxb", "v") {
		t.Error("Bucket is not a stable function of appid and user")
	}
}

// TestRedeliver fails a push for good, then resends it: the receiver gets
// the same inner message under a fresh signature.
func TestRedeliver(t *testing.T) { mstest.Backends(t, testRedeliver) }

func testRedeliver(t *testing.T, database string) {
	rcv := newArReceiver(t)
	e := arSetup(t, mstest.Options{Database: database}, &miniship.Platform{MessageURL: rcv.srv.URL + "/msg/$APPID$"})
	rcv.p = e.p
	rcv.setStatus(500)
	e.commit("1.0.0", "")
	e.scanned()
	e.decide(e.submit(), "reject", "1:请补充资料<br>", "")
	const maxAttempts = outbox.DefaultMaxAttempts
	var ev map[string]any
	for i := 1; i <= maxAttempts; i++ {
		ev = arWaitAttempts(e, "weapp_audit_fail", i)
		e.s.Advance(outbox.Backoff(i))
	}
	// The last attempt and the failed status are written in one transaction.
	if arStr(ev, "status") != miniship.EventFailed {
		t.Fatalf("after %d attempts: %v", maxAttempts, ev)
	}
	if rcv.count() != 0 {
		t.Fatalf("receiver accepted %d pushes while answering 500", rcv.count())
	}
	id := arInt(t, ev, "id")
	path := fmt.Sprintf("/miniship/v1/events/%d/redeliver", id)

	rcv.setStatus(0)
	st, m := e.admin("POST", path, nil)
	if st != 200 || arStr(m, "status") != miniship.EventPending || arInt(t, m, "attempts") != 0 {
		t.Fatalf("redeliver: %d %v", st, m)
	}
	p := rcv.wait(1) // signature and decryption checked by the receiver
	if p.Fields["Event"] != "weapp_audit_fail" || p.Fields["Reason"] != "1:请补充资料<br>" || p.Path != "/msg/"+e.mp.AppID {
		t.Fatalf("redelivered push: %+v", p)
	}
	ev = arWaitAttempts(e, "weapp_audit_fail", maxAttempts+1)
	if arStr(ev, "status") != miniship.EventDelivered {
		t.Fatalf("after redelivery: %v", ev)
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{path, 409}, // delivered: nothing to resend
		{"/miniship/v1/events/99999999/redeliver", 404},
		{"/miniship/v1/events/abc/redeliver", 400},
	} {
		if st, m := e.admin("POST", tc.path, nil); st != tc.want || arStr(m, "error") == "" {
			t.Errorf("POST %s: %d %v, want %d with an error", tc.path, st, m, tc.want)
		}
	}
	if rcv.count() != 1 {
		t.Errorf("receiver got %d pushes, want exactly 1", rcv.count())
	}
}
