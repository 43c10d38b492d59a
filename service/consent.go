package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/miniship/miniship"
)

// The consent page's service half. WeChat puts the merchant's identity in
// front of consent (the mini program's administrator scans a code); here the
// merchant signs in with the mini program's appid and AppSecret. The page
// lists no mini programs, and a pre_auth_code is burnt after a few wrong
// secrets, so a platform can neither see nor guess its way to another's.

// maxSignInFailures is how many wrong sign-ins a pre_auth_code survives.
const maxSignInFailures = 5

var secretPattern = regexp.MustCompile(`^[\x21-\x7e]{16,128}$`)

func checkSecret(secret string) error {
	if !secretPattern.MatchString(secret) {
		return invalidf("secret must be 16-128 printable ASCII characters without spaces")
	}
	return nil
}

// ConsentError is a refusal of the consent flow, worded for the merchant.
type ConsentError struct {
	Msg string
	// SignIn marks wrong credentials (and the link they burnt).
	SignIn bool
	// Sets marks permission sets that cannot be granted: the merchant,
	// signed in, chooses again.
	Sets bool
	// Conflict marks a grant left empty by exclusivity; it matches
	// miniship.ErrConflict, so the admin API answers 409.
	Conflict bool
}

func (e *ConsentError) Error() string { return e.Msg }

// Is makes a conflict match miniship.ErrConflict.
func (e *ConsentError) Is(target error) bool { return e.Conflict && target == miniship.ErrConflict }

// HeldSet is an exclusive permission set another platform holds for the
// mini program, so it was not granted.
type HeldSet struct {
	ID     int    `json:"id"`
	HeldBy string `json:"held_by"` // that platform's appid
}

// GrantResult is an authorization with the requested sets it lacks.
type GrantResult struct {
	*miniship.Authorization
	Withheld []HeldSet `json:"withheld_permission_sets"`
}

func checkPermissionSets(sets []int) *ConsentError {
	for _, id := range sets {
		if _, ok := miniship.LookupPermissionSet(id); !ok {
			return &ConsentError{Sets: true, Msg: fmt.Sprintf("permission set %d is not one WeChat defines for mini programs", id)}
		}
	}
	return nil
}

// MaxPlatformsPerApp is how many platforms a mini program may have
// authorized at once (workflow spec §9).
const MaxPlatformsPerApp = 15

// heldElsewhere maps each exclusive set another platform holds for the mini
// program to the oldest such platform, and counts those other platforms.
// Sets are exclusive per WeChat's set table (workflow spec §9): the first
// platform keeps them until the merchant revokes or unticks them there.
func heldElsewhere(tx miniship.Tx, platform, authorizer string) (held map[int]string, others int, err error) {
	grants, err := tx.ListGrants(authorizer)
	if err != nil {
		return nil, 0, err
	}
	held = map[int]string{}
	for _, g := range grants {
		if g.PlatformAppID == platform {
			continue
		}
		others++
		for _, id := range g.PermissionSets {
			if ps, ok := miniship.LookupPermissionSet(id); ok && ps.Exclusive {
				if _, seen := held[id]; !seen {
					held[id] = g.PlatformAppID
				}
			}
		}
	}
	return held, others, nil
}

// tooManyPlatforms refuses a new authorization of a mini program that has
// authorized MaxPlatformsPerApp platforms already.
func tooManyPlatforms(others int) error {
	return &ConsentError{Conflict: true, Msg: fmt.Sprintf(
		"the mini program has authorized %d platforms, the most WeChat allows: it must revoke one before authorizing another", others)}
}

func describeHeld(h []HeldSet) string {
	parts := make([]string, len(h))
	for i, x := range h {
		parts[i] = fmt.Sprintf("set %d (platform %s)", x.ID, x.HeldBy)
	}
	return strings.Join(parts, ", ")
}

func (s *Service) checkPreAuthCode(tx miniship.Tx, platform, code string) (*miniship.Platform, error) {
	p, err := tx.GetPlatform(platform)
	if errors.Is(err, miniship.ErrNotFound) {
		return nil, &ConsentError{Msg: "unknown platform " + platform}
	}
	if err != nil {
		return nil, err
	}
	t, err := tx.GetToken(miniship.PreAuthCode, code)
	if err != nil && !errors.Is(err, miniship.ErrNotFound) {
		return nil, err
	}
	if err != nil || t.PlatformAppID != platform || t.Used || !s.Now().Before(t.ExpiresAt) {
		return nil, &ConsentError{Msg: "this authorization link is invalid, expired or used: ask the platform for a new one"}
	}
	return p, nil
}

// ConsentPage checks the pre-auth code before the sign-in form is shown.
func (s *Service) ConsentPage(ctx context.Context, platform, preAuthCode string) error {
	return s.view(ctx, func(tx miniship.Tx) error {
		_, err := s.checkPreAuthCode(tx, platform, preAuthCode)
		return err
	})
}

var errWrongSecret = errors.New("wrong appid or AppSecret")

// signIn checks the pre-auth code and the merchant's credentials. An
// unknown appid and a wrong secret are the same answer, so the page tells
// no one which mini programs exist.
func (s *Service) signIn(tx miniship.Tx, platform, code, appid, secret string) (*miniship.Platform, *miniship.Authorizer, error) {
	p, err := s.checkPreAuthCode(tx, platform, code)
	if err != nil {
		return nil, nil, err
	}
	a, err := tx.GetAuthorizer(appid)
	if errors.Is(err, miniship.ErrNotFound) {
		return nil, nil, errWrongSecret
	}
	if err != nil {
		return nil, nil, err
	}
	if a.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(a.Secret)) != 1 {
		return nil, nil, errWrongSecret
	}
	return p, a, nil
}

