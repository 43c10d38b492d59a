package sqlstore

import (
	"encoding/json"
	"testing"

	"github.com/miniship/miniship"
)

// testGrants covers the privacy guides and the three kinds of applications:
// round trips, filters, replacement by key, deletion and ErrNotFound.
func testGrants(t *testing.T, s miniship.Store) {
	update(t, s, func(tx miniship.Tx) error {
		for _, id := range []string{"wxa", "wxb"} {
			ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: id, CreatedAt: at(0)}))
		}
		return nil
	})

	// Privacy guides: one per version, replaced in place.
	dev := &miniship.PrivacySetting{AuthorizerAppID: "wxa", Ver: 2, Doc: json.RawMessage(`{"setting_list":[]}`), UpdatedAt: at(1)}
	update(t, s, func(tx miniship.Tx) error { return tx.PutPrivacySetting(dev) })
	dev2 := &miniship.PrivacySetting{AuthorizerAppID: "wxa", Ver: 2, Doc: json.RawMessage(`{"setting_list":[{"privacy_key":"Location"}]}`), UpdatedAt: at(2)}
	update(t, s, func(tx miniship.Tx) error { return tx.PutPrivacySetting(dev2) })
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.PrivacySetting](t)(tx.GetPrivacySetting("wxa", 2)), dev2)
		_, err := tx.GetPrivacySetting("wxa", 1)
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
	// A guide of an unknown mini program violates the foreign key.
	err := s.Update(t.Context(), func(tx miniship.Tx) error {
		return tx.PutPrivacySetting(&miniship.PrivacySetting{AuthorizerAppID: "wxnone", Ver: 2})
	})
	wantErr(t, err, miniship.ErrNotFound)

	// Privacy applications: one per API, ids handed out, filters.
	pa := &miniship.PrivacyApplication{AuthorizerAppID: "wxa", PlatformAppID: "wxp", APIName: "getLocation",
		Status: miniship.ApplyPending, Content: "导航", URLList: []string{"https://x.example/a"}, PicList: []string{}, AppliedAt: at(3)}
	pb := &miniship.PrivacyApplication{AuthorizerAppID: "wxb", PlatformAppID: "wxp", APIName: "getLocation",
		Status: miniship.ApplyPending, Content: "门店", AppliedAt: at(4)}
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreatePrivacyApplication(pa))
		return tx.CreatePrivacyApplication(pb)
	})
	if pa.ID == 0 || pb.ID <= pa.ID {
		t.Fatalf("ids %d, %d", pa.ID, pb.ID)
	}
	err = s.Update(t.Context(), func(tx miniship.Tx) error {
		return tx.CreatePrivacyApplication(&miniship.PrivacyApplication{AuthorizerAppID: "wxa", APIName: "getLocation"})
	})
	wantErr(t, err, miniship.ErrConflict)
	pa.Status, pa.Reason, pa.DecidedAt = miniship.ApplyRejected, "no scene", at(5)
	update(t, s, func(tx miniship.Tx) error { return tx.UpdatePrivacyApplication(pa) })
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.PrivacyApplication](t)(tx.GetPrivacyApplication(pa.ID)), pa)
		equal(t, must[[]*miniship.PrivacyApplication](t)(tx.ListPrivacyApplications("", miniship.ApplyPending, 0)), []*miniship.PrivacyApplication{pb})
		equal(t, must[[]*miniship.PrivacyApplication](t)(tx.ListPrivacyApplications("wxa", 0, 0)), []*miniship.PrivacyApplication{pa})
		equal(t, len(must[[]*miniship.PrivacyApplication](t)(tx.ListPrivacyApplications("", 0, 1))), 1)
		return nil
	})
	update(t, s, func(tx miniship.Tx) error { return tx.DeletePrivacyApplication(pa.ID) })
	view(t, s, func(tx miniship.Tx) error {
		_, err := tx.GetPrivacyApplication(pa.ID)
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})

	// Categories: keyed by (mini program, first, second), replaced by Put.
	ca := &miniship.CategoryApplication{AuthorizerAppID: "wxa", PlatformAppID: "wxp", First: 304, Second: 305,
		Status: miniship.ApplyPending, Certificates: []miniship.Certificate{{Key: "医疗机构执业许可证", Value: "media1", ExpireTime: 1900000000}}, AppliedAt: at(6)}
	cb := &miniship.CategoryApplication{AuthorizerAppID: "wxa", PlatformAppID: "wxp", First: 287, Second: 612,
		Status: miniship.ApplyApproved, AppliedAt: at(7), DecidedAt: at(7)}
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.PutCategoryApplication(ca))
		return tx.PutCategoryApplication(cb)
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.CategoryApplication](t)(tx.GetCategoryApplication("wxa", 304, 305)), ca)
		equal(t, must[[]*miniship.CategoryApplication](t)(tx.ListCategoryApplications("wxa", 0, 0)), []*miniship.CategoryApplication{ca, cb})
		equal(t, must[[]*miniship.CategoryApplication](t)(tx.ListCategoryApplications("", miniship.ApplyPending, 0)), []*miniship.CategoryApplication{ca})
		equal(t, len(must[[]*miniship.CategoryApplication](t)(tx.ListCategoryApplications("wxb", 0, 0))), 0)
		return nil
	})
	ca.Status, ca.Reason, ca.DecidedAt = miniship.ApplyRejected, "资质不清晰", at(8)
	update(t, s, func(tx miniship.Tx) error { return tx.PutCategoryApplication(ca) })
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.CategoryApplication](t)(tx.GetCategoryApplication("wxa", 304, 305)), ca)
		return nil
	})
	update(t, s, func(tx miniship.Tx) error { return tx.DeleteCategoryApplication("wxa", 304, 305) })
	err = s.Update(t.Context(), func(tx miniship.Tx) error { return tx.DeleteCategoryApplication("wxa", 304, 305) })
	wantErr(t, err, miniship.ErrNotFound)

	// Plugins: keyed by (mini program, plugin), listed by either side.
	p1 := &miniship.PluginApplication{AuthorizerAppID: "wxa", PluginAppID: "wxplugin1", PlatformAppID: "wxp",
		Status: miniship.ApplyPending, ApplyReason: "地图", AppliedAt: at(9)}
	p2 := &miniship.PluginApplication{AuthorizerAppID: "wxb", PluginAppID: "wxplugin1", PlatformAppID: "wxp",
		Status: miniship.ApplyPending, AppliedAt: at(10)}
	p3 := &miniship.PluginApplication{AuthorizerAppID: "wxa", PluginAppID: "wxplugin2", PlatformAppID: "wxp",
		Status: miniship.ApplyApproved, UserVersion: "1.0.2", AppliedAt: at(11), DecidedAt: at(12)}
	update(t, s, func(tx miniship.Tx) error {
		for _, p := range []*miniship.PluginApplication{p1, p2, p3} {
			ok(t, tx.PutPluginApplication(p))
		}
		return nil
	})
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.PluginApplication](t)(tx.GetPluginApplication("wxa", "wxplugin2")), p3)
		equal(t, must[[]*miniship.PluginApplication](t)(tx.ListPluginApplications("", "wxplugin1", 0, 0)), []*miniship.PluginApplication{p1, p2})
		equal(t, must[[]*miniship.PluginApplication](t)(tx.ListPluginApplications("wxa", "", 0, 0)), []*miniship.PluginApplication{p1, p3})
		equal(t, must[[]*miniship.PluginApplication](t)(tx.ListPluginApplications("", "", miniship.ApplyApproved, 0)), []*miniship.PluginApplication{p3})
		equal(t, must[[]*miniship.PluginApplication](t)(tx.ListPluginApplications("", "wxplugin1", 0, 1)), []*miniship.PluginApplication{p1})
		return nil
	})
	p1.Status, p1.RefuseReason, p1.DecidedAt = miniship.ApplyRejected, "no", at(13)
	update(t, s, func(tx miniship.Tx) error { return tx.PutPluginApplication(p1) })
	update(t, s, func(tx miniship.Tx) error { return tx.DeletePluginApplication("wxb", "wxplugin1") })
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[[]*miniship.PluginApplication](t)(tx.ListPluginApplications("", "wxplugin1", 0, 0)), []*miniship.PluginApplication{p1})
		_, err := tx.GetPluginApplication("wxb", "wxplugin1")
		wantErr(t, err, miniship.ErrNotFound)
		return nil
	})
}
