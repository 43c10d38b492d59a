package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/miniship/miniship/wxa"
	"github.com/miniship/miniship/wxerr"
)

// auditError is an audit that ended other than approved.
type auditError struct{ st *wxa.AuditStatus }

func (e *auditError) Error() string {
	return fmt.Sprintf("audit %d %s: %s", e.st.AuditID, e.st.Status, e.st.Reason)
}

// classify names a failure and says whether trying again may help.
func classify(err error) (Failure, bool) {
	f := Failure{Msg: err.Error()}
	var we *wxerr.Error
	var he *wxa.HTTPError
	var re *RenderError
	var ae *auditError
	switch {
	case errors.As(err, &we):
		f.Code, f.Kind, f.Msg = int(we.Code), itoa(int(we.Code)), we.Msg
		return f, wxa.Retryable(err)
	case errors.As(err, &ae):
		f.Kind = ae.st.Status.String()
		return f, false
	case errors.As(err, &re):
		f.Kind = "ext_json"
		return f, false
	case errors.Is(err, wxa.ErrNoRefreshToken):
		f.Kind = "no_refresh_token"
		return f, false
	case errors.Is(err, wxa.ErrNoTicket):
		f.Kind = "no_ticket"
		return f, false
	case errors.As(err, &he):
		f.Kind = "http_" + itoa(he.StatusCode)
		return f, he.StatusCode >= 500 || he.StatusCode == http.StatusTooManyRequests
	case errors.Is(err, errLocal):
		f.Kind = "error"
		return f, false
	}
	f.Kind = "network"
	return f, true
}

var errLocal = errors.New("rollout")

// step runs one step of an app. It returns WaitNone, nil when the step is
// done, what the app waits for when it must come back later, or the
// failure.
func (e *engine) step(ctx context.Context, a *app, st Step) (Wait, error) {
	w := e.client.App(a.ID)
	switch st {
	case StepCommit:
		return e.commit(ctx, w, a)
	case StepPrivacyScan:
		// Polled here rather than with WaitPrivacyScan: a waiting app must
		// not hold a worker.
		_, err := w.PrivacyInfo(ctx)
		if errors.Is(err, wxerr.PrivacyScanRunning) {
			return WaitScan, nil
		}
		return WaitNone, err
	case StepSubmitAudit:
		return e.submit(ctx, w, a)
	case StepWaitAudit:
		res, err := w.AuditStatus(ctx, a.AuditID)
		switch {
		case err != nil:
			return WaitNone, err
		case !res.Status.Done():
			return WaitAudit, nil
		case res.Status != wxa.AuditApproved:
			if res.AuditID == 0 {
				res.AuditID = a.AuditID
			}
			return WaitNone, &auditError{res}
		}
		return WaitNone, nil
	case StepGray:
		return e.gray(ctx, w, a)
	case StepRelease:
		return WaitNone, e.release(ctx, w, a)
	}
	return WaitNone, fmt.Errorf("%w: unknown step %v", errLocal, st)
}

// commit never commits twice: when an earlier commit may have gone through
// unseen (inflight), the experience version tells whether it did. One the
// server is still processing does not show yet; the repeated commit then
// meets 9402202, so it is made without the SDK's retries (a retry after the
// earlier commit ends would be a second commit), and 9402202 sends the app
// back to wait CommitWait, to look at the experience version again before
// any new commit.
func (e *engine) commit(ctx context.Context, w *wxa.App, a *app) (Wait, error) {
	again := a.Inflight == StepCommit
	if again {
		if ok, err := e.versionIs(ctx, w, false); err != nil || ok {
			return WaitNone, err
		}
	}
	raw, err := e.state.vals(ctx, a.ID)
	if err != nil {
		return WaitNone, fmt.Errorf("%w: state file: %v", errLocal, err)
	}
	var vals map[string]any
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &vals); err != nil {
			return WaitNone, fmt.Errorf("%w: values: %v", errLocal, err)
		}
	}
	ext, err := e.plan.Render(a.ID, vals)
	if err != nil {
		return WaitNone, err
	}
	if err := e.markInflight(a, StepCommit); err != nil {
		return WaitNone, err
	}
	cctx := ctx
	if again {
		cctx = wxa.WithoutRetry(ctx)
	}
	err = w.Commit(cctx, wxa.CommitRequest{TemplateID: e.plan.Template.ID, ExtJSON: ext, UserVersion: e.plan.UserVersion, UserDesc: e.plan.UserDesc})
	if again && errors.Is(err, wxerr.ConcurrentLimit) {
		// A commit is being processed, most likely the earlier one: still
		// in flight, the app is checked again at the next visit.
		e.log.Debug("rollout: a commit is under way, waiting for it", "appid", a.ID, "wait", e.CommitWait)
		return WaitCommit, nil
	}
	return WaitNone, err
}

