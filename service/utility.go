package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxerr"
)

// Component-level utilities: ticket restart, the authorizer list,
// authorizer options, quota resets and the basic account information.

// Limits of the utilities.
const (
	maxAuthorizerPage     = 500 // api_get_authorizer_list count
	clearQuotasPerMonth   = 10  // clear_quota and the v2 forms, shared, per account
	defaultAuthorizerPage = 10  // count 0: WxJava's default page
)

// CheckPlatformSecret answers as checkPlatformSecret: nil when secret is
// appid's platform's.
func (s *Service) CheckPlatformSecret(ctx context.Context, appid, secret string) error {
	return s.view(ctx, func(tx miniship.Tx) error { return checkPlatformSecret(tx, appid, secret) })
}

// checkPlatformSecret authenticates a call that carries the platform's
// AppSecret instead of a token.
func checkPlatformSecret(tx miniship.Tx, appid, secret string) error {
	switch {
	case appid == "":
		return wxerr.New(wxerr.AppIDMissing, "component_appid missing")
	case secret == "":
		return wxerr.New(wxerr.AppSecretMissing, "")
	}
	p, err := tx.GetPlatform(appid)
	if err != nil {
		return notFound(err, wxerr.InvalidComponent, "")
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(p.Secret)) != 1 {
		return wxerr.New(wxerr.InvalidAppSecret, "")
	}
	return nil
}

// StartPushTicket is api_start_push_ticket. miniship's pushes never stop,
// so the call pushes a fresh ticket at once (a platform calls it when it
// lost one) and answers ok.
func (s *Service) StartPushTicket(ctx context.Context, appid, secret string) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		if err := checkPlatformSecret(tx, appid, secret); err != nil {
			return err
		}
		p, err := tx.LockPlatform(appid)
		if err != nil {
			return err
		}
		_, err = s.issueTicket(tx, p)
		return err
	})
}

// AuthorizerListItem is one entry of api_get_authorizer_list.
type AuthorizerListItem struct {
	AuthorizerAppID string `json:"authorizer_appid"`
	RefreshToken    string `json:"refresh_token"`
	AuthTime        int64  `json:"auth_time"`
}

// AuthorizerList is the answer of api_get_authorizer_list.
type AuthorizerList struct {
	TotalCount int                  `json:"total_count"`
	List       []AuthorizerListItem `json:"list"`
}

// ListAuthorizers pages the platform's authorizers in authorization order,
// which stays stable while pages are fetched (new grants go last). count 0
// means 10, past 500 is 40170. total_count is the count the store keeps;
// a page that starts where an earlier one ended is a seek (pagekeys.go).
func (s *Service) ListAuthorizers(ctx context.Context, c *Caller, appid string, offset, count int) (*AuthorizerList, error) {
	if err := checkComponentAppID(c, appid); err != nil {
		return nil, err
	}
	switch {
	case offset < 0 || count < 0:
		return nil, wxerr.New(wxerr.InvalidArgs, "offset and count must not be negative")
	case count > maxAuthorizerPage:
		return nil, wxerr.Errorf(wxerr.ArgsCountExceeded, "count is at most %d", maxAuthorizerPage)
	case count == 0:
		count = defaultAuthorizerPage
	}
	res := &AuthorizerList{List: []AuthorizerListItem{}}
	err := s.view(ctx, func(tx miniship.Tx) error {
		n, rev, err := tx.CountAuthorizationsRev(appid)
		if err != nil {
			return err
		}
		res.TotalCount = n
		var as []*miniship.Authorization
		k, ok := s.listKeys.get(pageAt{appid, rev, offset})
		switch {
		case offset == 0:
			as, err = tx.PageAuthorizations(appid, 0, count)
		case ok:
			as, err = tx.PageAuthorizationsFrom(appid, k.created, k.appid, count)
		default:
			// Skipped in the index, from the grant before the page: its
			// key lets the same offset be asked again at a seek's cost.
			as, err = tx.PageAuthorizations(appid, offset-1, count+1)
			if len(as) > 0 {
				s.listKeys.put(pageAt{appid, rev, offset}, pageKey{as[0].CreatedAt, as[0].AuthorizerAppID})
				as = as[1:]
			}
		}
		if len(as) > 0 {
			last := as[len(as)-1]
			s.listKeys.put(pageAt{appid, rev, offset + len(as)}, pageKey{last.CreatedAt, last.AuthorizerAppID})
		}
		for _, a := range as {
			res.List = append(res.List, AuthorizerListItem{a.AuthorizerAppID, a.RefreshToken, a.CreatedAt.Unix()})
		}
		return err
	})
	return res, err
}

