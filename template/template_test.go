package template

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/json"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/miniship/miniship/wxerr"
)

// treeFiles reads a testdata tree into memory.
func treeFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// zent is a zip entry to write; raw entries carry a hand-set size claim.
type zent struct {
	name  string
	body  []byte
	mode  fs.FileMode
	claim uint64 // when > 0: write body deflated with this uncompressed size in the header
}

func mkZip(t testing.TB, ents ...zent) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range ents {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		if e.claim > 0 {
			var c bytes.Buffer
			fw, _ := flate.NewWriter(&c, flate.BestCompression)
			fw.Write(e.body)
			fw.Close()
			h.CompressedSize64, h.UncompressedSize64 = uint64(c.Len()), e.claim
			w, err := zw.CreateRaw(h)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(c.Bytes())
			continue
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipOf(t testing.TB, files map[string][]byte, prefix string) []byte {
	var ents []zent
	for _, name := range slices.Sorted(maps.Keys(files)) {
		ents = append(ents, zent{name: prefix + name, body: files[name]})
	}
	return mkZip(t, ents...)
}

func wantCode(t *testing.T, err error, code wxerr.Code, sub string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want errcode %d, got success", code)
	}
	e := wxerr.From(err)
	if e.Code != code || !strings.Contains(e.Msg, sub) {
		t.Fatalf("want errcode %d containing %q, got %d %q", code, sub, e.Code, e.Msg)
	}
}

func TestReadDirIndex(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/twopkg")); err != nil {
		t.Fatal(err)
	}
	// What DevTools does not pack must not count or be scanned.
	for name, body := range map[string]string{
		".git/HEAD": "ref", ".DS_Store": "x", "node_modules/x/index.js": "wx.getFuzzyLocation()",
		"pages/.hidden.js": "wx.getFuzzyLocation()",
	} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
	tp, err := Open(dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pages/index/index", "pages/map/map"}; !slices.Equal(tp.Pages, want) {
		t.Errorf("Pages = %v, want %v", tp.Pages, want)
	}
	if want := []string{"pages/index/index", "pages/map/map", "pkgA/cart/cart", "pkgA/detail/detail"}; !slices.Equal(tp.AllPages(), want) {
		t.Errorf("AllPages = %v, want %v", tp.AllPages(), want)
	}
	if got := tp.Subpackages; len(got) != 1 || got[0].Root != "pkgA" || got[0].Name != "a" {
		t.Errorf("Subpackages = %+v", got)
	}
	if got := tp.PageConfigs["pkgA/cart/cart"]["navigationBarTitleText"]; got != "Cart" {
		t.Errorf("cart title = %v", got)
	}
	if got := tp.PageConfigs["pages/map/map"]; got == nil || len(got) != 0 {
		t.Errorf("a page without .json must have {} config, got %v", got)
	}
	// Sizes: independently summed from the testdata tree.
	var main, sub int64
	for name, b := range treeFiles(t, "testdata/twopkg") {
		if strings.HasPrefix(name, "pkgA/") {
			sub += int64(len(b))
		} else {
			main += int64(len(b))
		}
	}
	if tp.Sizes.Main != main || tp.Sizes.Subpackages["pkgA"] != sub || tp.Sizes.Total != main+sub {
		t.Errorf("Sizes = %+v, want main %d pkgA %d", tp.Sizes, main, sub)
	}
	if want := []string{GetLocation, OnLocationChange, ChooseAddress}; !slices.Equal(tp.PrivacyAPIs, want) {
		t.Errorf("PrivacyAPIs = %v, want %v", tp.PrivacyAPIs, want)
	}
	if got := tp.PrivacyUses[ChooseAddress]; !slices.Equal(got, []string{"pkgA/detail/detail.js"}) {
		t.Errorf("PrivacyUses[chooseAddress] = %v", got)
	}
	if _, ok := tp.File(".git/HEAD"); ok {
		t.Error("hidden files must be skipped")
	}
	if !tp.IsMainPage("pages/map/map") || tp.IsMainPage("pkgA/cart/cart") || !tp.HasPage("pkgA/cart/cart") || tp.SubpackageOf("pkgA/cart/cart") != 0 {
		t.Error("page index is wrong")
	}
	if tp.SubpackageIndex("pkgA/") != 0 || tp.SubpackageIndex("pkgB") != -1 {
		t.Error("Subpackage lookup is wrong")
	}
}

