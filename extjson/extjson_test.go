package extjson

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/miniship/miniship/template"
	"github.com/miniship/miniship/wxerr"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var tpls = map[string]*template.Template{}

// tpl loads a template of testdata/tpl once.
func tpl(t testing.TB, name string) *template.Template {
	t.Helper()
	if tp, ok := tpls[name]; ok {
		return tp
	}
	tp, err := template.ReadDir(filepath.Join("testdata", "tpl", name), template.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	tpls[name] = tp
	return tp
}

// memTpl builds a template from an app.json, creating a .js for each page.
func memTpl(t testing.TB, app string, pages ...string) *template.Template {
	t.Helper()
	files := map[string][]byte{"app.json": []byte(app)}
	for _, p := range pages {
		files[p+".js"] = []byte("Page({})")
	}
	tp, err := template.New(files, template.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

type grants struct {
	apis    []string
	plugins map[string][]string // granted provider → versions
	known   []string            // providers that exist but are not granted
}

func (g grants) PrivacyAPI(name string) bool { return slices.Contains(g.apis, name) }

func (g grants) Plugin(provider, version string) PluginStatus {
	vs, ok := g.plugins[provider]
	switch {
	case !ok && slices.Contains(g.known, provider):
		return PluginNotGranted
	case !ok:
		return PluginNotFound
	case !slices.Contains(vs, version):
		return PluginBadVersion
	}
	return PluginOK
}

var allGranted = grants{
	apis:    template.LocationAPIs(),
	plugins: map[string][]string{"wx2b03c6e691cd7370": {"1.3.0"}, "wxchat": {"2.0.0"}},
	known:   []string{"wxknown"},
}

// outcome is what a golden file holds: the result, or the error.
func outcome(res *Result, err error) []byte {
	var v any = res
	if err != nil {
		e := wxerr.From(err)
		v = map[string]any{"errcode": e.Code, "errmsg": e.Msg}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden.json")
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden:\n got: %s\nwant: %s", name, got, want)
	}
}

// TestSamples runs every official sample of the seeds.
func TestSamples(t *testing.T) {
	tests := []struct {
		file, tpl string
		standard  bool
		code      wxerr.Code
	}{
		{"000_normal.json", "official", false, 0},
		{"000_standard.json", "official", true, 0},
		{"000_standard.json", "official", false, 0},
		{"001_normal.json", "official", false, 0},
		{"001_standard.json", "official", true, 0},
		{"002_privacy.json", "official", false, 0},
		{"002_privacy.json", "shop", false, 0},
		// 002 is a machine translation that turned "window" into " window":
		// an unknown key for a normal template, refused by a standard one.
		{"002_normal_garbled.json", "official", false, 0},
		{"002_standard_garbled.json", "official", true, wxerr.StandardTemplateExtJSON},
		{"003_normal.json", "official", false, 0},
		{"004_invalid.txt", "official", false, wxerr.ExtJSONParseFail},
		// The samples name pages "index" and "search/index": another
		// template lacks them.
		{"000_normal.json", "shop", false, wxerr.ExtJSONPathNotExist},
		{"000_normal.json", "official", true, wxerr.StandardTemplateExtJSON},
	}
	for _, tc := range tests {
		name := strings.TrimSuffix(strings.TrimSuffix(tc.file, ".json"), ".txt") + "_" + tc.tpl
		if tc.standard {
			name += "_standard"
		}
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "samples", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Apply(tpl(t, tc.tpl), string(b), Options{Standard: tc.standard})
			if got := wxerr.CodeOf(err); got != tc.code {
				t.Fatalf("errcode %d, want %d: %v", got, tc.code, err)
			}
			golden(t, "sample_"+name, outcome(res, err))
		})
	}
}

// TestApply covers every rule and errcode. check, when set, inspects a
// successful result.
func TestApply(t *testing.T) {
	deep := func(n int) string { // an object nested n levels deep
		return strings.Repeat(`{"a":`, n-1) + "{}" + strings.Repeat("}", n-1)
	}
	app := func(key string, want any) func(*testing.T, *Result) {
		return func(t *testing.T, r *Result) {
			t.Helper()
			got, ok := r.App[key]
			if want == nil {
				if ok {
					t.Errorf("app.%s = %v, want absent", key, got)
				}
				return
			}
			if gj, wj := js(got), js(want); gj != wj {
				t.Errorf("app.%s = %s, want %s", key, gj, wj)
			}
		}
	}
	pages := func(want ...string) func(*testing.T, *Result) {
		return func(t *testing.T, r *Result) {
			t.Helper()
			if got := slices.Sorted(maps.Keys(r.Pages)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
				t.Errorf("Result.Pages = %v, want %v", got, want)
			}
		}
	}
	page := func(p string, want string) func(*testing.T, *Result) {
		return func(t *testing.T, r *Result) {
			t.Helper()
			if got := js(r.Pages[p]); got != want {
				t.Errorf("Pages[%q] = %s, want %s", p, got, want)
			}
		}
	}
	all := func(fs ...func(*testing.T, *Result)) func(*testing.T, *Result) {
		return func(t *testing.T, r *Result) {
			for _, f := range fs {
				f(t, r)
			}
		}
	}
	shopPages := []string{"pages/index/index", "pages/mine/mine", "pages/search/search", "shop/cart/cart", "shop/detail/detail", "user/profile/profile"}
	customTpl := memTpl(t, `{"pages":["index"],"customOpen":{"a":1,"b":2},"functionPages":{"x":1},"permission":{"scope.userLocation":{"desc":"a"}},"lazyCodeLoading":"requiredComponents","navigateToMiniProgaramAppIdList":["wxold"]}`, "index")

	tests := []struct {
		name  string
		tpl   *template.Template // nil: shop
		ext   string
		opt   Options
		code  wxerr.Code
		sub   string // in errmsg
		check func(*testing.T, *Result)
	}{
		// 1. parse: 85048
		{name: "empty", ext: "", code: wxerr.ExtJSONParseFail, sub: "empty"},
		{name: "blank", ext: " \n\t", code: wxerr.ExtJSONParseFail, sub: "empty"},
		{name: "array", ext: `[]`, code: wxerr.ExtJSONParseFail, sub: "got array"},
		{name: "null", ext: `null`, code: wxerr.ExtJSONParseFail, sub: "got null"},
		{name: "string", ext: `"{}"`, code: wxerr.ExtJSONParseFail, sub: "got string"},
		{name: "unquoted key", ext: "{\n  extAppid: \"\"}", code: wxerr.ExtJSONParseFail, sub: "line 2, column 3"},
		{name: "trailing comma", ext: `{"ext":{"a":1,}}`, code: wxerr.ExtJSONParseFail, sub: "column 15"},
		{name: "unterminated", ext: `{"ext":{`, code: wxerr.ExtJSONParseFail, sub: "ends in the middle"},
		{name: "trailing data", ext: `{} {}`, code: wxerr.ExtJSONParseFail, sub: "after the JSON object"},
		{name: "trailing garbage", ext: `{}x`, code: wxerr.ExtJSONParseFail, sub: "after the JSON object"},
		{name: "too big", ext: `{"ext":{"a":"0123456789"}}`, opt: Options{MaxBytes: 20}, code: wxerr.ExtJSONParseFail, sub: "the limit is 20"},
		{name: "depth at limit", ext: `{"ext":` + deep(63) + `}`},
		{name: "too deep", ext: `{"ext":` + deep(64) + `}`, code: wxerr.ExtJSONParseFail, sub: "deeper than 64"},
		{name: "too deep arrays", ext: `{"ext":{"a":` + strings.Repeat("[", 100000) + `}}`, code: wxerr.ExtJSONParseFail, sub: "deeper than 64"},
		{name: "brackets in strings", ext: `{"ext":{"a":"` + strings.Repeat(`[{\"`, 100) + `"}}`},

		// 2. standard template: 9402203
		{name: "standard ok", ext: `{"extAppid":"wxabc","ext":{"k":1},"window":{"navigationBarTitleText":"S"}}`, opt: Options{Standard: true},
			check: all(app("extAppid", "wxabc"), app("window", map[string]any{"navigationBarTitleText": "S", "navigationBarBackgroundColor": "#ffffff", "backgroundColor": "#f5f5f5"}))},
		{name: "standard pages", ext: `{"pages":["pages/index/index"]}`, opt: Options{Standard: true}, code: wxerr.StandardTemplateExtJSON, sub: `not allowed for a standard template: "pages"`},
		{name: "standard many", ext: `{"tabBar":{},"extPages":{},"ext":{},"plugins":{}}`, opt: Options{Standard: true}, code: wxerr.StandardTemplateExtJSON, sub: `"extPages", "plugins", "tabBar"`},
		{name: "standard wrong type", ext: `{"window":[]}`, opt: Options{Standard: true}, code: wxerr.InvalidExtJSON, sub: "window must be an object, got array"},

		// 3. types: 85013
		{name: "alias subpackages", ext: `{"subpackages":[],"subPackages":[]}`, code: wxerr.InvalidExtJSON, sub: "both"},
		{name: "alias navigate", ext: `{"navigateToMiniProgramAppIdList":[],"navigateToMiniProgaramAppIdList":[]}`, code: wxerr.InvalidExtJSON, sub: "both"},
		{name: "extAppid number", ext: `{"extAppid":123}`, code: wxerr.InvalidExtJSON, sub: "extAppid must be a string, got number"},
		{name: "ext array", ext: `{"ext":[1]}`, code: wxerr.InvalidExtJSON, sub: "ext must be an object"},
		{name: "extPages array", ext: `{"extPages":[]}`, code: wxerr.InvalidExtJSON, sub: "extPages must be an object"},
		{name: "extPages value", ext: `{"extPages":{"pages/index/index":"x"}}`, code: wxerr.InvalidExtJSON, sub: `extPages["pages/index/index"] must be an object`},
		{name: "pages string", ext: `{"pages":"pages/index/index"}`, code: wxerr.InvalidExtJSON, sub: "pages must be an array of strings"},
		{name: "pages number", ext: `{"pages":["pages/index/index",1]}`, code: wxerr.InvalidExtJSON, sub: "pages[1] must be a string"},
		{name: "subPackages object", ext: `{"subPackages":{}}`, code: wxerr.InvalidExtJSON, sub: "subPackages must be an array"},
		{name: "subPackages item", ext: `{"subPackages":["shop"]}`, code: wxerr.InvalidExtJSON, sub: "subPackages[0] must be an object"},
		{name: "subPackages root", ext: `{"subpackages":[{"root":1,"pages":[]}]}`, code: wxerr.InvalidExtJSON, sub: "subpackages[0].root must be a string"},
		{name: "subPackages no pages", ext: `{"subPackages":[{"root":"shop"}]}`, code: wxerr.InvalidExtJSON, sub: "subPackages[0].pages must be an array of strings, got null"},
		{name: "subPackages independent", ext: `{"subPackages":[{"root":"shop","pages":["cart/cart"],"independent":"yes"}]}`, code: wxerr.InvalidExtJSON, sub: "independent must be a boolean"},
		{name: "subPackages plugins", ext: `{"subPackages":[{"root":"shop","pages":["cart/cart"],"plugins":[]}]}`, code: wxerr.InvalidExtJSON, sub: "subPackages[0].plugins must be an object"},
		{name: "window string", ext: `{"window":"dark"}`, code: wxerr.InvalidExtJSON, sub: "window must be an object, got string"},
		{name: "networkTimeout number", ext: `{"networkTimeout":60000}`, code: wxerr.InvalidExtJSON, sub: "networkTimeout must be an object"},
		{name: "networkTimeout member", ext: `{"networkTimeout":{"request":"60s"}}`, code: wxerr.InvalidExtJSON, sub: "networkTimeout.request must be a number"},
		{name: "tabBar array", ext: `{"tabBar":[]}`, code: wxerr.InvalidExtJSON, sub: "tabBar must be an object"},
		{name: "tabBar list object", ext: `{"tabBar":{"list":{}}}`, code: wxerr.InvalidExtJSON, sub: "tabBar.list must be an array"},
		{name: "tabBar item", ext: `{"tabBar":{"list":["pages/index/index"]}}`, code: wxerr.InvalidExtJSON, sub: "tabBar.list[0] must be an object"},
		{name: "tabBar pagePath number", ext: `{"tabBar":{"list":[{"pagePath":1}]}}`, code: wxerr.InvalidExtJSON, sub: "tabBar.list[0].pagePath must be a string"},
		{name: "plugins array", ext: `{"plugins":[]}`, code: wxerr.InvalidExtJSON, sub: "plugins must be an object"},
		{name: "plugins no version", ext: `{"plugins":{"chat":{"provider":"wxchat"}}}`, code: wxerr.InvalidExtJSON, sub: "plugins.chat.version must be a non-empty string"},
		{name: "navigate string", ext: `{"navigateToMiniProgramAppIdList":"wx1"}`, code: wxerr.InvalidExtJSON, sub: "navigateToMiniProgramAppIdList must be an array"},
		{name: "navigate typo number", ext: `{"navigateToMiniProgaramAppIdList":[1]}`, code: wxerr.InvalidExtJSON, sub: "navigateToMiniProgaramAppIdList[0]"},
		{name: "entryPagePath number", ext: `{"entryPagePath":1}`, code: wxerr.InvalidExtJSON, sub: "entryPagePath must be a string"},

		// 4. pages
		{name: "pages empty", ext: `{"pages":[]}`, code: wxerr.PagesEmpty},
		{name: "pages unknown", ext: `{"pages":["pages/index/index","shop/cart"]}`, code: wxerr.ExtJSONPathNotExist, sub: `pages[1] "shop/cart" is not a page of the template`},
		{name: "pages subpackage page", ext: `{"pages":["pages/index/index","shop/cart/cart"]}`, code: wxerr.ExtJSONPathNotExist, sub: `is a page of subpackage "shop"`},
		{name: "pages duplicate", ext: `{"pages":["pages/index/index","pages/index/index"]}`, code: wxerr.InvalidExtJSON, sub: "listed twice"},
		{name: "pages subset", ext: `{"pages":["pages/mine/mine","pages/index/index"]}`,
			check: all(app("pages", []any{"pages/mine/mine", "pages/index/index"}), pages("pages/mine/mine", "pages/index/index", "shop/cart/cart", "shop/detail/detail", "user/profile/profile"))},
		{name: "pages drop a tabBar page", ext: `{"pages":["pages/index/index","pages/search/search"]}`, code: wxerr.ExtJSONPathNotExist, sub: `tabBar.list[1].pagePath "pages/mine/mine" is not in pages`},

		// 5. subPackages
		{name: "subPackages unknown root", ext: `{"subPackages":[{"root":"shops","pages":["cart/cart"]}]}`, code: wxerr.ExtJSONPathNotExist, sub: `subPackages[0].root "shops" is not a subpackage of the template (it has "shop", "user")`},
		{name: "subPackages no template subpackages", tpl: tpl(t, "official"), ext: `{"subPackages":[{"root":"shop","pages":["a"]}]}`, code: wxerr.ExtJSONPathNotExist, sub: "(it has none)"},
		{name: "subPackages unknown page", ext: `{"subPackages":[{"root":"shop","pages":["cart/cart","pay/pay"]}]}`, code: wxerr.ExtJSONPathNotExist, sub: `subPackages[0].pages[1] "pay/pay" is not a page of the template's subpackage "shop"`},
		{name: "subPackages other's page", ext: `{"subPackages":[{"root":"shop","pages":["profile/profile"]}]}`, code: wxerr.ExtJSONPathNotExist, sub: `"profile/profile"`},
		{name: "subPackages full path", ext: `{"subPackages":[{"root":"shop","pages":["shop/cart/cart"]}]}`, code: wxerr.ExtJSONPathNotExist, sub: `"shop/cart/cart"`},
		{name: "subPackages empty pages", ext: `{"subPackages":[{"root":"shop","pages":[]}]}`, code: wxerr.PagesEmpty, sub: `subpackage "shop"`},
		{name: "subPackages duplicate root", ext: `{"subPackages":[{"root":"shop","pages":["cart/cart"]},{"root":"shop/","pages":["detail/detail"]}]}`, code: wxerr.InvalidExtJSON, sub: "already listed"},
		{name: "subPackages duplicate page", ext: `{"subPackages":[{"root":"shop","pages":["cart/cart","cart/cart"]}]}`, code: wxerr.InvalidExtJSON, sub: "listed twice"},
		{name: "subPackages subset", ext: `{"subPackages":[{"root":"shop/","name":"s","pages":["detail/detail"]}]}`,
			check: all(
				app("subpackages", []any{map[string]any{"root": "shop/", "name": "s", "pages": []any{"detail/detail"}}}),
				app("subPackages", nil),
				pages("pages/index/index", "pages/mine/mine", "pages/search/search", "shop/detail/detail"))},
		{name: "subpackages spelling follows template", tpl: memTpl(t, `{"pages":["i"],"subPackages":[{"root":"a","pages":["b"]}]}`, "i", "a/b"), ext: `{"subpackages":[{"root":"a","pages":["b"]}]}`,
			check: all(app("subpackages", nil), app("subPackages", []any{map[string]any{"root": "a", "pages": []any{"b"}}}))},
		{name: "subpackages spelling of ext_json", tpl: memTpl(t, `{"pages":["i"]}`, "i"), ext: `{"subPackages":[]}`, check: app("subPackages", []any{})},

		// 6. extPages
		{name: "extPages unknown", ext: `{"extPages":{"pages/index/index":{},"pages/nope":{}}}`, code: wxerr.ExtJSONPathNotExist, sub: `extPages["pages/nope"]`},
		{name: "extPages sorted order", ext: `{"extPages":{"zz":{},"aa":{}}}`, code: wxerr.ExtJSONPathNotExist, sub: `extPages["aa"]`},
		{name: "extPages merge", ext: `{"extPages":{"pages/index/index":{"navigationBarTitleText":"Store","enablePullDownRefresh":true},"shop/cart/cart":{"navigationStyle":"custom"}}}`,
			check: all(
				page("pages/index/index", `{"enablePullDownRefresh":true,"navigationBarTitleText":"Store","usingComponents":{"goods-card":"/components/goods-card/goods-card"}}`),
				page("shop/cart/cart", `{"navigationBarTitleText":"Cart","navigationStyle":"custom"}`),
				page("pages/search/search", `{}`),
				pages(shopPages...), app("extPages", nil))},
		{name: "extPages for a dropped page", ext: `{"pages":["pages/index/index","pages/mine/mine"],"extPages":{"pages/search/search":{"a":1}}}`,
			check: pages("pages/index/index", "pages/mine/mine", "shop/cart/cart", "shop/detail/detail", "user/profile/profile")},

		// 7. merge rules and result checks
		{name: "window same-level", ext: `{"window":{"navigationBarTitleText":"New","navigationStyle":"custom"}}`,
			check: app("window", map[string]any{"navigationBarTitleText": "New", "navigationStyle": "custom", "navigationBarBackgroundColor": "#ffffff", "backgroundColor": "#f5f5f5"})},
		{name: "networkTimeout same-level", ext: `{"networkTimeout":{"request":3000,"uploadFile":5000}}`,
			check: app("networkTimeout", map[string]any{"request": 3000, "downloadFile": 10000, "uploadFile": 5000})},
		{name: "tabBar same-level keeps list", ext: `{"tabBar":{"color":"#000000"}}`,
			check: func(t *testing.T, r *Result) {
				tb := r.App["tabBar"].(map[string]any)
				if tb["color"] != "#000000" || tb["selectedColor"] != "#e64340" || len(tb["list"].([]any)) != 2 {
					t.Errorf("tabBar = %s", js(tb))
				}
			}},
		{name: "tabBar list replaced whole", ext: `{"tabBar":{"list":[{"pagePath":"pages/search/search","text":"Find"},{"pagePath":"pages/index/index","text":"Home"}]}}`,
			check: func(t *testing.T, r *Result) {
				tb := r.App["tabBar"].(map[string]any)
				if js(tb["list"]) != `[{"pagePath":"pages/search/search","text":"Find"},{"pagePath":"pages/index/index","text":"Home"}]` || tb["selectedColor"] != "#e64340" {
					t.Errorf("tabBar = %s", js(tb))
				}
			}},
		{name: "tabBar no pagePath", ext: `{"tabBar":{"list":[{"pagePath":"pages/index/index"},{"text":"Me"}]}}`, code: wxerr.TabBarPagePathMissing, sub: "tabBar.list[1] has no pagePath"},
		{name: "tabBar empty pagePath", ext: `{"tabBar":{"list":[{"pagePath":""}]}}`, code: wxerr.TabBarPagePathMissing},
		{name: "tabBar null pagePath", ext: `{"tabBar":{"list":[{"pagePath":null}]}}`, code: wxerr.TabBarPagePathMissing},
		{name: "tabBar unknown page", ext: `{"tabBar":{"list":[{"pagePath":"pages/index/index"},{"pagePath":"pages/cart/cart"}]}}`, code: wxerr.ExtJSONPathNotExist, sub: `tabBar.list[1].pagePath "pages/cart/cart" is not in pages`},
		{name: "tabBar subpackage page", ext: `{"tabBar":{"list":[{"pagePath":"shop/cart/cart"}]}}`, code: wxerr.ExtJSONPathNotExist, sub: "not in pages"},
		{name: "tabBar placeholder not added", tpl: tpl(t, "official"), ext: `{"tabBar":{},"window":{},"networkTimeout":{}}`,
			check: all(app("tabBar", nil), app("networkTimeout", nil), app("window", map[string]any{"navigationBarTitleText": "Demo"}))},
		{name: "tabBar added", tpl: tpl(t, "official"), ext: `{"tabBar":{"list":[{"pagePath":"index"},{"pagePath":"search/index"}]}}`,
			check: app("tabBar", map[string]any{"list": []any{map[string]any{"pagePath": "index"}, map[string]any{"pagePath": "search/index"}}})},
		{name: "tabBar added without pagePath", tpl: tpl(t, "official"), ext: `{"tabBar":{"list":[{"text":"x"}]}}`, code: wxerr.TabBarPagePathMissing},
		{name: "plugins replaced whole", ext: `{"plugins":{"chat":{"provider":"wxchat","version":"2.0.0"}}}`,
			check: app("plugins", map[string]any{"chat": map[string]any{"provider": "wxchat", "version": "2.0.0"}})},
		{name: "customOpen and functionPages replaced whole", tpl: customTpl, ext: `{"customOpen":{"a":9},"functionPages":{"y":2}}`,
			check: all(app("customOpen", map[string]any{"a": 9}), app("functionPages", map[string]any{"y": 2}))},
		{name: "other object key same-level", tpl: customTpl, ext: `{"permission":{"scope.userFuzzyLocation":{"desc":"b"}}}`,
			check: app("permission", map[string]any{"scope.userLocation": map[string]any{"desc": "a"}, "scope.userFuzzyLocation": map[string]any{"desc": "b"}})},
		{name: "other key replaced", tpl: customTpl, ext: `{"lazyCodeLoading":false,"plugin":{},"sitemap":{"rules":[]},"darkmode":true}`,
			check: all(app("lazyCodeLoading", false), app("plugin", map[string]any{}), app("sitemap", map[string]any{"rules": []any{}}), app("darkmode", true))},
		{name: "navigate typo lands correctly", tpl: customTpl, ext: `{"navigateToMiniProgaramAppIdList":["wx1","wx2"]}`,
			check: all(app("navigateToMiniProgramAppIdList", []any{"wx1", "wx2"}), app("navigateToMiniProgaramAppIdList", nil))},
		{name: "navigate replaced", ext: `{"navigateToMiniProgramAppIdList":["wx1"]}`, check: app("navigateToMiniProgramAppIdList", []any{"wx1"})},
		{name: "ext, extAppid, DevTools switches", ext: `{"extEnable":true,"directCommit":false,"extAppid":"wxmerchant","ext":{"shopId":7}}`,
			check: all(app("extAppid", "wxmerchant"), app("ext", nil), app("extEnable", nil), app("directCommit", nil),
				func(t *testing.T, r *Result) {
					if js(r.Ext) != `{"shopId":7}` {
						t.Errorf("Ext = %s", js(r.Ext))
					}
				})},
		{name: "no ext", ext: `{}`, check: func(t *testing.T, r *Result) {
			if r.Ext != nil || !reflect.DeepEqual(r.App, tpl(t, "shop").App) || len(r.Pages) != 6 {
				t.Errorf("empty ext_json must give the template: %s", js(r))
			}
		}},
		{name: "numbers kept exact", ext: `{"ext":{"big":12345678901234567890,"f":1.50}}`, check: func(t *testing.T, r *Result) {
			if js(r.Ext) != `{"big":12345678901234567890,"f":1.50}` {
				t.Errorf("Ext = %s", js(r.Ext))
			}
		}},
		{name: "entryPagePath unknown", ext: `{"entryPagePath":"pages/nope"}`, code: wxerr.ExtJSONPathNotExist, sub: "entryPagePath"},
		{name: "entryPagePath dropped", ext: `{"pages":["pages/mine/mine"],"tabBar":{"list":[]}}`, code: wxerr.ExtJSONPathNotExist, sub: `entryPagePath "pages/index/index"`},
		{name: "entryPagePath subpackage", ext: `{"entryPagePath":"shop/cart/cart"}`, check: app("entryPagePath", "shop/cart/cart")},

		// 8. requiredPrivateInfos
		{name: "privacy replaced", ext: `{"requiredPrivateInfos":["getFuzzyLocation","chooseAddress"]}`, opt: Options{Grants: allGranted},
			check: func(t *testing.T, r *Result) {
				if !slices.Equal(r.RequiredPrivateInfos, []string{"getFuzzyLocation", "chooseAddress"}) || js(r.App["requiredPrivateInfos"]) != `["getFuzzyLocation","chooseAddress"]` {
					t.Errorf("requiredPrivateInfos = %v", r.RequiredPrivateInfos)
				}
			}},
		{name: "privacy inherited", ext: `{}`, check: func(t *testing.T, r *Result) {
			if !slices.Equal(r.RequiredPrivateInfos, []string{"chooseLocation"}) {
				t.Errorf("RequiredPrivateInfos = %v", r.RequiredPrivateInfos)
			}
		}},
		{name: "privacy not array", ext: `{"requiredPrivateInfos":"getLocation"}`, code: wxerr.WrongPrivateAPIName, sub: "must be an array"},
		{name: "privacy wrong name", ext: `{"requiredPrivateInfos":["getLocation","getLocaton"]}`, code: wxerr.WrongPrivateAPIName, sub: `requiredPrivateInfos[1] "getLocaton"`},
		{name: "privacy duplicate", ext: `{"requiredPrivateInfos":["choosePoi","choosePoi"]}`, code: wxerr.WrongPrivateAPIName, sub: "twice"},
		{name: "privacy exclusive", ext: `{"requiredPrivateInfos":["onLocationChange","getFuzzyLocation"]}`, code: wxerr.PrivateAPIMutuallyExcl, sub: `"onLocationChange" and "getFuzzyLocation"`},
		{name: "privacy not granted", ext: `{"requiredPrivateInfos":["chooseAddress","getLocation"]}`, opt: Options{Grants: grants{apis: []string{"chooseAddress"}}}, code: wxerr.PrivateAPINotAuthorized, sub: `"getLocation"`},
		{name: "privacy inherited not granted", ext: `{}`, opt: Options{Grants: grants{}}, code: wxerr.PrivateAPINotAuthorized, sub: `"chooseLocation"`},
		{name: "privacy no grants no check", ext: `{"requiredPrivateInfos":["startLocationUpdateBackground"]}`, check: app("requiredPrivateInfos", []any{"startLocationUpdateBackground"})},

		// 9. plugins
		{name: "plugin ok", ext: `{"plugins":{"chat":{"provider":"wxchat","version":"2.0.0"}}}`, opt: Options{Grants: allGranted}},
		{name: "plugin not found", ext: `{"plugins":{"chat":{"provider":"wxnope","version":"2.0.0"}}}`, opt: Options{Grants: allGranted}, code: wxerr.PluginNotFound, sub: `plugins.chat: plugin "wxnope"`},
		{name: "plugin not granted", ext: `{"plugins":{"chat":{"provider":"wxknown","version":"1"}}}`, opt: Options{Grants: allGranted}, code: wxerr.PluginNoPermission, sub: `"wxknown"`},
		{name: "plugin bad version", ext: `{"plugins":{"chat":{"provider":"wxchat","version":"9.9.9"}}}`, opt: Options{Grants: allGranted}, code: wxerr.PluginVersionInvalid, sub: `"9.9.9"`},
		{name: "plugin inherited checked", ext: `{}`, opt: Options{Grants: grants{apis: template.LocationAPIs()}}, code: wxerr.PluginNotFound, sub: `plugins.live`},
		{name: "plugin sorted aliases", ext: `{"plugins":{"b":{"provider":"wxknown","version":"1"},"a":{"provider":"wxnope","version":"1"}}}`, opt: Options{Grants: allGranted}, code: wxerr.PluginNotFound, sub: "plugins.a"},
		{name: "plugin in subpackage", ext: `{"subPackages":[{"root":"shop","pages":["cart/cart"],"plugins":{"pay":{"provider":"wxknown","version":"1"}}}]}`, opt: Options{Grants: allGranted}, code: wxerr.PluginNoPermission, sub: "subpackages[0].plugins.pay"},
		{name: "plugin no grants no check", ext: `{"plugins":{"chat":{"provider":"wxnope","version":"x"}}}`},

		// Order of checks: the earlier step wins.
		{name: "order: types before pages", ext: `{"pages":[],"window":1}`, code: wxerr.InvalidExtJSON},
		{name: "order: standard before types", ext: `{"pages":1}`, opt: Options{Standard: true}, code: wxerr.StandardTemplateExtJSON},
		{name: "order: pages before extPages", ext: `{"pages":[],"extPages":{"nope":{}}}`, code: wxerr.PagesEmpty},
		{name: "order: pages before subPackages", ext: `{"pages":["nope"],"subPackages":[{"root":"nope","pages":["a"]}]}`, code: wxerr.ExtJSONPathNotExist, sub: "pages[0]"},
		{name: "order: subPackages before extPages", ext: `{"subPackages":[{"root":"nope","pages":["a"]}],"extPages":{"nope":{}}}`, code: wxerr.ExtJSONPathNotExist, sub: "subPackages[0]"},
		{name: "order: tabBar before privacy", ext: `{"tabBar":{"list":[{}]},"requiredPrivateInfos":["x"]}`, code: wxerr.TabBarPagePathMissing},
		{name: "order: privacy before plugins", ext: `{"requiredPrivateInfos":["x"],"plugins":{"a":{"provider":"wxnope","version":"1"}}}`, opt: Options{Grants: allGranted}, code: wxerr.WrongPrivateAPIName},
		{name: "order: privacy before plugins (grants)", ext: `{"requiredPrivateInfos":["getLocation"],"plugins":{"a":{"provider":"wxnope","version":"1"}}}`, opt: Options{Grants: grants{}}, code: wxerr.PrivateAPINotAuthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp := tc.tpl
			if tp == nil {
				tp = tpl(t, "shop")
			}
			res, err := Apply(tp, tc.ext, tc.opt)
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if _, err := json.Marshal(res); err != nil {
					t.Fatalf("result does not serialise: %v", err)
				}
				if tc.check != nil {
					tc.check(t, res)
				}
				return
			}
			if err == nil {
				t.Fatalf("want errcode %d, got success: %s", tc.code, js(res))
			}
			if e := wxerr.From(err); e.Code != tc.code || !strings.Contains(e.Msg, tc.sub) {
				t.Fatalf("got %d %q, want %d containing %q", e.Code, e.Msg, tc.code, tc.sub)
			}
		})
	}
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "!" + err.Error()
	}
	return string(b)
}

