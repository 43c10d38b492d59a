package httpapi_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// TestReviewerAdmin covers the admin queue and decisions, and their
// refusals.
func TestReviewerAdmin(t *testing.T) { mstest.Backends(t, testReviewerAdmin) }

func testReviewerAdmin(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	e.commit("1.0.0", "")
	e.scanned()
	a := e.submit()

	st, m := e.admin("GET", "/miniship/v1/audits", nil) // status=2 by default
	audits := m["audits"].([]any)
	if st != 200 || len(audits) != 1 || arInt(t, audits[0].(map[string]any), "auditid") != a ||
		arStr(audits[0].(map[string]any), "authorizer_appid") != e.mp.AppID {
		t.Fatalf("queue: %d %v", st, m)
	}
	if _, m := e.admin("GET", "/miniship/v1/audits?status=0", nil); len(m["audits"].([]any)) != 0 {
		t.Fatalf("approved list: %v", m)
	}
	for _, c := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"GET", "/miniship/v1/audits?status=9", nil, 400},
		{"GET", "/miniship/v1/audits/x", nil, 400},
		{"GET", "/miniship/v1/audits/99999", nil, 404},
		{"POST", "/miniship/v1/audits/99999/decision", map[string]string{"result": "approve"}, 404},
		{"POST", fmt.Sprintf("/miniship/v1/audits/%d/decision", a), map[string]string{"result": "maybe"}, 400},
		{"POST", fmt.Sprintf("/miniship/v1/audits/%d/decision", a), map[string]string{"result": "approve", "screenshot": "m"}, 400},
		{"POST", fmt.Sprintf("/miniship/v1/audits/%d/decision", a), map[string]string{"result": "approve", "extra": "x"}, 400},
	} {
		if st, m := e.admin(c.method, c.path, c.body); st != c.status {
			t.Errorf("%s %s %v: %d %v, want %d", c.method, c.path, c.body, st, m, c.status)
		}
	}
	e.wantStatus(a, 2) // nothing above decided anything

	e.decide(a, "delay", "", "")
	if m := e.wantStatus(a, 4); arStr(m, "reason") == "" {
		t.Fatalf("a delay without a reason gets a default one: %v", m)
	}
	if st, _ := e.admin("POST", fmt.Sprintf("/miniship/v1/audits/%d/decision", a), map[string]string{"result": "delay"}); st != http.StatusConflict {
		t.Fatalf("delaying twice: %d", st)
	}
	e.decide(a, "reject", "", "")
	if m := e.wantStatus(a, 1); arStr(m, "reason") == "" {
		t.Fatalf("a rejection without a reason gets a default one: %v", m)
	}
	if st, _ := e.admin("POST", fmt.Sprintf("/miniship/v1/audits/%d/decision", a), map[string]string{"result": "approve"}); st != http.StatusConflict {
		t.Fatalf("deciding a decided audit: %d", st)
	}
	if _, m := e.admin("GET", "/miniship/v1/audits?status=all&authorizer="+e.mp.AppID, nil); len(m["audits"].([]any)) != 1 {
		t.Fatalf("all audits of the mini program: %v", m)
	}

	req, _ := http.NewRequest("GET", e.s.URL+"/miniship/v1/audits", nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no admin key: %v %v", res, err)
	}
}

// TestAutoReviewer checks the automatic rules: approval after the
// configured time on the server clock (half once sped up, restarting at a
// delay), and rejection of matching page titles and ext values.
func TestAutoReviewer(t *testing.T) { mstest.Backends(t, testAutoReviewer) }