// The same tree read as a directory, a zip, a zip wrapped in one folder and
// from memory must index the same.
func TestReadersAgree(t *testing.T) {
	files := treeFiles(t, "testdata/twopkg")
	dir, err := ReadDir("testdata/twopkg", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(t.TempDir(), "tpl.zip")
	os.WriteFile(zipPath, zipOf(t, files, ""), 0o644)
	fromPath, err := Open(zipPath, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := ReadZipBytes(zipOf(t, files, "myapp/"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	mem, err := New(treeFiles(t, "testdata/twopkg"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for name, tp := range map[string]*Template{"zip": fromPath, "wrapped zip": wrapped, "memory": mem} {
		if !reflect.DeepEqual(tp.App, dir.App) || !reflect.DeepEqual(tp.PageConfigs, dir.PageConfigs) ||
			!reflect.DeepEqual(tp.Sizes, dir.Sizes) || !slices.Equal(tp.FileNames(), dir.FileNames()) ||
			!slices.Equal(tp.PrivacyAPIs, dir.PrivacyAPIs) {
			t.Errorf("%s: index differs from the directory's", name)
		}
	}
}

func TestZipSafety(t *testing.T) {
	app := zent{name: "app.json", body: []byte(`{"pages":["index"]}`)}
	page := zent{name: "index.js", body: []byte("Page({})")}
	zeros := make([]byte, 3<<20)
	tests := []struct {
		name string
		ents []zent
		lim  Limits
		code wxerr.Code
		sub  string
	}{
		{"zip slip", []zent{app, page, {name: "../evil.js", body: []byte("x")}}, Limits{}, wxerr.InvalidTemplate, `"../evil.js"`},
		{"zip slip inside", []zent{app, page, {name: "a/../../evil.js"}}, Limits{}, wxerr.InvalidTemplate, "unsafe"},
		{"absolute", []zent{app, page, {name: "/etc/passwd"}}, Limits{}, wxerr.InvalidTemplate, `"/etc/passwd"`},
		{"backslash", []zent{app, page, {name: `..\evil.js`}}, Limits{}, wxerr.InvalidTemplate, "unsafe"},
		{"drive letter", []zent{app, page, {name: `C:\evil.js`}}, Limits{}, wxerr.InvalidTemplate, "unsafe"},
		{"drive letter, slash", []zent{app, page, {name: "C:/x.js"}}, Limits{}, wxerr.InvalidTemplate, "unsafe"},
		{"drive-relative", []zent{app, page, {name: "c:x.js"}}, Limits{}, wxerr.InvalidTemplate, "unsafe"},
		{"alternate data stream", []zent{app, page, {name: "index.js:evil"}}, Limits{}, wxerr.InvalidTemplate, "unsafe"},
		{"dot segment", []zent{app, page, {name: "./index.wxml"}}, Limits{}, wxerr.InvalidTemplate, "unsafe"},
		{"slip directory", []zent{app, page, {name: "../up/"}}, Limits{}, wxerr.InvalidTemplate, "unsafe"},
		{"symlink", []zent{app, page, {name: "link.js", body: []byte("/etc/passwd"), mode: fs.ModeSymlink | 0o777}}, Limits{}, wxerr.InvalidTemplate, "symlink"},
		{"duplicate", []zent{app, page, page}, Limits{}, wxerr.InvalidTemplate, "twice"},
		{"too many entries", []zent{app, page, {name: "a"}, {name: "b"}, {name: "c"}}, Limits{Files: 4}, wxerr.PackageTooLarge, "5 entries"},
		{"bomb, honest header", []zent{app, page, {name: "big.bin", body: zeros}}, Limits{}, wxerr.PackageTooLarge, "big.bin"},
		{"bomb, total", []zent{app, page, {name: "a.bin", body: zeros[:1<<20]}, {name: "b.bin", body: zeros[:1<<20]}}, Limits{TotalBytes: 1<<20 + 100}, wxerr.PackageTooLarge, "b.bin"},
		{"empty archive", nil, Limits{}, wxerr.InvalidTemplate, "app.json not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadZipBytes(mkZip(t, tc.ents...), tc.lim)
			wantCode(t, err, tc.code, tc.sub)
		})
	}
	// A header that understates the size must not let more bytes through.
	// archive/zip refuses to read past the claim; readCapped's own cap at
	// the limit backs it up whatever the header says.
	for name, lim := range map[string]Limits{"bomb, lying header": {}, "lying header within limits": {PackageBytes: 1 << 20}} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadZipBytes(mkZip(t, app, page, zent{name: "big.bin", body: zeros, claim: 10}), lim)
			wantCode(t, err, wxerr.InvalidTemplate, `"big.bin": its data does not match its header`)
		})
	}
	t.Run("not a zip", func(t *testing.T) {
		_, err := ReadZipBytes([]byte("PK\x03\x04 nope"), Limits{})
		wantCode(t, err, wxerr.InvalidTemplate, "not a zip")
	})
}

func TestReadDirSafety(t *testing.T) {
	mk := func(t *testing.T) string {
		dir := t.TempDir()
		os.CopyFS(dir, os.DirFS("testdata/twopkg"))
		return dir
	}
	t.Run("symlink file", func(t *testing.T) {
		dir := mk(t)
		if err := os.Symlink("/etc/passwd", filepath.Join(dir, "pages", "pw.js")); err != nil {
			t.Skip("no symlinks:", err)
		}
		_, err := ReadDir(dir, Limits{})
		wantCode(t, err, wxerr.InvalidTemplate, "symlink")
	})
	t.Run("symlink dir", func(t *testing.T) {
		dir := mk(t)
		if err := os.Symlink("/etc", filepath.Join(dir, "etc")); err != nil {
			t.Skip("no symlinks:", err)
		}
		_, err := ReadDir(dir, Limits{})
		wantCode(t, err, wxerr.InvalidTemplate, `"etc" is a symlink`)
	})
	t.Run("too many files", func(t *testing.T) {
		_, err := ReadDir(mk(t), Limits{Files: 5})
		wantCode(t, err, wxerr.PackageTooLarge, "more than 5")
	})
	t.Run("file too big", func(t *testing.T) {
		dir := mk(t)
		os.WriteFile(filepath.Join(dir, "big.bin"), make([]byte, 2000), 0o644)
		_, err := ReadDir(dir, Limits{PackageBytes: 1000})
		wantCode(t, err, wxerr.PackageTooLarge, "big.bin")
	})
	t.Run("missing", func(t *testing.T) {
		_, err := Open(filepath.Join(t.TempDir(), "nope"), Limits{})
		wantCode(t, err, wxerr.InvalidTemplate, "cannot read template")
	})
	t.Run("not a zip", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "x.zip")
		os.WriteFile(p, []byte("hello"), 0o644)
		_, err := Open(p, Limits{})
		wantCode(t, err, wxerr.InvalidTemplate, "not a zip")
	})
}

