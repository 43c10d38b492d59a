package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxcrypt"
)

// The reviewer: decisions from the admin API and the console, and the
// automatic rules (--auto-approve, --auto-reject-pattern).

// Decision is a reviewer's verdict on an audit in review.
type Decision struct {
	Result     string `json:"result"`
	Reason     string `json:"reason"`
	ScreenShot string `json:"screenshot"`
}

// Default reasons when the reviewer gives none; WeChat always gives one.
const (
	defaultRejectReason = "1:小程序内容不符合规范:<br>(1):审核未通过。<br>"
	defaultDelayReason  = "审核延后，请耐心等待"
)

// DecideAudit applies the reviewer's decision to an audit in review (2, or
// 4 for approve and reject) and queues the result push in the same
// transaction. Errors: ErrInvalid for a bad decision, ErrNotFound for an
// unknown audit, ErrConflict for an audit not in review.
func (s *Service) DecideAudit(ctx context.Context, auditID int64, d Decision) (*miniship.Audit, error) {
	switch d.Result {
	case DecisionApprove, DecisionReject, DecisionDelay:
	default:
		return nil, invalidf("result must be approve, reject or delay, not %q", d.Result)
	}
	if d.ScreenShot != "" && d.Result != DecisionReject {
		return nil, invalidf("a screenshot goes only with reject")
	}
	var out *miniship.Audit
	err := s.updateDeriving(ctx, func(tx miniship.Tx, derive func(*miniship.Version) error) error {
		a, err := tx.GetAudit(auditID)
		if err != nil {
			return fmt.Errorf("audit %d: %w", auditID, err)
		}
		m, err := tx.LockAuthorizer(a.AuthorizerAppID)
		if err != nil {
			return err
		}
		if a, err = tx.GetAudit(auditID); err != nil { // reread under the lock
			return err
		}
		if !inReview(a.Status) || (d.Result == DecisionDelay && a.Status == miniship.AuditDelayed) {
			return fmt.Errorf("%w: audit %d has status %d; a decision needs status 2 (or 4 to approve or reject)", miniship.ErrConflict, a.ID, a.Status)
		}
		out = a
		return s.decide(tx, derive, m, a, d)
	})
	return out, err
}

