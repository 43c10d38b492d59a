package service

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/codeimg"
	"github.com/miniship/miniship/wxerr"
)

// Mini program codes: getwxacode, getwxacodeunlimit and createwxaqrcode.
// The service checks the request and the mini program's state, spends the
// quota and says what the code encodes; codeimg draws it.

// Kinds of code.
const (
	CodeLimited   = "getwxacode"        // path, counted against the 100,000 cap
	CodeUnlimited = "getwxacodeunlimit" // page + scene, rate-limited
	CodeSquare    = "createwxaqrcode"   // square QR code, counted against the cap
)

// Limits of the code endpoints.
const (
	maxCodesEver        = 100000 // getwxacode + createwxaqrcode, per mini program
	maxUnlimitPerMinute = 5000   // getwxacodeunlimit
	maxCodePath         = 1024   // getwxacode (current page; older pages say 128 bytes)
	maxSquarePath       = 128    // createwxaqrcode
	maxScene            = 32
)

// CodeRequest is what a code endpoint was asked for.
type CodeRequest struct {
	Kind       string
	Path       string // getwxacode, createwxaqrcode
	Page       string // getwxacodeunlimit; empty for the home page
	Scene      string // getwxacodeunlimit
	CheckPath  bool   // getwxacodeunlimit: page must exist in the checked version
	EnvVersion string // release (default), trial or develop
}

// Code is a code to draw: the text its QR code carries and, for the capped
// kinds, how many codes the mini program has generated (Num-Used).
type Code struct {
	Content string
	NumUsed int
}

func sceneChar(r rune) bool {
	return r < utf8.RuneSelf && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
		strings.ContainsRune("!#$&'()*+,/:;=?@-._~", r))
}

