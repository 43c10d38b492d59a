package service

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/miniship/miniship"
)

// What the operator's tools read and do beyond the WeChat calls: the
// console's listings, redelivery of a failed push, and the package a
// runtime downloads.

// EventLog is a push and every attempt at it.
type EventLog struct {
	*miniship.Event
	AttemptList []*miniship.EventAttempt `json:"attempt_list"`
}

// ListEvents lists the platform's pushes (every platform's when empty),
// newest first, with their attempts.
func (s *Service) ListEvents(ctx context.Context, platform string, limit int) ([]EventLog, error) {
	var out []EventLog
	err := s.view(ctx, func(tx miniship.Tx) error {
		evs, err := tx.ListEvents(platform, limit)
		if err != nil {
			return err
		}
		out = make([]EventLog, 0, len(evs))
		for _, e := range evs {
			at, err := tx.ListEventAttempts(e.ID)
			if err != nil {
				return err
			}
			out = append(out, EventLog{e, at})
		}
		return nil
	})
	return out, err
}

// RedeliverEvent puts a failed push back in the outbox, due now, with a
// fresh retry budget. The inner message is the one stored; the deliverer
// encrypts it again with a new timestamp, nonce and signature, as WeChat's
// own retries do. ErrNotFound for an unknown event, ErrConflict for one
// that is not failed.
func (s *Service) RedeliverEvent(ctx context.Context, id int64) (*miniship.Event, error) {
	var e *miniship.Event
	err := s.update(ctx, func(tx miniship.Tx) error {
		if err := tx.RequeueEvent(id, s.Now()); err != nil {
			return fmt.Errorf("event %d: %w", id, err)
		}
		var err error
		e, err = tx.GetEvent(id)
		return err
	})
	return e, err
}

// SearchMiniPrograms lists mini programs whose appid or nickname starts
// with prefix, in appid order after the appid given.
func (s *Service) SearchMiniPrograms(ctx context.Context, prefix, after string, limit int) ([]*miniship.Authorizer, error) {
	var out []*miniship.Authorizer
	err := s.view(ctx, func(tx miniship.Tx) (err error) {
		out, err = tx.SearchAuthorizers(prefix, after, limit)
		return err
	})
	return out, err
}

// MiniProgramState is everything the console shows of one mini program.
// Missing parts are nil.
type MiniProgramState struct {
	Authorizer  *miniship.Authorizer
	Experience  *miniship.Version
	LatestAudit *miniship.Audit
	Online      *miniship.Release
	Gray        *miniship.GrayPlan
	// Versions is the newest part of the version history.
	Versions []*miniship.Version
}

// MiniProgram reads a mini program's state in one snapshot, with the
// newest history versions.
func (s *Service) MiniProgram(ctx context.Context, appid string, history int) (*MiniProgramState, error) {
	st := &MiniProgramState{}
	err := s.view(ctx, func(tx miniship.Tx) error {
		var err error
		if st.Authorizer, err = tx.GetAuthorizer(appid); err != nil {
			return err
		}
		if st.Versions, err = tx.ListVersions(appid, 0, history); err != nil {
			return err
		}
		if len(st.Versions) > 0 {
			st.Experience = st.Versions[0]
		}
		opt := func(err error) error {
			if errors.Is(err, miniship.ErrNotFound) {
				return nil
			}
			return err
		}
		if st.LatestAudit, err = tx.LatestAudit(appid); opt(err) != nil {
			return err
		}
		if st.Online, err = onlineRelease(tx, appid); opt(err) != nil {
			return err
		}
		if st.Gray, err = tx.GetGrayPlan(appid); opt(err) != nil {
			return err
		}
		return nil
	})
	return st, err
}