// versionIs reports whether the experience (or, with released, the online)
// version is this rollout's.
func (e *engine) versionIs(ctx context.Context, w *wxa.App, released bool) (bool, error) {
	vi, err := w.VersionInfo(ctx)
	if err != nil {
		return false, err
	}
	if released {
		return vi.ReleaseInfo != nil && vi.ReleaseInfo.ReleaseVersion == e.plan.UserVersion, nil
	}
	return vi.ExpInfo != nil && vi.ExpInfo.ExpVersion == e.plan.UserVersion, nil
}

func (e *engine) submit(ctx context.Context, w *wxa.App, a *app) (Wait, error) {
	if a.Inflight == StepSubmitAudit {
		if ok, err := e.adoptAudit(ctx, w, a); err != nil || ok {
			return WaitNone, err
		}
	}
	req := e.plan.Audit
	if len(req.ItemList) == 0 {
		cats, err := w.Categories(ctx)
		if err != nil {
			return WaitNone, err
		}
		if len(cats) == 0 {
			return WaitNone, fmt.Errorf("%w: no category to submit under: set audit.item_list", errLocal)
		}
		req.ItemList = []wxa.AuditItem{cats[0].AuditItem()}
	}
	if err := e.markInflight(a, StepSubmitAudit); err != nil {
		return WaitNone, err
	}
	id, err := w.SubmitAudit(ctx, req)
	switch {
	case err == nil:
		a.AuditID = id
		return WaitNone, nil
	case errors.Is(err, wxerr.PrivacyScanRunning):
		// The scan is not over after all: wait for it, never re-commit.
		a.Inflight = 0
		return WaitScan, nil
	case errors.Is(err, wxerr.AlreadyAuditing):
		// Maybe ours, from an answer that got lost.
		if ok, aerr := e.adoptAudit(ctx, w, a); aerr == nil && ok {
			return WaitNone, nil
		}
	}
	return WaitNone, err
}

// adoptAudit takes the latest audit as this app's when it is of this
// rollout's version and not the one already known (a rejected earlier try).
func (e *engine) adoptAudit(ctx context.Context, w *wxa.App, a *app) (bool, error) {
	st, err := w.LatestAuditStatus(ctx)
	var we *wxerr.Error
	if errors.As(err, &we) && !wxa.Retryable(err) {
		return false, nil // no audit at all
	}
	if err != nil {
		return false, err
	}
	if st.AuditID == 0 || st.AuditID == a.AuditID || st.UserVersion != e.plan.UserVersion {
		return false, nil
	}
	a.AuditID = st.AuditID
	return true, nil
}

func (e *engine) gray(ctx context.Context, w *wxa.App, a *app) (Wait, error) {
	wait := time.Duration(e.plan.Gray.Wait)
	for _, pct := range e.plan.Gray.Percentages {
		if pct <= a.GrayPct {
			continue
		}
		err := w.GrayRelease(ctx, wxa.GrayReleaseRequest{GrayPercentage: pct})
		if errors.Is(err, wxerr.NoOnlineRelease) && a.GrayPct == 0 {
			// A first release has no users to phase in: release directly.
			return WaitNone, nil
		}
		if errors.Is(err, wxerr.GrayPercentageTooLow) {
			// An earlier call whose answer was lost may have set it.
			if g, gerr := w.GrayReleasePlan(ctx); gerr == nil && g.GrayPercentage >= pct {
				err = nil
			}
		}
		if err != nil {
			return WaitNone, err
		}
		a.GrayPct = pct
		if wait > 0 {
			return WaitGray, nil // the step completes at the next visit
		}
	}
	return WaitNone, nil
}

func (e *engine) release(ctx context.Context, w *wxa.App, a *app) error {
	if a.Inflight == StepRelease {
		if ok, err := e.versionIs(ctx, w, true); err != nil || ok {
			return err
		}
	}
	if err := e.markInflight(a, StepRelease); err != nil {
		return err
	}
	err := w.Release(ctx)
	if errors.Is(err, wxerr.AlreadyReleased) {
		if ok, verr := e.versionIs(ctx, w, true); verr == nil && ok {
			return nil
		}
	}
	return err
}
