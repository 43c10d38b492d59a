package extjson

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/miniship/miniship/template"
	"github.com/miniship/miniship/wxerr"
)

const (
	navigateKey     = "navigateToMiniProgramAppIdList"
	navigateKeyTypo = "navigateToMiniProgaramAppIdList" // the doc's spelling
)

func checkStandard(ext map[string]any) error {
	var bad []string
	for k := range ext {
		if k != "extAppid" && k != "ext" && k != "window" {
			bad = append(bad, fmt.Sprintf("%q", k))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return wxerr.Errorf(wxerr.StandardTemplateExtJSON, "not allowed for a standard template: %s", strings.Join(bad, ", "))
}

func invalidf(format string, args ...any) error {
	return wxerr.Errorf(wxerr.InvalidExtJSON, format, args...)
}

func typeErr(path, want string, got any) error {
	return invalidf("%s must be %s, got %s", path, want, template.JSONType(got))
}

// typeChecks run in this order (documented in the package doc).
var typeChecks = []struct {
	key   string
	check func(path string, v any) error
}{
	{"extAppid", isString},
	{"ext", isObject},
	{"extPages", func(path string, v any) error {
		m, ok := v.(map[string]any)
		if !ok {
			return typeErr(path, "an object of page configs", v)
		}
		for _, p := range slices.Sorted(maps.Keys(m)) { // sorted: the first bad one is always the same
			if _, ok := m[p].(map[string]any); !ok {
				return typeErr(fmt.Sprintf("%s[%q]", path, p), "an object", m[p])
			}
		}
		return nil
	}},
	{"pages", isStringArray},
	{"subPackages", checkSubPackages},
	{"subpackages", checkSubPackages},
	{"window", isObject},
	{"networkTimeout", func(path string, v any) error {
		m, ok := v.(map[string]any)
		if !ok {
			return typeErr(path, "an object", v)
		}
		for _, k := range []string{"request", "connectSocket", "uploadFile", "downloadFile"} {
			if x, ok := m[k]; ok && template.JSONType(x) != "number" {
				return typeErr(path+"."+k, "a number of milliseconds", x)
			}
		}
		return nil
	}},
	{"tabBar", func(path string, v any) error {
		m, ok := v.(map[string]any)
		if !ok {
			return typeErr(path, "an object", v)
		}
		list, ok := m["list"]
		if !ok {
			return nil
		}
		items, ok := list.([]any)
		if !ok {
			return typeErr(path+".list", "an array", list)
		}
		for i, it := range items {
			item, ok := it.(map[string]any)
			if !ok {
				return typeErr(fmt.Sprintf("%s.list[%d]", path, i), "an object", it)
			}
			if p, ok := item["pagePath"]; ok && p != nil {
				if err := isString(fmt.Sprintf("%s.list[%d].pagePath", path, i), p); err != nil {
					return err
				}
			}
		}
		return nil
	}},
	{"plugins", checkPlugins},
	{navigateKey, isStringArray},
	{navigateKeyTypo, isStringArray},
	{"entryPagePath", isString},
}

func isString(path string, v any) error {
	if _, ok := v.(string); !ok {
		return typeErr(path, "a string", v)
	}
	return nil
}

func isObject(path string, v any) error {
	if _, ok := v.(map[string]any); !ok {
		return typeErr(path, "an object", v)
	}
	return nil
}

func isStringArray(path string, v any) error {
	arr, ok := v.([]any)
	if !ok {
		return typeErr(path, "an array of strings", v)
	}
	for i, e := range arr {
		if _, ok := e.(string); !ok { // the path is built only on error: arrays can be long
			return typeErr(fmt.Sprintf("%s[%d]", path, i), "a string", e)
		}
	}
	return nil
}

func checkPlugins(path string, v any) error {
	if err := template.CheckPlugins(path, v); err != nil {
		return invalidf("%v", err)
	}
	return nil
}

func checkSubPackages(path string, v any) error {
	items, ok := v.([]any)
	if !ok {
		return typeErr(path, "an array of subpackage objects", v)
	}
	for i, it := range items {
		at := fmt.Sprintf("%s[%d]", path, i)
		m, ok := it.(map[string]any)
		if !ok {
			return typeErr(at, "an object with root and pages", it)
		}
		if err := isString(at+".root", m["root"]); err != nil {
			return err
		}
		if err := isStringArray(at+".pages", m["pages"]); err != nil {
			return err
		}
		if x, ok := m["name"]; ok {
			if err := isString(at+".name", x); err != nil {
				return err
			}
		}
		if x, ok := m["independent"]; ok {
			if _, ok := x.(bool); !ok {
				return typeErr(at+".independent", "a boolean", x)
			}
		}
		if x, ok := m["plugins"]; ok {
			if err := checkPlugins(at+".plugins", x); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkTypes(ext map[string]any) error {
	if _, _, err := template.SubpackagesKey(ext); err != nil {
		return invalidf("%v", err)
	}
	if _, ok := ext[navigateKey]; ok {
		if _, ok := ext[navigateKeyTypo]; ok {
			return invalidf("both %q and %q are present; they are one key, keep one", navigateKey, navigateKeyTypo)
		}
	}
	for _, c := range typeChecks {
		if v, ok := ext[c.key]; ok {
			if err := c.check(c.key, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// strs converts an array already checked to hold strings.
func strs(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, len(arr))
	for i, e := range arr {
		out[i], _ = e.(string)
	}
	return out
}

// checkPaths checks that pages, subPackages and extPages only name what the
// template declares.
func checkPaths(t *template.Template, ext map[string]any) error {
	if v, ok := ext["pages"]; ok {
		pages := strs(v)
		if len(pages) == 0 {
			return wxerr.New(wxerr.PagesEmpty, "pages in ext_json is empty; omit it to keep the template's pages")
		}
		seen := make(map[string]bool, len(pages)) // a set: ext_json may hold many entries
		for i, p := range pages {
			if seen[p] {
				return invalidf("pages[%d] %q is listed twice", i, p)
			}
			seen[p] = true
			if !t.IsMainPage(p) {
				return wxerr.Errorf(wxerr.ExtJSONPathNotExist, "pages[%d] %q %s", i, p, notMainPage(t, p))
			}
		}
	}
	key, v, _ := template.SubpackagesKey(ext)
	if v != nil {
		var roots []int
		for i, it := range v.([]any) {
			m := it.(map[string]any)
			root := m["root"].(string)
			si := t.SubpackageIndex(root)
			if si < 0 {
				return wxerr.Errorf(wxerr.ExtJSONPathNotExist, "%s[%d].root %q is not a subpackage of the template (it has %s)", key, i, root, roots2str(t))
			}
			if slices.Contains(roots, si) {
				return invalidf("%s[%d].root %q names a subpackage already listed", key, i, root)
			}
			roots = append(roots, si)
			pages := strs(m["pages"])
			if len(pages) == 0 {
				return wxerr.Errorf(wxerr.PagesEmpty, "%s[%d].pages of subpackage %q is empty", key, i, root)
			}
			sroot := t.Subpackages[si].Root
			seen := make(map[string]bool, len(pages))
			for j, p := range pages {
				if seen[p] {
					return invalidf("%s[%d].pages[%d] %q is listed twice", key, i, j, p)
				}
				seen[p] = true
				if t.SubpackageOf(sroot+"/"+p) != si {
					return wxerr.Errorf(wxerr.ExtJSONPathNotExist, "%s[%d].pages[%d] %q is not a page of the template's subpackage %q", key, i, j, p, sroot)
				}
			}
		}
	}
	if v, ok := ext["extPages"]; ok {
		m := v.(map[string]any)
		for _, p := range slices.Sorted(maps.Keys(m)) {
			if !t.HasPage(p) {
				return wxerr.Errorf(wxerr.ExtJSONPathNotExist, "extPages[%q]: %q is not a page of the template", p, p)
			}
		}
	}
	return nil
}

func notMainPage(t *template.Template, p string) string {
	if i := t.SubpackageOf(p); i >= 0 {
		return fmt.Sprintf("is a page of subpackage %q, not of the main package; list it under subPackages", t.Subpackages[i].Root)
	}
	return "is not a page of the template"
}

func roots2str(t *template.Template) string {
	if len(t.Subpackages) == 0 {
		return "none"
	}
	var q []string
	for _, s := range t.Subpackages {
		q = append(q, fmt.Sprintf("%q", s.Root))
	}
	return strings.Join(q, ", ")
}
