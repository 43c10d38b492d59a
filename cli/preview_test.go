package cli

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	officialTpl = "../extjson/testdata/tpl/official"
	samples     = "../extjson/testdata/samples/"
)

// previewOut is the union of both answers of `miniship preview`.
type previewOut struct {
	App     map[string]any            `json:"app"`
	Pages   map[string]map[string]any `json:"pages"`
	Ext     map[string]any            `json:"ext"`
	ErrCode int                       `json:"errcode"`
	ErrMsg  string                    `json:"errmsg"`
}

// decodeOne requires stdout to be exactly one JSON object and returns it with
// its top-level keys.
func decodeOne(t *testing.T, stdout []byte) (previewOut, []string) {
	t.Helper()
	var keys map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(stdout))
	if err := dec.Decode(&keys); err != nil || dec.More() {
		t.Fatalf("stdout is not one JSON object (%v): %s", err, stdout)
	}
	var out previewOut
	json.Unmarshal(stdout, &out)
	return out, slices.Sorted(maps.Keys(keys))
}

func zipDir(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tpl.zip")
	f, _ := os.Create(p)
	zw := zip.NewWriter(f)
	if err := zw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	f.Close()
	return p
}

func TestPreview(t *testing.T) {
	ext := func(name string) string { return samples + name }
	tests := []struct {
		name  string
		args  []string
		stdin string
		exit  int
		code  int    // errcode when exit is 1
		sub   string // in errmsg
		check func(*testing.T, previewOut)
	}{
		{name: "official sample", args: []string{"--template", officialTpl, "--ext-json", ext("000_normal.json")},
			check: func(t *testing.T, o previewOut) {
				if o.App["extAppid"] != "" || o.Ext["attr1"] != "value1" || len(o.Pages) != 2 || o.Pages["search/index"] == nil {
					t.Errorf("unexpected result %+v", o)
				}
			}},
		{name: "stdin", args: []string{"--template", officialTpl, "--ext-json", "-"}, stdin: `{"pages":["search/index"]}`,
			check: func(t *testing.T, o previewOut) {
				if o.Ext != nil || len(o.Pages) != 1 {
					t.Errorf("unexpected result %+v", o)
				}
			}},
		{name: "zip template", args: []string{"--template", zipDir(t, officialTpl), "--ext-json", ext("002_privacy.json")},
			check: func(t *testing.T, o previewOut) {
				if got, _ := json.Marshal(o.App["requiredPrivateInfos"]); string(got) != `["onLocationChange","startLocationUpdate"]` {
					t.Errorf("requiredPrivateInfos = %s", got)
				}
			}},
		{name: "standard", args: []string{"--template", officialTpl, "--ext-json", ext("000_standard.json"), "--standard"}},
		{name: "standard refuses pages", args: []string{"--standard", "--template", officialTpl, "--ext-json", ext("000_normal.json")}, exit: 1, code: 9402203, sub: `"extPages"`},
		{name: "invalid sample", args: []string{"--template", officialTpl, "--ext-json", ext("004_invalid.txt")}, exit: 1, code: 85048, sub: "line 2"},
		{name: "unknown page", args: []string{"--template", officialTpl, "--ext-json", "-"}, stdin: `{"pages":["index","shop/cart"]}`, exit: 1, code: 85045, sub: `pages[1] "shop/cart"`},
		{name: "missing template", args: []string{"--template", "/nonexistent/tpl", "--ext-json", ext("000_normal.json")}, exit: 1, code: 85043, sub: "cannot read template"},
		{name: "bad template", args: []string{"--template", samples, "--ext-json", ext("000_normal.json")}, exit: 1, code: 85043, sub: "app.json"},
		{name: "missing ext_json file", args: []string{"--template", officialTpl, "--ext-json", "/nonexistent.json"}, exit: 1, code: 85048, sub: "cannot read ext_json"},
		{name: "ext_json too big", args: []string{"--template", officialTpl, "--ext-json", "-"}, stdin: `{"ext":{"a":"` + strings.Repeat("x", 1<<20) + `"}}`, exit: 1, code: 85048, sub: "the limit is"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			exit := Main(append([]string{"preview"}, tc.args...), strings.NewReader(tc.stdin), &stdout, &stderr)
			if exit != tc.exit {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", exit, tc.exit, stdout.String(), stderr.String())
			}
			out, keys := decodeOne(t, stdout.Bytes())
			if tc.exit == 0 {
				if !slices.Equal(keys, []string{"app", "ext", "pages"}) {
					t.Fatalf("success keys = %v", keys)
				}
				if tc.check != nil {
					tc.check(t, out)
				}
				return
			}
			if !slices.Equal(keys, []string{"errcode", "errmsg"}) || out.ErrCode != tc.code || !strings.Contains(out.ErrMsg, tc.sub) {
				t.Fatalf("got %s, want errcode %d containing %q", stdout.String(), tc.code, tc.sub)
			}
		})
	}
}

func TestPreviewUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if exit := Main([]string{"preview", "--ext-json", "-"}, strings.NewReader(""), &stdout, &stderr); exit != 2 || !strings.Contains(stderr.String(), "template") {
		t.Errorf("missing --template: exit %d, stderr %q", exit, stderr.String())
	}
}

// TestPreviewBinary builds the real binary and runs it, stdin and exit code
// included.
func TestPreviewBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "github.com/miniship/miniship")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/miniship/miniship/cmd/miniship").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(stdin string, args ...string) (int, []byte) {
		cmd := exec.Command(bin, append([]string{"preview"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, out
	}
	code, out := run("", "--template", officialTpl, "--ext-json", samples+"000_normal.json")
	if res, keys := decodeOne(t, out); code != 0 || !slices.Equal(keys, []string{"app", "ext", "pages"}) || res.Ext["attr2"] != "value2" {
		t.Errorf("sample: exit %d, %s", code, out)
	}
	code, out = run(`{"pages":[]}`, "--template", officialTpl, "--ext-json", "-")
	if res, _ := decodeOne(t, out); code != 1 || res.ErrCode != 85047 {
		t.Errorf("empty pages: exit %d, %s", code, out)
	}
}
