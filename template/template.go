// Package template reads a mini program template (the source tree a
// third-party platform uploads as a draft) from a directory or a zip, safely,
// and indexes what /wxa/commit needs: the pages and their configs, package
// sizes and the location APIs the code references. It also writes the
// experience-version package once ext_json has been applied.
//
// Choices where the sources are silent (errcodes in brackets):
//   - Paths are relative, slash-separated and clean (fs.ValidPath); backslashes,
//     colons (drive letters such as "C:/x.js"),
//     absolute paths, ".." and duplicates are refused, and so are symlinks and
//     other non-regular files, in directories and in zips [85043].
//   - Hidden files and folders (an element starting with "."), node_modules and
//     __MACOSX are skipped, as DevTools does not pack them; they still count
//     against Limits.Files in a zip.
//   - If app.json is not at the root but every file sits under one folder that
//     holds app.json (what zipping a folder produces), that folder is the root.
//   - Limits: more entries than Limits.Files, a file bigger than a package, or
//     more bytes than Limits.TotalBytes [85044]. Zip bytes are counted as they
//     are decompressed, never trusting the header's sizes.
//   - A package's size is the sum of its files' bytes: files under a
//     subpackage root belong to it, every other file to the main package.
//   - app.json must be a JSON object with a non-empty "pages" array of unique
//     page paths [85043]. Every declared page (main or subpackage) needs its
//     .js or .wxml file, and its .json, if present, must be an object [85043].
//   - "subpackages" and "subPackages" are one key; having both is an error.
//     Items need a root that is not nested in another root and holds no main
//     page; pages are relative to the root and indexed as "root/page".
//   - The app.json keys ext_json merges into are checked here too (window,
//     networkTimeout, tabBar objects; every tabBar.list item with a pagePath in
//     pages; plugins; entryPagePath; requiredPrivateInfos names and exclusion),
//     so that any later error of a commit is the ext_json's fault [85043].
//   - JSON numbers are kept as json.Number, so they round-trip unchanged.
package template

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/miniship/miniship/wxerr"
)

// Default limits: 2 MB per package and 20 MB in all, the caps for
// provider-developed mini programs; 10000 files.
const (
	DefaultPackageBytes = 2 << 20
	DefaultTotalBytes   = 20 << 20
	DefaultFiles        = 10000
)

// Limits caps what a template may hold; zero fields take the defaults.
type Limits struct {
	PackageBytes int64 // each package: the main one and every subpackage
	TotalBytes   int64 // all files together
	Files        int   // entries of a zip, or files of a directory
}

func (l Limits) withDefaults() Limits {
	if l.PackageBytes <= 0 {
		l.PackageBytes = DefaultPackageBytes
	}
	if l.TotalBytes <= 0 {
		l.TotalBytes = DefaultTotalBytes
	}
	if l.Files <= 0 {
		l.Files = DefaultFiles
	}
	return l
}

// Template is a read, validated and indexed template. It is immutable once
// built, so one Template may serve concurrent commits; the maps it exposes
// must be treated as read-only.
type Template struct {
	// App is app.json as decoded (numbers as json.Number).
	App map[string]any
	// Pages are the main package's pages in app.json order.
	Pages []string
	// Subpackages in app.json order.
	Subpackages []Subpackage
	// PageConfigs maps every page (main, and subpackage pages as
	// "root/page") to its decoded .json, an empty object when it has none.
	PageConfigs map[string]map[string]any
	// Sizes of the packages, in bytes.
	Sizes Sizes
	// PrivacyAPIs are the location APIs that .js files reference (see
	// ScanJS), in LocationAPIs order; PrivacyUses maps each to its files.
	PrivacyAPIs []string
	PrivacyUses map[string][]string

	files   map[string][]byte
	pageIdx map[string]int // page path → -1 for main, else subpackage index
}

// Subpackage is one item of app.json's subpackages.
type Subpackage struct {
	Root        string   // without a trailing slash
	Name        string   // may be empty
	Pages       []string // relative to Root, as in app.json
	Independent bool
}

// Sizes of the packages in bytes.
type Sizes struct {
	Main        int64
	Subpackages map[string]int64 // by root
	Total       int64
}

// HasPage reports whether p is a page of the template, main or subpackage
// ("root/page").
func (t *Template) HasPage(p string) bool { _, ok := t.pageIdx[p]; return ok }

// IsMainPage reports whether p is a page of the main package.
func (t *Template) IsMainPage(p string) bool { i, ok := t.pageIdx[p]; return ok && i < 0 }

