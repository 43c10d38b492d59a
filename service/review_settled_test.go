package service_test

import (
	"context"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/clock"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/service"
)

// afterRecordingStore records where each listing of pending audits for
// the automatic reviewer starts; while hide is set, that audit is left out
// of listings (as a PostgreSQL transaction not yet committed would be), and
// during (when set) runs inside each listing.
type afterRecordingStore struct {
	miniship.Store
	mu     sync.Mutex
	afters []int64
	hide   int64
	during func()
}

func (s *afterRecordingStore) View(ctx context.Context, fn func(miniship.Tx) error) error {
	return s.Store.View(ctx, func(tx miniship.Tx) error { return fn(afterRecordingTx{tx, s}) })
}

type afterRecordingTx struct {
	miniship.Tx
	s *afterRecordingStore
}

func (t afterRecordingTx) AuditsDue(st miniship.AuditStatus, dueBy, halfDueBy time.Time, after int64, n int) ([]*miniship.Audit, error) {
	as, err := t.Tx.AuditsDue(st, dueBy, halfDueBy, after, n)
	if st != miniship.AuditPending {
		return as, err
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	t.s.afters = append(t.s.afters, after)
	if t.s.during != nil {
		t.s.during()
	}
	return slices.DeleteFunc(as, func(a *miniship.Audit) bool { return a.ID == t.s.hide }), err
}

// rejectEnv is a service with only the reject rule ("Forbidden"), its
// recording store and a real time the test moves.
type rejectEnv struct {
	t     *testing.T
	svc   *service.Service
	clk   *clock.Manual
	store *afterRecordingStore
	tpl   int64
	mu    sync.Mutex
	real  time.Time
}

func newRejectEnv(t *testing.T, settle, rescan time.Duration) *rejectEnv {
	e := &rejectEnv{t: t, store: &afterRecordingStore{}, real: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	svc, clk, seeded := demoService(t, service.Config{AutoReject: regexp.MustCompile("Forbidden"), ReviewSettle: settle, ReviewRescan: rescan},
		func(inner miniship.Store) miniship.Store { e.store.Store = inner; return e.store })
	e.svc, e.clk, e.tpl = svc, clk, seeded.TemplateID
	svc.SetRealNow(func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.real })
	// The demo template calls wx.getLocation, which shop B is not granted.
	ctx := context.Background()
	app, err := svc.ApplyPrivacyInterface(ctx, demoCaller(demo.ShopB), service.ApplyPrivacyRequest{APIName: "wx.getLocation", Content: "shop map", URLList: []string{"https://example.com/map"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DecidePrivacyApplication(ctx, app, service.GrantDecision{Result: service.DecisionApprove}); err != nil {
		t.Fatal(err)
	}
	return e
}

// pass moves the real time on.
func (e *rejectEnv) pass(d time.Duration) { e.mu.Lock(); e.real = e.real.Add(d); e.mu.Unlock() }

func (e *rejectEnv) submit(appid, shop string) int64 {
	e.t.Helper()
	ctx, c := context.Background(), demoCaller(appid)
	if err := e.svc.Commit(ctx, c, service.CommitRequest{TemplateID: e.tpl, ExtJSON: `{"ext":{"shopName":"` + shop + `"}}`, UserVersion: "1.0.0"}); err != nil {
		e.t.Fatal(err)
	}
	e.clk.Advance(time.Minute) // past the privacy scan
	id, err := e.svc.SubmitAudit(ctx, c, service.SubmitAuditRequest{PrivacyAPINotUse: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// tick runs the reviewer once, a second of real time after the last.
func (e *rejectEnv) tick() {
	e.t.Helper()
	e.pass(time.Second)
	if err := e.svc.AutoDecide(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *rejectEnv) afters() []int64 {
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	return slices.Clone(e.store.afters)
}

func (e *rejectEnv) status(appid string, id int64) int {
	e.t.Helper()
	r, err := e.svc.AuditStatus(context.Background(), demoCaller(appid), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Status
}

// TestAutoRejectJudgesOnce: with only the reject rule, a pending audit it
// does not match is judged at every tick until a watermark past it is
// taken by a tick that began ReviewSettle after the watermark was found;
// later ticks read past it, but for a full reading every ReviewRescan.
// An audit the rule matches is still rejected, the other stays in review.
func TestAutoRejectJudgesOnce(t *testing.T) {
	for _, tc := range []struct {
		name           string
		settle, rescan time.Duration
		want           func(first int64) []int64
	}{
		{"not aged", time.Hour, 24 * time.Hour, func(int64) []int64 { return []int64{0, 0, 0, 0, 0} }},
		// Ticks a second apart: the third takes the first's watermark.
		{"aged", 2 * time.Second, 24 * time.Hour, func(f int64) []int64 { return []int64{0, 0, 0, f, f} }},
		// The fourth reads everything again (three seconds after the first).
		{"rescanned", 2 * time.Second, 3 * time.Second, func(f int64) []int64 { return []int64{0, 0, 0, 0, f} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRejectEnv(t, tc.settle, tc.rescan)
			first := e.submit(demo.ShopA, "Fine")
			for range 5 {
				e.tick()
			}
			if got, want := e.afters(), tc.want(first); !slices.Equal(got, want) {
				t.Errorf("ticks listed from %v, want %v", got, want)
			}
			second := e.submit(demo.ShopB, "Forbidden goods")
			e.tick()
			if got := e.status(demo.ShopB, second); got != int(miniship.AuditRejected) {
				t.Errorf("the matching audit: status %d, want rejected", got)
			}
			if got := e.status(demo.ShopA, first); got != int(miniship.AuditPending) {
				t.Errorf("the unmatched audit: status %d, want still in review", got)
			}
		})
	}
}

// TestAutoRejectLateAudit: an audit that becomes visible only after a
// higher one (a PostgreSQL transaction committing late) is not skipped by
// a watermark taken by a tick that began too soon, however long that tick
// then ran.
func TestAutoRejectLateAudit(t *testing.T) {
	e := newRejectEnv(t, time.Minute, 24*time.Hour)
	late := e.submit(demo.ShopB, "Forbidden goods") // matches, but not visible yet
	e.store.hide = late
	fine := e.submit(demo.ShopA, "Fine")
	e.tick() // finds the watermark past fine
	e.store.mu.Lock()
	e.store.during = func() { e.real = e.real.Add(2 * time.Minute) } // a tick that runs long
	e.store.mu.Unlock()
	e.tick() // began a second after: must not take it
	e.store.mu.Lock()
	e.store.during, e.store.hide = nil, 0 // the late audit commits
	e.store.mu.Unlock()
	e.tick()
	if got := e.status(demo.ShopB, late); got != int(miniship.AuditRejected) {
		t.Errorf("the late audit: status %d, want rejected (ticks listed from %v, fine is %d)", got, e.afters(), fine)
	}
}
