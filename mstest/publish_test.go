package mstest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// TestPublish: the one-line setup of a whole pipeline (domains, a tester,
// the privacy grant, then Publish) leaves a released version whose live
// domains are the ones set, on both databases.
func TestPublish(t *testing.T) {
	mstest.Backends(t, func(t *testing.T, database string) {
		s := mstest.New(t, mstest.Options{Database: database})
		p := s.Platform(t, nil)
		a, _ := s.MiniProgram(t, p.AppID, nil)
		tpl := s.Template(t, p.AppID, nil, 0)
		s.Domains(t, p.AppID, a.AppID, miniship.ServerDomains{Request: []string{"https://api.pub.com"}})
		s.Testers(t, p.AppID, a.AppID, "pub_qa")
		s.GrantPrivacyAPI(t, p.AppID, a.AppID, "getLocation") // the demo template uses it
		if id := s.Publish(t, p.AppID, a.AppID, tpl, `{"ext":{"shop":"p1"}}`, "2.0.0"); id == 0 {
			t.Fatal("no auditid")
		}
		c := &service.Caller{Kind: miniship.AuthorizerToken, PlatformAppID: p.AppID, AuthorizerAppID: a.AppID}
		ctx := context.Background()
		v, err := s.Service.GetVersionInfo(ctx, c)
		if err != nil || v.Release == nil || v.Release.Version != "2.0.0" {
			t.Fatalf("version info: %+v, %v", v, err)
		}
		d, err := s.Service.EffectiveDomains(ctx, c)
		if err != nil || !slices.Equal(d.Effective.Request, []string{"https://api.pub.com"}) {
			t.Fatalf("effective domains: %+v, %v", d, err)
		}
	})
}
