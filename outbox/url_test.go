package outbox

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// A push goes to the platform's URL as it is at each attempt: a platform
// that changes its auth_event_url or message_url (PATCH /platforms) gets
// the retries of pushes already queued at the new one, as it gets them
// sealed with a new key. An emptied URL fails the attempt, to be retried.
func TestRetryGoesToCurrentURL(t *testing.T) {
	type receiver struct {
		srv  *httptest.Server
		hits atomic.Int64
		path atomic.Value
	}
	listen := func(t *testing.T, answer string) *receiver {
		r := &receiver{}
		r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			r.hits.Add(1)
			r.path.Store(req.URL.Path)
			io.WriteString(w, answer)
		}))
		t.Cleanup(r.srv.Close)
		return r
	}
	for _, tc := range []struct {
		name       string
		authorizer string // a push about this mini program, to the message URL
		set        func(p *miniship.Platform, url string)
		newURL     string // appended to the new receiver's address
		wantPath   string
		legacy     bool // queued before events kept the mini program's appid
	}{
		{name: "auth_event_url", set: func(p *miniship.Platform, u string) { p.AuthEventURL = u }, newURL: "/ticket", wantPath: "/ticket"},
		{name: "message_url", authorizer: "wxmini1", set: func(p *miniship.Platform, u string) { p.MessageURL = u }, newURL: "/msg/$APPID$", wantPath: "/msg/wxmini1"},
		{name: "message_url, row from before", authorizer: "wxmini1", set: func(p *miniship.Platform, u string) { p.MessageURL = u }, newURL: "/msg/$APPID$", legacy: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newOutboxEnv(t)
			down, up := listen(t, "down"), listen(t, "success")
			// The queued push of tc goes to the receiver that fails.
			err := e.store.Update(t.Context(), func(tx miniship.Tx) error {
				p, err := tx.LockPlatform("wxoutbox")
				if err != nil {
					return err
				}
				tc.set(p, down.srv.URL+"/old")
				if err := tx.UpdatePlatform(p); err != nil {
					return err
				}
				ev := e.stored(t, tx)
				if tc.authorizer != "" {
					ev.EnvelopeKind, ev.URL = miniship.EnvelopeToUserName, down.srv.URL+"/old"
					if !tc.legacy {
						ev.AuthorizerAppID = tc.authorizer
					}
				}
				return tx.UpdateEvent(ev)
			})
			if err != nil {
				t.Fatal(err)
			}
			d := New(Options{Store: e.store, Clock: e.clk})
			if n, err := d.DeliverDue(context.Background()); n != 1 || err != nil || down.hits.Load() != 1 {
				t.Fatalf("first attempt: DeliverDue = %d, %v; failing receiver hit %d times", n, err, down.hits.Load())
			}

			// The platform empties the URL: the retry fails without a request.
			e.setPlatform(t, func(p *miniship.Platform) { tc.set(p, "") })
			e.clk.Advance(time.Hour)
			d.DeliverDue(context.Background())
			ev, attempts := e.event(t)
			if tc.legacy {
				// A row that does not name its mini program keeps its URL.
				if down.hits.Load() != 2 || ev.URL != down.srv.URL+"/old" {
					t.Fatalf("legacy row: failing receiver hit %d times, event URL %q", down.hits.Load(), ev.URL)
				}
				return
			}
			if down.hits.Load() != 1 || ev.Status != miniship.EventPending || attempts != 2 {
				t.Fatalf("emptied URL: receiver hit %d times, event %s after %d attempts", down.hits.Load(), ev.Status, attempts)
			}
			if a := e.lastAttempt(t, ev.ID); !strings.Contains(a.Error, "empty") {
				t.Fatalf("attempt without a URL recorded as %+v", a)
			}

			// It sets a new URL: the next retry is delivered there.
			e.setPlatform(t, func(p *miniship.Platform) { tc.set(p, up.srv.URL+tc.newURL) })
			e.clk.Advance(time.Hour)
			if n, err := d.DeliverDue(context.Background()); n != 1 || err != nil {
				t.Fatalf("retry: DeliverDue = %d, %v", n, err)
			}
			ev, _ = e.event(t)
			if up.hits.Load() != 1 || up.path.Load() != tc.wantPath || ev.Status != miniship.EventDelivered {
				t.Fatalf("retry: new receiver hit %d times at %v, event %s", up.hits.Load(), up.path.Load(), ev.Status)
			}
			if want := up.srv.URL + tc.wantPath; ev.URL != want {
				t.Fatalf("event URL %q, want the one it was delivered to, %q", ev.URL, want)
			}
		})
	}
}

// stored reads the env's one event inside tx.
func (e *outboxEnv) stored(t *testing.T, tx miniship.Tx) *miniship.Event {
	t.Helper()
	evs, err := tx.ListEvents("wxoutbox", 0)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %v, %v", evs, err)
	}
	return evs[0]
}

func (e *outboxEnv) setPlatform(t *testing.T, change func(p *miniship.Platform)) {
	t.Helper()
	err := e.store.Update(t.Context(), func(tx miniship.Tx) error {
		p, err := tx.LockPlatform("wxoutbox")
		if err != nil {
			return err
		}
		change(p)
		return tx.UpdatePlatform(p)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *outboxEnv) lastAttempt(t *testing.T, id int64) *miniship.EventAttempt {
	t.Helper()
	var as []*miniship.EventAttempt
	err := e.store.View(t.Context(), func(tx miniship.Tx) (err error) {
		as, err = tx.ListEventAttempts(id)
		return err
	})
	if err != nil || len(as) == 0 {
		t.Fatalf("attempts %v, %v", as, err)
	}
	return as[len(as)-1]
}
