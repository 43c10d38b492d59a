package mstest

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
)

// PlatformDomains registers hosts (bare, e.g. "api.example.com") on the
// platform's server-domain and business-domain lists, testing and
// published values alike, as modify_wxa_server_domain and
// modify_wxa_jump_domain with is_modify_published_together do.
func (s *Server) PlatformDomains(t testing.TB, platform string, server, jump []string) {
	t.Helper()
	c := &service.Caller{Kind: miniship.ComponentToken, PlatformAppID: platform}
	for i, hosts := range [][]string{server, jump} {
		if len(hosts) == 0 {
			continue
		}
		if _, err := s.Service.ModifyPlatformDomains(context.Background(), c, "add", strings.Join(hosts, ";"), true, i == 1); err != nil {
			t.Fatalf("mstest: platform domains: %v", err)
		}
	}
}

// Domains sets a mini program's server domains as its platform does with
// modify_domain "set", registering their hosts on the platform's lists
// first. They go live at the next release.
func (s *Server) Domains(t testing.TB, platform, appid string, d miniship.ServerDomains) {
	t.Helper()
	var hosts []string
	for _, l := range [][]string{d.Request, d.WsRequest, d.Upload, d.Download, d.UDP, d.TCP} {
		for _, v := range l {
			if u, err := url.Parse(v); err == nil && u.Host != "" {
				hosts = append(hosts, u.Hostname())
			}
		}
	}
	s.PlatformDomains(t, platform, hosts, nil)
	c := &service.Caller{Kind: miniship.AuthorizerToken, PlatformAppID: platform, AuthorizerAppID: appid}
	if _, err := s.Service.ModifyDomain(context.Background(), c, "set", d, false); err != nil {
		t.Fatalf("mstest: domains: %v", err)
	}
}

// Testers binds WeChat IDs as testers of the mini program and returns
// their userstrs.
func (s *Server) Testers(t testing.TB, platform, appid string, wechatIDs ...string) []string {
	t.Helper()
	c := &service.Caller{Kind: miniship.AuthorizerToken, PlatformAppID: platform, AuthorizerAppID: appid}
	var out []string
	for _, id := range wechatIDs {
		us, err := s.Service.BindTester(context.Background(), c, id)
		if err != nil {
			t.Fatalf("mstest: bind tester %s: %v", id, err)
		}
		out = append(out, us)
	}
	return out
}