// decide records the decision on a, whose mini program m the caller has
// locked (and read: no second read of the row), and queues the push to the
// message URL. derive fills a version's derived answers (updateDeriving).
func (s *Service) decide(tx miniship.Tx, derive func(*miniship.Version) error, m *miniship.Authorizer, a *miniship.Audit, d Decision) error {
	now := s.Now()
	if d.Result == DecisionApprove { // the privacy guide is part of the review (privacy.go)
		if reason, err := privacyGuideGap(tx, derive, a); err != nil {
			return err
		} else if reason != "" {
			d = Decision{Result: DecisionReject, Reason: reason}
		}
	}
	var ev *wxcrypt.AuditEvent
	switch d.Result {
	case DecisionApprove:
		a.Status, a.Reason, a.ScreenShot = miniship.AuditApproved, "", ""
		ev = wxcrypt.NewAuditSuccess(m.OriginalID, systemOpenID, now.Unix(), now.Unix())
	case DecisionReject:
		a.Status, a.Reason, a.ScreenShot = miniship.AuditRejected, orDefault(d.Reason, defaultRejectReason), d.ScreenShot
		ev = wxcrypt.NewAuditFail(m.OriginalID, systemOpenID, now.Unix(), a.Reason, now.Unix(), a.ScreenShot)
	case DecisionDelay:
		a.Status, a.Reason, a.ScreenShot = miniship.AuditDelayed, orDefault(d.Reason, defaultDelayReason), ""
		ev = wxcrypt.NewAuditDelay(m.OriginalID, systemOpenID, now.Unix(), a.Reason, now.Unix())
	}
	a.DecidedAt = now
	if err := tx.UpdateAudit(a); err != nil {
		return err
	}
	p, err := tx.GetPlatform(a.PlatformAppID)
	if err != nil {
		return err
	}
	return s.enqueue(tx, miniProgramEvent(p, m, string(ev.Event), ev))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ListAudits lists audits with the status (all when status < 0), oldest
// first, optionally of one mini program: the reviewer's queue.
func (s *Service) ListAudits(ctx context.Context, status int, authorizer string, limit int) ([]*miniship.Audit, error) {
	var out []*miniship.Audit
	err := s.view(ctx, func(tx miniship.Tx) error {
		n := limit // the store limits unless we filter after it
		if authorizer != "" {
			n = 0
		}
		as, err := tx.ListAudits(miniship.AuditStatus(status), n)
		for _, a := range as {
			if (authorizer == "" || a.AuthorizerAppID == authorizer) && len(out) < limit {
				out = append(out, a)
			}
		}
		return err
	})
	return out, err
}

// GetAudit returns one audit and the version it reviews, for the admin API.
func (s *Service) GetAudit(ctx context.Context, id int64) (*miniship.Audit, *miniship.Version, error) {
	var a *miniship.Audit
	var v *miniship.Version
	err := s.view(ctx, func(tx miniship.Tx) (err error) {
		if a, err = tx.GetAudit(id); err != nil {
			return err
		}
		if v, err = tx.GetVersion(a.VersionID); err != nil {
			return err
		}
		return s.derive(tx, v)
	})
	return a, v, err
}

// AutoDecide runs the automatic reviewer over the audits in review (see
// Config.AutoApprove). Tick calls it; each decision is its own transaction,
// which rereads the audit, so a reviewer deciding at the same moment wins
// cleanly. It reads only due audits, a page at a time, and decides each
// page before reading the next.
func (s *Service) AutoDecide(ctx context.Context) error {
	if s.cfg.AutoApprove <= 0 && s.cfg.AutoReject == nil {
		return nil
	}
	// An audit is due once its clock started AutoApprove ago (half that
	// when sped up); without AutoApprove, at once: a bound no clock
	// reaches, so an audit stamped by a server whose clock runs ahead is
	// not skipped.
	now := s.Now()
	never := time.Unix(1<<62/int64(time.Second), 0) // within the store's nanoseconds
	dueBy, halfDueBy := never, never
	if w := s.cfg.AutoApprove; w > 0 {
		dueBy, halfDueBy = now.Add(-w), now.Add(-w/2)
	}
	var errs error
	for _, st := range []miniship.AuditStatus{miniship.AuditPending, miniship.AuditDelayed} {
		// With only the reject rule, a pending audit it did not match
		// stays in review until a person decides, and would be judged
		// again at every tick. Its verdict cannot change (its request
		// and version are immutable, the rule is the process's), so the
		// pending audits are read from past those already judged.
		w := &watermark{on: st == miniship.AuditPending && s.cfg.AutoApprove <= 0}
		var began time.Time
		if w.on {
			began = s.realNow() // real time: see settleReject
			w.upTo = s.rejectFrom(began)
		}
		for after := w.upTo; ; {
			ids, last, more, err := s.duePage(ctx, st, dueBy, halfDueBy, after, w)
			if err != nil {
				return fmt.Errorf("auto decide: %w", err)
			}
			errs = errors.Join(errs, s.decideAll(ctx, ids))
			if !more {
				break
			}
			after = last
		}
		if w.on {
			s.settleReject(w.upTo, began)
		}
	}
	if errs != nil {
		return fmt.Errorf("auto decide: %w", errs)
	}
	return nil
}

// watermark follows, in id order, the pending audits a tick judged with
// no verdict: upTo moves past each one, and stops for good at the first
// audit that has a verdict (it is decided now, and may fail to be).
type watermark struct {
	on      bool
	upTo    int64
	stopped bool
}

func (w *watermark) judged(a *miniship.Audit, verdict bool) {
	if !w.on || w.stopped {
		return
	}
	if verdict {
		w.stopped = true
		return
	}
	w.upTo = a.ID
}

// rejectCandidate is a watermark a tick found, and when.
type rejectCandidate struct {
	upTo int64
	at   time.Time
	set  bool
}

// rejectFrom is where a tick that began at began lists pending audits
// from: past the watermark, or from the start once every ReviewRescan.
func (s *Service) rejectFrom(began time.Time) int64 {
	s.rejectMu.Lock()
	defer s.rejectMu.Unlock()
	if began.Sub(s.rejectRescan) >= s.cfg.ReviewRescan {
		s.rejectRescan = began
		return 0
	}
	return s.rejectSettled.Load()
}

// settleReject takes the watermark of a tick that began reading at began.
// On PostgreSQL a lower id may become visible after a higher one, so a
// watermark is kept only once a later tick began reading ReviewSettle of
// real time after it was found (the service clock may stand still or
// jump): by then every id below it is visible, short of a transaction
// stalled that long (which the periodic rescan of rejectFrom catches),
// and that later tick, having read from the previous watermark, has
// judged them all, so it keeps the lower of the two.
func (s *Service) settleReject(upTo int64, began time.Time) {
	s.rejectMu.Lock()
	defer s.rejectMu.Unlock()
	found := s.realNow()
	c := &s.rejectSeen
	switch {
	case !c.set:
		*c = rejectCandidate{upTo, found, true}
	case began.Sub(c.at) >= s.cfg.ReviewSettle:
		if take := min(c.upTo, upTo); take > s.rejectSettled.Load() {
			s.rejectSettled.Store(take)
		}
		*c = rejectCandidate{upTo, found, true}
	}
}

// duePage reads the next page of due audits of the status after the id
// and returns those a rule decides, the page's last id, and whether a
// page may follow.
func (s *Service) duePage(ctx context.Context, st miniship.AuditStatus, dueBy, halfDueBy time.Time, after int64, w *watermark) (ids []int64, last int64, more bool, err error) {
	start := *w
	err = s.view(ctx, func(tx miniship.Tx) error {
		ids, *w = ids[:0], start
		as, err := tx.AuditsDue(st, dueBy, halfDueBy, after, s.cfg.ReviewPage)
		if err != nil {
			return err
		}
		more = len(as) == s.cfg.ReviewPage
		for _, a := range as {
			last = a.ID
			if !s.autoDue(a) {
				continue // the clock of the service, not the database's test, decides
			}
			if s.cfg.AutoReject == nil { // approve-only: every due audit is decided
				ids = append(ids, a.ID)
				continue
			}
			// Only audits a rule decides cost a write transaction: in
			// reject-only mode the others wait for the reviewer.
			v, err := tx.GetVersion(a.VersionID)
			if err == nil {
				err = s.reviewable(ctx, func(v *miniship.Version) error { return s.derive(tx, v) }, v) // derive.go
			}
			if err != nil {
				return err
			}
			_, ok := s.autoVerdict(a, v)
			if ok {
				ids = append(ids, a.ID)
			}
			w.judged(a, ok)
		}
		return nil
	})
	return ids, last, more, err
}

// decideAll decides the audits side by side, at most reviewWorkers at
// once: on SQLite they share the writer's group commits, on PostgreSQL
// they lock different mini programs at once. One at a time, a burst of due
// audits was decided seconds late under load. Each rereads its audit, so
// their order does not matter.
func (s *Service) decideAll(ctx context.Context, ids []int64) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs error
	sem := make(chan struct{}, reviewWorkers)
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.decideAuto(ctx, id); err != nil {
				mu.Lock()
				errs = errors.Join(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// reviewWorkers bounds the automatic reviewer's decisions in flight.
const reviewWorkers = 16

// decideAuto makes the automatic reviewer's decision on one audit, if it
// is still in review and due.
func (s *Service) decideAuto(ctx context.Context, id int64) error {
	return s.updateDeriving(ctx, func(tx miniship.Tx, derive func(*miniship.Version) error) error {
		a, err := tx.GetAudit(id)
		if err != nil {
			return err
		}
		m, err := tx.LockAuthorizer(a.AuthorizerAppID)
		if err != nil {
			return err
		}
		if a, err = tx.GetAudit(id); err != nil || !inReview(a.Status) || !s.autoDue(a) {
			return err // decided meanwhile
		}
		v, err := tx.GetVersion(a.VersionID)
		if err == nil {
			err = s.reviewable(ctx, derive, v) // derive.go
		}
		if err != nil {
			return err
		}
		d, ok := s.autoVerdict(a, v)
		if !ok {
			return nil
		}
		return s.decide(tx, derive, m, a, d)
	})
}

// autoDue says whether the automatic reviewer may look at the audit now:
// with AutoApprove, once the audit has waited that long since submission
// (since the delay for a delayed one; half as long when sped up); without
// it, at once (only the reject rule applies then).
func (s *Service) autoDue(a *miniship.Audit) bool {
	if s.cfg.AutoApprove <= 0 {
		return true
	}
	wait, since := s.cfg.AutoApprove, a.SubmittedAt
	if a.SpedUp {
		wait /= 2
	}
	if a.Status == miniship.AuditDelayed {
		since = a.DecidedAt
	}
	return !s.Now().Before(since.Add(wait))
}

// autoVerdict is the automatic decision: reject when a page title (an
// item's title, or a navigationBarTitleText of the app or a page) or a
// string in ext matches AutoReject, else approve when AutoApprove is on;
// ok is false when neither rule decides.
func (s *Service) autoVerdict(a *miniship.Audit, v *miniship.Version) (Decision, bool) {
	if re := s.cfg.AutoReject; re != nil {
		for _, text := range reviewTexts(a, v) {
			if re.MatchString(text) {
				return Decision{Result: DecisionReject, Reason: s.cfg.AutoRejectReason + "命中: " + text}, true
			}
		}
	}
	if s.cfg.AutoApprove > 0 {
		return Decision{Result: DecisionApprove}, true
	}
	return Decision{}, false
}

// reviewTexts collects what the automatic reviewer reads.
func reviewTexts(a *miniship.Audit, v *miniship.Version) []string {
	var out []string
	for _, it := range decodeAuditRequest(a).ItemList {
		if it.Title != "" {
			out = append(out, it.Title)
		}
	}
	var app struct {
		Window map[string]any `json:"window"`
	}
	_ = json.Unmarshal(v.App, &app)
	var pages map[string]map[string]any
	_ = json.Unmarshal(v.Pages, &pages)
	title := func(m map[string]any) {
		if t, ok := m["navigationBarTitleText"].(string); ok && t != "" {
			out = append(out, t)
		}
	}
	title(app.Window)
	keys := make([]string, 0, len(pages))
	for k := range pages {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a deterministic first match
	for _, k := range keys {
		title(pages[k])
	}
	var ext any
	_ = json.Unmarshal(v.Ext, &ext)
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			ks := make([]string, 0, len(x))
			for k := range x {
				ks = append(ks, k)
			}
			slices.Sort(ks)
			for _, k := range ks {
				walk(x[k])
			}
		}
	}
	walk(ext)
	return out
}
