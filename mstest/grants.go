package mstest

import (
	"context"
	"errors"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
)

// Set up a mini program's privacy guide and grants in a line each. Each
// goes the way a platform's would (the service calls behind the WeChat
// endpoints), then has the reviewer approve, so the state, the pushes and
// get_privacy_interface, getcategory and /wxa/plugin list agree.

var approve = service.GrantDecision{Result: service.DecisionApprove}

func caller(appid string) *service.Caller {
	return &service.Caller{Kind: miniship.AuthorizerToken, AuthorizerAppID: appid}
}

// PrivacyGuide gives the mini program a development privacy guide that
// describes every official privacy key, so its audits pass the guide check.
func (s *Server) PrivacyGuide(t testing.TB, appid string) {
	t.Helper()
	if err := s.Service.SeedPrivacyGuide(context.Background(), appid); err != nil {
		t.Fatalf("mstest: privacy guide: %v", err)
	}
}

// GrantPrivacyAPI applies for a privacy API ("getLocation" or
// "wx.getLocation") and approves the application; it returns the audit_id.
func (s *Server) GrantPrivacyAPI(t testing.TB, platform, appid, api string) int64 {
	t.Helper()
	ctx := context.Background()
	if len(api) < 3 || api[:3] != "wx." {
		api = "wx." + api
	}
	c := caller(appid)
	c.PlatformAppID = platform
	id, err := s.Service.ApplyPrivacyInterface(ctx, c, service.ApplyPrivacyRequest{
		APIName: api, Content: "mstest", URLList: []string{"https://example.com/scene"}})
	if err != nil {
		t.Fatalf("mstest: apply %s: %v", api, err)
	}
	if _, err := s.Service.DecidePrivacyApplication(ctx, id, approve); err != nil {
		t.Fatalf("mstest: approve %s: %v", api, err)
	}
	return id
}

// Category adds a category by its ids (see getallcategories) and, when it
// needs a qualification review, approves it.
func (s *Server) Category(t testing.TB, platform, appid string, first, second int64) {
	t.Helper()
	ctx := context.Background()
	c := caller(appid)
	c.PlatformAppID = platform
	certs := []miniship.Certificate{{Key: "mstest", Value: "mstest-media"}}
	if err := s.Service.AddCategories(ctx, c, []service.AddCategory{{First: first, Second: second, Certificates: certs}}); err != nil {
		t.Fatalf("mstest: add category %d/%d: %v", first, second, err)
	}
	if _, err := s.Service.DecideCategory(ctx, appid, first, second, approve); err != nil && !isConflict(err) {
		t.Fatalf("mstest: approve category %d/%d: %v", first, second, err)
	}
}

// Plugin applies for a plugin and approves the application.
func (s *Server) Plugin(t testing.TB, platform, appid, plugin string) {
	t.Helper()
	ctx := context.Background()
	c := caller(appid)
	c.PlatformAppID = platform
	if err := s.Service.PluginApply(ctx, c, plugin, "mstest"); err != nil {
		t.Fatalf("mstest: apply for plugin %s: %v", plugin, err)
	}
	if _, err := s.Service.DecidePlugin(ctx, appid, plugin, approve); err != nil {
		t.Fatalf("mstest: approve plugin %s: %v", plugin, err)
	}
}

// isConflict is true for a decision on an application already decided: a
// category that needs no review was approved when added.
func isConflict(err error) bool { return errors.Is(err, miniship.ErrConflict) }
