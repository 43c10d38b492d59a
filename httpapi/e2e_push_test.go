package httpapi_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"miniship"
	"miniship/mstest"
)

// receiver is a platform's push endpoint. It checks pushes with an
// independent WXBizMsgCrypt implementation (silenceper/wechat), not ours.
type receiver struct {
	t    *testing.T
	p    *miniship.Platform
	mu   sync.Mutex
	msgs []map[string]string
	down bool
	srv  *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(req.Body)
	var env struct {
		AppID   string `xml:"AppId"`
		Encrypt string `xml:"Encrypt"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		r.t.Errorf("push body is not XML: %q", body)
		return
	}
	q := req.URL.Query()
	if sig := util.Signature(r.p.Token, q.Get("timestamp"), q.Get("nonce"), env.Encrypt); sig != q.Get("msg_signature") || q.Get("encrypt_type") != "aes" {
		r.t.Errorf("bad msg_signature %q, want %q", q.Get("msg_signature"), sig)
		return
	}
	_, plain, err := util.DecryptMsg(r.p.AppID, env.Encrypt, r.p.EncodingAESKey)
	if err != nil {
		r.t.Errorf("decrypt: %v", err)
		return
	}
	var m struct {
		Fields []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal(plain, &m); err != nil {
		r.t.Errorf("inner XML: %v %q", err, plain)
		return
	}
	msg := map[string]string{"_envelope_appid": env.AppID}
	for _, f := range m.Fields {
		msg[f.XMLName.Local] = f.Value
	}
	r.msgs = append(r.msgs, msg)
	io.WriteString(w, "success")
}

func (r *receiver) setDown(down bool) { r.mu.Lock(); r.down = down; r.mu.Unlock() }

// wait returns the first message of the InfoType, polling the outbox.
func (r *receiver) wait(infoType string) map[string]string {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, m := range r.msgs {
			if m["InfoType"] == infoType {
				r.mu.Unlock()
				return m
			}
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("no %s push arrived", infoType)
	return nil
}

func TestPushes(t *testing.T) { mstest.Backends(t, testPushes) }

func testPushes(t *testing.T, database string) {
	s := mstest.New(t, mstest.Options{Database: database})
	rc := newReceiver(t)
	rc.setDown(true) // the receiver starts down: the ticket push must be retried
	rc.p = s.Platform(t, &miniship.Platform{AuthEventURL: rc.srv.URL + "/auth?tag=1"})
	app, _ := s.MiniProgram(t, rc.p.AppID, nil)

	// Let the first attempt fail, then bring the receiver up and move past
	// the backoff: the ticket arrives, encrypted and signed.
	waitAttempts(t, s, 1)
	rc.setDown(false)
	s.Advance(6 * time.Second)
	m := rc.wait("component_verify_ticket")
	if m["ComponentVerifyTicket"] != s.Ticket(t, rc.p.AppID) || m["AppId"] != rc.p.AppID || m["_envelope_appid"] != rc.p.AppID {
		t.Fatalf("ticket push: %v", m)
	}

	// The consent page pushes the authorized event with the auth code.
	ctoken := componentToken(t, s, rc.p.AppID, rc.p.Secret)
	pre := wx(t, s, "POST", "/cgi-bin/component/api_create_preauthcode", tok(ctoken), `{"component_appid":"`+rc.p.AppID+`"}`)
	form := url.Values{"component_appid": {rc.p.AppID}, "pre_auth_code": {str(pre, "pre_auth_code")}, "redirect_uri": {"https://x.example/"}, "authorizer_appid": {app.AppID}, "permission_set": {"18"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(s.URL+"/cgi-bin/componentloginpage", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	// The mini program was authorized with every set by the fixture; the
	// consent narrowed it to 18, so this is an update.
	ev := rc.wait("updateauthorized")
	if ev["AuthorizerAppid"] != app.AppID || ev["AuthorizationCode"] != loc.Query().Get("auth_code") {
		t.Fatalf("authorization push: %v (redirect %v)", ev, loc)
	}

	// The events and every attempt are readable through the admin API.
	st, evs := admin(t, s, "GET", "/miniship/v1/events?platform="+rc.p.AppID, nil)
	if st != 200 {
		t.Fatalf("events: %d", st)
	}
	var sawRetry bool
	for _, e := range evs["events"].([]any) {
		e := e.(map[string]any)
		if e["kind"] == "component_verify_ticket" && e["status"] == "delivered" && len(e["attempt_list"].([]any)) >= 2 {
			sawRetry = true
		}
	}
	if !sawRetry {
		t.Fatalf("no delivered ticket event with a failed first attempt: %v", evs)
	}
}

// waitAttempts waits until the outbox recorded n attempts in all.
func waitAttempts(t *testing.T, s *mstest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		_, evs := admin(t, s, "GET", "/miniship/v1/events", nil)
		got := 0
		for _, e := range evs["events"].([]any) {
			got += len(e.(map[string]any)["attempt_list"].([]any))
		}
		if got >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the outbox made fewer than %d attempts", n)
}
