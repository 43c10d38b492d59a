package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/wxa"
)

const demoTpl = "../demo/template"

// TestPreviewAgreesWithCommit: with --authorizer, preview gives exactly the
// errcode a real commit of the same ext_json for the same mini program gets
// (the demo template declares requiredPrivateInfos ["getLocation"], which is
// why the demo's shop B gets 85312).
func TestPreviewAgreesWithCommit(t *testing.T) {
	s := mstest.New(t, mstest.Options{})
	p := s.Platform(t, nil)
	tplID := s.Template(t, p.AppID, nil, miniship.TemplateNormal)
	c, err := wxa.NewClient(wxa.Options{BaseURL: s.URL, ComponentAppID: p.AppID, ComponentSecret: p.Secret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c.SetTicket(ctx, s.Ticket(t, p.AppID))

	plugin := `{"plugins":{"pay":{"provider":"wxplugin00000001","version":"1.2.0"}}}`
	tests := []struct {
		name, authorizer, ext string
		code                  int
	}{
		{"granted getLocation", `{"privacy_apis":["getLocation"]}`, `{"ext":{"shopName":"A"}}`, 0},
		{"no privacy grant (shop B)", `{}`, `{"ext":{"shopName":"B"}}`, 85312},
		{"plugin provider unknown", `{"privacy_apis":["getLocation"]}`, `{"plugins":{"pay":{"provider":"nope","version":"1"}}}`, 80067},
		{"plugin not granted", `{"privacy_apis":["getLocation"]}`, plugin, 80082},
		{"plugin version not granted", `{"privacy_apis":["getLocation"],"plugins":[{"appid":"wxplugin00000001","versions":["1.0.0"]}]}`, plugin, 80066},
		{"plugin granted", `{"privacy_apis":["getLocation"],"plugins":[{"appid":"wxplugin00000001","versions":["1.2.0"]}]}`, plugin, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a miniship.Authorizer
			if err := json.Unmarshal([]byte(tc.authorizer), &a); err != nil {
				t.Fatal(err)
			}
			a.AppID = fmt.Sprintf("wxpreviewagree%03d", i)
			file := filepath.Join(t.TempDir(), "authorizer.json")
			b, _ := json.Marshal(a)
			os.WriteFile(file, b, 0o600)

			var stdout, stderr bytes.Buffer
			exit := Main([]string{"preview", "--template", demoTpl, "--authorizer", file, "--ext-json", "-"}, strings.NewReader(tc.ext), &stdout, &stderr)
			out, _ := decodeOne(t, stdout.Bytes())
			if (exit == 0) != (tc.code == 0) || out.ErrCode != tc.code || stderr.Len() != 0 {
				t.Fatalf("preview: exit %d, errcode %d (want %d), stderr %q", exit, out.ErrCode, tc.code, stderr.String())
			}

			_, refresh := s.MiniProgram(t, p.AppID, &a)
			c.SetRefreshToken(ctx, a.AppID, refresh)
			err := c.App(a.AppID).Commit(ctx, wxa.CommitRequest{TemplateID: tplID, ExtJSON: tc.ext, UserVersion: "1.0.0"})
			var we *wxa.Error
			switch {
			case tc.code == 0 && err != nil:
				t.Fatalf("commit failed where preview succeeded: %v", err)
			case tc.code != 0 && (!errors.As(err, &we) || int(we.Code) != tc.code):
				t.Fatalf("commit: %v, preview said %d", err, tc.code)
			}
		})
	}
}

// TestPreviewWarnings: stderr names what preview could not check, and what
// a commit accepts but was almost certainly not meant; the exit code and
// stdout stay those of the result.
func TestPreviewWarnings(t *testing.T) {
	tests := []struct {
		name, ext string
		args      []string
		exit      int
		warn      []string // each must appear on stderr
		quiet     bool     // stderr must be empty
	}{
		{name: "no authorizer: privacy grant unchecked", ext: `{"ext":{"shopName":"A"}}`,
			warn: []string{`requiredPrivateInfos ["getLocation"] not checked`, "85312", "--authorizer FILE"}},
		{name: "no authorizer: plugins unchecked", ext: `{"plugins":{"pay":{"provider":"wxplugin00000001","version":"1"}}}`,
			warn: []string{`plugins ["pay"] not checked`, "80082"}},
		{name: "commit body pasted", ext: `{"template_id":1,"ext_json":"{\"ext\":{}}","user_version":"1.0.0"}`,
			warn: []string{`the keys ["template_id" "ext_json" "user_version"] of a /wxa/commit request`}},
		{name: "wrong type commit accepts", ext: `{"window":{"enablePullDownRefresh":"true"}}`,
			warn: []string{`window.enablePullDownRefresh should be a boolean, got the string "true"`}},
		{name: "warning also beside an errcode", ext: `{"debug":"yes","pages":[]}`, exit: 1,
			warn: []string{`debug should be a boolean`}},
		{name: "with authorizer and a clean ext_json: quiet", ext: `{"ext":{"shopName":"A"}}`,
			args: []string{"--authorizer", writeFile(t, `{"appid":"wxa","privacy_apis":["getLocation"]}`)}, quiet: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"preview", "--template", demoTpl, "--ext-json", "-"}, tc.args...)
			exit := Main(args, strings.NewReader(tc.ext), &stdout, &stderr)
			decodeOne(t, stdout.Bytes())
			if exit != tc.exit {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", exit, tc.exit, stdout.String(), stderr.String())
			}
			if tc.quiet && stderr.Len() != 0 {
				t.Errorf("stderr %q, want none", stderr.String())
			}
			for _, w := range tc.warn {
				if !strings.Contains(stderr.String(), "miniship preview: warning: ") || !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q lacks %q", stderr.String(), w)
				}
			}
		})
	}
}

func TestPreviewBadAuthorizer(t *testing.T) {
	for _, body := range []string{`{"privacy_api":["getLocation"]}`, `not json`} {
		var stdout, stderr bytes.Buffer
		exit := Main([]string{"preview", "--template", demoTpl, "--authorizer", writeFile(t, body), "--ext-json", "-"}, strings.NewReader(`{}`), &stdout, &stderr)
		if exit != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "POST /miniship/v1/authorizers") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", body, exit, stdout.String(), stderr.String())
		}
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
