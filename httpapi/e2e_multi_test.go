package httpapi_test

// Multi-instance safety on PostgreSQL: two in-process servers share one
// database schema, as several `miniship serve --database postgres://…`
// processes behind a load balancer do. Each server has its own manual
// clock; the tests keep them in step (pair.advance). Nothing here runs on
// SQLite, which is single-server by design.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

// mPair is two servers on one PostgreSQL schema, with a platform and a
// template created on the first before the second started.
type mPair struct {
	s   [2]*mstest.Server
	p   *miniship.Platform
	tpl int64
}

// newPair starts the first server (which migrates the fresh schema),
// creates the platform p (nil for a default one) and the demo template on
// it, and only then starts the second server on the same DSN: its
// migration run must find the schema current and leave the data alone.
func newPair(t *testing.T, cfg service.Config, limits httpapi.Limits, p *miniship.Platform) *mPair {
	t.Helper()
	dsn := mstest.PostgresDSN(t)
	o := mstest.Options{Database: dsn, Config: cfg, Limits: limits}
	e := &mPair{}
	e.s[0] = mstest.New(t, o)
	e.p = e.s[0].Platform(t, p)
	e.tpl = e.s[0].Template(t, e.p.AppID, nil, 0)
	e.s[1] = mstest.New(t, o)
	if a, b := e.s[0].Ticket(t, e.p.AppID), e.s[1].Ticket(t, e.p.AppID); a == "" || a != b {
		t.Fatalf("second server sees ticket %q, first %q: its start-up migration lost data", b, a)
	}
	return e
}

// advance moves both clocks by d and then ticks both servers at the same
// moment, as two servers' once-a-second tickers would.
func (e *mPair) advance(d time.Duration) {
	for _, s := range e.s {
		s.Clock.Advance(d)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, s := range e.s {
		wg.Go(func() {
			<-start
			s.Service.Tick(context.Background())
		})
	}
	close(start)
	wg.Wait()
}

// miniProgram registers a mini program (through server 0) and returns its
// appid and an authorizer token issued by server i.
func (e *mPair) miniProgram(t *testing.T, i int) (string, string) {
	t.Helper()
	a, refresh := e.s[0].MiniProgram(t, e.p.AppID, arMiniProgram())
	ctoken := componentToken(t, e.s[i], e.p.AppID, e.p.Secret)
	return a.AppID, authorizerToken(t, e.s[i], ctoken, e.p.AppID, a.AppID, refresh)
}

// mCall is a WeChat call that is safe in a goroutine: it reports failures
// instead of ending the test. It returns the errcode and the answer.
func mCall(s *mstest.Server, method, path, token, body string) (int, map[string]any, error) {
	u := s.URL + path + "?" + url.Values{"access_token": {token}}.Encode()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return 0, nil, fmt.Errorf("%s: HTTP %d %q", path, res.StatusCode, b)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return 0, nil, fmt.Errorf("%s: not JSON: %q", path, b)
	}
	return arCode(m), m, nil
}

// together runs n calls at once, call i on server i%2, and counts the
// errcodes they answered.
func (e *mPair) together(t *testing.T, n int, call func(i int, s *mstest.Server) (int, map[string]any, error)) map[int]int {
	t.Helper()
	var (
		mu    sync.Mutex
		codes = map[int]int{}
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			code, m, err := call(i, e.s[i%2])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("call %d: %v", i, err)
				return
			}
			if code != 0 && !strings.Contains(arStr(m, "errmsg"), " rid: ") {
				t.Errorf("call %d: errmsg without rid: %v", i, m)
			}
			codes[code]++
		})
	}
	close(start)
	wg.Wait()
	return codes
}

func commitBody(tpl int64, version string) string {
	return fmt.Sprintf(`{"template_id":%d,"ext_json":%s,"user_version":%q,"user_desc":"multi"}`,
		tpl, extJSON(`{"ext":{"shopName":"Multi"}}`), version)
}