// SubpackageOf returns the index in Subpackages of the subpackage holding
// page p, or -1.
func (t *Template) SubpackageOf(p string) int {
	if i, ok := t.pageIdx[p]; ok {
		return i
	}
	return -1
}

// SubpackageIndex returns the index of the subpackage whose root is root (a
// trailing slash is ignored), or -1.
func (t *Template) SubpackageIndex(root string) int {
	root = strings.TrimSuffix(root, "/")
	return slices.IndexFunc(t.Subpackages, func(s Subpackage) bool { return s.Root == root })
}

// AllPages lists the main pages, then each subpackage's pages as "root/page".
func (t *Template) AllPages() []string {
	all := slices.Clone(t.Pages)
	for _, s := range t.Subpackages {
		for _, p := range s.Pages {
			all = append(all, s.Root+"/"+p)
		}
	}
	return all
}

// File returns the content of a file of the template.
func (t *Template) File(name string) ([]byte, bool) { b, ok := t.files[name]; return b, ok }

// FileNames lists the template's files, sorted.
func (t *Template) FileNames() []string { return slices.Sorted(maps.Keys(t.files)) }

// New builds a Template from files (path → content), which it takes over.
// Names are checked as a zip's entries are.
func New(files map[string][]byte, lim Limits) (*Template, error) {
	lim = lim.withDefaults()
	if len(files) > lim.Files {
		return nil, wxerr.Errorf(wxerr.PackageTooLarge, "the template has %d files, the limit is %d", len(files), lim.Files)
	}
	kept := make(map[string][]byte, len(files))
	var total int64
	for _, name := range slices.Sorted(maps.Keys(files)) { // sorted: the same error every time
		skip, err := checkName(name)
		if err != nil {
			return nil, err
		}
		if skip {
			continue
		}
		b := files[name]
		total += int64(len(b))
		if err := checkSize(name, int64(len(b)), total, lim); err != nil {
			return nil, err
		}
		kept[name] = b
	}
	return build(kept, lim)
}

// checkName validates a file path; skip reports a file DevTools would not
// pack.
func checkName(name string) (skip bool, err error) {
	// A colon makes "C:/x.js" a drive path and "a.js:b" an NTFS stream on
	// Windows, where a template may be unpacked; no mini program file has one.
	if strings.ContainsAny(name, "\\\x00:") || !fs.ValidPath(name) || name == "." {
		return false, wxerr.Errorf(wxerr.InvalidTemplate, "unsafe file path %q: paths must be relative, clean and use forward slashes", name)
	}
	for _, e := range strings.Split(name, "/") {
		if strings.HasPrefix(e, ".") || e == "node_modules" || e == "__MACOSX" {
			return true, nil
		}
	}
	return false, nil
}

func checkSize(name string, size, total int64, lim Limits) error {
	if size > lim.PackageBytes {
		return wxerr.Errorf(wxerr.PackageTooLarge, "file %q is %d bytes, more than a whole package may hold (%d)", name, size, lim.PackageBytes)
	}
	if total > lim.TotalBytes {
		return wxerr.Errorf(wxerr.PackageTooLarge, "the template's files exceed %d bytes in all", lim.TotalBytes)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return wxerr.Errorf(wxerr.InvalidTemplate, format, args...)
}

// build indexes and validates files whose names are already checked.
func build(files map[string][]byte, lim Limits) (*Template, error) {
	files = unwrapFolder(files)
	raw, ok := files["app.json"]
	if !ok {
		return nil, invalid("app.json not found at the root of the template")
	}
	app, err := decodeObject(raw)
	if err != nil {
		return nil, invalid("app.json: %v", err)
	}
	t := &Template{App: app, files: files, pageIdx: map[string]int{}}
	if err := t.indexPages(); err != nil {
		return nil, err
	}
	if err := t.checkApp(); err != nil {
		return nil, err
	}
	if err := t.measure(lim); err != nil {
		return nil, err
	}
	t.scanPrivacy()
	return t, nil
}

// unwrapFolder strips a single top-level folder holding app.json.
func unwrapFolder(files map[string][]byte) map[string][]byte {
	if _, ok := files["app.json"]; ok || len(files) == 0 {
		return files
	}
	dir := ""
	for name := range files {
		d, _, ok := strings.Cut(name, "/")
		if !ok || dir != "" && d != dir {
			return files
		}
		dir = d
	}
	if _, ok := files[dir+"/app.json"]; !ok {
		return files
	}
	out := make(map[string][]byte, len(files))
	for name, b := range files {
		out[name[len(dir)+1:]] = b
	}
	return out
}

// decodeObject decodes a JSON object, numbers as json.Number. A UTF-8 BOM,
// which Windows editors write, is tolerated.
func decodeObject(b []byte) (map[string]any, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if err := checkConfigBounds(b); err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		if err == io.EOF {
			return nil, errors.New("empty file")
		}
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object but " + JSONType(v))
	}
	return m, nil
}