// TestGoldenFull pins a rich merge on the 3-package template.
func TestGoldenFull(t *testing.T) {
	ext := `{
  "extAppid": "wxmerchant0001",
  "ext": {"shopId": 42, "theme": {"primary": "#e64340"}},
  "extPages": {"pages/index/index": {"navigationBarTitleText": "Merchant <Home>"}, "shop/cart/cart": {"enablePullDownRefresh": true}},
  "pages": ["pages/index/index", "pages/mine/mine"],
  "subPackages": [{"root": "shop", "pages": ["cart/cart"]}],
  "window": {"navigationBarTitleText": "Merchant"},
  "networkTimeout": {"request": 5000},
  "tabBar": {"selectedColor": "#000000"},
  "requiredPrivateInfos": ["getLocation", "chooseLocation"],
  "plugins": {"live": {"provider": "wx2b03c6e691cd7370", "version": "1.3.0"}},
  "navigateToMiniProgaramAppIdList": ["wxpartner"],
  "plugin": {}
}`
	res, err := Apply(tpl(t, "shop"), ext, Options{Grants: allGranted})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "shop_full", outcome(res, err))
}

// Apply must not modify the template: one Template serves many commits.
func TestApplyLeavesTemplateAlone(t *testing.T) {
	tp := memTpl(t, `{"pages":["a","b"],"window":{"x":1},"tabBar":{"list":[{"pagePath":"a"},{"pagePath":"b"}]},"permission":{"p":{"d":1}}}`, "a", "b")
	before := js(tp.App) + js(tp.PageConfigs)
	for range 3 {
		_, err := Apply(tp, `{"pages":["b","a"],"window":{"x":2,"y":3},"tabBar":{"list":[{"pagePath":"b"}]},"permission":{"q":1},"extPages":{"a":{"t":1}}}`, Options{})
		if err != nil {
			t.Fatal(err)
		}
	}
	if after := js(tp.App) + js(tp.PageConfigs); after != before {
		t.Errorf("template changed:\n%s\n%s", before, after)
	}
}

