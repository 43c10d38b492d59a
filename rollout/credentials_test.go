package rollout_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/rollout"
)

func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ticket", "ticket@@@xyz\n")
	write("tokens.csv", "appid,refresh_token\nwx2,r2\n")
	write("creds.yaml", "component_appid: wxfile\ncomponent_secret: s3cret\nticket_file: ticket\nrefresh_tokens_file: tokens.csv\nrefresh_tokens: {wx1: r1}\n")
	f, err := rollout.LoadCredentials(filepath.Join(dir, "creds.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Flags win over the file.
	c := rollout.Credentials{ComponentAppID: "wxflag"}
	c.Fill(f)
	if c.ComponentAppID != "wxflag" || c.ComponentSecret != "s3cret" {
		t.Fatalf("filled %+v", c)
	}
	if tk, err := c.ResolveTicket(context.Background(), nil, ""); err != nil || tk != "ticket@@@xyz" {
		t.Fatalf("ticket %q, %v", tk, err)
	}
	var got []string
	err = c.RefreshTokenSource("")(func(tg rollout.Target) error {
		got = append(got, tg.AppID+"="+tg.RefreshToken)
		return nil
	})
	if err != nil || !slices.Equal(got, []string{"wx1=r1", "wx2=r2"}) {
		t.Fatalf("refresh tokens %v, %v", got, err)
	}
}

// TestRefreshTokensFromAdmin: with the admin key, the refresh tokens come
// from the server's list of the platform's authorizations, exactly those
// the server issued, whatever the page size; a wrong key is an error, not
// an empty fleet.
func TestRefreshTokensFromAdmin(t *testing.T) {
	f := newFleet(t, 3, mstest.Options{})
	want := map[string]string{}
	err := rollout.ReadTargets(filepath.Join(f.dir, "targets.csv"), func(tg rollout.Target) error {
		want[tg.AppID] = tg.RefreshToken
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := rollout.Credentials{ComponentAppID: f.platform.AppID, AdminKey: f.srv.AdminKey}
	got := map[string]string{}
	err = c.RefreshTokenSource(f.srv.URL)(func(tg rollout.Target) error {
		got[tg.AppID] = tg.RefreshToken
		return nil
	})
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("refresh tokens %v, %v; want %v", got, err, want)
	}
	// Pages of 1 and 2 (the last one short, or exactly full) give the same.
	for _, limit := range []int{1, 2, 3} {
		got := map[string]string{}
		err := rollout.FetchRefreshTokensPaged(t.Context(), nil, f.srv.URL, f.srv.AdminKey, f.platform.AppID, limit, func(tg rollout.Target) error {
			if _, dup := got[tg.AppID]; dup {
				t.Errorf("limit %d: %s twice", limit, tg.AppID)
			}
			got[tg.AppID] = tg.RefreshToken
			return nil
		})
		if err != nil || !maps.Equal(got, want) {
			t.Fatalf("limit %d: refresh tokens %v, %v; want %v", limit, got, err, want)
		}
	}
	c.AdminKey = "wrong"
	if err := c.RefreshTokenSource(f.srv.URL)(func(rollout.Target) error { return nil }); err == nil {
		t.Fatal("a wrong admin key gave no error")
	}
}
