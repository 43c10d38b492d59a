package httpapi

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/clock"
	"github.com/miniship/miniship/sqlstore"
)

// TestOutboxScrapeRead: scrapes within outboxScrapeEvery of the last read
// answer what it read, without reading the store again; the next one
// after it reads again.
func TestOutboxScrapeRead(t *testing.T) {
	store, err := sqlstore.Open(context.Background(), "sqlite://"+t.TempDir()+"/m.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	c := &outboxCollector{store: store, clock: clock.NewManual(time.Unix(1_700_000_000, 0))}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	pending := func() float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "miniship_outbox_events" {
				for _, m := range mf.GetMetric() {
					if m.GetLabel()[0].GetValue() == miniship.EventPending {
						return m.GetGauge().GetValue()
					}
				}
			}
		}
		t.Fatal("no pending gauge")
		return 0
	}
	if n := pending(); n != 0 {
		t.Fatalf("pending %v, want 0", n)
	}
	err = store.Update(context.Background(), func(tx miniship.Tx) error {
		if err := tx.CreatePlatform(&miniship.Platform{AppID: "wxp"}); err != nil {
			return err
		}
		return tx.EnqueueEvent(&miniship.Event{PlatformAppID: "wxp", Status: miniship.EventPending, NextAttemptAt: time.Unix(1_700_000_000, 0)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := pending(); n != 0 {
		t.Fatalf("pending %v right after a read, want the read's 0", n)
	}
	c.mu.Lock()
	c.read = c.read.Add(-outboxScrapeEvery) // as a second later
	c.mu.Unlock()
	if n := pending(); n != 1 {
		t.Fatalf("pending %v a second later, want 1", n)
	}
}
