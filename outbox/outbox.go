// Package outbox delivers event pushes (tickets, authorization changes,
// audit results) to platforms. Events are written by the service in the same
// transaction as the state change they report; this package encrypts and
// POSTs them, retrying with backoff, and records every attempt. Delivery is
// at least once: a receiver may see an event twice, as with WeChat.
package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxcrypt"
)

// Options configure a Deliverer; zero values take the defaults.
type Options struct {
	Store  miniship.Store
	Clock  miniship.Clock
	Logger *slog.Logger
	Client *http.Client // default: no timeout of its own; Timeout applies
	// MaxAttempts before an event is marked failed (default
	// DefaultMaxAttempts, whose retries span an hour).
	MaxAttempts int
	// Poll is how often the outbox is checked (default 200 ms).
	Poll time.Duration
	// Timeout bounds one attempt, connection to answer (default 5 s).
	Timeout time.Duration
	// PerPlatform is how many of one platform's events one deliverer has
	// in flight at most (default 4): a receiver that hangs holds that many
	// slots and no more, whatever its backlog.
	PerPlatform int
	// MaxInFlight bounds the attempts in flight across all platforms
	// (default 64): goroutines and connections stay bounded.
	MaxInFlight int
	// OnDelivered, when set, is told of each push the receiver accepted: its
	// kind and how long it took from being queued (service clock), for
	// metrics.
	OnDelivered func(kind string, latency time.Duration)
}

// DefaultMaxAttempts is the number of attempts before an event is failed:
// with Backoff, the retries span an hour (Span).
const DefaultMaxAttempts = 13

// Deliverer pushes due events. Each platform's events are claimed and sent
// apart from the others', up to PerPlatform at a time: a platform whose
// receiver hangs delays its own pushes only.
type Deliverer struct {
	o Options

	claimMu sync.Mutex // one claim at a time, so the slots counted stay true
	mu      sync.Mutex
	busy    map[string]int // platform → attempts in flight
	total   int
	// flying are the events in flight: a claim passes them over even once
	// their lease ran out (a manual clock moved past it), or this deliverer
	// would send an event again while its attempt is still open.
	flying  map[int64]bool
	running sync.WaitGroup // attempts started by Run
}

