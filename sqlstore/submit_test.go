package sqlstore

import (
	"encoding/json"
	"testing"

	"github.com/miniship/miniship"
)

// testSubmitReads: one statement finds what LatestVersion, LatestAudit and
// GetPlatform find, the mini program's own latest rows and not another's,
// and ErrNotFound when any of the three is missing.
func testSubmitReads(t *testing.T, s miniship.Store) {
	fixtures(t, s)
	var lastAudit *miniship.Audit
	add := func(appid string, n int) {
		update(t, s, func(tx miniship.Tx) error {
			for i := range n {
				v := &miniship.Version{AuthorizerAppID: appid, PlatformAppID: "wxp", TemplateID: 7, UserVersion: "1." + string(rune('0'+i)),
					ExtJSON: `{"a":1}`, App: json.RawMessage(`{"pages":["p"]}`), PageList: []string{"p"}, ScanDoneAt: at(2), CreatedAt: at(1), Derived: true}
				ok(t, tx.CreateVersion(v))
				au := &miniship.Audit{AuthorizerAppID: appid, PlatformAppID: "wxp", VersionID: v.ID, Status: miniship.AuditRejected,
					Reason: "r", Request: json.RawMessage(`{"item_list":[]}`), SubmittedAt: at(3), DecidedAt: at(4)}
				ok(t, tx.CreateAudit(au))
				if appid == "wxa" {
					lastAudit = au
				}
			}
			return nil
		})
	}
	reads := func(platform, appid string) (*miniship.SubmitState, error) {
		var st *miniship.SubmitState
		var err error
		update(t, s, func(tx miniship.Tx) error {
			st, err = tx.SubmitReads(platform, appid)
			return nil
		})
		return st, err
	}

	// Nothing committed, then committed but never submitted: the caller
	// reads on its own.
	_, err := reads("wxp", "wxa")
	wantErr(t, err, miniship.ErrNotFound)
	update(t, s, func(tx miniship.Tx) error {
		return tx.CreateVersion(&miniship.Version{AuthorizerAppID: "wxa", PlatformAppID: "wxp", UserVersion: "0"})
	})
	_, err = reads("wxp", "wxa")
	wantErr(t, err, miniship.ErrNotFound)

	add("wxa", 2)
	add("wxb", 1) // later ids, of another mini program
	st, err := reads("wxp", "wxa")
	ok(t, err)
	var want [3]any
	view(t, s, func(tx miniship.Tx) error {
		want = [3]any{must[*miniship.Version](t)(tx.LatestVersion("wxa")), must[*miniship.Audit](t)(tx.LatestAudit("wxa")), must[*miniship.Platform](t)(tx.GetPlatform("wxp"))}
		return nil
	})
	equal(t, [3]any{st.Version, st.Audit, st.Platform}, want)
	equal(t, st.Audit.ID, lastAudit.ID)
	equal(t, st.Version.ID, lastAudit.VersionID)

	_, err = reads("nope", "wxa")
	wantErr(t, err, miniship.ErrNotFound)
}