// validPagePath accepts "a/b/c": relative, clean, no extension needed.
func validPagePath(p string) bool {
	return p != "" && fs.ValidPath(p) && !strings.ContainsAny(p, "\\\x00") && p != "."
}

func (t *Template) indexPages() error {
	pages, ok := stringList(t.App["pages"])
	if !ok {
		return invalid("app.json: pages must be an array of page paths, got %s", JSONType(t.App["pages"]))
	}
	if len(pages) == 0 {
		return invalid("app.json: pages is empty")
	}
	t.Pages = pages
	for i, p := range pages {
		if err := t.addPage(p, -1, "pages", i); err != nil {
			return err
		}
	}
	key, raw, err := SubpackagesKey(t.App)
	if err != nil {
		return invalid("app.json: %v", err)
	}
	if raw == nil {
		return nil
	}
	items, ok := raw.([]any)
	if !ok {
		return invalid("app.json: %s must be an array, got %s", key, JSONType(raw))
	}
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return invalid("app.json: %s[%d] must be an object, got %s", key, i, JSONType(it))
		}
		root, _ := m["root"].(string)
		root = strings.TrimSuffix(root, "/")
		if !validPagePath(root) {
			return invalid("app.json: %s[%d].root must be a folder path, got %v", key, i, m["root"])
		}
		for _, s := range t.Subpackages {
			if strings.HasPrefix(root+"/", s.Root+"/") || strings.HasPrefix(s.Root+"/", root+"/") {
				return invalid("app.json: %s[%d].root %q overlaps subpackage root %q", key, i, root, s.Root)
			}
		}
		for _, p := range t.Pages {
			if strings.HasPrefix(p, root+"/") {
				return invalid("app.json: main page %q lies inside subpackage root %q", p, root)
			}
		}
		sp := Subpackage{Root: root}
		if sp.Pages, ok = stringList(m["pages"]); !ok || len(sp.Pages) == 0 {
			return invalid("app.json: %s[%d].pages must be a non-empty array of page paths", key, i)
		}
		if v, ok := m["name"]; ok {
			if sp.Name, ok = v.(string); !ok {
				return invalid("app.json: %s[%d].name must be a string", key, i)
			}
		}
		if v, ok := m["independent"]; ok {
			if sp.Independent, ok = v.(bool); !ok {
				return invalid("app.json: %s[%d].independent must be a boolean", key, i)
			}
		}
		t.Subpackages = append(t.Subpackages, sp)
		for j, p := range sp.Pages {
			if !validPagePath(p) {
				return invalid("app.json: %s[%d].pages[%d] %q is not a valid page path", key, i, j, p)
			}
			if err := t.addPage(root+"/"+p, len(t.Subpackages)-1, key, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// addPage indexes page p of package pkg (-1 main) and reads its config.
func (t *Template) addPage(p string, pkg int, where string, i int) error {
	if !validPagePath(p) {
		return invalid("app.json: %s[%d] %q is not a valid page path", where, i, p)
	}
	if _, dup := t.pageIdx[p]; dup {
		return invalid("app.json: page %q is declared twice", p)
	}
	_, js := t.files[p+".js"]
	_, wxml := t.files[p+".wxml"]
	if !js && !wxml {
		return invalid("page %q is declared in app.json but neither %s.js nor %s.wxml exists", p, p, p)
	}
	cfg := map[string]any{}
	if raw, ok := t.files[p+".json"]; ok {
		var err error
		if cfg, err = decodeObject(raw); err != nil {
			return invalid("%s.json: %v", p, err)
		}
	}
	if t.PageConfigs == nil {
		t.PageConfigs = map[string]map[string]any{}
	}
	t.PageConfigs[p] = cfg
	t.pageIdx[p] = pkg
	return nil
}

// SubpackagesKey returns which spelling of the subpackages key m uses and
// its value (nil when absent); both spellings at once is an error.
func SubpackagesKey(m map[string]any) (string, any, error) {
	a, hasA := m["subpackages"]
	b, hasB := m["subPackages"]
	switch {
	case hasA && hasB:
		return "", nil, errors.New(`both "subpackages" and "subPackages" are present; they are one key, keep one`)
	case hasB:
		return "subPackages", b, nil
	}
	return "subpackages", a, nil
}

// stringList converts a decoded JSON array of strings.
func stringList(v any) ([]string, bool) {
	arr, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		if out[i], ok = e.(string); !ok {
			return nil, false
		}
	}
	return out, true
}

// checkApp validates the app.json keys ext_json merges into.
func (t *Template) checkApp() error {
	for _, k := range []string{"window", "networkTimeout", "tabBar", "plugins"} {
		if v, ok := t.App[k]; ok {
			if _, isObj := v.(map[string]any); !isObj {
				return invalid("app.json: %s must be an object, got %s", k, JSONType(v))
			}
		}
	}
	if tb, ok := t.App["tabBar"].(map[string]any); ok {
		if list, ok := tb["list"]; ok {
			items, ok := list.([]any)
			if !ok {
				return invalid("app.json: tabBar.list must be an array, got %s", JSONType(list))
			}
			for i, it := range items {
				m, _ := it.(map[string]any)
				p, _ := m["pagePath"].(string)
				if !t.IsMainPage(p) {
					return invalid("app.json: tabBar.list[%d].pagePath %q is not a main-package page", i, p)
				}
			}
		}
	}
	if err := CheckPlugins("plugins", t.App["plugins"]); err != nil {
		return invalid("app.json: %v", err)
	}
	if v, ok := t.App["entryPagePath"]; ok {
		if p, _ := v.(string); !t.HasPage(p) {
			return invalid("app.json: entryPagePath %v is not a page", v)
		}
	}
	if v, ok := t.App["requiredPrivateInfos"]; ok {
		if _, err := CheckRequiredPrivateInfos(v); err != nil {
			return invalid("app.json: %s", wxerr.From(err).Msg)
		}
	}
	return nil
}

// CheckPlugins checks the shape of a plugins value (absent is fine): an
// object of alias → {"provider": appid, "version": string}, both non-empty.
// The error names path; callers choose the errcode.
func CheckPlugins(path string, v any) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return errors.New(path + " must be an object, got " + JSONType(v))
	}
	for _, alias := range slices.Sorted(maps.Keys(m)) {
		p, ok := m[alias].(map[string]any)
		if !ok {
			return errors.New(path + "." + alias + " must be an object with provider and version")
		}
		for _, f := range []string{"provider", "version"} {
			if s, _ := p[f].(string); s == "" {
				return errors.New(path + "." + alias + "." + f + " must be a non-empty string")
			}
		}
	}
	return nil
}

