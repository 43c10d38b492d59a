package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

func TestPushes(t *testing.T) { mstest.Backends(t, testPushes) }

func testPushes(t *testing.T, database string) {
	s := mstest.New(t, mstest.Options{Database: database})
	rc := newArReceiver(t)
	rc.setStatus(http.StatusServiceUnavailable) // the receiver starts down: the ticket push must be retried
	rc.p = s.Platform(t, &miniship.Platform{AuthEventURL: rc.srv.URL + "/auth?tag=1"})
	app, _ := s.MiniProgram(t, rc.p.AppID, nil)

	// Let the first attempt fail, then bring the receiver up and move past
	// the backoff: the ticket arrives, encrypted and signed.
	waitAttempts(t, s, 1)
	rc.setStatus(0)
	s.Advance(6 * time.Second)
	m := rc.waitInfo("component_verify_ticket")
	if m.Fields["ComponentVerifyTicket"] != s.Ticket(t, rc.p.AppID) || m.Fields["AppId"] != rc.p.AppID || m.EnvelopeAppID != rc.p.AppID {
		t.Fatalf("ticket push: %+v", m)
	}

	// The consent page pushes the authorized event with the auth code.
	ctoken := componentToken(t, s, rc.p.AppID, rc.p.Secret)
	pre := wx(t, s, "POST", "/cgi-bin/component/api_create_preauthcode", tok(ctoken), `{"component_appid":"`+rc.p.AppID+`"}`)
	form := url.Values{"component_appid": {rc.p.AppID}, "pre_auth_code": {arStr(pre, "pre_auth_code")}, "redirect_uri": {"https://x.example/"}, "authorizer_appid": {app.AppID}, "authorizer_secret": {app.Secret}, "permission_set": {"18"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(s.URL+"/cgi-bin/componentloginpage", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	// The mini program was authorized with every set by the fixture; the
	// consent narrowed it to 18, so this is an update.
	ev := rc.waitInfo("updateauthorized").Fields
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

// TestTicketPushesSupersede: api_start_push_ticket called again and again,
// by 8 callers at once, for a receiver that takes connections and never
// answers leaves one push pending, the newest ticket's: each call's push
// supersedes the undelivered ones, those in flight included. Each call
// used to queue one more, which the hung receiver drained at 4 attempts
// per 5 s.
func TestTicketPushesSupersede(t *testing.T) { mstest.Backends(t, testTicketPushesSupersede) }

// hungReceiver takes connections and never answers them until the test
// ends; wait returns once it has had a request.
func hungReceiver(t *testing.T) (url string, wait func()) {
	quit := make(chan struct{})
	var hits atomic.Int64
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-r.Context().Done():
		case <-quit:
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(quit) }) // first: the handlers return, then the server closes
	return hung.URL, func() {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); hits.Load() == 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no push was attempted")
			}
		}
	}
}

func testTicketPushesSupersede(t *testing.T, database string) {
	s := mstest.New(t, mstest.Options{Database: database})
	hung, attempted := hungReceiver(t)
	p := s.Platform(t, &miniship.Platform{AuthEventURL: hung})
	attempted() // the platform's first ticket push is in flight
	body := fmt.Sprintf(`{"component_appid":%q,"component_secret":%q}`, p.AppID, p.Secret)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				res, err := http.Post(s.URL+"/cgi-bin/component/api_start_push_ticket", "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				var m struct{ Errcode int }
				err = json.NewDecoder(res.Body).Decode(&m)
				res.Body.Close()
				if err != nil || m.Errcode != 0 {
					t.Errorf("api_start_push_ticket: errcode %d, %v", m.Errcode, err)
					return
				}
			}
		})
	}
	wg.Wait()
	err := s.Store.View(t.Context(), func(tx miniship.Tx) error {
		evs, err := tx.ListEvents(p.AppID, 0)
		if err != nil {
			return err
		}
		if len(evs) != 1 || evs[0].Status != miniship.EventPending || !strings.Contains(evs[0].Payload, s.Ticket(t, p.AppID)) {
			t.Errorf("after 200 calls, %d events (want the newest ticket's push alone): %+v", len(evs), evs)
		}
		n, err := tx.CountEvents(miniship.EventPending)
		if n != 1 {
			t.Errorf("%d pending events, want 1", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPendingPushesCapped: authorization pushes, which the consent page
// makes as often as the platform hands out pre-auth codes, stop piling up
// for a receiver that never answers at Config.MaxPendingPushes: those
// waiting longest for an attempt fail, each with an attempt saying why
// (those in flight wait for their outcome), and the newest waits.
func TestPendingPushesCapped(t *testing.T) { mstest.Backends(t, testPendingPushesCapped) }

func testPendingPushesCapped(t *testing.T, database string) {
	const most = 5
	s := mstest.New(t, mstest.Options{Database: database, Config: service.Config{MaxPendingPushes: most}})
	hung, attempted := hungReceiver(t)
	p := s.Platform(t, &miniship.Platform{AuthEventURL: hung})
	app, _ := s.MiniProgram(t, p.AppID, nil)
	attempted()
	ctoken := componentToken(t, s, p.AppID, p.Secret)
	for i := range 12 {
		pre := wx(t, s, "POST", "/cgi-bin/component/api_create_preauthcode", tok(ctoken), `{"component_appid":"`+p.AppID+`"}`)
		s.Consent(t, p.AppID, arStr(pre, "pre_auth_code"), "https://x.example/", app.AppID, app.Secret, 17+i%2) // a change each time
	}
	err := s.Store.View(t.Context(), func(tx miniship.Tx) error {
		evs, err := tx.ListEvents(p.AppID, 0) // newest first
		if err != nil {
			return err
		}
		var pending, failed int
		for _, e := range evs {
			switch {
			case e.Kind != "updateauthorized":
			case e.Status == miniship.EventPending:
				pending++
			case e.Status == miniship.EventFailed:
				if pending+failed == 0 {
					t.Errorf("the newest push, event %d, failed", e.ID)
				}
				failed++
				as, err := tx.ListEventAttempts(e.ID)
				if err != nil || len(as) == 0 || !strings.Contains(as[len(as)-1].Error, "5 pushes waiting") {
					t.Errorf("event %d failed with attempts %+v, %v", e.ID, as, err)
				}
			}
		}
		if n, err := tx.CountEvents(miniship.EventPending); pending+failed != 12 || n > most || err != nil {
			t.Errorf("12 authorization pushes: %d pending, %d failed, %d pending in all (want at most %d), %v", pending, failed, n, most, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