// (a) Commits of one mini program spread over both servers while one
// commit is building: the claim lives in the database, so exactly one of
// them wins and every other gets 9402202, whichever server it reached. The
// build is held open by a gate the test releases once every other commit
// has answered, so no machine is too slow for the window.
func TestMultiInstanceCommitLock(t *testing.T) {
	gate := &mstest.BuildGate{}
	e := newPair(t, service.Config{CommitBuild: gate.Build}, httpapi.Limits{}, nil)
	_, atok := e.miniProgram(t, 0)
	for i, s := range e.s { // each server parses the template once
		arWant(t, wx(t, s, "POST", "/wxa/commit", tok(atok), commitBody(e.tpl, fmt.Sprintf("warm.%d", i))), 0)
	}
	const n = 20
	for round := range 3 {
		gate.Hold()
		type answer struct{ code int }
		answers := make(chan answer, n)
		for i := range n {
			go func() {
				code, m, err := mCall(e.s[i%2], "POST", "/wxa/commit", atok, commitBody(e.tpl, fmt.Sprintf("%d.%d", round, i)))
				if err != nil {
					t.Errorf("call %d: %v", i, err)
				} else if code != 0 && !strings.Contains(arStr(m, "errmsg"), " rid: ") {
					t.Errorf("call %d: errmsg without rid: %v", i, m)
				}
				answers <- answer{code}
			}()
		}
		codes := map[int]int{}
		for range n - 1 { // the winner is held in its build until released
			codes[(<-answers).code]++
		}
		gate.Release()
		codes[(<-answers).code]++
		if codes[0] != 1 || codes[int(wxerr.ConcurrentLimit)] != n-1 {
			t.Errorf("round %d: %d concurrent commits over two servers answered %v, want 1×0 and %d×9402202", round, n, codes, n-1)
		}
	}
	// Both servers show the last round's winner as the experience version.
	for i, s := range e.s {
		_, m, err := mCall(s, "POST", "/wxa/getversioninfo", atok, `{}`)
		if err != nil {
			t.Fatal(err)
		}
		exp, _ := m["exp_info"].(map[string]any)
		if v := arStr(exp, "exp_version"); !strings.HasPrefix(v, "2.") {
			t.Fatalf("server %d: experience version %q, want round 2's winner (%v)", i, v, m)
		}
	}
}

// (b) Tokens and tickets live in the database: whatever one server issues,
// the other accepts.
func TestMultiInstanceTokens(t *testing.T) {
	e := newPair(t, service.Config{}, httpapi.Limits{}, nil)
	a, refresh := e.s[0].MiniProgram(t, e.p.AppID, arMiniProgram())

	// The ticket issued by server 0 buys a component token on server 1;
	// that token works on server 0.
	c1 := componentToken(t, e.s[1], e.p.AppID, e.p.Secret)
	t0 := authorizerToken(t, e.s[0], c1, e.p.AppID, a.AppID, refresh)
	// An authorizer token from server 0 works on server 1 and vice versa.
	c0 := componentToken(t, e.s[0], e.p.AppID, e.p.Secret)
	t1 := authorizerToken(t, e.s[1], c0, e.p.AppID, a.AppID, refresh)
	for _, tc := range []struct {
		s   *mstest.Server
		tok string
	}{{e.s[1], t0}, {e.s[0], t1}} {
		arWant(t, wx(t, tc.s, "POST", "/wxa/commit", tok(tc.tok), commitBody(e.tpl, "1.0")), 0)
		arWant(t, wx(t, tc.s, "GET", "/wxa/get_page", tok(tc.tok), ""), 0)
	}
	// A ticket pushed by server 1 is the one server 0 reports and accepts.
	st, m := admin(t, e.s[1], "POST", "/miniship/v1/platforms/"+e.p.AppID+"/ticket", nil)
	if st != http.StatusOK {
		t.Fatalf("push ticket on server 1: %d %v", st, m)
	}
	if got := e.s[0].Ticket(t, e.p.AppID); got != m["component_verify_ticket"] {
		t.Fatalf("server 0 sees ticket %q, server 1 issued %v", got, m)
	}
	componentToken(t, e.s[0], e.p.AppID, e.p.Secret)
	// Expiry follows the clock of the server asked: past the TTL on both,
	// both answer 42001.
	e.advance(2*time.Hour + time.Second)
	for _, s := range e.s {
		arWant(t, wx(t, s, "GET", "/wxa/get_page", tok(t0), ""), int(wxerr.AccessTokenExpired))
	}
}

