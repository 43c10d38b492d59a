package outbox

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/clock"
	"github.com/miniship/miniship/sqlstore"
)

// outboxEnv is an SQLite store with one platform and one pending event, a
// manual clock and a receiver that counts what it gets.
type outboxEnv struct {
	store miniship.Store
	clk   *clock.Manual
	srv   *httptest.Server
	hits  atomic.Int64
	ev    miniship.Event
}

func newOutboxEnv(t *testing.T) *outboxEnv {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := &outboxEnv{store: s, clk: clock.NewManual(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		io.WriteString(w, "success")
	}))
	t.Cleanup(e.srv.Close)
	err = s.Update(t.Context(), func(tx miniship.Tx) error {
		if err := tx.CreatePlatform(&miniship.Platform{AppID: "wxoutbox", Token: "tok", EncodingAESKey: strings.Repeat("a", 43), AuthEventURL: e.srv.URL}); err != nil {
			return err
		}
		e.ev = miniship.Event{PlatformAppID: "wxoutbox", URL: e.srv.URL, Kind: "test", EnvelopeKind: miniship.EnvelopeAppID,
			EnvelopeTo: "wxoutbox", Payload: "<xml><InfoType>test</InfoType></xml>", Status: miniship.EventPending,
			NextAttemptAt: e.clk.Now(), CreatedAt: e.clk.Now()}
		return tx.EnqueueEvent(&e.ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *outboxEnv) event(t *testing.T) (*miniship.Event, int) {
	t.Helper()
	var ev *miniship.Event
	var attempts int
	err := e.store.View(t.Context(), func(tx miniship.Tx) error {
		evs, err := tx.ListEvents("wxoutbox", 0)
		if err != nil || len(evs) != 1 {
			t.Fatalf("events %v, %v", evs, err)
		}
		ev = evs[0]
		as, err := tx.ListEventAttempts(ev.ID)
		attempts = len(as)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev, attempts
}

// roundTripper is an http.RoundTripper made of a function.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// slowClient's one request, once in flight, waits until release is
// closed, then finds the receiver down.
func slowClient() (c *http.Client, inFlight, release chan struct{}) {
	inFlight, release = make(chan struct{}), make(chan struct{})
	c = &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		close(inFlight)
		<-release
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Body: io.NopCloser(strings.NewReader("down")), Request: r}, nil
	})}
	return c, inFlight, release
}

// A receiver that answered "success" before the deliverer was stopped has
// the event: the attempt must be recorded, or the event goes out again
// after the lease, once per shutdown that catches a push in flight.
func TestDeliveredBeforeShutdownIsRecorded(t *testing.T) {
	e := newOutboxEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		res, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(b))
		cancel() // the server shuts down right after the receiver answered
		return res, nil
	})}
	d := New(Options{Store: e.store, Clock: e.clk, Client: client})
	if n, err := d.DeliverDue(ctx); n != 1 || err != nil {
		t.Fatalf("DeliverDue = %d, %v", n, err)
	}
	ev, attempts := e.event(t)
	if ev.Status != miniship.EventDelivered || ev.Attempts != 1 || attempts != 1 {
		t.Fatalf("receiver answered success, but the event is %s with %d attempts (%d recorded)", ev.Status, ev.Attempts, attempts)
	}
	// After the lease a second deliverer finds nothing to send again.
	e.clk.Advance(2 * lease)
	d2 := New(Options{Store: e.store, Clock: e.clk})
	if n, err := d2.DeliverDue(context.Background()); n != 0 || err != nil {
		t.Fatalf("second DeliverDue = %d, %v", n, err)
	}
	if n := e.hits.Load(); n != 1 {
		t.Fatalf("receiver hit %d times, want 1", n)
	}
}

// A deliverer whose lease ran out (a stalled attempt, or a manual clock
// moved past the lease) and whose attempt then failed must not undo the
// delivery another deliverer made meanwhile: the event stays delivered and
// is not sent a third time.
func TestExpiredLeaseDoesNotUndoDelivery(t *testing.T) {
	e := newOutboxEnv(t)
	slow, inFlight, release := slowClient()
	a := New(Options{Store: e.store, Clock: e.clk, Client: slow})
	b := New(Options{Store: e.store, Clock: e.clk})
	done := make(chan error, 1)
	go func() { _, err := a.DeliverDue(context.Background()); done <- err }()
	<-inFlight
	e.clk.Advance(lease + time.Second) // A's lease runs out mid-attempt
	if n, err := b.DeliverDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("B: DeliverDue = %d, %v", n, err)
	}
	close(release) // A's attempt fails after B delivered
	if err := <-done; err != nil {
		t.Fatalf("A: %v", err)
	}
	ev, attempts := e.event(t)
	if ev.Status != miniship.EventDelivered || attempts != 2 {
		t.Fatalf("event %s with %d attempts recorded, want delivered with 2", ev.Status, attempts)
	}
	e.clk.Advance(time.Hour)
	if n, err := b.DeliverDue(context.Background()); n != 0 || err != nil {
		t.Fatalf("DeliverDue after the delivery = %d, %v", n, err)
	}
	if n := e.hits.Load(); n != 1 {
		t.Fatalf("receiver hit %d times, want 1", n)
	}
}

// An event deleted while its attempt is in flight (a newer ticket push
// superseded it) is not an error: the attempt's outcome has nowhere to go,
// and nothing is sent again.
func TestSupersededDuringAttempt(t *testing.T) {
	e := newOutboxEnv(t)
	slow, inFlight, release := slowClient()
	d := New(Options{Store: e.store, Clock: e.clk, Client: slow})
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() { n, err := d.DeliverDue(context.Background()); done <- result{n, err} }()
	<-inFlight
	err := e.store.Update(t.Context(), func(tx miniship.Tx) error {
		n, err := tx.DropPendingEvents("wxoutbox", "test")
		if n != 1 {
			t.Errorf("DropPendingEvents = %d, want 1", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	if r := <-done; r.n != 1 || r.err != nil {
		t.Fatalf("DeliverDue = %d, %v", r.n, r.err)
	}
	err = e.store.View(t.Context(), func(tx miniship.Tx) error {
		evs, err := tx.ListEvents("wxoutbox", 0)
		if len(evs) != 0 {
			t.Errorf("events left: %d", len(evs))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Hour)
	if n, err := d.DeliverDue(context.Background()); n != 0 || err != nil {
		t.Fatalf("DeliverDue after = %d, %v", n, err)
	}
}
