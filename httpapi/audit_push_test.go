package httpapi_test

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

// arReceiver is a platform's message URL. It checks each push the way a
// platform must, with an independent WXBizMsgCrypt implementation
// (silenceper/wechat): msg_signature over token, timestamp, nonce and
// Encrypt, then AES decryption with the platform appid at the end.
type arReceiver struct {
	t      testing.TB
	p      *miniship.Platform
	srv    *httptest.Server
	mu     sync.Mutex
	status int // answered while > 0 instead of "success"
	got    []arPush
	hits   int
}

type arPush struct {
	Path          string
	Envelope      string // the outer ToUserName (message URL pushes)
	EnvelopeAppID string // the outer AppId (authorization-event URL pushes)
	Fields        map[string]string
	Raw           []byte // the decrypted inner XML, for nested fields
}

func newArReceiver(t testing.TB) *arReceiver {
	r := &arReceiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *arReceiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hits++
	if r.status > 0 {
		w.WriteHeader(r.status)
		io.WriteString(w, "receiver down")
		return
	}
	body, _ := io.ReadAll(req.Body)
	var env struct {
		ToUserName string `xml:"ToUserName"`
		AppID      string `xml:"AppId"`
		Encrypt    string `xml:"Encrypt"`
	}
	if err := xml.Unmarshal(body, &env); err != nil || env.Encrypt == "" {
		r.t.Errorf("push body is not an encrypted envelope: %q", body)
		return
	}
	q := req.URL.Query()
	if want := util.Signature(r.p.Token, q.Get("timestamp"), q.Get("nonce"), env.Encrypt); q.Get("msg_signature") != want || q.Get("encrypt_type") != "aes" {
		r.t.Errorf("msg_signature %q, want %q (query %v)", q.Get("msg_signature"), want, q)
		return
	}
	_, plain, err := util.DecryptMsg(r.p.AppID, env.Encrypt, r.p.EncodingAESKey)
	if err != nil {
		r.t.Errorf("decrypt: %v", err)
		return
	}
	var inner struct {
		Fields []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal(plain, &inner); err != nil {
		r.t.Errorf("inner XML: %v: %q", err, plain)
		return
	}
	fields := map[string]string{}
	for _, f := range inner.Fields {
		fields[f.XMLName.Local] = f.Value
	}
	r.got = append(r.got, arPush{Path: req.URL.Path, Envelope: env.ToUserName, EnvelopeAppID: env.AppID, Fields: fields, Raw: plain})
	io.WriteString(w, "success")
}

func (r *arReceiver) setStatus(code int) { r.mu.Lock(); r.status = code; r.mu.Unlock() }

// wait returns the n-th push received (from 1), waiting up to 5 s.
func (r *arReceiver) wait(n int) arPush {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		if len(r.got) >= n {
			p := r.got[n-1]
			r.mu.Unlock()
			return p
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("push %d did not arrive (got %d)", n, len(r.got))
	return arPush{}
}

// waitInfo returns the first push whose InfoType is infoType, waiting up
// to 5 s.
func (r *arReceiver) waitInfo(infoType string) arPush {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, p := range r.got {
			if p.Fields["InfoType"] == infoType {
				r.mu.Unlock()
				return p
			}
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("no %s push arrived", infoType)
	return arPush{}
}

func (r *arReceiver) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.got) }

// arEvents reads the outbox through the admin API.
func arEvents(e *arEnv) []map[string]any {
	e.t.Helper()
	st, m := e.admin("GET", "/miniship/v1/events?platform="+e.p.AppID, nil)
	if st != http.StatusOK {
		e.t.Fatalf("events: %d %v", st, m)
	}
	var out []map[string]any
	for _, ev := range m["events"].([]any) {
		out = append(out, ev.(map[string]any))
	}
	return out
}

// arAuditEvent finds the newest audit event of the kind.
func arAuditEvent(e *arEnv, kind string) map[string]any {
	for _, ev := range arEvents(e) {
		if arStr(ev, "kind") == kind {
			return ev
		}
	}
	return nil
}

// waitAttempts waits until the newest event of the kind has n attempts.
func arWaitAttempts(e *arEnv, kind string, n int) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ev := arAuditEvent(e, kind); ev != nil && len(ev["attempt_list"].([]any)) >= n {
			return ev
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("%s: %d attempts did not happen: %v", kind, n, arAuditEvent(e, kind))
	return nil
}

// TestAuditPushes checks the three audit results pushed to the message URL
// ($APPID$ replaced), with spec §5's fields for each.
func TestAuditPushes(t *testing.T) { mstest.Backends(t, testAuditPushes) }

func testAuditPushes(t *testing.T, database string) {
	rcv := newArReceiver(t)
	e := arSetup(t, mstest.Options{Database: database}, &miniship.Platform{MessageURL: rcv.srv.URL + "/wx/$APPID$/msg"})
	rcv.p = e.p
	e.commit("1.0.0", "")
	e.scanned()

	a := e.submit()
	e.decide(a, "delay", "排队中<br>稍后", "")
	at := e.s.Clock.Now().Unix()
	p := rcv.wait(1)
	wantPath := "/wx/" + e.mp.AppID + "/msg"
	if p.Path != wantPath || p.Envelope != e.mp.OriginalID {
		t.Fatalf("delay push to %s envelope %s, want %s and %s", p.Path, p.Envelope, wantPath, e.mp.OriginalID)
	}
	wantFields(t, p, map[string]string{
		"ToUserName": e.mp.OriginalID, "MsgType": "event", "Event": "weapp_audit_delay",
		"Reason": "排队中<br>稍后", "DelayTime": fmt.Sprint(at), "CreateTime": fmt.Sprint(at),
	}, "SuccTime", "FailTime", "ScreenShot")

	e.s.Advance(time.Minute)
	e.decide(a, "reject", "1:不合规<br>", "m1|m2")
	at = e.s.Clock.Now().Unix()
	wantFields(t, rcv.wait(2), map[string]string{
		"Event": "weapp_audit_fail", "Reason": "1:不合规<br>", "FailTime": fmt.Sprint(at), "ScreenShot": "m1|m2",
	}, "SuccTime", "DelayTime")

	b := e.submit()
	e.decide(b, "approve", "", "")
	at = e.s.Clock.Now().Unix()
	wantFields(t, rcv.wait(3), map[string]string{
		"Event": "weapp_audit_success", "SuccTime": fmt.Sprint(at), "FromUserName": "o0000000000000000000000000000",
	}, "Reason", "FailTime", "DelayTime", "ScreenShot")

	// Each delivery is recorded with the receiver's answer.
	ev := arWaitAttempts(e, "weapp_audit_success", 1)
	att := ev["attempt_list"].([]any)[0].(map[string]any)
	if arStr(ev, "status") != "delivered" || arInt(t, att, "http_status") != 200 || arStr(att, "response") != "success" {
		t.Fatalf("event record: %v", ev)
	}
}

func wantFields(t *testing.T, p arPush, want map[string]string, absent ...string) {
	t.Helper()
	for k, v := range want {
		if p.Fields[k] != v {
			t.Errorf("%s = %q, want %q (push %v)", k, p.Fields[k], v, p.Fields)
		}
	}
	for _, k := range absent {
		if _, ok := p.Fields[k]; ok {
			t.Errorf("%s present in %s: %v", k, p.Fields["Event"], p.Fields)
		}
	}
}

// TestAuditPushOutboxSurvives checks that an audit result reaches a
// receiver that was down, after the backoff on the server clock, and after
// a restart of the server over the same database.
func TestAuditPushOutboxSurvives(t *testing.T) { mstest.Backends(t, testAuditPushOutboxSurvives) }

func testAuditPushOutboxSurvives(t *testing.T, database string) {
	rcv := newArReceiver(t)
	dsn := database // the restarted server opens the same database
	if dsn == "" {
		dsn = filepath.Join(t.TempDir(), "miniship.db")
	}
	e := arSetup(t, mstest.Options{Database: dsn}, &miniship.Platform{MessageURL: rcv.srv.URL + "/msg?appid=$APPID$"})
	rcv.p = e.p
	e.commit("1.0.0", "")
	e.scanned()

	// Down: the first attempt gets 500 and is recorded; the next waits for
	// the 5 s backoff on the server clock.
	rcv.setStatus(http.StatusInternalServerError)
	a := e.submit()
	e.decide(a, "approve", "", "")
	ev := arWaitAttempts(e, "weapp_audit_success", 1)
	att := ev["attempt_list"].([]any)[0].(map[string]any)
	if arInt(t, att, "http_status") != 500 || arStr(ev, "status") != "pending" || !strings.Contains(arStr(att, "error"), "500") {
		t.Fatalf("after a failed attempt: %v", ev)
	}
	rcv.setStatus(0)
	time.Sleep(100 * time.Millisecond) // several outbox polls: nothing is due before the backoff
	if rcv.count() != 0 {
		t.Fatal("retried before the backoff")
	}
	e.s.Advance(5 * time.Second)
	if p := rcv.wait(1); p.Fields["Event"] != "weapp_audit_success" || p.Path != "/msg" {
		t.Fatalf("push after the outage: %+v", p)
	}
	if ev := arWaitAttempts(e, "weapp_audit_success", 2); arStr(ev, "status") != "delivered" {
		t.Fatalf("after delivery: %v", ev)
	}

	// Down again, then the server restarts over the same database: the new
	// server delivers what the old one could not.
	rcv.setStatus(http.StatusBadGateway)
	b := e.submit()
	e.decide(b, "reject", "不通过", "")
	arWaitAttempts(e, "weapp_audit_fail", 1)
	e.s.Close()
	rcv.setStatus(0)
	s2 := mstest.New(t, mstest.Options{Database: dsn, Start: e.s.Clock.Now()})
	e.s = s2
	time.Sleep(100 * time.Millisecond)
	if rcv.count() != 1 {
		t.Fatal("the restarted server retried before the backoff")
	}
	s2.Advance(5 * time.Second)
	p := rcv.wait(2)
	if p.Fields["Event"] != "weapp_audit_fail" || p.Fields["Reason"] != "不通过" {
		t.Fatalf("push after restart: %+v", p)
	}
	ev = arWaitAttempts(e, "weapp_audit_fail", 2)
	atts := ev["attempt_list"].([]any)
	if arInt(t, atts[0].(map[string]any), "http_status") != 502 || arInt(t, atts[1].(map[string]any), "http_status") != 200 {
		t.Fatalf("attempts across the restart: %v", atts)
	}
	e.wantStatus(b, 1) // and the state the push reports survived too
}