// measure computes package sizes and enforces the limits.
func (t *Template) measure(lim Limits) error {
	t.Sizes.Subpackages = make(map[string]int64, len(t.Subpackages))
	for name, b := range t.files {
		n := int64(len(b))
		t.Sizes.Total += n
		i := slices.IndexFunc(t.Subpackages, func(s Subpackage) bool { return strings.HasPrefix(name, s.Root+"/") })
		if i < 0 {
			t.Sizes.Main += n
		} else {
			t.Sizes.Subpackages[t.Subpackages[i].Root] += n
		}
	}
	if t.Sizes.Main > lim.PackageBytes {
		return wxerr.Errorf(wxerr.PackageTooLarge, "main package is %d bytes, the limit is %d", t.Sizes.Main, lim.PackageBytes)
	}
	for _, s := range t.Subpackages {
		if n := t.Sizes.Subpackages[s.Root]; n > lim.PackageBytes {
			return wxerr.Errorf(wxerr.PackageTooLarge, "subpackage %q is %d bytes, the limit is %d", s.Root, n, lim.PackageBytes)
		}
	}
	if t.Sizes.Total > lim.TotalBytes {
		return wxerr.Errorf(wxerr.PackageTooLarge, "all packages total %d bytes, the limit is %d", t.Sizes.Total, lim.TotalBytes)
	}
	return nil
}

func (t *Template) scanPrivacy() {
	t.PrivacyUses = map[string][]string{}
	for _, name := range t.FileNames() {
		if strings.HasSuffix(name, ".js") {
			for _, api := range ScanJS(t.files[name]) {
				t.PrivacyUses[api] = append(t.PrivacyUses[api], name)
			}
		}
	}
	for _, api := range locationAPIs {
		if len(t.PrivacyUses[api]) > 0 {
			t.PrivacyAPIs = append(t.PrivacyAPIs, api)
		}
	}
}