// failSignIn counts a wrong sign-in against the pre-auth code, in its own
// transaction (the failing one rolls back), and burns the code at the
// limit.
func (s *Service) failSignIn(ctx context.Context, code string) error {
	var left int
	err := s.update(ctx, func(tx miniship.Tx) error {
		n, err := tx.AddCounter("consent-fail:"+code, 1)
		if err != nil {
			return err
		}
		if left = maxSignInFailures - n; left <= 0 {
			_, err = tx.UseToken(miniship.PreAuthCode, code)
		}
		return err
	})
	if err != nil {
		return err
	}
	if left <= 0 {
		return &ConsentError{SignIn: true, Msg: "wrong appid or AppSecret, too many times: this authorization link is no longer valid, ask the platform for a new one"}
	}
	return &ConsentError{SignIn: true, Msg: fmt.Sprintf("wrong appid or AppSecret (%d more tries with this link)", left)}
}

// ConsentSet is a permission set as the page offers it to the merchant.
type ConsentSet struct {
	miniship.PermissionSet
	HeldBy  string // another platform holds this exclusive set: not grantable
	Granted bool   // the platform holds it already
}

// ConsentAccount is the signed-in merchant's view of the consent page.
type ConsentAccount struct {
	AppID, Nickname string
	Authorized      bool // the platform is authorized already (a renewal)
	Sets            []ConsentSet
}

// ConsentSignIn checks the merchant's credentials and describes what the
// platform can be granted: held exclusive sets are shown, not offered.
func (s *Service) ConsentSignIn(ctx context.Context, platform, preAuthCode, appid, secret string) (*ConsentAccount, error) {
	var acc *ConsentAccount
	err := s.view(ctx, func(tx miniship.Tx) error {
		_, a, err := s.signIn(tx, platform, preAuthCode, appid, secret)
		if err != nil {
			return err
		}
		held, others, err := heldElsewhere(tx, platform, appid)
		if err != nil {
			return err
		}
		acc = &ConsentAccount{AppID: a.AppID, Nickname: a.Nickname}
		var granted []int
		switch cur, err := tx.GetAuthorization(platform, appid); {
		case err == nil:
			acc.Authorized, granted = true, cur.PermissionSets
		case !errors.Is(err, miniship.ErrNotFound):
			return err
		case others >= MaxPlatformsPerApp:
			return tooManyPlatforms(others)
		}
		for _, ps := range miniship.PermissionSets() {
			acc.Sets = append(acc.Sets, ConsentSet{PermissionSet: ps, HeldBy: held[ps.ID], Granted: slices.Contains(granted, ps.ID)})
		}
		return nil
	})
	if errors.Is(err, errWrongSecret) {
		return nil, s.failSignIn(ctx, preAuthCode)
	}
	return acc, err
}

// ConsentRequest is the consent form's submission.
type ConsentRequest struct {
	Platform, PreAuthCode   string
	AuthorizerAppID, Secret string
	PermissionSets          []int
}

// ConsentResult is where the consent page sends the merchant back, and
// what was granted.
type ConsentResult struct {
	AuthCode  string
	ExpiresIn int
	Granted   []int
	Withheld  []HeldSet
}

// Consent completes the consent page: it signs the merchant in, uses up the
// pre-auth code, grants the platform the permission sets (less exclusive
// ones another platform holds, which WeChat omits silently), issues an
// authorization code and pushes the authorized (or updateauthorized) event.
// When nothing is left to grant it refuses and the code stays usable.
func (s *Service) Consent(ctx context.Context, req ConsentRequest) (*ConsentResult, error) {
	if len(req.PermissionSets) == 0 {
		return nil, &ConsentError{Sets: true, Msg: "tick at least one permission set"}
	}
	if err := checkPermissionSets(req.PermissionSets); err != nil {
		return nil, err
	}
	res := &ConsentResult{AuthCode: "queryauthcode@@@" + s.newToken(36), ExpiresIn: int(s.cfg.AuthCodeTTL.Seconds())}
	err := s.update(ctx, func(tx miniship.Tx) error {
		p, _, err := s.signIn(tx, req.Platform, req.PreAuthCode, req.AuthorizerAppID, req.Secret)
		if err != nil {
			return err
		}
		if ok, err := tx.UseToken(miniship.PreAuthCode, req.PreAuthCode); err != nil || !ok {
			return errors.Join(err, &ConsentError{Msg: "this authorization link was used meanwhile: ask the platform for a new one"})
		}
		g, prev, err := s.authorize(tx, req.Platform, req.AuthorizerAppID, req.PermissionSets)
		if err != nil {
			return err
		}
		res.Granted, res.Withheld = g.PermissionSets, g.Withheld
		if err := tx.IssueToken(s.token(miniship.AuthCode, res.AuthCode, req.Platform, req.AuthorizerAppID, s.cfg.AuthCodeTTL), KeepAuthCodes); err != nil {
			return err
		}
		now := s.Now()
		info := "authorized"
		if prev != nil {
			if slices.Equal(prev.PermissionSets, g.PermissionSets) {
				return nil // WeChat pushes no update when nothing changed
			}
			info = "updateauthorized"
		}
		return s.enqueue(tx, authorizationEvent(p, info, now, req.AuthorizerAppID, res.AuthCode, now.Add(s.cfg.AuthCodeTTL), req.PreAuthCode))
	})
	if errors.Is(err, errWrongSecret) {
		return nil, s.failSignIn(ctx, req.PreAuthCode)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}
