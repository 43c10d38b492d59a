package service

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/miniship/miniship"
)

// sweepBatch is how many rows one sweep transaction deletes at most: each
// batch holds the (SQLite) writer for a few milliseconds only.
const sweepBatch = 500

// sweepMedia deletes uploads older than MediaTTL, bytes and all, at most
// once a minute of service time: a mediaid is refused (checkMedia) from
// the moment it expires, so nothing can use them.
func (s *Service) sweepMedia(ctx context.Context) {
	now := s.Now()
	if last := s.lastMediaSweep.Load(); last != 0 && now.Sub(time.Unix(0, last)) < time.Minute {
		return
	}
	s.lastMediaSweep.Store(now.UnixNano())
	if _, err := s.sweep(ctx, func(tx miniship.Tx) (int64, error) {
		return tx.DeleteMediaBefore(now.Add(-s.cfg.MediaTTL), sweepBatch)
	}); err != nil && ctx.Err() == nil {
		s.log.Error("sweep media", "err", err)
	}
}

// sweep runs a batch delete in its own transactions until a batch comes
// back short, and returns how many rows it deleted.
func (s *Service) sweep(ctx context.Context, batch func(tx miniship.Tx) (int64, error)) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.update(ctx, func(tx miniship.Tx) (err error) {
			n, err = batch(tx)
			return err
		})
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}

// Retention defaults. What the API can still return is always kept: each
// mini program's latest version and audit, audits in review, what a
// release or gray plan names, the last historySize releases (rollback),
// pending events, this period's quota counters. Beyond that, history is
// kept this long.
const (
	DefaultRetainHistory = 30 * 24 * time.Hour // versions, audits, releases
	DefaultRetainEvents  = 7 * 24 * time.Hour  // delivered and failed pushes, with their attempts
)

// templateGrace is how long a deleted template stays at least: on
// PostgreSQL a commit checks the template without locking it, so one that
// was in flight as the template was deleted may store its version after
// that; it has long done so a minute later, when the template may go.
const templateGrace = time.Minute

// KeepVersions and MaxVersions bound each mini program's versions, but for
// those an audit or a release names (the audit quota and historySize bound
// them): the prune deletes a version with KeepVersions newer ones, and a
// commit the one it gives MaxVersions newer ones, so that no commit rate
// gets past MaxVersions between two prunes. The prune deletes in bulk, in
// id order, cheaper per row than a commit's own delete, which writes a
// page of the table the insert did not: so commits at a common pace leave
// it the work. The API shows only the latest commit (WeChat's experience
// version) and the versions audits and releases name; the newest others
// are kept for the operator console.
const (
	KeepVersions = 10
	MaxVersions  = 2 * KeepVersions
)

// TrimEvery is how many of its commits on one server a mini program makes
// between two trims of its versions: a commit that trims deletes what is
// past MaxVersions in one statement, so under a flood of commits the
// deletes come in batches, cheaper per row than one a commit, and other
// commits pay nothing. A flood stays under MaxVersions + TrimEvery
// versions a server until the prune.
const TrimEvery = 16

// maxTrimCounts bounds trimCounter's memory: past it the counts start
// over, which delays a trim by at most TrimEvery commits of each.
const maxTrimCounts = 1 << 16

// trimCounter counts each mini program's commits since its last trim.
type trimCounter struct {
	mu sync.Mutex
	n  map[string]uint8
}

// due counts a commit of appid and reports whether it is the one to trim.
func (t *trimCounter) due(appid string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil || len(t.n) >= maxTrimCounts {
		t.n = make(map[string]uint8)
	}
	c := t.n[appid] + 1
	if c >= TrimEvery {
		delete(t.n, appid)
		return true
	}
	t.n[appid] = c
	return false
}

// trimKeep is what a commit of appid passes as its trim: MaxVersions when
// it is the one to trim, else 0 (none).
func (s *Service) trimKeep(appid string) int {
	if s.trims.due(appid) {
		return MaxVersions
	}
	return 0
}