// (c) The outbox: both servers' deliverers poll the same events table.
// Claims are FOR UPDATE SKIP LOCKED plus a lease, so with a healthy
// receiver no event reaches it twice. A ticket push replaces the
// platform's undelivered ones, so of 51 tickets issued at once some are
// never sent; every one that stays in the outbox arrives once, and the
// newest arrives.
func TestMultiInstanceOutboxOnce(t *testing.T) {
	rc := newArReceiver(t)
	p := &miniship.Platform{AppID: "wxmultiout" + fmt.Sprint(time.Now().UnixNano()%1e6),
		Token: "multitoken", EncodingAESKey: strings.Repeat("k", 43)}
	p.AuthEventURL = rc.srv.URL + "/auth"
	p.MessageURL = rc.srv.URL + "/msg"
	cp := *p
	rc.p = &cp // before the first push can arrive
	e := newPair(t, service.Config{}, httpapi.Limits{}, p)

	// 50 ticket pushes, half through each server, all at once.
	const n = 50
	var mu sync.Mutex
	issued := map[string]bool{e.s[0].Ticket(t, e.p.AppID): true} // the platform's first
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := e.s[i%2]
			req, _ := http.NewRequest("POST", s.URL+"/miniship/v1/platforms/"+e.p.AppID+"/ticket", nil)
			req.Header.Set("Authorization", "Bearer "+s.AdminKey)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var m map[string]string
			if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != 200 {
				t.Errorf("push ticket: %d %v %v", res.StatusCode, m, err)
				return
			}
			mu.Lock()
			issued[m["component_verify_ticket"]] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(issued) != n+1 {
		t.Fatalf("%d distinct tickets issued, want %d", len(issued), n+1)
	}
	newest := e.s[0].Ticket(t, e.p.AppID)
	received := func() (map[string]int, int) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		got := map[string]int{}
		for _, p := range rc.got {
			got[p.Fields["ComponentVerifyTicket"]]++
		}
		return got, rc.hits
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got, _ := received(); got[newest] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the newest ticket's push did not arrive")
		}
	}
	// Give both deliverers (20 ms polls) many more rounds to misbehave.
	time.Sleep(500 * time.Millisecond)
	got, hits := received()
	for tk, k := range got {
		if !issued[tk] || k != 1 {
			t.Errorf("ticket %.20s… (issued %v) delivered %d times, want once", tk, issued[tk], k)
		}
	}
	if hits != len(got) {
		t.Errorf("receiver got %d distinct tickets in %d requests", len(got), hits)
	}
	// The outbox agrees: every event left delivered at its first attempt,
	// and received.
	err := e.s[1].Store.View(context.Background(), func(tx miniship.Tx) error {
		evs, err := tx.ListEvents(e.p.AppID, 0)
		for _, ev := range evs {
			if ev.Status != miniship.EventDelivered || ev.Attempts != 1 {
				t.Errorf("event %d: %s after %d attempts", ev.ID, ev.Status, ev.Attempts)
			}
			if tk := ticketRE.FindString(ev.Payload); got[tk] != 1 {
				t.Errorf("event %d's ticket %.20s… was received %d times, want once", ev.ID, tk, got[tk])
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ticketRE finds the ticket in a push's payload.
var ticketRE = regexp.MustCompile(`ticket@@@[^\]<]+`)

// (d) The 10-minute ticket push with both servers ticking: one new ticket
// per platform per interval, not one per server. Tickets are counted as
// the tokens they are stored as (the platforms issue no other): a ticket
// push replaces the undelivered ones, so the events would not show a
// second ticket issued while the first was still on its way.
func TestMultiInstanceTicketPush(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "success") }))
	t.Cleanup(ok.Close)
	e := newPair(t, service.Config{}, httpapi.Limits{}, &miniship.Platform{AuthEventURL: ok.URL})
	platforms := []string{e.p.AppID}
	for range 9 {
		platforms = append(platforms, e.s[0].Platform(t, &miniship.Platform{AuthEventURL: ok.URL}).AppID)
	}
	const intervals = 6
	every := e.s[0].Service.Config().TicketEvery
	for range intervals {
		e.advance(every)
	}
	err := e.s[0].Store.View(context.Background(), func(tx miniship.Tx) error {
		sizes, err := tx.TableSizes()
		if want := int64(len(platforms) * (1 + intervals)); sizes["tokens"] != want {
			t.Errorf("%d tickets issued to %d platforms over %d intervals with two servers ticking, want %d",
				sizes["tokens"], len(platforms), intervals, want)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// (e) Quotas consumed through both servers at once never pass their limit:
// the platform's monthly audit quota (85085), shared by its mini programs,
// and a per-call daily limit (45009).
func TestMultiInstanceQuotas(t *testing.T) {
	const quota, apps = 5, 12
	e := newPair(t, service.Config{}, httpapi.Limits{Daily: map[string]int{"/wxa/get_page": 10}},
		&miniship.Platform{AuditQuota: quota})
	toks := make([]string, apps)
	for i := range toks {
		_, toks[i] = e.miniProgram(t, i%2)
		arWant(t, wx(t, e.s[i%2], "POST", "/wxa/commit", tok(toks[i]), commitBody(e.tpl, "1.0")), 0)
	}
	e.advance(e.s[0].Service.Config().ScanDuration)

	codes := e.together(t, apps, func(i int, s *mstest.Server) (int, map[string]any, error) {
		return mCall(s, "POST", "/wxa/submit_audit", toks[i], `{"item_list":[`+arItem+`]}`)
	})
	if codes[0] != quota || codes[int(wxerr.AuditQuotaReached)] != apps-quota {
		t.Fatalf("%d submissions over two servers with a quota of %d answered %v", apps, quota, codes)
	}
	for i, s := range e.s {
		m := wx(t, s, "GET", "/wxa/queryquota", tok(toks[0]), "")
		if arInt(t, m, "rest") != 0 || arInt(t, m, "limit") != quota {
			t.Fatalf("server %d: queryquota %v", i, m)
		}
	}

	codes = e.together(t, 40, func(i int, s *mstest.Server) (int, map[string]any, error) {
		return mCall(s, "GET", "/wxa/get_page", toks[0], "")
	})
	if codes[0] != 10 || codes[int(wxerr.DailyQuotaReached)] != 30 {
		t.Fatalf("40 get_page over two servers with a daily limit of 10 answered %v", codes)
	}
}

// (f) One mini program's submissions through both servers at once make one
// audit, and every other answers 85009: on the first submission, and on a
// re-submission, which reads the latest audit in one statement with the
// version and platform (SubmitReads) once the mini program is locked. Read
// in the locking statement, a submission that waited for the lock would
// still see the audit before the winner's and make a second.
func TestMultiInstanceSubmitOnce(t *testing.T) {
	const calls = 16
	e := newPair(t, service.Config{}, httpapi.Limits{}, &miniship.Platform{AuditQuota: 1000})
	_, token := e.miniProgram(t, 0)
	arWant(t, wx(t, e.s[0], "POST", "/wxa/commit", tok(token), commitBody(e.tpl, "1.0")), 0)
	e.advance(e.s[0].Service.Config().ScanDuration)
	for _, round := range []string{"first submission", "re-submission"} {
		codes := e.together(t, calls, func(i int, s *mstest.Server) (int, map[string]any, error) {
			return mCall(s, "POST", "/wxa/submit_audit", token, `{"item_list":[`+arItem+`]}`)
		})
		if codes[0] != 1 || codes[int(wxerr.AlreadyAuditing)] != calls-1 {
			t.Fatalf("%s: %d at once over two servers answered %v, want one 0 and 85009 for the rest", round, calls, codes)
		}
		arWant(t, wx(t, e.s[1], "GET", "/wxa/undocodeaudit", tok(token), ""), 0) // withdrawn: the next may submit
	}
}
