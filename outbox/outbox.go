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
	Client *http.Client // default: 5 s timeout
	// MaxAttempts before an event is marked failed (default 12).
	MaxAttempts int
	// Poll is how often the outbox is checked (default 200 ms).
	Poll time.Duration
}

// Deliverer pushes due events.
type Deliverer struct {
	o Options
}

// New returns a Deliverer.
func New(o Options) *Deliverer {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 5 * time.Second}
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 12
	}
	if o.Poll <= 0 {
		o.Poll = 200 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Deliverer{o: o}
}

// Backoff is the wait after the n-th failed attempt: 5 s doubling to at
// most 10 minutes, so a receiver down for an hour still gets its events.
func Backoff(n int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < n && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

// lease is how long a claimed event is hidden from other deliverers; a
// deliverer that dies mid-attempt leaves it to be retried after it.
const lease = time.Minute

// Run delivers until ctx ends.
func (d *Deliverer) Run(ctx context.Context) {
	t := time.NewTicker(d.o.Poll)
	defer t.Stop()
	for {
		if _, err := d.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			d.o.Logger.Error("outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeliverDue claims the events that are due, attempts each once, and
// returns how many it attempted.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	var due []*miniship.Event
	err := d.o.Store.Update(ctx, func(tx miniship.Tx) error {
		now := d.o.Clock.Now()
		evs, err := tx.DueEvents(now, 32)
		if err != nil {
			return err
		}
		for _, e := range evs {
			e.NextAttemptAt = now.Add(lease)
			if err := tx.UpdateEvent(e); err != nil {
				return err
			}
		}
		due = evs
		return nil
	})
	if err != nil || len(due) == 0 {
		return 0, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(due))
	for i, e := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.deliver(ctx, e)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return len(due), err
		}
	}
	return len(due), nil
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
	e.Attempts++
	switch {
	case ok:
		e.Status = miniship.EventDelivered
	case e.Attempts >= d.o.MaxAttempts:
		e.Status = miniship.EventFailed
	default:
		e.NextAttemptAt = at.Add(Backoff(e.Attempts))
	}
	if !ok {
		d.o.Logger.Warn("push failed", "event", e.ID, "kind", e.Kind, "url", e.URL, "attempt", e.Attempts, "err", a.Error)
	}
	return d.o.Store.Update(context.WithoutCancel(ctx), func(tx miniship.Tx) error {
		if err := tx.AddEventAttempt(a); err != nil {
			return err
		}
		if err := tx.UpdateEvent(e); !errors.Is(err, miniship.ErrConflict) {
			return err
		}
		// Our lease ran out mid-attempt and another deliverer finished the
		// event meanwhile: its outcome stands; our attempt is still recorded.
		return nil
	})
}

// send encrypts the event with the platform's current key and a fresh
// timestamp and nonce, and POSTs it.
func (d *Deliverer) send(ctx context.Context, e *miniship.Event, at time.Time) (int, string, error) {
	var p *miniship.Platform
	err := d.o.Store.View(ctx, func(tx miniship.Tx) (err error) {
		p, err = tx.GetPlatform(e.PlatformAppID)
		return err
	})
	if err != nil {
		return 0, "", err
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

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