// Pruned counts the rows one Prune deleted, by table.
type Pruned map[string]int64

// Prune deletes the history past its retention (Config.RetainHistory,
// Config.RetainEvents; negative keeps it for ever) and versions past
// KeepVersions, in batches of sweepBatch rows, each its own transaction.
// Deleted templates no version names go too, and counters whose period is
// over: per-minute, per-call daily, monthly and daily quotas, and failed
// sign-ins of pre-auth codes that are gone.
func (s *Service) Prune(ctx context.Context) (Pruned, error) {
	now := s.Now()
	out := Pruned{}
	run := func(table string, fn func(tx miniship.Tx) (int64, error)) error {
		n, err := s.sweep(ctx, fn)
		if n > 0 {
			out[table] += n
		}
		return err
	}
	var errs []error
	if h := s.cfg.RetainHistory; h >= 0 {
		before := now.Add(-h)
		// Releases before audits before versions: each names the next.
		errs = append(errs,
			run("releases", func(tx miniship.Tx) (int64, error) { return tx.PruneReleases(before, historySize, sweepBatch) }),
			run("audits", func(tx miniship.Tx) (int64, error) { return tx.PruneAudits(before, sweepBatch) }),
			run("versions", func(tx miniship.Tx) (int64, error) { return tx.PruneVersions(before, KeepVersions, sweepBatch) }))
	} else {
		// History kept for ever is still kept within the count.
		errs = append(errs, run("versions", func(tx miniship.Tx) (int64, error) {
			return tx.PruneVersions(time.Time{}, KeepVersions, sweepBatch)
		}))
	}
	// A deleted template goes with the last version that names it.
	errs = append(errs, run("templates", func(tx miniship.Tx) (int64, error) {
		return tx.PruneTemplates("", now.Add(-templateGrace), sweepBatch)
	}))
	if e := s.cfg.RetainEvents; e >= 0 {
		before := now.Add(-e)
		errs = append(errs, run("events", func(tx miniship.Tx) (int64, error) { return tx.PruneEvents(before, sweepBatch) }))
	}
	// A minute's counter matters for that minute, a day's for that day (in
	// China time, as the quotas count).
	minute := now.UTC().Add(-time.Hour).Format("2006-01-02T15:04")
	day := now.In(chinaTime).AddDate(0, 0, -2).Format("2006-01-02")
	errs = append(errs, run("counters", func(tx miniship.Tx) (int64, error) { return tx.PruneCounters(minute, day, sweepBatch) }))
	// Quotas count the current month or day; the one before stays for a
	// clock that steps back over the boundary. A failed sign-in counts
	// against a pre-auth code, and goes when the code has.
	china := now.In(chinaTime)
	month := time.Date(china.Year(), china.Month()-1, 1, 0, 0, 0, 0, chinaTime).Format("2006-01")
	errs = append(errs, run("counters", func(tx miniship.Tx) (int64, error) {
		return tx.PruneQuotaCounters(month, day, sweepBatch)
	}))
	return out, errors.Join(errs...)
}

// prune runs Prune at most every PruneEvery of service time.
func (s *Service) prune(ctx context.Context) {
	now := s.Now()
	if last := s.lastPrune.Load(); last != 0 && now.Sub(time.Unix(0, last)) < s.cfg.PruneEvery {
		return
	}
	s.lastPrune.Store(now.UnixNano())
	if n, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("prune", "err", err)
	} else if len(n) > 0 {
		s.log.Info("pruned", "rows", map[string]int64(n))
	}
}

// TableSizes counts the rows of every table (GET /miniship/v1/storage).
func (s *Service) TableSizes(ctx context.Context) (map[string]int64, error) {
	var out map[string]int64
	err := s.view(ctx, func(tx miniship.Tx) (err error) {
		out, err = tx.TableSizes()
		return err
	})
	return out, err
}