// MakeCode validates a code request and returns what the code encodes:
//
//	miniship:wxacode?appid=…&env_version=…&path=…           (getwxacode)
//	miniship:wxacode?appid=…&env_version=…&page=…&scene=…   (getwxacodeunlimit)
//	miniship:wxaqrcode?appid=…&path=…                       (createwxaqrcode)
//
// A release code needs a published version (41030 otherwise), a trial code
// a committed one; getwxacodeunlimit with check_path looks the page up in
// that version (41030), and without it needs no version. A path no QR code
// can carry, URL-encoded, is 40159, such a page 41030 (codeimg.Fits),
// checked before anything is spent.
func (s *Service) MakeCode(ctx context.Context, c *Caller, r CodeRequest) (*Code, error) {
	env := r.EnvVersion
	if env == "" {
		env = "release"
	}
	switch {
	case r.Kind == CodeSquare && env != "release":
		// WeChat documents no env_version here. Refused rather than ignored:
		// a caller asking for a trial code would get a release one.
		return nil, wxerr.Errorf(wxerr.InvalidArgs, "createwxaqrcode makes release codes only: leave env_version out (or release), not %q; trial codes come from get_qrcode", r.EnvVersion)
	case !slices.Contains([]string{"release", "trial", "develop"}, env):
		return nil, wxerr.Errorf(wxerr.InvalidArgs, "env_version must be release, trial or develop, not %q", r.EnvVersion)
	}
	q := url.Values{"appid": {c.AuthorizerAppID}}
	scheme := "miniship:wxacode?"
	switch r.Kind {
	case CodeLimited, CodeSquare:
		max := maxCodePath
		if r.Kind == CodeSquare {
			max, scheme = maxSquarePath, "miniship:wxaqrcode?"
		} else {
			q.Set("env_version", env)
		}
		if n := utf8.RuneCountInString(r.Path); n == 0 || n > max {
			return nil, wxerr.Errorf(wxerr.InvalidCodePath, "path must have 1 to %d characters", max)
		}
		q.Set("path", r.Path)
	case CodeUnlimited:
		if n := len(r.Scene); n == 0 || n > maxScene {
			return nil, wxerr.Errorf(wxerr.InvalidSceneLength, "scene must have 1 to %d characters", maxScene)
		}
		if strings.IndexFunc(r.Scene, func(x rune) bool { return !sceneChar(x) }) >= 0 {
			return nil, wxerr.New(wxerr.InvalidScene, "scene takes 0-9, A-Z, a-z and !#$&'()*+,/:;=?@-._~")
		}
		if strings.HasPrefix(r.Page, "/") || strings.ContainsAny(r.Page, "?#") {
			return nil, wxerr.Errorf(wxerr.InvalidCodePage, "page %q: no leading / and no query", r.Page)
		}
		q.Set("env_version", env)
		q.Set("page", r.Page)
		q.Set("scene", r.Scene)
	default:
		return nil, wxerr.Errorf(wxerr.SystemError, "unknown code kind %q", r.Kind)
	}
	// Checked before anything is spent: a code that cannot be drawn is the
	// caller's argument, never -1 (SDKs retry -1, and this never passes)
	// and never one of the 100,000. getwxacodeunlimit's scene is at most 32
	// characters, so there the culprit is the page, which has no documented
	// length: an invalid page, 41030.
	res := &Code{Content: scheme + q.Encode()}
	if !codeimg.Fits(res.Content) {
		what, code := "path", wxerr.InvalidCodePath
		if r.Kind == CodeUnlimited {
			what, code = "page", wxerr.InvalidCodePage
		}
		return nil, wxerr.Errorf(code, "%s too long: URL-encoded, the code would carry %d bytes, more than a QR code holds", what, len(res.Content))
	}
	// check_path false allows an unpublished mini program (WeChat:
	// 允许小程序未发布), so it needs no version at all; true, the default,
	// needs the env's version even for the home page.
	needVersion := r.Kind != CodeUnlimited || r.CheckPath
	checkPath := r.Kind == CodeUnlimited && r.CheckPath && r.Page != ""
	err := s.updateDeriving(ctx, func(tx miniship.Tx, derive func(*miniship.Version) error) error {
		var v *miniship.Version
		if needVersion {
			var err error
			if v, err = codeVersion(tx, c.AuthorizerAppID, env); err != nil {
				return err
			}
		}
		if checkPath && v != nil {
			if err := derive(v); err != nil {
				return err
			}
		}
		if r.Kind == CodeUnlimited {
			if checkPath && v != nil && !slices.Contains(v.PageList, r.Page) {
				return wxerr.Errorf(wxerr.InvalidCodePage, "page %q is not in the %s version", r.Page, env)
			}
			minute := s.Now().Unix() / 60
			return takeWindow(tx, "wxacodeunlimit:"+c.AuthorizerAppID, minute, maxUnlimitPerMinute, wxerr.DailyQuotaReached, "5000 calls a minute")
		}
		n, err := tx.AddCounter("wxacode:"+c.AuthorizerAppID, 1)
		if err != nil {
			return err
		}
		if n > maxCodesEver {
			return wxerr.Errorf(wxerr.QRCodeCountExceeded, "%d codes ever", maxCodesEver)
		}
		res.NumUsed = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// codeVersion is the version a code of env opens: the published one for
// release, the latest commit for trial, none for develop.
func codeVersion(tx miniship.Tx, appid, env string) (*miniship.Version, error) {
	switch env {
	case "release":
		rel, err := onlineRelease(tx, appid)
		if err != nil {
			return nil, notFound(err, wxerr.InvalidCodePage, "the mini program has no published version")
		}
		return tx.GetVersion(rel.VersionID)
	case "trial":
		v, err := tx.LatestVersion(appid)
		return v, notFound(err, wxerr.InvalidCodePage, "the mini program has no trial version")
	}
	return nil, nil
}

// AuthorizerExists reports whether a mini program is known, for the image
// routes that serve its head image and QR code.
func (s *Service) AuthorizerExists(ctx context.Context, appid string) (bool, error) {
	err := s.view(ctx, func(tx miniship.Tx) error {
		_, err := tx.GetAuthorizer(appid)
		return err
	})
	if errors.Is(err, miniship.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