// Version returns one version of the mini program; a version of another
// mini program is ErrNotFound.
func (s *Service) Version(ctx context.Context, appid string, id int64) (*miniship.Version, error) {
	var v *miniship.Version
	err := s.view(ctx, func(tx miniship.Tx) (err error) {
		v, err = tx.GetVersion(id)
		if err == nil && v.AuthorizerAppID != appid {
			v, err = nil, fmt.Errorf("version %d of %s: %w", id, appid, miniship.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	// Versions store what the commit sent; the effective app.json and page
	// configs are derived (derive.go).
	if err := s.fillConfig(ctx, v); err != nil {
		return nil, err
	}
	return v, nil
}

// ListVersions pages through the mini program's versions, newest first.
func (s *Service) ListVersions(ctx context.Context, appid string, before int64, limit int) ([]*miniship.Version, error) {
	var out []*miniship.Version
	err := s.view(ctx, func(tx miniship.Tx) (err error) {
		out, err = tx.ListVersions(appid, before, limit)
		return err
	})
	return out, err
}

// --- the runtime package ----------------------------------------------------

// ErrPaused is the runtime package of a mini program whose visit status is
// 0 (change_visitstatus close): users may not open it.
var ErrPaused = errors.New("the mini program is paused (visit status 0)")

// Bucket is the user's stable place, 0 to 99, in the mini program's gray
// release: a hash of appid and user, so each user's bucket never changes
// and a user inside the gray at 10% stays inside at 50%.
func Bucket(appid, user string) int {
	h := sha256.Sum256([]byte(appid + "\x00" + user))
	return int(binary.BigEndian.Uint64(h[:8]) % 100)
}

// InGray reports whether a user gets the gray version: testers first when
// the plan says so, then everyone whose bucket is below the percentage.
func InGray(g *miniship.GrayPlan, bucket int, tester bool) bool {
	if g == nil || (g.Status != miniship.GrayRunning && g.Status != miniship.GrayPaused) {
		return false
	}
	if tester && (g.DebugerFirst || g.ExperiencerFirst) {
		return true
	}
	return bucket < g.Percentage
}

// RuntimePackage is the code a user's runtime should run.
type RuntimePackage struct {
	VersionID   int64
	UserVersion string
	Gray        bool // the gray version rather than the online release
	version     *miniship.Version
}

// Zip builds the package. A version's package never changes (its
// template's code and the engine's output are immutable), so a runtime
// that has VersionID already needs no zip.
func (s *Service) Zip(ctx context.Context, p *RuntimePackage) ([]byte, error) {
	return s.versionPackage(ctx, p.version)
}

// isRuntimeTester tells whether user is a bound tester of the mini program
// (bind_tester), who gets a testers-first gray version before anyone else.
// A runtime may name the user by WeChat ID or by the userstr bind_tester
// answered; both match.
func isRuntimeTester(tx miniship.Tx, appid, user string) (bool, error) {
	ts, err := tx.ListTesters(appid)
	if err != nil {
		return false, err
	}
	us := UserStr(user)
	for _, t := range ts {
		if t.UserStr == us || t.UserStr == user {
			return true, nil
		}
	}
	return false, nil
}

// RuntimePackage answers which version the user runs: the
// online release, or the gray version for a user in the gray. ErrNotFound
// when nothing is released (or the mini program is unknown), ErrPaused
// when visits are closed.
func (s *Service) RuntimePackage(ctx context.Context, appid, user string) (*RuntimePackage, error) {
	var v *miniship.Version
	var gray bool
	err := s.view(ctx, func(tx miniship.Tx) error {
		m, err := tx.GetAuthorizer(appid)
		if err != nil {
			return err
		}
		online, err := onlineRelease(tx, appid)
		if err != nil {
			return fmt.Errorf("%s has no online version: %w", appid, err)
		}
		if m.VisitStatus == 0 {
			return ErrPaused
		}
		vid := online.VersionID
		g, err := tx.GetGrayPlan(appid)
		if err != nil && !errors.Is(err, miniship.ErrNotFound) {
			return err
		}
		if g != nil && (g.Status == miniship.GrayRunning || g.Status == miniship.GrayPaused) {
			tester := false
			if g.DebugerFirst || g.ExperiencerFirst {
				if tester, err = isRuntimeTester(tx, appid, user); err != nil {
					return err
				}
			}
			if InGray(g, Bucket(appid, user), tester) {
				a, err := tx.GetAudit(g.AuditID)
				if err != nil {
					return err
				}
				vid, gray = a.VersionID, true
			}
		}
		v, err = tx.GetVersion(vid)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &RuntimePackage{VersionID: v.ID, UserVersion: v.UserVersion, Gray: gray, version: v}, nil
}

// ListPlatforms lists every platform, for the console's pickers.
func (s *Service) ListPlatforms(ctx context.Context) ([]*miniship.Platform, error) {
	var out []*miniship.Platform
	err := s.view(ctx, func(tx miniship.Tx) (err error) {
		out, err = tx.ListPlatforms()
		return err
	})
	return out, err
}

// Media returns an uploaded preview or feedback file, for the reviewer.
func (s *Service) Media(ctx context.Context, id string) (*miniship.Media, error) {
	var m *miniship.Media
	err := s.view(ctx, func(tx miniship.Tx) (err error) {
		m, err = tx.GetMedia(id)
		return err
	})
	return m, err
}

// Nicknames maps appids to nicknames in one snapshot (unknown ones are
// left out), so a listing of audits reads each mini program once.
func (s *Service) Nicknames(ctx context.Context, appids []string) (map[string]string, error) {
	out := map[string]string{}
	err := s.view(ctx, func(tx miniship.Tx) error {
		for _, id := range appids {
			if _, done := out[id]; done {
				continue
			}
			a, err := tx.GetAuthorizer(id)
			if errors.Is(err, miniship.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out[id] = a.Nickname
		}
		return nil
	})
	return out, err
}
