package rollout_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

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
	err = c.RefreshTokenSource()(func(tg rollout.Target) error {
		got = append(got, tg.AppID+"="+tg.RefreshToken)
		return nil
	})
	if err != nil || !slices.Equal(got, []string{"wx1=r1", "wx2=r2"}) {
		t.Fatalf("refresh tokens %v, %v", got, err)
	}
}
