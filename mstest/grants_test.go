package mstest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

// TestGrantHelpers: each one-line helper leaves the grant where commit and
// submit_audit look for it.
func TestGrantHelpers(t *testing.T) {
	s := mstest.New(t, mstest.Options{})
	p := s.Platform(t, nil)
	a, _ := s.MiniProgram(t, p.AppID, &miniship.Authorizer{Categories: []miniship.Category{}})
	s.PrivacyGuide(t, a.AppID)
	if id := s.GrantPrivacyAPI(t, p.AppID, a.AppID, "getLocation"); id == 0 {
		t.Fatal("no audit_id")
	}
	s.Category(t, p.AppID, a.AppID, 36, 37)   // needs a review
	s.Category(t, p.AppID, a.AppID, 287, 613) // does not
	s.Plugin(t, p.AppID, a.AppID, "wx0123456789abcdef")
	var got *miniship.Authorizer
	err := s.Store.View(context.Background(), func(tx miniship.Tx) (err error) {
		got, err = tx.GetAuthorizer(a.AppID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.PrivacyAPIs, []string{"getLocation"}) || len(got.Categories) != 2 ||
		got.Categories[0].SecondClass != "公立医疗机构" || len(got.Plugins) != 1 || got.Plugins[0].AppID != "wx0123456789abcdef" {
		t.Fatalf("state %+v", got)
	}
}
