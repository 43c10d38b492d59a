package mstest

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
)

// Consent submits the consent page as the merchant would after opening the
// platform's authorization link: it signs in with the mini program's appid
// and AppSecret and ticks sets (none: the server's default sets). It
// returns the redirect (auth_code and expires_in in its query), or fails
// the test when the page refuses.
func (s *Server) Consent(t testing.TB, platform, preAuthCode, redirectURI, appid, secret string, sets ...int) *url.URL {
	t.Helper()
	if len(sets) == 0 {
		sets = s.Service.Config().DefaultPermissionSets
	}
	form := url.Values{"component_appid": {platform}, "pre_auth_code": {preAuthCode}, "redirect_uri": {redirectURI},
		"authorizer_appid": {appid}, "authorizer_secret": {secret}}
	for _, id := range sets {
		form.Add("permission_set", strconv.Itoa(id))
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(s.URL+"/cgi-bin/componentloginpage", form)
	if err != nil {
		t.Fatalf("mstest: consent: %v", err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil || loc.Query().Get("auth_code") == "" {
		t.Fatalf("mstest: consent refused: HTTP %d", res.StatusCode)
	}
	return loc
}
