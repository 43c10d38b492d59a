package rollout_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestCheckRefreshTokens: the refresh tokens given locally (the
// credentials' map and file) that a run could not use, or would use by
// mistake, are refused before the run creates its state file, each error
// naming the entry; the admin API's tokens are not checked (they are the
// platform's every authorization).
func TestCheckRefreshTokens(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"good.csv":     "appid,refresh_token\nwxb,rb\nwxa,ra\n",
		"good.jsonl":   `{"appid": "wxa", "refresh_token": "ra"}` + "\n",
		"other.csv":    "appid,refresh_token\nwxa,ra\nwxz,rz\n",
		"dup.csv":      "appid,refresh_token\nwxa,ra\nwxb,rb\nwxa,ra2\n",
		"noappid.csv":  "appid,refresh_token\nwxa,ra\n ,rb\n",
		"notoken.csv":  "appid,refresh_token\nwxa,\n",
		"nocolumn.csv": "id,refresh_token\nwxa,ra\n",
		"quote.csv":    "appid,refresh_token\n\"wxa,ra\n",
		"bad.json":     `[{"appid": "wxa", "refresh_token": 1}]`,
		"bad.jsonl":    `{"appid": "wxa"`,
		"tokens.txt":   "wxa ra\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p, err := rollout.ParsePlan([]byte("template: {id: 1}\nuser_version: \"1\"\next_json: '{}'\ntargets: [{appid: wxa}, {appid: wxb}]"), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file   string
		tokens map[string]string
		err    string // "" when accepted
	}{
		{},
		{file: "good.csv"},
		{file: "good.jsonl", tokens: map[string]string{"wxb": "rb"}},
		{file: "missing.csv", err: "refresh tokens: open " + filepath.Join(dir, "missing.csv") + ": no such file or directory"},
		{file: "other.csv"}, // a fleet's file serves a plan of a few
		{file: "dup.csv", err: "dup.csv: entry 3: appid wxa is listed twice (first as entry 1)"},
		{file: "good.csv", tokens: map[string]string{"wxa": "ra"}, err: "good.csv: entry 2: appid wxa is listed twice (first as credentials refresh_tokens.wxa)"},
		{file: "noappid.csv", err: "noappid.csv: entry 2 has no appid"},
		{file: "notoken.csv", err: "notoken.csv: entry 1 (appid wxa) has no refresh_token"},
		{file: "nocolumn.csv", err: "nocolumn.csv: header has no appid column"},
		{file: "quote.csv", err: `quote.csv: parse error on line 2, column 9: extraneous or missing " in quoted-field`},
		{file: "bad.json", err: "bad.json: target 1: json: cannot unmarshal number"},
		{file: "bad.jsonl", err: "bad.jsonl: target 1: unexpected EOF"},
		{file: "tokens.txt", err: `tokens.txt: unknown targets format ".txt"`},
		{tokens: map[string]string{"wxb": "rb", "wxz": "rz"}},
		{tokens: map[string]string{"wxa": ""}, err: "credentials refresh_tokens.wxa (appid wxa) has no refresh_token"},
	} {
		cr := rollout.Credentials{RefreshTokens: c.tokens, AdminKey: "not used"}
		if c.file != "" {
			cr.RefreshTokensFile = filepath.Join(dir, c.file)
		}
		err := cr.CheckRefreshTokens(p)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s %v: err = %v, want %q", c.file, c.tokens, err, c.err)
		}
	}
}