// authorizerOptions are the documented option names and their values.
var authorizerOptions = map[string][]string{
	"location_report":  {"0", "1", "2"},
	"voice_recognize":  {"0", "1"},
	"customer_service": {"0", "1"},
}

// AuthorizerOption reads an option of a mini program authorized to the
// platform; an option never set reads "0" (off).
func (s *Service) AuthorizerOption(ctx context.Context, platform, authorizer, name string) (string, error) {
	if _, ok := authorizerOptions[name]; !ok {
		return "", wxerr.Errorf(wxerr.InvalidArgs, "option_name must be location_report, voice_recognize or customer_service, not %q", name)
	}
	v := "0"
	err := s.view(ctx, func(tx miniship.Tx) error {
		if _, err := tx.GetAuthorization(platform, authorizer); err != nil {
			return notFound(err, wxerr.ComponentNotAuthorized, "")
		}
		got, err := tx.GetAuthorizerOption(authorizer, name)
		if err == nil {
			v = got
		}
		if errors.Is(err, miniship.ErrNotFound) {
			return nil
		}
		return err
	})
	return v, err
}

// SetAuthorizerOption sets an option to one of its documented values.
func (s *Service) SetAuthorizerOption(ctx context.Context, platform, authorizer, name, value string) error {
	vals, ok := authorizerOptions[name]
	switch {
	case !ok:
		return wxerr.Errorf(wxerr.InvalidArgs, "option_name must be location_report, voice_recognize or customer_service, not %q", name)
	case !slices.Contains(vals, value):
		return wxerr.Errorf(wxerr.InvalidArgs, "option_value of %s must be one of %v", name, vals)
	}
	return s.update(ctx, func(tx miniship.Tx) error {
		if _, err := tx.GetAuthorization(platform, authorizer); err != nil {
			return notFound(err, wxerr.ComponentNotAuthorized, "")
		}
		return tx.PutAuthorizerOption(authorizer, name, value)
	})
}

// clearQuota resets an account's per-call counters (the daily and
// per-minute ones of CountCall), spending one of its 10 monthly resets.
func (s *Service) clearQuota(tx miniship.Tx, who string) error {
	if err := take(tx, "clearquota:"+who+":"+s.month(), clearQuotasPerMonth, wxerr.ClearQuotaForbidden, "10 resets a month"); err != nil {
		return err
	}
	if _, err := tx.DeleteCounters("call:" + who + ":"); err != nil {
		return err
	}
	_, err := tx.DeleteCounters("min:" + who + ":")
	return err
}

// ClearQuota is clear_quota with a token: an authorizer token clears its
// mini program's quotas, a component token the platform's own; appid must
// name the token's account (40013).
func (s *Service) ClearQuota(ctx context.Context, c *Caller, appid string) error {
	who := c.PlatformAppID
	if c.Kind == miniship.AuthorizerToken {
		who = c.AuthorizerAppID
	}
	switch {
	case appid == "":
		return wxerr.New(wxerr.AppIDMissing, "")
	case appid != who:
		return wxerr.Errorf(wxerr.InvalidAppID, "appid %q is not the token's account", appid)
	}
	return s.update(ctx, func(tx miniship.Tx) error { return s.clearQuota(tx, who) })
}

// ClearQuotaBySecret is /cgi-bin/clear_quota/v2: the account's appid and
// AppSecret instead of a token. Only platforms have an AppSecret in
// miniship; a mini program's appid is 40013 (its platform resets it with
// component/clear_quota/v2).
func (s *Service) ClearQuotaBySecret(ctx context.Context, appid, secret string) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		switch {
		case appid == "":
			return wxerr.New(wxerr.AppIDMissing, "")
		case secret == "":
			return wxerr.New(wxerr.AppSecretMissing, "")
		}
		if _, err := tx.GetPlatform(appid); err != nil {
			return notFound(err, wxerr.InvalidAppID, "no AppSecret is known for this appid")
		}
		if err := checkPlatformSecret(tx, appid, secret); err != nil {
			return err
		}
		return s.clearQuota(tx, appid)
	})
}