// TestValidate covers the template rules with small in-memory trees.
func TestValidate(t *testing.T) {
	page := func(p string) map[string]string { return map[string]string{p + ".js": "Page({})"} }
	base := func(app string, extra ...map[string]string) map[string][]byte {
		files := map[string][]byte{"app.json": []byte(app)}
		for _, m := range append(extra, page("index"), page("a/x"), page("b/y")) {
			for k, v := range m {
				files[k] = []byte(v)
			}
		}
		return files
	}
	tests := []struct {
		name  string
		files map[string][]byte
		lim   Limits
		code  wxerr.Code
		sub   string
	}{
		{"ok", base(`{"pages":["index"],"subpackages":[{"root":"a","pages":["x"]},{"root":"b/","pages":["y"]}]}`), Limits{}, 0, ""},
		{"BOM", base("\xef\xbb\xbf" + `{"pages":["index"]}`), Limits{}, 0, ""},
		{"no app.json", map[string][]byte{"index.js": nil}, Limits{}, wxerr.InvalidTemplate, "app.json not found"},
		{"app.json array", base(`[]`), Limits{}, wxerr.InvalidTemplate, "not a JSON object but array"},
		{"app.json broken", base(`{"pages":`), Limits{}, wxerr.InvalidTemplate, "app.json"},
		{"app.json trailing", base(`{"pages":["index"]} {}`), Limits{}, wxerr.InvalidTemplate, "after the JSON object"},
		{"pages missing", base(`{}`), Limits{}, wxerr.InvalidTemplate, "pages must be an array"},
		{"pages empty", base(`{"pages":[]}`), Limits{}, wxerr.InvalidTemplate, "pages is empty"},
		{"pages not strings", base(`{"pages":[1]}`), Limits{}, wxerr.InvalidTemplate, "pages must be"},
		{"page without files", base(`{"pages":["index","ghost"]}`), Limits{}, wxerr.InvalidTemplate, `page "ghost"`},
		{"page path unsafe", base(`{"pages":["../index"]}`), Limits{}, wxerr.InvalidTemplate, "not a valid page path"},
		{"page twice", base(`{"pages":["index","index"]}`), Limits{}, wxerr.InvalidTemplate, "declared twice"},
		{"page json broken", base(`{"pages":["index"]}`, map[string]string{"index.json": "{"}), Limits{}, wxerr.InvalidTemplate, "index.json"},
		{"page json array", base(`{"pages":["index"]}`, map[string]string{"index.json": "[]"}), Limits{}, wxerr.InvalidTemplate, "index.json: not a JSON object"},
		{"both spellings", base(`{"pages":["index"],"subpackages":[],"subPackages":[]}`), Limits{}, wxerr.InvalidTemplate, "both"},
		{"subpackages not array", base(`{"pages":["index"],"subPackages":{}}`), Limits{}, wxerr.InvalidTemplate, "subPackages must be an array"},
		{"root missing", base(`{"pages":["index"],"subPackages":[{"pages":["x"]}]}`), Limits{}, wxerr.InvalidTemplate, "root"},
		{"roots nest", base(`{"pages":["index"],"subpackages":[{"root":"a","pages":["x"]},{"root":"a/b","pages":["c"]}]}`, page("a/b/c")), Limits{}, wxerr.InvalidTemplate, "overlaps"},
		{"main page in root", base(`{"pages":["index","a/x"],"subpackages":[{"root":"a","pages":["x"]}]}`), Limits{}, wxerr.InvalidTemplate, "inside subpackage root"},
		{"subpackage pages empty", base(`{"pages":["index"],"subpackages":[{"root":"a","pages":[]}]}`), Limits{}, wxerr.InvalidTemplate, "non-empty"},
		{"subpackage page missing", base(`{"pages":["index"],"subpackages":[{"root":"a","pages":["nope"]}]}`), Limits{}, wxerr.InvalidTemplate, `"a/nope"`},
		{"window not object", base(`{"pages":["index"],"window":"x"}`), Limits{}, wxerr.InvalidTemplate, "window must be an object"},
		{"tabBar page unknown", base(`{"pages":["index"],"tabBar":{"list":[{"pagePath":"index"},{"pagePath":"a/x"}]}}`), Limits{}, wxerr.InvalidTemplate, "tabBar.list[1]"},
		{"tabBar list not array", base(`{"pages":["index"],"tabBar":{"list":{}}}`), Limits{}, wxerr.InvalidTemplate, "tabBar.list"},
		{"plugins bad", base(`{"pages":["index"],"plugins":{"p":{"provider":"wx1"}}}`), Limits{}, wxerr.InvalidTemplate, "plugins.p.version"},
		{"entryPagePath unknown", base(`{"pages":["index"],"entryPagePath":"nope"}`), Limits{}, wxerr.InvalidTemplate, "entryPagePath"},
		{"privacy exclusive", base(`{"pages":["index"],"requiredPrivateInfos":["getLocation","getFuzzyLocation"]}`), Limits{}, wxerr.InvalidTemplate, "mutually exclusive"},
		{"privacy unknown", base(`{"pages":["index"],"requiredPrivateInfos":["getGPS"]}`), Limits{}, wxerr.InvalidTemplate, `"getGPS"`},
		{"unsafe name", map[string][]byte{"app.json": nil, "../x": nil}, Limits{}, wxerr.InvalidTemplate, "unsafe"},
		{"too many files", base(`{"pages":["index"]}`), Limits{Files: 2}, wxerr.PackageTooLarge, "files"},
		{"main too big", base(`{"pages":["index"]}`, map[string]string{"big": strings.Repeat("x", 995)}), Limits{PackageBytes: 1000}, wxerr.PackageTooLarge, "main package"},
		{"subpackage too big", base(`{"pages":["index"],"subpackages":[{"root":"a","pages":["x"]}]}`, map[string]string{"a/big": strings.Repeat("x", 995)}), Limits{PackageBytes: 1000}, wxerr.PackageTooLarge, `subpackage "a"`},
		{"total too big", base(`{"pages":["index"],"subpackages":[{"root":"a","pages":["x"]}]}`, map[string]string{"a/big": strings.Repeat("x", 900), "big": strings.Repeat("x", 900)}), Limits{PackageBytes: 1000, TotalBytes: 1800}, wxerr.PackageTooLarge, "in all"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.files, tc.lim)
			if tc.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tc.code, tc.sub)
		})
	}
}

