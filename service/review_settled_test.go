package service_test

import (
	"context"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/service"
)

// afterRecordingStore records where each listing of pending audits for
// the automatic reviewer starts.
type afterRecordingStore struct {
	miniship.Store
	mu     sync.Mutex
	afters []int64
}

func (s *afterRecordingStore) View(ctx context.Context, fn func(miniship.Tx) error) error {
	return s.Store.View(ctx, func(tx miniship.Tx) error { return fn(afterRecordingTx{tx, s}) })
}

type afterRecordingTx struct {
	miniship.Tx
	s *afterRecordingStore
}

func (t afterRecordingTx) AuditsDue(st miniship.AuditStatus, dueBy, halfDueBy time.Time, after int64, n int) ([]*miniship.Audit, error) {
	if st == miniship.AuditPending {
		t.s.mu.Lock()
		t.s.afters = append(t.s.afters, after)
		t.s.mu.Unlock()
	}
	return t.Tx.AuditsDue(st, dueBy, halfDueBy, after, n)
}

// TestAutoRejectJudgesOnce: with only the reject rule, a pending audit it
// does not match is judged at every tick until a watermark past it has
// aged ReviewSettle in real time, then read past; a newer audit the rule
// matches is still rejected, and the older one stays in review.
func TestAutoRejectJudgesOnce(t *testing.T) {
	// A watermark that cannot age within the test: every tick reads from 0.
	if afters, first := autoRejectTicks(t, time.Hour, 4); !slices.Equal(afters, []int64{0, 0, 0, 0}) {
		t.Errorf("settle an hour: ticks listed from %v, want 0 each time (first audit %d)", afters, first)
	}
	// One that ages at once: the second tick takes the first's, the third
	// reads past the audit.
	if afters, first := autoRejectTicks(t, time.Nanosecond, 4); !slices.Equal(afters, []int64{0, 0, first, first}) {
		t.Errorf("settle 1 ns: ticks listed from %v, want 0, 0, then %d", afters, first)
	}
}

// autoRejectTicks submits an audit the rule does not match, runs n ticks
// and returns where each listed pending audits from; then it checks that
// an audit the rule matches is still rejected and the first stays in
// review.
func autoRejectTicks(t *testing.T, settle time.Duration, n int) (afters []int64, first int64) {
	t.Helper()
	ctx := context.Background()
	store := &afterRecordingStore{}
	svc, clk, seeded := demoService(t, service.Config{AutoReject: regexp.MustCompile("Forbidden"), ReviewSettle: settle},
		func(inner miniship.Store) miniship.Store { store.Store = inner; return store })
	a, b := demoCaller(demo.ShopA), demoCaller(demo.ShopB)
	// The demo template calls wx.getLocation, which shop B is not granted.
	app, err := svc.ApplyPrivacyInterface(ctx, b, service.ApplyPrivacyRequest{APIName: "wx.getLocation", Content: "shop map", URLList: []string{"https://example.com/map"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DecidePrivacyApplication(ctx, app, service.GrantDecision{Result: service.DecisionApprove}); err != nil {
		t.Fatal(err)
	}
	submit := func(c *service.Caller, shop string) int64 {
		t.Helper()
		if err := svc.Commit(ctx, c, service.CommitRequest{TemplateID: seeded.TemplateID, ExtJSON: `{"ext":{"shopName":"` + shop + `"}}`, UserVersion: "1.0.0"}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute) // past the privacy scan
		id, err := svc.SubmitAudit(ctx, c, service.SubmitAuditRequest{PrivacyAPINotUse: true})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	decide := func() {
		t.Helper()
		if err := svc.AutoDecide(ctx); err != nil {
			t.Fatal(err)
		}
	}
	status := func(c *service.Caller, id int64) int {
		t.Helper()
		r, err := svc.AuditStatus(ctx, c, id)
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}

	first = submit(a, "Fine")
	for range n {
		decide()
	}
	store.mu.Lock()
	afters = slices.Clone(store.afters)
	store.mu.Unlock()
	second := submit(b, "Forbidden goods")
	decide()
	if got := status(b, second); got != int(miniship.AuditRejected) {
		t.Errorf("the matching audit: status %d, want rejected", got)
	}
	if got := status(a, first); got != int(miniship.AuditPending) {
		t.Errorf("the unmatched audit: status %d, want still in review", got)
	}
	return afters, first
}