func testAutoReviewer(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database, Config: service.Config{
		AutoApprove: 30 * time.Second,
		AutoReject:  regexp.MustCompile(`赌博|casino`),
	}}, nil)
	e.commit("1.0.0", "")
	e.scanned()

	a := e.submit()
	e.s.Advance(29 * time.Second)
	e.wantStatus(a, 2)
	e.s.Advance(time.Second)
	e.wantStatus(a, 0)

	// Sped up: 15 s.
	b := e.submit()
	e.ok("POST", "/wxa/speedupaudit", fmt.Sprintf(`{"auditid":%d}`, b))
	e.s.Advance(15 * time.Second)
	e.wantStatus(b, 0)

	// A reviewer's delay restarts the wait.
	c := e.submit()
	e.s.Advance(20 * time.Second)
	e.decide(c, "delay", "", "")
	e.s.Advance(20 * time.Second)
	e.wantStatus(c, 4)
	e.s.Advance(10 * time.Second)
	e.wantStatus(c, 0)

	// An item title that matches: rejected when the wait is over.
	d := arInt(t, e.ok("POST", "/wxa/submit_audit", `{"item_list":[{"address":"pages/index/index","first_id":287,"second_id":612,"title":"casino night"}]}`), "auditid")
	e.s.Advance(29 * time.Second)
	e.wantStatus(d, 2)
	e.s.Advance(time.Second)
	if m := e.wantStatus(d, 1); !strings.Contains(arStr(m, "reason"), "casino night") {
		t.Fatalf("auto rejection reason: %v", m)
	}

	// An ext value that matches.
	e.commit("1.0.1", `{"ext":{"shop":{"slogan":"线上赌博"}}}`)
	e.scanned()
	f := e.submit()
	e.s.Advance(30 * time.Second)
	if m := e.wantStatus(f, 1); !strings.Contains(arStr(m, "reason"), "线上赌博") {
		t.Fatalf("auto rejection reason: %v", m)
	}
}

// TestAutoRejectOnly checks the reject rule without auto-approval: matches
// are rejected at the next tick, the rest wait for the reviewer.
func TestAutoRejectOnly(t *testing.T) { mstest.Backends(t, testAutoRejectOnly) }

func testAutoRejectOnly(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database, Config: service.Config{AutoReject: regexp.MustCompile(`^Demo Shop$`)}}, nil)
	e.commit("1.0.0", `{"window":{"navigationBarTitleText":"Clean Shop"}}`)
	e.scanned()
	a := e.submit()
	e.s.Advance(time.Hour)
	e.wantStatus(a, 2)
	e.decide(a, "reject", "", "")
	e.commit("1.0.1", "") // the template's window title is "Demo Shop"
	e.scanned()
	b := e.submit()
	e.s.Advance(0)
	e.wantStatus(b, 1)
}

// TestAutoReviewerMany: due audits of many mini programs, decided side by
// side at one tick over pages of 7, are each decided once: approved, with
// the platform's audit quota spent once per submission; audits not yet due
// wait for their own tick.
func TestAutoReviewerMany(t *testing.T) { mstest.Backends(t, testAutoReviewerMany) }

func testAutoReviewerMany(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database, Config: service.Config{AutoApprove: 30 * time.Second, ReviewPage: 7}}, nil)
	const n, late = 40, 5
	tokens := []string{e.tok}
	for len(tokens) < n+late {
		_, tok := e.addMiniProgram(arMiniProgram())
		tokens = append(tokens, tok)
	}
	for _, tok := range tokens {
		e.commit("1.0.0", "", tok)
	}
	e.scanned()
	audits := make([]int64, n+late)
	for i, tok := range tokens[:n] {
		audits[i] = e.submit(tok)
	}
	quota := func() int64 { return arInt(t, e.ok("GET", "/wxa/queryquota", ""), "rest") }
	before := quota()
	e.s.Advance(15 * time.Second)
	for i, tok := range tokens[n:] {
		audits[n+i] = e.submit(tok)
	}
	e.s.Advance(15 * time.Second)
	for i, tok := range tokens {
		want := 0
		if i >= n {
			want = 2 // in review for 15 s of 30
		}
		e.wantStatus(audits[i], want, tok)
	}
	e.s.Advance(15 * time.Second)
	for i, tok := range tokens[n:] {
		e.wantStatus(audits[n+i], 0, tok)
	}
	if after := quota(); after != before-late {
		t.Fatalf("quota left %d after the decisions, %d before and %d submissions: a decision spent or refunded it", after, before, late)
	}
}
