package outbox_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/clock"
	"github.com/miniship/miniship/outbox"
	"github.com/miniship/miniship/sqlstore"
)

// BenchmarkHealthyPushWhileOtherHangs measures one push to a healthy
// platform, from enqueue to receipt, while another platform's receiver
// hangs with 300 pending events, with the default options (200 ms poll).
//
//	go test -run '^$' -bench HealthyPush -benchtime 20x ./outbox
func BenchmarkHealthyPushWhileOtherHangs(b *testing.B) {
	s, err := sqlstore.OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "outbox.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	quit := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-quit:
		}
	}))
	defer hung.Close()
	defer close(quit)
	got := make(chan struct{}, 1)
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "success")
		got <- struct{}{}
	}))
	defer healthy.Close()
	clk := clock.NewManual(t0)
	enqueueB(b, s, "wxhung", hung.URL, 300, t0.Add(-time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	d := outbox.New(outbox.Options{Store: s, Clock: clk, Timeout: time.Hour})
	stopped := make(chan struct{})
	go func() { d.Run(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()
	b.ResetTimer()
	for range b.N {
		enqueueB(b, s, "wxhealthy", healthy.URL, 1, t0)
		<-got
	}
}

func enqueueB(b *testing.B, s miniship.Store, platform, url string, n int, at time.Time) {
	err := s.Update(b.Context(), func(tx miniship.Tx) error {
		if _, err := tx.GetPlatform(platform); err == miniship.ErrNotFound {
			if err := tx.CreatePlatform(&miniship.Platform{AppID: platform, Token: "tok", EncodingAESKey: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", AuthEventURL: url}); err != nil {
				return err
			}
		}
		for range n {
			if err := tx.EnqueueEvent(&miniship.Event{PlatformAppID: platform, URL: url, Kind: "test",
				EnvelopeKind: miniship.EnvelopeAppID, EnvelopeTo: platform, Payload: "<xml/>",
				Status: miniship.EventPending, NextAttemptAt: at, CreatedAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