func TestBuildPackage(t *testing.T) {
	tp, err := ReadDir("testdata/twopkg", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	app := map[string]any{"pages": []any{"pages/index/index"}, "extAppid": "wx123", "window": map[string]any{"title": "<b>&"}}
	pages := map[string]map[string]any{"pages/index/index": {"navigationBarTitleText": "New"}, "pages/map/map": {}}
	ext := map[string]any{"shop": json.Number("42")}
	var buf bytes.Buffer
	if err := tp.BuildPackage(&buf, app, pages, ext); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	tp.BuildPackage(&again, app, pages, ext)
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("BuildPackage is not deterministic")
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range zr.File {
		// A DOS date's month is 1–12: 0 reads as the invalid 1980-00-00.
		if month := f.ModifiedDate >> 5 & 0xf; month < 1 || month > 12 {
			t.Errorf("%s: DOS date %#x, month %d", f.Name, f.ModifiedDate, month)
		}
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		got[f.Name] = string(b)
	}
	decode := func(name string) map[string]any {
		m, err := decodeObject([]byte(got[name]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}
	if a := decode("app.json"); a["extAppid"] != "wx123" || !strings.Contains(got["app.json"], "<b>&") {
		t.Errorf("app.json = %s", got["app.json"])
	}
	if p := decode("pages/index/index.json"); !reflect.DeepEqual(p, map[string]any{"navigationBarTitleText": "New"}) {
		t.Errorf("index.json = %v", p)
	}
	if e := decode("ext.json"); !reflect.DeepEqual(e, map[string]any{"extEnable": true, "extAppid": "wx123", "ext": map[string]any{"shop": json.Number("42")}}) {
		t.Errorf("ext.json = %v", e)
	}
	if got["pkgA/assets/logo.png"] != "not really a png\n" || got["pkgA/cart/cart.json"] == "" {
		t.Error("untouched files must be copied as they are")
	}
	if len(got) != len(tp.FileNames())+2 { // + ext.json + pages/map/map.json
		t.Errorf("package has %d files, want %d", len(got), len(tp.FileNames())+2)
	}
}
