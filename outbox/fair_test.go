package outbox_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/clock"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/outbox"
	"github.com/miniship/miniship/sqlstore"
)

var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// stores runs fn on SQLite and, when MINISHIP_TEST_POSTGRES is set, on
// PostgreSQL.
func stores(t *testing.T, fn func(t *testing.T, s miniship.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "outbox.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := sqlstore.OpenPostgres(t.Context(), mstest.PostgresDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s)
	})
}

// enqueue creates the platform if needed and n pending events for it,
// due at at.
func enqueue(t *testing.T, s miniship.Store, platform, url string, n int, at time.Time) {
	t.Helper()
	err := s.Update(t.Context(), func(tx miniship.Tx) error {
		if _, err := tx.GetPlatform(platform); err == miniship.ErrNotFound {
			if err := tx.CreatePlatform(&miniship.Platform{AppID: platform, Token: "tok", EncodingAESKey: strings.Repeat("a", 43), AuthEventURL: url}); err != nil {
				return err
			}
		}
		for i := range n {
			e := &miniship.Event{PlatformAppID: platform, URL: url, Kind: "test", EnvelopeKind: miniship.EnvelopeAppID,
				EnvelopeTo: platform, Payload: fmt.Sprintf("<xml><N>%d</N></xml>", i), Status: miniship.EventPending,
				NextAttemptAt: at, CreatedAt: at}
			if err := tx.EnqueueEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// events returns the platform's events by status, and the attempts of each.
func events(t *testing.T, s miniship.Store, platform string) (map[string]int, []int) {
	t.Helper()
	by, attempts := map[string]int{}, []int{}
	err := s.View(t.Context(), func(tx miniship.Tx) error {
		evs, err := tx.ListEvents(platform, 0)
		for _, e := range evs {
			by[e.Status]++
			attempts = append(attempts, e.Attempts)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return by, attempts
}

// success is a receiver that accepts every push and counts them.
func success(t *testing.T, hits *atomic.Int64) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "success")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// A platform whose receiver hangs, with 300 events older than everybody
// else's, must not delay another platform's push: the healthy platform's
// event is delivered while every hung attempt is still open, and the hung
// receiver never sees more than PerPlatform requests at once.
func TestHungReceiverDoesNotDelayOthers(t *testing.T) {
	stores(t, func(t *testing.T, s miniship.Store) {
		clk := clock.NewManual(t0)
		var open, most atomic.Int64
		quit := make(chan struct{})
		hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := open.Add(1)
			defer open.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			select { // answers nothing until the deliverer gives up
			case <-r.Context().Done():
			case <-quit:
			}
		}))
		defer hung.Close()
		defer close(quit) // first: Close waits for the handlers
		got := make(chan struct{}, 1)
		healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "success")
			got <- struct{}{}
		}))
		defer healthy.Close()
		enqueue(t, s, "wxhung", hung.URL, 300, t0.Add(-time.Minute))
		enqueue(t, s, "wxhealthy", healthy.URL, 1, t0)

		ctx, cancel := context.WithCancel(t.Context())
		d := outbox.New(outbox.Options{Store: s, Clock: clk, Poll: 5 * time.Millisecond,
			Timeout: time.Hour, PerPlatform: 4, MaxInFlight: 16})
		stopped := make(chan struct{})
		go func() { d.Run(ctx); close(stopped) }()
		select {
		case <-got:
		case <-time.After(30 * time.Second): // a watchdog, not a wait: the push is expected within a poll or two
			t.Fatal("the healthy platform's push waits behind the hung receiver")
		}
		if n := most.Load(); n > 4 {
			t.Errorf("the hung receiver had %d requests open at once, want at most PerPlatform = 4", n)
		}
		cancel()
		<-stopped
		// The hung attempts were cut short by the shutdown: nothing was
		// recorded for them and all 300 are still pending (at least once).
		if by, _ := events(t, s, "wxhung"); by[miniship.EventPending] != 300 {
			t.Errorf("hung platform's events: %v, want 300 pending", by)
		}
	})
}

