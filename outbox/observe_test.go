package outbox

import (
	"context"
	"testing"
	"time"
)

// TestOnDeliveredReportsKindAndLatency: the hook hears of each accepted
// push once, with its kind and the time since it was queued on the
// service clock; a failed attempt is not reported.
func TestOnDeliveredReportsKindAndLatency(t *testing.T) {
	e := newOutboxEnv(t)
	type report struct {
		kind string
		d    time.Duration
	}
	var got []report
	d := New(Options{Store: e.store, Clock: e.clk, OnDelivered: func(kind string, d time.Duration) { got = append(got, report{kind, d}) }})
	e.clk.Advance(7 * time.Second) // the push waited 7 s before this attempt
	if n, err := d.DeliverDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("DeliverDue = %d, %v", n, err)
	}
	if len(got) != 1 || got[0].kind != "test" || got[0].d != 7*time.Second {
		t.Fatalf("reports %v, want one of kind test after 7s", got)
	}
	e.clk.Advance(time.Hour)
	if n, _ := d.DeliverDue(context.Background()); n != 0 || len(got) != 1 {
		t.Fatalf("a delivered push was reported again: %d sent, %v", n, got)
	}

	// A receiver that refuses: the attempt is recorded, nothing reported.
	f := newOutboxEnv(t)
	f.srv.Close()
	got = nil
	d = New(Options{Store: f.store, Clock: f.clk, OnDelivered: func(kind string, d time.Duration) { got = append(got, report{kind, d}) }})
	if n, _ := d.DeliverDue(context.Background()); n != 1 || len(got) != 0 {
		t.Fatalf("a failed attempt: %d attempted, reports %v", n, got)
	}
}
