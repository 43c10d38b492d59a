package wxa_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxcrypt"
	"github.com/miniship/miniship/wxerr"
)

// TestSubmitAuditIDAsString: submit_audit's auditid is read as a number or
// a numeric string, as get_auditstatus's is; a string must not turn an
// audit that started into a decode error.
func TestSubmitAuditIDAsString(t *testing.T) {
	f, c := newFake(t)
	f.answers["/wxa/submit_audit"] = []string{`{"errcode":0,"errmsg":"ok","auditid":"4321"}`}
	id, err := c.App("wxapp").SubmitAudit(bg, wxa.SubmitAuditRequest{})
	if err != nil || id != 4321 {
		t.Fatalf("SubmitAudit = %d, %v; want 4321", id, err)
	}
}

// TestUndoAuditNotRepeated: undocodeaudit changes state and spends a
// quota, so a lost answer is not retried (a GET is not idempotent here).
func TestUndoAuditNotRepeated(t *testing.T) {
	var undos atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cgi-bin/component/api_component_token":
			io.WriteString(w, `{"component_access_token":"C","expires_in":7200}`)
		case "/cgi-bin/component/api_authorizer_token":
			io.WriteString(w, `{"authorizer_access_token":"A","expires_in":7200}`)
		case "/wxa/undocodeaudit":
			undos.Add(1)
			// The undo happened; its answer is lost.
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	c, err := wxa.NewClient(wxa.Options{BaseURL: srv.URL, ComponentAppID: "wxcomp",
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	c.SetTicket(bg, "T")
	c.SetRefreshToken(bg, "wxapp", "R")
	if err := c.App("wxapp").UndoAudit(bg); err == nil {
		t.Fatal("UndoAudit succeeded without an answer")
	}
	if n := undos.Load(); n != 1 {
		t.Fatalf("undocodeaudit sent %d times after a lost answer, want 1", n)
	}
}

// TestCancelledBackoff: a call whose backoff is cut short by its context
// reports both the last answer and the context's error.
func TestCancelledBackoff(t *testing.T) {
	f, _ := newFake(t)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(bg)
	c, err := wxa.NewClient(wxa.Options{BaseURL: srv.URL, ComponentAppID: "wxcomp",
		Sleep: func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	c.SetTicket(bg, "T")
	c.SetRefreshToken(bg, "wxapp", "R")
	f.answers["/wxa/queryquota"] = []string{`{"errcode":-1,"errmsg":"system error"}`}
	_, err = c.App("wxapp").QueryQuota(ctx)
	if !errors.Is(err, wxerr.SystemError) || !errors.Is(err, context.Canceled) {
		t.Fatalf("QueryQuota = %v; want -1 and context.Canceled, both testable with errors.Is", err)
	}
}

// TestTokenWithoutExpiresIn: a token answer without expires_in is cached
// for WeChat's usual lifetime, not fetched again on every call.
func TestTokenWithoutExpiresIn(t *testing.T) {
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cgi-bin/component/api_component_token" {
			fetches.Add(1)
			io.WriteString(w, `{"component_access_token":"C"}`)
			return
		}
		io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	c, err := wxa.NewClient(wxa.Options{BaseURL: srv.URL, ComponentAppID: "wxcomp"})
	if err != nil {
		t.Fatal(err)
	}
	c.SetTicket(bg, "T")
	for range 3 {
		if _, err := c.TemplateDrafts(bg); err != nil {
			t.Fatal(err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d component token fetches for 3 calls, want 1", n)
	}
}

// lockStore records the ttl and time of each Lock.
type lockStore struct {
	*wxa.MemoryStore
	mu       sync.Mutex
	ttl      time.Duration
	lockedAt time.Time
}

func (s *lockStore) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	unlock, err := s.MemoryStore.Lock(ctx, key, ttl)
	s.mu.Lock()
	s.ttl, s.lockedAt = ttl, time.Now()
	s.mu.Unlock()
	return unlock, err
}

// deadlineTransport records the deadline of each request's context.
type deadlineTransport struct {
	mu       sync.Mutex
	deadline time.Time
}

func (d *deadlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	d.mu.Lock()
	d.deadline, _ = r.Context().Deadline()
	d.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestRefreshEndsBeforeLockExpires: a refresh is bounded to end while the
// store's lock is still held, or a second process could take the expired
// lock and fetch another token meanwhile.
func TestRefreshEndsBeforeLockExpires(t *testing.T) {
	f := &fake{answers: map[string][]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	store := &lockStore{MemoryStore: wxa.NewMemoryStore()}
	tr := &deadlineTransport{}
	c, err := wxa.NewClient(wxa.Options{BaseURL: srv.URL, ComponentAppID: "wxcomp", Store: store,
		HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	c.SetTicket(bg, "T")
	if _, err := c.ComponentAccessToken(bg); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	ttl, lockedAt := store.ttl, store.lockedAt
	store.mu.Unlock()
	tr.mu.Lock()
	deadline := tr.deadline
	tr.mu.Unlock()
	if ttl <= 0 || deadline.IsZero() {
		t.Fatalf("lock ttl %v, fetch deadline %v: want both set", ttl, deadline)
	}
	if deadline.After(lockedAt.Add(ttl)) {
		t.Fatalf("the fetch may run until %v after the lock was taken, its ttl is %v", deadline.Sub(lockedAt).Round(time.Second), ttl)
	}
}

// TestPushReplay: with PushMaxAge, a captured push replayed later (here an
// unauthorized notice, which would drop the refresh token) is refused.
func TestPushReplay(t *testing.T) {
	now := time.Now()
	c, err := wxa.NewClient(wxa.Options{ComponentAppID: pushAppID, Token: pushToken, EncodingAESKey: pushKey,
		PushMaxAge: 5 * time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := wxcrypt.New(pushToken, pushKey, pushAppID)
	h := c.PushHandler(wxa.PushHandlers{})
	push := func(at time.Time) int {
		inner := `<xml><AppId><![CDATA[wxpushcomponent01]]></AppId><CreateTime>1700000001</CreateTime><InfoType><![CDATA[unauthorized]]></InfoType><AuthorizerAppid><![CDATA[wxapp1]]></AuthorizerAppid></xml>`
		q, body, err := sealer.SealPush([]byte(inner), wxcrypt.PlatformEnvelope(pushAppID), strconv.FormatInt(at.Unix(), 10), "")
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/push?"+q.Encode(), bytes.NewReader(body)))
		return w.Code
	}
	c.SetRefreshToken(bg, "wxapp1", "R")
	for _, at := range []time.Time{now.Add(-time.Hour), now.Add(time.Hour)} {
		if code := push(at); code != http.StatusForbidden {
			t.Fatalf("push stamped %v from now answered %d, want 403", at.Sub(now), code)
		}
	}
	if _, err := c.RefreshToken(bg, "wxapp1"); err != nil {
		t.Fatalf("a refused push dropped the refresh token: %v", err)
	}
	if code := push(now.Add(-time.Minute)); code != http.StatusOK {
		t.Fatalf("a fresh push answered %d", code)
	}
	if _, err := c.RefreshToken(bg, "wxapp1"); !errors.Is(err, wxa.ErrNoRefreshToken) {
		t.Fatalf("the fresh unauthorized push kept the refresh token: %v", err)
	}
}

// TestExtJSONTypedNil: a nil map is "no ext_json" like nil, not "null".
func TestExtJSONTypedNil(t *testing.T) {
	var m map[string]any
	if got, err := wxa.ExtJSONString(m); err != nil || got != "{}" {
		t.Fatalf("ExtJSONString(nil map) = %q, %v; want {}", got, err)
	}
}