// One claim shares the free slots between platforms: the platform with the
// oldest, longest backlog gets PerPlatform, the others all theirs.
func TestClaimSharesSlotsFairly(t *testing.T) {
	stores(t, func(t *testing.T, s miniship.Store) {
		clk := clock.NewManual(t0)
		var a, b, c atomic.Int64
		enqueue(t, s, "wxa", success(t, &a), 100, t0.Add(-time.Hour))
		enqueue(t, s, "wxb", success(t, &b), 2, t0)
		enqueue(t, s, "wxc", success(t, &c), 1, t0)
		d := outbox.New(outbox.Options{Store: s, Clock: clk, PerPlatform: 4, MaxInFlight: 8})
		if n, err := d.DeliverDue(t.Context()); n != 7 || err != nil {
			t.Fatalf("DeliverDue = %d, %v; want 7 (4 + 2 + 1)", n, err)
		}
		if a.Load() != 4 || b.Load() != 2 || c.Load() != 1 {
			t.Fatalf("pushes received: a %d, b %d, c %d; want 4, 2, 1", a.Load(), b.Load(), c.Load())
		}
		// A global cap smaller than the platforms: one each, oldest first.
		enqueue(t, s, "wxb", success(t, &b), 1, t0)
		enqueue(t, s, "wxc", success(t, &c), 1, t0)
		d = outbox.New(outbox.Options{Store: s, Clock: clk, PerPlatform: 4, MaxInFlight: 3})
		if n, err := d.DeliverDue(t.Context()); n != 3 || err != nil {
			t.Fatalf("DeliverDue = %d, %v; want 3", n, err)
		}
		if a.Load() != 5 || b.Load() != 3 || c.Load() != 2 {
			t.Fatalf("pushes received: a %d, b %d, c %d; want 5, 3, 2", a.Load(), b.Load(), c.Load())
		}
	})
}

// Two deliverers whose leases overlap both fail an attempt at the same
// event: both attempts count. Writing back a counter read at claim time
// counted one.
func TestOverlappingDeliverersCountEveryAttempt(t *testing.T) {
	stores(t, func(t *testing.T, s miniship.Store) {
		clk := clock.NewManual(t0)
		enqueue(t, s, "wxp", "http://receiver.invalid/", 1, t0)
		down := func(r *http.Request) *http.Response {
			return &http.Response{StatusCode: http.StatusServiceUnavailable, Body: io.NopCloser(strings.NewReader("down")), Request: r}
		}
		inFlight, release := make(chan struct{}), make(chan struct{})
		a := outbox.New(outbox.Options{Store: s, Clock: clk, Client: &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			close(inFlight)
			<-release
			return down(r), nil
		})}})
		b := outbox.New(outbox.Options{Store: s, Clock: clk, Client: &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			return down(r), nil
		})}})
		var wg sync.WaitGroup
		var errA error
		wg.Go(func() { _, errA = a.DeliverDue(context.Background()) })
		<-inFlight
		clk.Advance(2 * time.Minute) // A's lease runs out mid-attempt
		if n, err := b.DeliverDue(t.Context()); n != 1 || err != nil {
			t.Fatalf("B: DeliverDue = %d, %v", n, err)
		}
		close(release)
		wg.Wait()
		if errA != nil {
			t.Fatalf("A: %v", errA)
		}
		by, attempts := events(t, s, "wxp")
		if by[miniship.EventPending] != 1 || len(attempts) != 1 || attempts[0] != 2 {
			t.Fatalf("events %v with attempt counters %v, want one pending event with 2 attempts", by, attempts)
		}
	})
}

// The default schedule keeps retrying a receiver that is down for an hour
// and then gives up: the last attempt is Span(DefaultMaxAttempts) ≥ 1 h
// after the first, and there are exactly DefaultMaxAttempts.
func TestRetrySchedule(t *testing.T) {
	if span := outbox.Span(outbox.DefaultMaxAttempts); span < time.Hour || span > time.Hour+10*time.Minute {
		t.Fatalf("Span(%d) = %v, want an hour", outbox.DefaultMaxAttempts, span)
	}
	stores(t, func(t *testing.T, s miniship.Store) {
		clk := clock.NewManual(t0)
		var at []time.Time
		var mu sync.Mutex
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			at = append(at, clk.Now())
			mu.Unlock()
			http.Error(w, "down", http.StatusBadGateway)
		}))
		defer srv.Close()
		enqueue(t, s, "wxp", srv.URL, 1, t0)
		d := outbox.New(outbox.Options{Store: s, Clock: clk})
		for range 100 {
			if _, err := d.DeliverDue(t.Context()); err != nil {
				t.Fatal(err)
			}
			clk.Advance(5 * time.Second)
		}
		for range 200 { // the rest of two hours, a minute at a time
			if _, err := d.DeliverDue(t.Context()); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Minute)
		}
		by, attempts := events(t, s, "wxp")
		if by[miniship.EventFailed] != 1 || attempts[0] != outbox.DefaultMaxAttempts || len(at) != outbox.DefaultMaxAttempts {
			t.Fatalf("events %v, counter %v, %d requests; want failed after %d", by, attempts, len(at), outbox.DefaultMaxAttempts)
		}
		if span := at[len(at)-1].Sub(at[0]); span < time.Hour {
			t.Fatalf("attempts spanned %v, want an hour", span)
		}
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