// New returns a Deliverer.
func New(o Options) *Deliverer {
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Poll <= 0 {
		o.Poll = 200 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.PerPlatform <= 0 {
		o.PerPlatform = 4
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 64
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Deliverer{o: o, busy: make(map[string]int), flying: make(map[int64]bool)}
}

// Backoff is the wait after the n-th failed attempt: 5 s doubling to at
// most 10 minutes.
func Backoff(n int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < n && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

// Span is the time from the first to the last of max attempts when every
// one fails: Span(DefaultMaxAttempts) is 1 h 0 min 35 s, so a receiver down
// for up to an hour still gets its events.
func Span(max int) time.Duration {
	var total time.Duration
	for n := 1; n < max; n++ {
		total += Backoff(n)
	}
	return total
}

// lease is how long a claimed event is hidden from other deliverers; a
// deliverer that dies mid-attempt leaves it to be retried after it.
const lease = time.Minute

// Run delivers until ctx ends, then waits for the attempts in flight to
// be recorded. It claims what free slots allow at each poll and does not
// wait for one attempt before starting the next.
func (d *Deliverer) Run(ctx context.Context) {
	t := time.NewTicker(d.o.Poll)
	defer t.Stop()
	defer d.running.Wait()
	for {
		due, err := d.claim(ctx)
		if err != nil && ctx.Err() == nil {
			d.o.Logger.Error("outbox", "err", err)
		}
		for _, e := range due {
			d.running.Go(func() {
				if err := d.attempt(ctx, e); err != nil && ctx.Err() == nil {
					d.o.Logger.Error("outbox", "event", e.ID, "err", err)
				}
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeliverDue claims the events that are due (as many as free slots
// allow, shared fairly between platforms), attempts each once, waits for
// the attempts, and returns how many it made.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	due, err := d.claim(ctx)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(due))
	for i, e := range due {
		wg.Go(func() { errs[i] = d.attempt(ctx, e) })
	}
	wg.Wait()
	return len(due), errors.Join(errs...)
}

// claim leases due events for the free slots, and takes the slots: every
// platform with due events, oldest waiting first, gets its share, at most
// PerPlatform in flight; a platform at its cap is passed over.
func (d *Deliverer) claim(ctx context.Context) ([]*miniship.Event, error) {
	d.claimMu.Lock()
	defer d.claimMu.Unlock()
	d.mu.Lock()
	free, full := d.o.MaxInFlight-d.total, 0
	busy := make(map[string]int, len(d.busy))
	for p, n := range d.busy {
		busy[p] = n
		if n >= d.o.PerPlatform {
			full++
		}
	}
	flying := maps.Clone(d.flying)
	d.mu.Unlock()
	if free <= 0 {
		return nil, nil
	}
	var due []*miniship.Event
	err := d.o.Store.Update(ctx, func(tx miniship.Tx) error {
		due = nil
		now := d.o.Clock.Now()
		// The platforms at their cap are listed too and passed over below:
		// asking for as many more keeps the query text constant.
		ps, err := tx.DuePlatforms(now, free+full)
		if err != nil {
			return err
		}
		// Rounds of an equal share each until the slots are used or no
		// platform has more: one platform's backlog cannot take them all.
		share := max(1, free/max(1, len(ps)-full))
		got, dry := make(map[string]int), make(map[string]bool)
		for more := true; more && len(due) < free; {
			more = false
			for _, p := range ps {
				n := min(d.o.PerPlatform-busy[p]-got[p], share, free-len(due))
				if n <= 0 || dry[p] {
					continue
				}
				// Leased events are due later now: a second round reads on.
				evs, err := tx.DuePlatformEvents(p, now, n)
				if err != nil {
					return err
				}
				dry[p] = len(evs) < n
				for _, e := range evs {
					if flying[e.ID] {
						continue
					}
					e.NextAttemptAt = now.Add(lease)
					if err := tx.UpdateEvent(e); err != nil {
						return err
					}
					got[p]++
					more = true
					due = append(due, e)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	for _, e := range due {
		d.busy[e.PlatformAppID]++
		d.total++
		d.flying[e.ID] = true
	}
	d.mu.Unlock()
	return due, nil
}

// attempt delivers a claimed event and gives its slot back.
func (d *Deliverer) attempt(ctx context.Context, e *miniship.Event) error {
	defer func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.total--
		delete(d.flying, e.ID)
		if d.busy[e.PlatformAppID]--; d.busy[e.PlatformAppID] <= 0 {
			delete(d.busy, e.PlatformAppID)
		}
	}()
	return d.deliver(ctx, e)
}

// deliver makes one attempt and records it.
func (d *Deliverer) deliver(ctx context.Context, e *miniship.Event) error {
	at := d.o.Clock.Now()
	status, resp, sendErr := d.send(ctx, e, at)
	if sendErr != nil && ctx.Err() != nil {
		// Shutting down cut the attempt short: the lease expires and a later
		// run retries. An attempt the receiver answered is recorded below
		// even so, or it would be sent again.
		return nil
	}
	a := &miniship.EventAttempt{EventID: e.ID, At: at, HTTPStatus: status, Response: resp}
	ok := sendErr == nil && status == http.StatusOK && strings.TrimSpace(resp) == "success"
	switch {
	case sendErr != nil:
		a.Error = sendErr.Error()
	case !ok:
		a.Error = fmt.Sprintf("receiver answered HTTP %d %q, want 200 \"success\"", status, truncate(resp, 64))
	}
	err := d.o.Store.Update(context.WithoutCancel(ctx), func(tx miniship.Tx) error {
		if err := tx.AddEventAttempt(a); err != nil {
			return err
		}
		// Counted in the database: a deliverer whose lease ran out
		// mid-attempt and the one that took the event over both count.
		n, st, err := tx.IncrementEventAttempts(e.ID)
		if err != nil {
			return err
		}
		if st != miniship.EventPending {
			// Another deliverer finished the event meanwhile: its outcome
			// stands; our attempt is still recorded.
			return nil
		}
		e.Attempts = n
		switch {
		case ok:
			e.Status = miniship.EventDelivered
		case n >= d.o.MaxAttempts:
			e.Status = miniship.EventFailed
		default:
			e.NextAttemptAt = at.Add(Backoff(n))
		}
		return tx.UpdateEvent(e)
	})
	if errors.Is(err, miniship.ErrNotFound) {
		// A newer push superseded the event meanwhile (a ticket replaces
		// the undelivered ones) and took its attempts with it.
		d.o.Logger.Info("push superseded during its attempt", "event", e.ID, "kind", e.Kind)
		return nil
	}
	if err == nil && e.Status == miniship.EventDelivered && d.o.OnDelivered != nil {
		d.o.OnDelivered(e.Kind, at.Sub(e.CreatedAt))
	}
	if !ok {
		d.o.Logger.Warn("push failed", "event", e.ID, "kind", e.Kind, "url", e.URL, "attempt", e.Attempts, "err", a.Error)
	}
	return err
}

// send encrypts the event with the platform's current key and a fresh
// timestamp and nonce, and POSTs it to the platform's current URL for it,
// which it records in e.URL.
func (d *Deliverer) send(ctx context.Context, e *miniship.Event, at time.Time) (int, string, error) {
	var p *miniship.Platform
	err := d.o.Store.View(ctx, func(tx miniship.Tx) (err error) {
		p, err = tx.GetPlatform(e.PlatformAppID)
		return err
	})
	if err != nil {
		return 0, "", err
	}
	if e.URL = p.PushURL(e); e.URL == "" {
		return 0, "", errNoURL
	}
	c, err := wxcrypt.New(p.Token, p.EncodingAESKey, p.AppID)
	if err != nil {
		return 0, "", err
	}
	env := wxcrypt.MessageEnvelope(e.EnvelopeTo)
	if e.EnvelopeKind == miniship.EnvelopeAppID {
		env = wxcrypt.PlatformEnvelope(e.EnvelopeTo)
	}
	q, body, err := c.SealPush([]byte(e.Payload), env, strconv.FormatInt(at.Unix(), 10), "")
	if err != nil {
		return 0, "", err
	}
	u, err := url.Parse(e.URL)
	if err != nil {
		return 0, "", err
	}
	uq := u.Query()
	for k, v := range q {
		uq[k] = v
	}
	u.RawQuery = uq.Encode()
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "Mozilla/4.0 (miniship push)")
	res, err := d.o.Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	return res.StatusCode, string(b), nil
}

// errNoURL is the attempt of a push whose platform has since emptied the
// URL it goes to; it is retried as any failed attempt, should the URL come
// back.
var errNoURL = errors.New("the platform's auth_event_url or message_url for this push is empty now")

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
