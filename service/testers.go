package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxerr"
)

// Testers (体验者): WeChat users who may open the trial version. WeChat
// answers an opaque userstr for each, never the WeChat ID back.

// maxTesterBindings is how many mini programs one WeChat ID may test (85003).
const maxTesterBindings = 50

// wechatIDPattern is WeChat's rule for a WeChat ID: 6–20 characters,
// letters, digits, "_" and "-", beginning with a letter. miniship has no
// user directory, so an ID of the right shape "exists"; any other is 85001.
var wechatIDPattern = regexp.MustCompile(`^[A-Za-z][-_A-Za-z0-9]{5,19}$`)

// UserStr is the opaque per-person id of a WeChat ID: the same person gets
// the same userstr in every mini program, as on WeChat. IDs compare
// case-insensitively.
func UserStr(wechatID string) string {
	h := sha256.Sum256([]byte("miniship userstr " + strings.ToLower(wechatID)))
	return hex.EncodeToString(h[:16])
}

// BindTester binds a tester and returns its userstr: 85001 for an ID that
// cannot be a WeChat ID, 85004 when bound already, 85002 past the mini
// program's cap (Config.TesterCap), 85003 when the person tests 50 already.
func (s *Service) BindTester(ctx context.Context, c *Caller, wechatID string) (string, error) {
	if !wechatIDPattern.MatchString(wechatID) {
		return "", wxerr.Errorf(wxerr.TesterNotExist, "%q is not a WeChat ID", wechatID)
	}
	us := UserStr(wechatID)
	err := s.update(ctx, func(tx miniship.Tx) error {
		if _, err := tx.LockAuthorizer(c.AuthorizerAppID); err != nil {
			return err
		}
		n, err := tx.CountTesters(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		err = tx.AddTester(&miniship.Tester{AuthorizerAppID: c.AuthorizerAppID, WechatID: strings.ToLower(wechatID), UserStr: us, CreatedAt: s.Now()})
		if errors.Is(err, miniship.ErrConflict) {
			return wxerr.New(wxerr.TesterAlreadyBound, "")
		}
		if err != nil {
			return err
		}
		if n >= s.cfg.TesterCap {
			return wxerr.Errorf(wxerr.TesterQuotaReached, "at most %d testers", s.cfg.TesterCap)
		}
		if m, err := tx.CountTesterBindings(us); err != nil || m > maxTesterBindings {
			if err != nil {
				return err
			}
			return wxerr.Errorf(wxerr.TesterTooManyWeapps, "a WeChat ID tests at most %d mini programs", maxTesterBindings)
		}
		return nil
	})
	return us, err
}

// UnbindTester unbinds by WeChat ID or, when that is empty, by userstr.
// Someone not bound is 40097: WeChat documents only -1 for the call, which
// clients retry as "system busy".
func (s *Service) UnbindTester(ctx context.Context, c *Caller, wechatID, userStr string) error {
	if wechatID != "" {
		userStr = UserStr(wechatID)
	}
	if userStr == "" {
		return wxerr.New(wxerr.InvalidArgs, "wechatid or userstr is required")
	}
	return s.update(ctx, func(tx miniship.Tx) error {
		return notFound(tx.DeleteTester(c.AuthorizerAppID, userStr), wxerr.InvalidArgs, "not a tester of this mini program")
	})
}

// Testers answers memberauth's get_experiencer: the userstr of each
// tester, oldest first.
func (s *Service) Testers(ctx context.Context, c *Caller) ([]string, error) {
	out := []string{}
	err := s.view(ctx, func(tx miniship.Tx) error {
		ts, err := tx.ListTesters(c.AuthorizerAppID)
		for _, t := range ts {
			out = append(out, t.UserStr)
		}
		return err
	})
	return out, err
}

// IsTester reports whether the WeChat ID is a bound tester of the mini
// program, for code that serves testers first (gray release downloads).
func (s *Service) IsTester(ctx context.Context, authorizerAppID, wechatID string) (bool, error) {
	var found bool
	err := s.view(ctx, func(tx miniship.Tx) error {
		ts, err := tx.ListTesters(authorizerAppID)
		us := UserStr(wechatID)
		for _, t := range ts {
			found = found || t.UserStr == us
		}
		return err
	})
	return found, err
}