// ComponentClearQuota is /cgi-bin/component/clear_quota/v2: the platform's
// credentials, and the appid of one of its authorizers (that account's
// quota and resets) or none (the platform's own).
func (s *Service) ComponentClearQuota(ctx context.Context, component, secret, appid string) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		if err := checkPlatformSecret(tx, component, secret); err != nil {
			return err
		}
		if appid == "" || appid == component {
			return s.clearQuota(tx, component)
		}
		if _, err := tx.GetAuthorization(component, appid); err != nil {
			return notFound(err, wxerr.ComponentNotAuthorized, "")
		}
		return s.clearQuota(tx, appid)
	})
}

// CallsToday is how often the account called path today, as the per-call
// daily quota counts it (0 when no daily limit counts the path).
func (s *Service) CallsToday(ctx context.Context, who, path string) (int, error) {
	var n int
	err := s.view(ctx, func(tx miniship.Tx) error {
		key := callKey(who, path)
		w, err := tx.GetCounter(key + ":w")
		if errors.Is(err, miniship.ErrNotFound) || (err == nil && int64(w) != s.dayNumber()) {
			return nil // no call counted today
		}
		if err != nil {
			return err
		}
		n, err = tx.GetCounter(key + ":n")
		if errors.Is(err, miniship.ErrNotFound) {
			return nil
		}
		return err
	})
	return n, err
}

// AccountBasicInfo is the answer of getaccountbasicinfo. HeadImageInfo's
// URL is filled in by the HTTP layer, which knows the server's address.
type AccountBasicInfo struct {
	AppID          string `json:"appid"`
	AccountType    int    `json:"account_type"`
	PrincipalType  int    `json:"principal_type"`
	PrincipalName  string `json:"principal_name"`
	RealnameStatus int    `json:"realname_status"`
	WxVerifyInfo   struct {
		QualificationVerify   bool  `json:"qualification_verify"`
		NamingVerify          bool  `json:"naming_verify"`
		AnnualReview          bool  `json:"annual_review"`
		AnnualReviewBeginTime int64 `json:"annual_review_begin_time"`
		AnnualReviewEndTime   int64 `json:"annual_review_end_time"`
	} `json:"wx_verify_info"`
	SignatureInfo struct {
		Signature       string `json:"signature"`
		ModifyUsedCount int    `json:"modify_used_count"`
		ModifyQuota     int    `json:"modify_quota"`
	} `json:"signature_info"`
	HeadImageInfo struct {
		HeadImageURL    string `json:"head_image_url"`
		ModifyUsedCount int    `json:"modify_used_count"`
		ModifyQuota     int    `json:"modify_quota"`
	} `json:"head_image_info"`
	Nickname     string `json:"nickname"`
	NicknameInfo struct {
		Nickname        string `json:"nickname"`
		ModifyUsedCount int    `json:"modify_used_count"`
		ModifyQuota     int    `json:"modify_quota"`
	} `json:"nickname_info"`
	RegisteredCountry int    `json:"registered_country"`
	Credential        string `json:"credential"`
	CustomerType      int    `json:"customer_type"`
}

// GetAccountBasicInfo describes the calling mini program: an unverified
// (customer_type 0) enterprise mini program registered in China (1017),
// with WeChat's yearly modification quotas.
func (s *Service) GetAccountBasicInfo(ctx context.Context, c *Caller) (*AccountBasicInfo, error) {
	res := &AccountBasicInfo{}
	err := s.view(ctx, func(tx miniship.Tx) error {
		m, err := tx.GetAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		res.AppID, res.AccountType, res.PrincipalType, res.PrincipalName, res.RealnameStatus = m.AppID, 3, 1, m.Nickname, 1
		res.SignatureInfo.ModifyQuota, res.HeadImageInfo.ModifyQuota = 5, 5
		res.Nickname, res.NicknameInfo.Nickname, res.NicknameInfo.ModifyQuota = m.Nickname, m.Nickname, 2
		res.RegisteredCountry = 1017
		return nil
	})
	return res, err
}