// One input always gives the same error, whatever map iteration does.
func TestDeterministicErrors(t *testing.T) {
	ext := `{"tabBar":{},"pages":[],"extPages":{"x":{},"y":{}},"plugins":{},"customOpen":1,"a":1,"b":2}`
	for _, opt := range []Options{{}, {Standard: true}} {
		_, first := Apply(tpl(t, "shop"), ext, opt)
		for range 50 {
			if _, err := Apply(tpl(t, "shop"), ext, opt); err.Error() != first.Error() {
				t.Fatalf("%v then %v", first, err)
			}
		}
	}
}

func TestResultJSONShape(t *testing.T) {
	res, err := Apply(tpl(t, "official"), `{"ext":{"a":1},"requiredPrivateInfos":["choosePoi"]}`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	json.Unmarshal([]byte(js(res)), &m)
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, []string{"app", "ext", "pages"}) {
		t.Errorf("JSON keys = %v", got)
	}
}

// One Template serves concurrent commits (run with -race; without it the
// runtime still aborts on a concurrent map write).
func TestApplyConcurrent(t *testing.T) {
	tp := tpl(t, "shop")
	ext := `{"window":{"a":1},"tabBar":{"color":"#000"},"extPages":{"pages/index/index":{"x":1}},"permission":{"q":1}}`
	done := make(chan error)
	for range 8 {
		go func() {
			var err error
			for range 50 {
				if _, err = Apply(tp, ext, Options{Grants: allGranted}); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
